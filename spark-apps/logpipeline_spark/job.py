"""Entry point of the streaming job: reads the input topic and runs the pipeline's three queries.

``python -m logpipeline_spark.job [options]`` (local master, Kafka connector resolved by Spark's Ivy) or
``spark-submit --packages <connector> spark-apps/logpipeline_spark/main.py [options]``. Queries:

- ``aggregates``: per-(window, api, log_level) aggregates -> the aggregates topic, update mode, so the
  current window is visible within a trigger or two (full values, key = aggregate id);
- ``dead_letters``: invalid records -> the dead-letter topic, original bytes, reason in ``dlq.*`` headers;
- ``raw_archive``: valid events -> Parquet ``<root>/<pipeline>/raw/date=YYYY-MM-DD/hour=HH/``.

Closed windows are archived by the correction job (``logpipeline_spark.correct``), which re-aggregates them
from the raw archive, late events included. The aggregates query runs in its own FAIR scheduler pool
(``POOLS``), weighted above the others, and the side queries read the topic in small tasks
(``--side-min-partitions``): their larger, rarer batches then delay the next aggregates batch by one short
task at most instead of a whole batch.

Each query checkpoints under ``<checkpoint root>/<pipeline>/checkpoints/<query>``, so a restart
resumes exactly where it stopped (the file sinks and the state are exactly-once; the Kafka sinks are
at-least-once, harmless because aggregates are full values). SIGTERM or SIGINT stops the queries
between micro-batches. Logs are JSON lines; /healthz, /readyz and /metrics are served on
``--metrics-port``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery
from pyspark.sql.streaming.readwriter import DataStreamWriter

from logpipeline import config
from logpipeline.events.schema import DEFAULT_MAX_AHEAD_MS
from logpipeline.metrics.service import configure_logging, serve
from logpipeline_spark import session
from logpipeline_spark import transformations as tr

log = logging.getLogger("logpipeline_spark.job")

QUERIES: tuple[str, ...] = ("aggregates", "dead_letters", "raw_archive")
STOP_GRACE_S = 30.0
# FAIR scheduler pools: (name, weight, minShare); the aggregates query carries the freshness target.
POOLS: tuple[tuple[str, int, int], ...] = (("aggregates", 8, 1), ("side", 1, 0))


@dataclass(frozen=True)
class JobOptions:
    bootstrap: str
    archive_root: str
    checkpoint_root: str
    input_topic: str
    aggregates_topic: str
    dlq_topic: str
    pipeline: str
    window: str = "1 minute"
    watermark: str = "1 minute"
    trigger: str = "1 second"
    side_trigger: str = "10 seconds"
    archive_trigger: str = "10 seconds"
    master: str | None = "local[2]"
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int = 0
    side_min_partitions: int = 8
    shuffle_partitions: int = 2
    driver_memory: str = "3g"
    ui_port: int = 4040
    metrics_port: int = 0
    queries: tuple[str, ...] = QUERIES
    max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS

    def path(self, *parts: str) -> str:
        return "/".join([self.archive_root.rstrip("/"), self.pipeline, *parts])

    def checkpoint(self, query: str) -> str:
        return "/".join([self.checkpoint_root.rstrip("/"), self.pipeline, "checkpoints", query])


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def parse_args(argv: Sequence[str] | None = None) -> JobOptions:
    settings = config.load()
    names = settings.names
    p = argparse.ArgumentParser(prog="logpipeline_spark.job", description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", default=_env("LOGPIPELINE_KAFKA_BOOTSTRAP", settings.kafka_bootstrap))
    p.add_argument(
        "--archive-root",
        default=_env("LOGPIPELINE_ARCHIVE_ROOT", settings.hdfs_url),
        help="hdfs://host:port or file:///dir",
    )
    p.add_argument(
        "--checkpoint-root", default=os.environ.get("LOGPIPELINE_CHECKPOINT_ROOT"), help="default: the archive root"
    )
    p.add_argument("--input-topic", default=names.input_topic)
    p.add_argument("--aggregates-topic", default=names.aggregates_topic)
    p.add_argument("--dlq-topic", default=os.environ.get("LOGPIPELINE_DLQ_TOPIC"), help="default: <input topic>.dlq")
    p.add_argument("--pipeline", default=names.pipeline)
    p.add_argument("--window", default=_env("LOGPIPELINE_WINDOW", "1 minute"))
    p.add_argument("--watermark", default=_env("LOGPIPELINE_WATERMARK", "1 minute"))
    p.add_argument("--trigger", default=_env("LOGPIPELINE_TRIGGER", "1 second"), help="of the aggregates query")
    p.add_argument(
        "--side-trigger",
        default=_env("LOGPIPELINE_SIDE_TRIGGER", "10 seconds"),
        help="of the dead-letter query (it needs no second-level latency)",
    )
    p.add_argument(
        "--archive-trigger",
        default=_env("LOGPIPELINE_ARCHIVE_TRIGGER", "10 seconds"),
        help="of the raw archive query (longer: fewer, larger Parquet files, in larger bursts)",
    )
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit chose the master already
    p.add_argument("--master", default=_env("LOGPIPELINE_SPARK_MASTER", "" if under_submit else "local[2]"))
    p.add_argument("--starting-offsets", default=_env("LOGPIPELINE_STARTING_OFFSETS", "earliest"))
    p.add_argument("--max-offsets-per-trigger", type=int, default=int(_env("LOGPIPELINE_MAX_OFFSETS_PER_TRIGGER", "0")))
    p.add_argument(
        "--side-min-partitions",
        type=int,
        default=int(_env("LOGPIPELINE_SIDE_MIN_PARTITIONS", "8")),
        help="input tasks per batch of the dead-letter and raw archive queries (at least; 0: one per Kafka partition)",
    )
    p.add_argument(
        "--shuffle-partitions",
        type=int,
        default=int(_env("LOGPIPELINE_SHUFFLE_PARTITIONS", "2")),
        help="state partitions of a new checkpoint (a restarted query keeps its own)",
    )
    p.add_argument(
        "--driver-memory",
        default=_env("LOGPIPELINE_SPARK_DRIVER_MEMORY", "3g"),
        help="heap of a local-mode job, whose driver is also its executor and holds the de-dup state "
        "(under spark-submit, its own --driver-memory decides)",
    )
    p.add_argument("--ui-port", type=int, default=int(_env("LOGPIPELINE_SPARK_UI_PORT", "4040")), help="0: no UI")
    p.add_argument(
        "--metrics-port", type=int, default=int(_env("LOGPIPELINE_SPARK_METRICS_PORT", "0")), help="0: no server"
    )
    p.add_argument("--queries", default=",".join(QUERIES), help="comma-separated subset of " + ",".join(QUERIES))
    p.add_argument(
        "--max-ahead",
        type=float,
        default=None,
        help="seconds an event may be stamped past its record's Kafka timestamp (LOGPIPELINE_MAX_AHEAD_SECONDS, 300); "
        "later ones are dead-lettered as too_far_ahead and never move the watermark",
    )
    a = p.parse_args(argv)
    queries = tuple(q for q in a.queries.split(",") if q)
    unknown = sorted(set(queries) - set(QUERIES))
    if unknown:
        p.error(f"--queries: unknown {', '.join(unknown)}; expected some of {', '.join(QUERIES)}")
    if not re.fullmatch(r"[1-9][0-9]*[kmgt]?", a.driver_memory.lower()):
        p.error(f"--driver-memory: expected a size such as 3g or 2048m, got {a.driver_memory!r}")
    if a.max_ahead is not None and a.max_ahead < 0:
        p.error(f"--max-ahead: expected seconds >= 0, got {a.max_ahead}")
    return JobOptions(
        bootstrap=a.bootstrap,
        archive_root=a.archive_root,
        checkpoint_root=a.checkpoint_root or a.archive_root,
        input_topic=a.input_topic,
        aggregates_topic=a.aggregates_topic,
        dlq_topic=a.dlq_topic or f"{a.input_topic}.dlq",
        pipeline=a.pipeline,
        window=a.window,
        watermark=a.watermark,
        trigger=a.trigger,
        side_trigger=a.side_trigger,
        archive_trigger=a.archive_trigger,
        master=a.master or None,
        starting_offsets=a.starting_offsets,
        max_offsets_per_trigger=a.max_offsets_per_trigger,
        side_min_partitions=a.side_min_partitions,
        shuffle_partitions=a.shuffle_partitions,
        driver_memory=a.driver_memory,
        ui_port=a.ui_port,
        metrics_port=a.metrics_port,
        queries=queries,
        max_ahead_ms=config.max_ahead_ms() if a.max_ahead is None else int(a.max_ahead * 1000),
    )


# Kafka consumer settings of the input readers. With the consumer's default fetch.max.wait.ms (500 ms), a task
# that read its range up to the end of the partition waited about that long before it finished: in a backlog read
# as three 100k-record batches, the last batch took about 1 s longer than the others (three tasks on two cores, so
# two such waits in a row). A live stream rarely waits, since a fetch returns as soon as new records arrive; a
# catch-up after a restart, or a topic that goes quiet, does.
CONSUMER_OPTIONS: dict[str, str] = {"kafka.fetch.max.wait.ms": "10"}
# Records that retention deleted before the job read them (a job stopped longer than the topic's retention) are
# skipped, not fatal: a query that stops on them stops all counting. Each batch's skipped offsets are counted
# (``skipped_offsets``) and logged instead.
FAIL_ON_DATA_LOSS = "false"


def source_options(opts: JobOptions, min_partitions: int = 0) -> dict[str, str]:
    """The Kafka source's options; ``min_partitions`` > 0 splits each batch into at least that many tasks."""
    options = {
        "kafka.bootstrap.servers": opts.bootstrap,
        "subscribe": opts.input_topic,
        "startingOffsets": opts.starting_offsets,
        "failOnDataLoss": FAIL_ON_DATA_LOSS,
        **CONSUMER_OPTIONS,
    }
    if opts.max_offsets_per_trigger > 0:
        options["maxOffsetsPerTrigger"] = str(opts.max_offsets_per_trigger)
    if min_partitions > 0:
        options["minPartitions"] = str(min_partitions)
    return options


