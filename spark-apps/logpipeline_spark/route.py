"""The route query's batch writer: each record parsed once, valid events to the raw archive, invalid records to the
dead-letter topic, both exactly once per micro-batch.

The query's stream is the input judged record by record (``transformations.classify``: its plan is analysed once,
when the query starts). Each micro-batch (``foreachBatch``) of it is read and judged once:
1. the valid events, written as Parquet to ``<raw>/_staging/<batch>`` and moved into ``<raw>/date=…/hour=…`` under
   names of the batch (``Archive.publish``), replacing the files of an earlier attempt at the same batch; the same
   pass counts the batch's records and collects its invalid ones (observed metrics of the write);
2. the invalid records, sent with their reasons in one Kafka transaction that also commits the batch's end
   positions, read from the query's offset log (``logpipeline.kafka.transactions``): a replayed batch whose
   transaction committed is not sent again. Without the raw archive, the batch's one pass collects them.

Spark commits the batch to the query's checkpoint after both. Readers skip ``_staging`` (Spark ignores paths that
start with ``_``), and read the dead-letter topic with ``isolation.level=read_committed``.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, Observation, Row
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


def source_offsets(text: str) -> Positions:
    """The Kafka source's offsets in an offset-log file of a query's checkpoint ("v1", the batch's metadata, then
    one line of offsets per source: ``{"topic": {"0": 12}}``)."""
    offsets = json.loads(text.splitlines()[2])
    return {(t, int(p)): int(o) for t, parts in offsets.items() for p, o in parts.items()}


def offset_log(archive: Archive, checkpoint: str) -> Callable[[int], Positions]:
    """A batch's end positions, read from the query's offset log, which Spark writes before it runs the batch."""

    def positions(batch_id: int) -> Positions:
        text = archive.read_text(f"{checkpoint}/offsets/{batch_id}")
        if text is None:
            raise RuntimeError(f"route: the offset log {checkpoint}/offsets has no batch {batch_id}")
        return source_offsets(text)

    return positions


def dead_letter_rows(rows: list[Row]) -> list[Record]:
    """Dead-letter records (rows of ``tr.dead_letter_record``) as the producer sends them."""
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


def _ms_since(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


class Router:
    """``foreachBatch`` function of the route query: writes the raw archive and the dead letters as ``opts.queries``
    says; ``positions`` gives a batch's end positions (``offset_log`` of the query's checkpoint)."""

    def __init__(
        self, opts: JobOptions, archive: Archive, positions: Callable[[int], Positions], metrics: Metrics | None
    ) -> None:
        self.opts = opts
        self.archive = archive
        self.positions = positions
        self.metrics = metrics
        self.raw = opts.path("raw") if "raw_archive" in opts.queries else None
        self.delivery = (
            BatchDelivery(opts.bootstrap, opts.dlq_topic, delivery_id(opts)) if "dead_letters" in opts.queries else None
        )

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        fields: dict[str, Any] = {"batch": batch_id}
        rejected: list[Row] | None = None  # the batch's dead letters, once a pass collected them
        if self.raw is not None:
            # One pass: the archive's write, observed for the batch's counts and (with dead letters) invalid records.
            seen = Observation(f"route-{batch_id}")
            metrics = [F.count(F.lit(1)).alias("records"), F.count_if(F.col(tr.CLASSIFIED).isNull()).alias("valid")]
            if self.delivery is not None:
                metrics.append(F.collect_list(tr.classified_dead_letter()).alias("dead"))
            observed = batch.observe(seen, *metrics)
            fields["files"] = self._archive(tr.split_classified(observed).valid, batch_id)
            counts = seen.get
            fields["records"], fields["valid"] = int(counts["records"]), int(counts["valid"])
            rejected = counts.get("dead")
            fields["archive_ms"] = _ms_since(started)
        if self.delivery is not None:
            began = time.monotonic()
            if rejected is None:
                rejected = tr.dead_letter_records(tr.split_classified(batch).invalid).collect()
            fields["dead_letters"] = self._dead_letters(dead_letter_rows(rejected), batch_id)
            fields["dead_letters_ms"] = _ms_since(began)
        fields["ms"] = _ms_since(started)
        log.info("route batch", extra={"fields": fields})

    def _archive(self, valid: DataFrame, batch_id: int) -> int:
        """Write the batch's valid events in one task (a quiet stream's batch is small; a backlog's leaves the other
        cores to the aggregates query), at most ``ROWS_PER_FILE`` rows a file, and publish them."""
        assert self.raw is not None
        staging = f"{self.raw}/_staging/{batch_id}"
        out = tr.archive_partitions(valid).coalesce(1).write.option("maxRecordsPerFile", ROWS_PER_FILE)
        out.mode("overwrite").partitionBy("date", "hour").parquet(staging)
        return self.archive.publish(staging, self.raw, batch_id)

    def _dead_letters(self, records: list[Record], batch_id: int) -> int:
        """Send the batch's dead-letter records with its end positions, unless a transaction with those positions
        committed already (a batch replayed after a crash)."""
        assert self.delivery is not None
        ends = self.positions(batch_id)
        if self.delivery.delivered(ends):
            log.warning(
                "batch replayed: its dead letters were delivered before, not sent again",
                extra={"fields": {"batch": batch_id, "positions": describe(ends)}},
            )
            return 0
        self.delivery.deliver(records, ends)
        if self.metrics is not None:
            for error_class, n in classes(records).items():
                self.metrics.dead.labels(error_class).inc(n)
        return len(records)

    def close(self) -> None:
        if self.delivery is not None:
            self.delivery.close()


def last_commit(archive: Archive, checkpoint: str) -> int | None:
    """The newest batch id in the commit log of ``checkpoint``, or None when the query committed none."""
    return max((int(n) for n in archive.names(f"{checkpoint}/commits") if n.isdigit()), default=None)


def committed_positions(archive: Archive, checkpoint: str) -> Positions | None:
    """The end positions of the last batch a query committed to ``checkpoint`` (its offset log's source offsets for
    the newest batch in its commit log), or None when it committed none."""
    done = last_commit(archive, checkpoint)
    if done is None:
        return None
    text = archive.read_text(f"{checkpoint}/offsets/{done}")
    return None if text is None else source_offsets(text)


def starting_offsets(ends: Positions, partitions: dict[str, list[int]]) -> str:
    """``startingOffsets`` JSON from ``ends``; partitions it does not name start at the earliest offset (-2)."""
    out: dict[str, dict[str, int]] = {}
    for topic, numbers in partitions.items():
        out[topic] = {str(p): ends.get((topic, p), -2) for p in sorted(numbers)}
    return json.dumps(out, sort_keys=True)
