"""The streaming job's options: command line, with defaults from the environment the operator's ConfigMap sets."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from logpipeline import config, contracts
from logpipeline.events.schema import DEFAULT_MAX_AHEAD_MS

T = TypeVar("T")

# The job's outputs; the aggregates query writes the first, the route query the others (``queries.running``).
QUERIES: tuple[str, ...] = ("aggregates", "dead_letters", "raw_archive")
STATE_STORES: tuple[str, ...] = ("rocksdb", "hdfs")
# The aggregates query's de-dup in micro-batch mode: ordered by event time (``jvm.ordered_dedup``, RocksDB) or Spark's
# own (``dropDuplicates``, in the --state-store store). Real-time mode always runs Spark's.
DEDUPS: tuple[str, ...] = ("ordered", "spark")
# State partitions of a new checkpoint by mode. In real-time mode each one is a long-running task of each of the two
# stateful stages (de-dup, windows), and each task of a stage keeps shuffle connections to each task of the next,
# flushed every 50 ms: on a quiet stream (200 events/s) one partition instead of two took the job from 19.6% to 12.5%
# of a core (the real-time shuffle's threads 3.0% to 1.2%; ``tests/benchmarks/test_spark_job_cost.py``). Micro-batch
# tasks end with each batch and two share a backlog's windows between two cores.
SHUFFLE_PARTITIONS: dict[str, int] = {"realtime": 1, "microbatch": 2}
# The aggregates query's modes (``queries.realtime_slots`` says how many task slots real-time mode holds).
MODES: tuple[str, ...] = contracts.AGGREGATES_MODES


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
    side_trigger: str = contracts.SIDE_TRIGGER
    master: str | None = "local[2]"
    starting_offsets: str = "earliest"
    max_offsets_per_trigger: int = 0
    side_min_partitions: int = 8
    shuffle_partitions: int = 2
    state_store: str = "hdfs"
    dedup: str = "ordered"
    mode: str = "microbatch"
    realtime_batch: str = "1 minute"
    realtime_emit_ms: int = contracts.REALTIME_EMIT_MS
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
    p = argparse.ArgumentParser(
        prog="logpipeline_spark.job",
        description="The streaming job: input topic -> aggregates (one query); raw archive and dead letters "
        "(the route query).",
    )
    p.add_argument("--bootstrap", default=_env(contracts.ENV_KAFKA_BOOTSTRAP, settings.kafka_bootstrap))
    p.add_argument(
        "--archive-root",
        default=_env(contracts.ENV_ARCHIVE_ROOT, settings.hdfs_url),
        help="hdfs://host:port or file:///dir",
    )
    p.add_argument(
        "--checkpoint-root", default=os.environ.get(contracts.ENV_CHECKPOINT_ROOT), help="default: the archive root"
    )
    p.add_argument("--input-topic", default=names.input_topic)
    p.add_argument("--aggregates-topic", default=names.aggregates_topic)
    p.add_argument("--dlq-topic", default=os.environ.get(contracts.ENV_DLQ_TOPIC), help="default: <input topic>.dlq")
    p.add_argument("--pipeline", default=names.pipeline)
    p.add_argument("--window", default=_env("LOGPIPELINE_WINDOW", "1 minute"))
    p.add_argument("--watermark", default=_env("LOGPIPELINE_WATERMARK", "1 minute"))
    p.add_argument("--trigger", default=_env("LOGPIPELINE_TRIGGER", "1 second"), help="of the aggregates query")
    p.add_argument(
        "--side-trigger",
        default=_env(contracts.ENV_SIDE_TRIGGER, contracts.SIDE_TRIGGER),
        help="of the route query (raw archive and dead letters: no second-level latency needed; longer means fewer, "
        "larger Parquet files)",
    )
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit chose the master already
    p.add_argument("--master", default=_env("LOGPIPELINE_SPARK_MASTER", "" if under_submit else "local[2]"))
    p.add_argument("--starting-offsets", default=_env("LOGPIPELINE_STARTING_OFFSETS", "earliest"))
    p.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=int(_env("LOGPIPELINE_MAX_OFFSETS_PER_TRIGGER", "0")),
        help="records per micro-batch at most (0: no bound); a real-time query has no batches to bound",
    )
    p.add_argument(
        "--side-min-partitions",
        type=int,
        default=int(_env("LOGPIPELINE_SIDE_MIN_PARTITIONS", "8")),
        help="Kafka ranges per batch of the route query (at least; 0: one per Kafka partition); its archive write "
        "reads them in one task",
    )
    p.add_argument(
        "--shuffle-partitions",
        type=int,
        default=int(_env("LOGPIPELINE_SHUFFLE_PARTITIONS", "0")),
        help="state partitions of a new checkpoint (a restarted query keeps its own); 0, the default: "
        f"{SHUFFLE_PARTITIONS['realtime']} in real-time mode, {SHUFFLE_PARTITIONS['microbatch']} in micro-batch mode",
    )
    p.add_argument(
        "--state-store",
        choices=STATE_STORES,
        default=_env("LOGPIPELINE_STATE_STORE", "hdfs"),
        help="the aggregates query's state store for a new checkpoint (a restarted query keeps its own): hdfs "
        "(Spark's default, in the heap) or rocksdb (off the heap, changelog checkpoints; for a de-dup state larger "
        "than the heap, at about half the events/s of a backlog)",
    )
    p.add_argument(
        "--dedup",
        choices=DEDUPS,
        default=_env("LOGPIPELINE_DEDUP", DEDUPS[0]),
        help="the aggregates query's de-dup in micro-batch mode, for a new checkpoint (a restarted query keeps its "
        "own): ordered (state grouped by second of event time in RocksDB; a batch costs what its events touch: about "
        "6 times Spark's events/s once 100k events/s of traffic fill a minute's watermark) or spark (Spark's "
        "dropDuplicates in the --state-store store; it tests the watermark on every id at each batch). Real-time "
        "mode runs Spark's",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default=_env(contracts.ENV_AGGREGATES_MODE, MODES[0]),
        help="how the aggregates query runs: microbatch (one planned batch per --trigger) or realtime (Spark's "
        "real-time mode: long-running tasks, each event counted as it arrives; RocksDB state; needs input partitions "
        "+ 2 x shuffle partitions task slots of its own). A checkpoint written in micro-batch mode stays in it",
    )
    p.add_argument(
        "--realtime-batch",
        default=_env("LOGPIPELINE_REALTIME_BATCH", "1 minute"),
        help="real-time mode: the length of each long-running batch, after which its offsets and state are "
        "committed to the checkpoint and its progress reported (at least 5 seconds)",
    )
    p.add_argument(
        "--realtime-emit-ms",
        type=int,
        default=int(_env(contracts.ENV_REALTIME_EMIT_MS, str(contracts.REALTIME_EMIT_MS))),
        help="real-time mode: the shortest time between two updates of one window from one task, in ms; a window's "
        "events in between are combined into one partial total before the stateful aggregation (0: every event "
        "aggregated, and its record written, alone). A window's first event in an interval is aggregated at once, "
        "the rest as soon as the interval is over, and all of them by the end of each batch",
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
    p.add_argument(
        "--queries",
        default=os.environ.get(contracts.ENV_QUERIES) or ",".join(QUERIES),
        help="the outputs to write, a comma-separated subset of " + ",".join(QUERIES),
    )
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
    if a.shuffle_partitions < 0:
        p.error(f"--shuffle-partitions: expected 0 (by mode) or more, got {a.shuffle_partitions}")
    if a.realtime_emit_ms < 0:
        p.error(f"--realtime-emit-ms: expected ms >= 0, got {a.realtime_emit_ms}")
    if a.max_ahead is not None and a.max_ahead < 0:
        p.error(f"--max-ahead: expected seconds >= 0, got {a.max_ahead}")
    return from_args(
        JobOptions,
        a,
        checkpoint_root=a.checkpoint_root or a.archive_root,
        dlq_topic=a.dlq_topic or contracts.dlq_topic(a.input_topic),
        master=a.master or None,
        queries=queries,
        shuffle_partitions=a.shuffle_partitions or SHUFFLE_PARTITIONS[a.mode],
        max_ahead_ms=config.max_ahead_ms() if a.max_ahead is None else int(a.max_ahead * 1000),
    )


def from_args(cls: type[T], args: argparse.Namespace, **derived: Any) -> T:
    """An options dataclass from parsed arguments: each field from the argument of the same name, or ``derived``."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{**{k: v for k, v in vars(args).items() if k in names}, **derived})