def read_input(spark: SparkSession, opts: JobOptions, min_partitions: int = 0) -> DataFrame:
    """The input topic as a stream (``source_options``)."""
    return spark.readStream.format("kafka").options(**source_options(opts, min_partitions)).load()


def _aggregates(raw: DataFrame, opts: JobOptions) -> DataFrame:
    events = tr.deduplicate(
        tr.with_event_time(tr.for_aggregation(tr.parse(raw, opts.max_ahead_ms).valid), opts.watermark)
    )
    return tr.aggregate(events, opts.window)


def writers(raw: DataFrame, opts: JobOptions, side: DataFrame | None = None) -> dict[str, DataStreamWriter]:
    """The three queries, configured but not started; ``side`` (default ``raw``) feeds all but the aggregates."""
    side = raw if side is None else side
    parsed = tr.parse(side, opts.max_ahead_ms)
    kafka = {"kafka.bootstrap.servers": opts.bootstrap}
    return {
        "aggregates": tr.aggregate_records(_aggregates(raw, opts))
        .writeStream.format("kafka")
        .options(**kafka, topic=opts.aggregates_topic)
        .outputMode("update"),
        "dead_letters": tr.dead_letter_records(tr.with_class_counts(parsed.invalid))
        .writeStream.format("kafka")
        .options(**kafka, topic=opts.dlq_topic)
        .outputMode("append"),
        "raw_archive": tr.archive_partitions(parsed.valid)
        .writeStream.format("parquet")
        .option("path", opts.path("raw"))
        .partitionBy("date", "hour")
        .outputMode("append"),
    }


