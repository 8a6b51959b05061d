"""The route query's batch writer: each record parsed once, valid events to the raw archive, invalid records to the
dead-letter topic, both exactly once per micro-batch.

For each micro-batch (``foreachBatch``) the records are parsed (``transformations.stage``) and kept in memory for
the batch's three passes:
1. their end positions per input partition (one small job);
2. the valid events, written as Parquet to ``<raw>/_staging/<batch>`` and moved into ``<raw>/date=…/hour=…`` under
   names of the batch (``Archive.publish``), replacing the files of an earlier attempt at the same batch;
3. the invalid records, sent with their reasons in one Kafka transaction that also commits the batch's end
   positions (``logpipeline.kafka.transactions``): a replayed batch whose transaction committed is not sent again.

Spark commits the batch to the query's checkpoint after both. Readers skip ``_staging`` (Spark ignores paths that
start with ``_``), and read the dead-letter topic with ``isolation.level=read_committed``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logpipeline import contracts
from logpipeline.kafka import security
from logpipeline.kafka.transactions import BatchDelivery, Positions, Record, describe
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import JobOptions
from logpipeline_spark.telemetry import Metrics

log = logging.getLogger("logpipeline_spark.job")

ROWS_PER_FILE = 1_000_000  # rows per Parquet file of one batch and partition, at most about


def delivery_id(opts: JobOptions) -> str:
    """The dead-letter producer's ``transactional.id``, also the group that holds its positions: it starts with the
    Kafka user's name when there is one (what the user's ACLs allow), and names the pipeline."""
    user = security.client_config().get("sasl.username") or "logpipeline"
    return f"{user}-{opts.pipeline}-dead-letters"


def batch_ends(staged: DataFrame) -> tuple[dict[tuple[str, int], int], int]:
    """The batch's end positions (per input partition, the offset after its last record) and its record count."""
    rows = staged.groupBy("topic", "partition").agg((F.max("offset") + 1).alias("end"), F.count("*").alias("n"))
    collected = rows.collect()
    return {(r["topic"], int(r["partition"])): int(r["end"]) for r in collected}, sum(int(r["n"]) for r in collected)


def dead_letter_rows(invalid: DataFrame) -> list[Record]:
    """The batch's dead-letter records (``tr.dead_letter_records``) on the driver, as the producer sends them."""
    rows = tr.dead_letter_records(invalid).toLocalIterator(prefetchPartitions=True)
    return [
        (
            None if r["key"] is None else bytes(r["key"]),
            None if r["value"] is None else bytes(r["value"]),
            [(h["key"], bytes(h["value"])) for h in r["headers"]],
        )
        for r in rows
    ]


def classes(records: list[Record]) -> Counter[str]:
    """Dead-letter records per error class (their ``dlq.error_class`` header)."""
    return Counter(
        value.decode() if isinstance(value, bytes) else str(value)
        for _, _, headers in records
        for key, value in headers
        if key == contracts.DLQ_ERROR_CLASS
    )


class Router:
    """``foreachBatch`` function of the route query; ``archive`` and ``dead_letters`` say which outputs it writes."""

    def __init__(self, opts: JobOptions, archive: Archive | None, metrics: Metrics | None) -> None:
        self.opts = opts
        self.archive = archive
        self.metrics = metrics
        self.raw = opts.path("raw")
        self.delivery = (
            BatchDelivery(opts.bootstrap, opts.dlq_topic, delivery_id(opts)) if "dead_letters" in opts.queries else None
        )

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        staged = tr.stage(batch).persist(StorageLevel.MEMORY_AND_DISK)  # each record parsed once, for both outputs
        try:
            ends, records = batch_ends(staged)
            if not records:
                return
            parsed = tr.split(staged, self.opts.max_ahead_ms)
            fields: dict[str, Any] = {"batch": batch_id, "records": records}
            if self.archive is not None:
                fields["files"] = self._archive(parsed.valid, batch_id, records)
            if self.delivery is not None:
                fields["dead_letters"] = self._dead_letters(parsed.invalid, ends, batch_id)
            fields["ms"] = int((time.monotonic() - started) * 1000)
            log.info("route batch", extra={"fields": fields})
        finally:
            staged.unpersist()

    def _archive(self, valid: DataFrame, batch_id: int, rows: int) -> int:
        assert self.archive is not None
        staging = f"{self.raw}/_staging/{batch_id}"
        files = max(1, -(-rows // ROWS_PER_FILE))
        out = tr.archive_partitions(valid).coalesce(files)
        out.write.mode("overwrite").partitionBy("date", "hour").parquet(staging)
        return self.archive.publish(staging, self.raw, batch_id)

    def _dead_letters(self, invalid: DataFrame, ends: Positions, batch_id: int) -> int:
        assert self.delivery is not None
        if self.delivery.delivered(ends):
            log.warning(
                "batch replayed: its dead letters were delivered before, not sent again",
                extra={"fields": {"batch": batch_id, "positions": describe(ends)}},
            )
            return 0
        records = dead_letter_rows(invalid)
        self.delivery.deliver(records, ends)
        if self.metrics is not None:
            for error_class, n in classes(records).items():
                self.metrics.dead.labels(error_class).inc(n)
        return len(records)

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.close()


def committed_positions(archive: Archive, checkpoint: str) -> Positions | None:
    """The end positions of the last batch a query committed to ``checkpoint`` (its offset log's source offsets for
    the newest batch in its commit log), or None when it committed none."""
    done = [int(n) for n in archive.names(f"{checkpoint}/commits") if n.isdigit()]
    if not done:
        return None
    text = archive.read_text(f"{checkpoint}/offsets/{max(done)}")
    if text is None:
        return None
    lines = text.splitlines()  # "v1", the batch's metadata, then one line of offsets per source
    offsets = json.loads(lines[2])
    return {(t, int(p)): int(o) for t, parts in offsets.items() for p, o in parts.items()}


def starting_offsets(ends: Positions, partitions: dict[str, list[int]]) -> str:
    """``startingOffsets`` JSON from ``ends``; partitions it does not name start at the earliest offset (-2)."""
    out: dict[str, dict[str, int]] = {}
    for topic, numbers in partitions.items():
        out[topic] = {str(p): ends.get((topic, p), -2) for p in sorted(numbers)}
    return json.dumps(out, sort_keys=True)
