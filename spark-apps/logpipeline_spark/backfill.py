"""Entry point of ``logpipeline backfill``: a historical log file into the archive and the metrics, in batch.

``python -m logpipeline_spark.backfill FILE --format json|combined|nginx-json [correction options]``:

1. parses every line with the ingest formats and rules (``logpipeline.ingest.formats``, the coercion table, the
   clock-skew bound); a line that does not parse goes to the dead-letter topic with its reason, as with ingest;
2. appends the events that the backfill archive (``<root>/<pipeline>/backfill/date=…/hour=…/``) does not hold yet
   (same id and event time), so a file backfilled twice is archived once;
3. runs the correction job over the file's hours (``correct.run_plan``): their closed windows are re-aggregated
   from the raw and backfill archives and every window whose stored value differs is published.

Nothing goes to the input topic, so the live stream's watermark and counts are untouched. The file is read into
the driver (about 1 KB of memory per event).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from logpipeline import config
from logpipeline.events import EVENT_FIELDS, codec
from logpipeline.events.codec import Invalid
from logpipeline.ingest import mapping, reader
from logpipeline.ingest.formats import FORMATS, parse_line
from logpipeline.kafka.deadletters import MAX_DLQ_VALUE_BYTES, DeadLetters
from logpipeline.kafka.producer import Sender
from logpipeline.observability import configure_logging
from logpipeline_spark import correct, correction
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.telemetry import CorrectionMetrics

log = logging.getLogger("logpipeline_spark.backfill")
STAGE = "backfill"


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, correct.CorrectOptions]:
    p = argparse.ArgumentParser(prog="logpipeline_spark.backfill", description=__doc__.splitlines()[0])
    p.add_argument("file", type=Path)
    p.add_argument("--format", dest="fmt", default="json", choices=FORMATS)
    p.add_argument("--dlq-topic", default=None, help="dead-letter topic (default: <input topic>.dlq)")
    p.add_argument("--max-ahead", type=float, default=None, help="seconds an event may lie in the future (300)")
    p.add_argument("--mapping", type=Path, default=None, help="YAML/JSON field mapping (as for logpipeline ingest)")
    a, rest = p.parse_known_args(argv)
    if not a.file.is_file():
        p.error(f"{a.file}: not a readable file")
    opts = correct.parse_args(rest)
    try:
        a.fields = mapping.load(a.mapping) if a.mapping is not None else None
    except mapping.MappingError as exc:
        p.error(f"--mapping: {exc}")
    if opts.since_ms is not None or opts.every_s:
        p.error("--since and --every are the correction job's; a backfill corrects the file's own hours")
    return a, opts


def events_of(
    path: Path,
    fmt: str,
    dead: DeadLetters,
    max_ahead_ms: int,
    counts: dict[str, int],
    fields: mapping.FieldMap | None = None,
) -> Iterator[Any]:
    """The file's valid events as rows of ``EVENT_FIELDS``; every other line is dead-lettered."""
    source = str(path)
    for line in reader.read_lines(path, max_bytes=MAX_DLQ_VALUE_BYTES):
        counts["lines"] += 1
        if not line.data.strip():
            continue
        if line.size > codec.MAX_EVENT_BYTES:
            result: dict[str, Any] | Invalid = Invalid(
                "line", f"at most {codec.MAX_EVENT_BYTES} bytes", f"{line.size} bytes", "too_large"
            )
        else:
            result = parse_line(fmt, line.data, source, line.lineno, fields)
        if not isinstance(result, Invalid):
            result = codec.too_far_ahead(result, int(time.time() * 1000), max_ahead_ms) or result
        if isinstance(result, Invalid):
            dead.send(line.data, result, source, str(line.lineno), original_size=line.size)
            continue
        counts["events"] += 1
        yield tuple(result.get(f.name) for f in EVENT_FIELDS)


def run(args: argparse.Namespace, opts: correct.CorrectOptions) -> int:
    began = time.monotonic()
    settings = config.load()
    dlq = args.dlq_topic or settings.names.dlq_topic
    dead = DeadLetters(Sender.connect(opts.bootstrap, dlq), stage=STAGE)
    max_ahead = config.max_ahead_ms() if args.max_ahead is None else int(args.max_ahead * 1000)
    counts = {"lines": 0, "events": 0}
    rows = list(events_of(args.file, args.fmt, dead, max_ahead, counts, args.fields))
    left = dead.sender.flush(60)
    if left or dead.sender.failed:
        log.error("dead letters undelivered", extra={"fields": {"left": left, "failed": dict(dead.sender.failed)}})
        return 1
    spark = correct.batch_session(opts, "backfill")
    try:
        archive = Archive(spark)
        hours = sorted({correction.hour_of(int(row[1])) for row in rows})
        frame = tr.archive_partitions(spark.createDataFrame(rows, tr.event_schema()))
        target = opts.path("backfill")
        if hours and archive.exists(target):
            spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            held = tr.in_hours(spark.read.parquet(target), hours).select("id", "timestamp")
            frame = frame.join(held.distinct(), ["id", "timestamp"], "left_anti")
        new = frame.dropDuplicates(["id", "timestamp"]).cache()
        archived = new.count()
        if archived:
            new.write.mode("append").partitionBy("date", "hour").parquet(target)
        new.unpersist()
        now = int(time.time() * 1000)
        closed = correction.settled_until(now, opts.settle_ms, opts.window_ms)
        plan = correction.Plan(tuple(h for h in hours if h < closed), closed, correction.State(now, closed))
        summary = correct.run_plan(spark, archive, opts, CorrectionMetrics(), plan, save_state=False)
    finally:
        spark.stop()
    result = {
        **counts,
        "dead_lettered": dead.total,
        "dead_lettered_by_class": dict(sorted(dead.counts.items())),
        "archived": archived,
        "hours": len(hours),
        "windows": summary.get("windows", 0),
        "published": summary.get("published", 0),
        "seconds": round(time.monotonic() - began, 3),
    }
    log.info("backfill done", extra={"fields": result})
    print(orjson.dumps(result).decode())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args, opts = parse_args(argv)
    return run(args, opts)


if __name__ == "__main__":
    sys.exit(main())