def scheduler_pools() -> str:
    """The FAIR scheduler allocation file of ``POOLS``."""
    pools = "".join(
        f'<pool name="{name}"><schedulingMode>FAIR</schedulingMode><weight>{weight}</weight>'
        f"<minShare>{share}</minShare></pool>"
        for name, weight, share in POOLS
    )
    return f'<?xml version="1.0"?><allocations>{pools}</allocations>'


def trigger_of(query: str, opts: JobOptions) -> str:
    if query == "aggregates":
        return opts.trigger
    return opts.side_trigger if query == "dead_letters" else opts.archive_trigger


def query_conf(query: str, opts: JobOptions) -> dict[str, str]:
    """Session settings that a query keeps from its start: its state partitions and, for the aggregates query, no
    no-data micro-batches. In update mode a batch with no new data writes nothing (it only evicts state that the
    watermark has passed, which the next data batch does as well), yet it costs as much as a small data batch."""
    return {
        "spark.sql.shuffle.partitions": str(opts.shuffle_partitions),
        "spark.sql.streaming.noDataMicroBatches.enabled": str(query != "aggregates").lower(),
    }


def session_conf(opts: JobOptions, allocation_file: str) -> dict[str, str]:
    """The job's session settings: FAIR pools from ``allocation_file``, the UI, and the heap of a local-mode JVM.
    Each query sets its own state partitions when it starts (``query_conf``)."""
    conf = {"spark.scheduler.mode": "FAIR", "spark.scheduler.allocation.file": allocation_file}
    if opts.master:  # a JVM this process starts; under spark-submit the JVM runs already
        conf["spark.driver.memory"] = opts.driver_memory
    conf.update({"spark.ui.port": str(opts.ui_port)} if opts.ui_port else {"spark.ui.enabled": "false"})
    return conf


# Spark's error classes for a checkpoint whose stateful operators or state schema differ from the query's.
_INCOMPATIBLE_STATE = (
    "STREAMING_STATEFUL_OPERATOR_NOT_MATCH_IN_STATE_METADATA",
    "STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE",
)


def checkpoint_hint(error: str, query: str, opts: JobOptions) -> str | None:
    """What to do when a query stopped because its checkpoint was written by a job with other stateful operators
    (an upgrade that changed them); None for any other error."""
    if not any(code in error for code in _INCOMPATIBLE_STATE):
        return None
    checkpoints = opts.checkpoint(query).rsplit("/", 1)[0]
    both = opts.path() if checkpoints == opts.path("checkpoints") else f"{opts.path()} and {checkpoints}"
    return (
        f"the checkpoint {opts.checkpoint(query)} was written by a job whose stateful operators differ from this "
        f"one's, so it cannot be resumed; run under a new --pipeline name, or remove {both} (the pipeline's "
        "checkpoints and archive) to rebuild from the topic"
    )


def pool_of(query: str) -> str:
    return "aggregates" if query == "aggregates" else "side"


def start(spark: SparkSession, opts: JobOptions) -> dict[str, StreamingQuery]:
    raw = read_input(spark, opts)
    side = read_input(spark, opts, opts.side_min_partitions)
    started: dict[str, StreamingQuery] = {}
    for name, writer in writers(raw, opts, side).items():
        if name not in opts.queries:
            continue
        # A query's micro-batches run in the pool set on the thread that starts it.
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", pool_of(name))
        # A new query keeps the session's settings as they are at its start.
        for key, value in query_conf(name, opts).items():
            spark.conf.set(key, value)
        query = (
            writer.queryName(f"{opts.pipeline}.{name}")
            .option("checkpointLocation", opts.checkpoint(name))
            .trigger(processingTime=trigger_of(name, opts))
            .start()
        )
        started[name] = query
        log.info(
            "query started", extra={"fields": {"query": name, "id": str(query.id), "checkpoint": opts.checkpoint(name)}}
        )
    return started


class Metrics:
    """Prometheus figures of the running queries, fed from their progress reports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["query"]
        self.input_rows = Counter("logpipeline_spark_input_rows", "Rows read", labels, registry=self.registry)
        self.output_rows = Counter("logpipeline_spark_output_rows", "Rows written", labels, registry=self.registry)
        self.batches = Counter("logpipeline_spark_batches", "Micro-batches completed", labels, registry=self.registry)
        self.duration = Gauge(
            "logpipeline_spark_batch_seconds", "Duration of the last micro-batch", labels, registry=self.registry
        )
        self.state_rows = Gauge("logpipeline_spark_state_rows", "Rows held in state", labels, registry=self.registry)
        self.active = Gauge("logpipeline_spark_query_active", "1 while the query runs", labels, registry=self.registry)
        self.skipped = Counter(
            "logpipeline_spark_offsets_skipped",
            "Offsets in a batch's range that held no readable record: deleted by retention before the job read them "
            "(or a transactional producer's commit markers)",
            labels,
            registry=self.registry,
        )
        self.dead = Counter(
            "logpipeline_spark_dead_letters",
            "Records sent to the dead-letter topic, by class (too_far_ahead: stamped past the clock-skew bound)",
            ["error_class"],
            registry=self.registry,
        )
        self.late = Counter(
            "logpipeline_spark_late_events",
            "Events older than the watermark: not counted by this query (kept in the raw archive for the correction job)",
            labels,
            registry=self.registry,
        )


def dead_letter_counts(progress: Any) -> dict[str, int]:
    """The batch's dead letters per class, as ``with_class_counts`` observed them (a Row, or its JSON form)."""
    row: Any = (progress.get("observedMetrics") or {}).get(tr.CLASS_COUNTS) or {}
    values = row.asDict() if hasattr(row, "asDict") else dict(row)
    return {str(k): int(v) for k, v in values.items() if v}


def skipped_offsets(progress: dict[str, Any]) -> int:
    """Offsets of a batch's ranges that it read no record from (``failOnDataLoss`` is off): the ranges' size minus
    the rows read. Partitions the batch starts from nothing (new ones) are left out."""
    span = 0
    for source in progress.get("sources") or []:
        start, end = _offsets(source.get("startOffset")), _offsets(source.get("endOffset"))
        span += sum(max(0, last - start[key]) for key, last in end.items() if key in start)
    return max(0, span - int(progress.get("numInputRows", 0))) if span else 0


def _offsets(value: Any) -> dict[str, int]:
    """A Kafka source's offsets (``{"topic": {"0": 12}}``, or its JSON text) as ``{"topic:0": 12}``."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        return {}
    return {f"{t}:{p}": int(o) for t, parts in value.items() if isinstance(parts, dict) for p, o in parts.items()}


def batch_fields(name: str, progress: dict[str, Any]) -> dict[str, Any]:
    """The log fields of one micro-batch: its rows and time, and where the time went. ``run_ms`` is the batch's
    tasks, ``planning_ms`` its planning, ``log_ms`` the offset and commit logs; ``state`` has, per stateful operator,
    its rows and the time its tasks spent updating, evicting and committing state (summed over its tasks)."""
    durations = progress.get("durationMs") or {}
    state = [
        {
            "operator": op.get("operatorName", "?"),
            "rows": int(op.get("numRowsTotal", 0)),
            "update_ms": int(op.get("allUpdatesTimeMs", 0)),
            "evict_ms": int(op.get("allRemovalsTimeMs", 0)),
            "commit_ms": int(op.get("commitTimeMs", 0)),
            "late_rows": int(op.get("numRowsDroppedByWatermark", 0)),
        }
        for op in progress.get("stateOperators") or []
    ]
    return {
        "query": name,
        "batch": progress.get("batchId"),
        "input_rows": int(progress.get("numInputRows", 0)),
        "output_rows": int((progress.get("sink") or {}).get("numOutputRows", 0) or 0),
        "rows_per_s": round(float(progress.get("processedRowsPerSecond") or 0.0), 1),
        "batch_ms": int(durations.get("triggerExecution", 0)),
        "run_ms": int(durations.get("addBatch", 0)),
        "planning_ms": int(durations.get("queryPlanning", 0)),
        "log_ms": int(durations.get("walCommit", 0)) + int(durations.get("commitOffsets", 0)),
        "watermark": (progress.get("eventTime") or {}).get("watermark"),
        "state_rows": sum(op["rows"] for op in state),
        # Late events are dropped by the first stateful operator, the de-dup; later operators see none of them.
        "late_events": sum(op["late_rows"] for op in state if op["operator"] == "dedupe"),
        "state": state,
    }


def _report(name: str, progress: dict[str, Any], metrics: Metrics) -> None:
    fields = batch_fields(name, progress)
    metrics.input_rows.labels(name).inc(fields["input_rows"])
    metrics.output_rows.labels(name).inc(max(fields["output_rows"], 0))
    metrics.batches.labels(name).inc()
    metrics.duration.labels(name).set(fields["batch_ms"] / 1000.0)
    metrics.state_rows.labels(name).set(fields["state_rows"])
    metrics.late.labels(name).inc(fields["late_events"])
    for error_class, n in dead_letter_counts(progress).items():
        metrics.dead.labels(error_class).inc(n)
    skipped = skipped_offsets(progress)
    if skipped:
        metrics.skipped.labels(name).inc(skipped)
        ranges = [{"from": src.get("startOffset"), "to": src.get("endOffset")} for src in progress.get("sources") or []]
        log.warning(
            "offsets skipped: records deleted before they were read",
            extra={"fields": {"query": name, "batch": fields["batch"], "skipped": skipped, "ranges": ranges}},
        )
    if fields["late_events"]:
        log.warning(
            "late events not counted",
            extra={
                "fields": {
                    "query": name,
                    "batch": fields["batch"],
                    "late_events": fields["late_events"],
                    "watermark": fields["watermark"],
                }
            },
        )
    if fields["input_rows"] or fields["output_rows"]:
        log.info("batch", extra={"fields": fields})


def _stop(queries: dict[str, StreamingQuery]) -> None:
    """Stop each query, first letting a running micro-batch finish (up to STOP_GRACE_S)."""
    deadline = time.monotonic() + STOP_GRACE_S
    for name, query in queries.items():
        while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < deadline:
            time.sleep(0.1)
        query.stop()
        log.info("query stopped", extra={"fields": {"query": name}})


def run(opts: JobOptions) -> int:
    """Start the queries and supervise them until a signal or a failure; returns the exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("stop requested", extra={"fields": {"signal": signal.Signals(signum).name}})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with tempfile.NamedTemporaryFile("w", prefix="logpipeline-pools-", suffix=".xml", delete=False) as pools:
        pools.write(scheduler_pools())
    extra = session_conf(opts, pools.name)
    log.info("job starting", extra={"fields": {k: str(v) for k, v in opts.__dict__.items()}})
    try:
        spark = session.build_session(f"logpipeline-{opts.pipeline}", master=opts.master, extra=extra)
    finally:
        os.unlink(pools.name)  # the scheduler reads it once, when the context starts
    spark.sparkContext.setLogLevel("WARN")
    log.info("session ready", extra={"fields": {"spark": spark.version, "master": spark.sparkContext.master}})
    metrics = Metrics()
    queries = start(spark, opts)
    if opts.metrics_port:
        serve("0.0.0.0", opts.metrics_port, metrics.registry, lambda: all(q.isActive for q in queries.values()))
    seen: dict[str, Any] = {}
    failed = False
    while not stop.wait(1.0):
        for name, query in queries.items():
            metrics.active.labels(name).set(1 if query.isActive else 0)
            if not query.isActive:
                error = query.exception()
                fields = {"query": name, "error": str(error)}
                hint = checkpoint_hint(str(error), name, opts)
                if hint:
                    fields["hint"] = hint
                log.error("query terminated", extra={"fields": fields})
                failed = True
                stop.set()
                continue
            progress = query.lastProgress
            if progress and progress.get("batchId") != seen.get(name):
                seen[name] = progress.get("batchId")
                try:
                    _report(name, progress, metrics)
                except Exception as exc:  # a report the job cannot read must not stop the queries
                    log.warning("progress report unreadable", extra={"fields": {"query": name, "error": repr(exc)}})
    _stop(queries)
    spark.stop()
    log.info("job stopped", extra={"fields": {"failed": failed}})
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
