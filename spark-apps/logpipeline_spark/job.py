"""Entry point of the streaming job: reads the input topic and runs the pipeline's two queries.

``python -m logpipeline_spark.job [options]`` (local master, Kafka connector resolved by Spark's Ivy) or
``spark-submit --packages <connector> spark-apps/logpipeline_spark/main.py [options]``. Queries:

- ``aggregates``: per-(window, api, log_level) aggregates -> the aggregates topic, update mode, so the
  current window is visible within a trigger or two (full values, key = aggregate id);
- ``route`` (``logpipeline_spark.route``): each record parsed once; invalid records -> the dead-letter topic
  (original bytes, reason in ``dlq.*`` headers) and valid events -> Parquet
  ``<root>/<pipeline>/raw/date=YYYY-MM-DD/hour=HH/``, both exactly once per micro-batch.

Closed windows are archived by the correction job (``logpipeline_spark.correct``), which re-aggregates them
from the raw archive, late events included. The aggregates query runs in its own FAIR scheduler pool
(``queries.POOLS``), weighted above the route query, which writes each of its larger, rarer batches in one task:
it holds one core at most, and the aggregates query keeps the others. Neither query runs a micro-batch when no
data arrived.

Each query checkpoints under ``<checkpoint root>/<pipeline>/checkpoints/<query>``, so a restart
resumes exactly where it stopped (the state and the route query's outputs are exactly-once; the aggregates
topic is at-least-once, harmless because aggregates are full values). SIGTERM or SIGINT stops the queries
between micro-batches. Logs are JSON lines; /healthz, /readyz and /metrics are served on
``--metrics-port`` (ready: every query active and, on Kubernetes, every executor registered).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from pyspark.sql.streaming.query import StreamingQuery

from logpipeline import config, contracts
from logpipeline.observability import configure_logging, serve, stop_on_signals
from logpipeline_spark import jvm, session, telemetry
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import JobOptions, parse_args
from logpipeline_spark.queries import (
    checkpoint_hint,
    input_partitions,
    local_master,
    running,
    scheduler_pools,
    session_conf,
    start,
)
from logpipeline_spark.route import Router, offset_log

log = logging.getLogger("logpipeline_spark.job")

STOP_GRACE_S = 30.0


def _stop(queries: dict[str, StreamingQuery], opts: JobOptions) -> None:
    """Stop each query, first letting a running micro-batch finish (up to STOP_GRACE_S). A real-time batch runs
    until its end, so it is stopped at once: its restart resumes from the last committed batch, exactly."""
    deadline = time.monotonic() + STOP_GRACE_S
    for name, query in queries.items():
        until = time.monotonic() if name == "aggregates" and opts.mode == "realtime" else deadline
        while query.isActive and query.status.get("isTriggerActive") and time.monotonic() < until:
            time.sleep(0.1)
        query.stop()
        log.info("query stopped", extra={"fields": {"query": name}})


def run(opts: JobOptions) -> int:
    """Start the queries and supervise them until a signal or a failure; returns the exit code."""
    stop = stop_on_signals(log)
    jars: dict[str, str] = {}
    if opts.master:  # the job's JVM part; under spark-submit the app image has it in Spark's jars
        try:
            jars["spark.jars"] = str(jvm.jar(config.load().cache))
        except jvm.JvmBuildError as exc:
            log.error("job not started", extra={"fields": {"error": str(exc)}})
            return 1
    with tempfile.NamedTemporaryFile("w", prefix="logpipeline-pools-", suffix=".xml", delete=False) as pools:
        pools.write(scheduler_pools())
    extra = {**session_conf(opts, pools.name), **jars}
    if opts.mode == "realtime" and opts.master:
        opts = replace(opts, master=local_master(opts, _input_partitions(opts)))
    log.info("job starting", extra={"fields": {k: str(v) for k, v in opts.__dict__.items()}})
    try:
        spark = session.build_session(f"logpipeline-{opts.pipeline}", master=opts.master, extra=extra)
    finally:
        os.unlink(pools.name)  # the scheduler reads it once, when the context starts
    spark.sparkContext.setLogLevel("WARN")
    log.info("session ready", extra={"fields": {"spark": spark.version, "master": spark.sparkContext.master}})
    metrics = telemetry.Metrics()
    router: Router | None = None
    try:
        archive = Archive(spark)
        if not wait_out_of_safe_mode(archive, tuple(dict.fromkeys((opts.checkpoint_root, opts.archive_root))), stop):
            return 1
        if "route" in running(opts):
            router = Router(opts, archive, offset_log(archive, opts.checkpoint("route")), metrics)
        queries = start(spark, opts, router)
        if opts.metrics_port:

            def ready() -> bool:  # every query active, and on Kubernetes every executor registered
                return all(q.isActive for q in queries.values()) and not session.executors_missing(spark)

            serve("0.0.0.0", opts.metrics_port, metrics.registry, ready)
        failed = supervise(queries, metrics, stop, opts)
        _stop(queries, opts)
    finally:
        if router is not None:
            router.close()
        spark.stop()
    log.info("job stopped", extra={"fields": {"failed": failed}})
    return 1 if failed else 0


SAFE_MODE_WAIT_S = 600.0  # how long the job waits for its NameNode to leave safe mode before it gives up


def wait_out_of_safe_mode(
    archive: Archive, roots: Sequence[str], stop: threading.Event, limit_s: float = SAFE_MODE_WAIT_S
) -> bool:
    """Wait while the NameNode of a root is in safe mode (as just after it starts): a query started then fails on its
    first checkpoint write. Says so every 10 s; False when it is still in safe mode after ``limit_s`` (logged as an
    error) or the job is asked to stop."""
    began, said = time.monotonic(), -10.0
    while any(archive.in_safe_mode(root) for root in roots):
        waited = time.monotonic() - began
        fields = {"roots": list(roots), "waited_s": round(waited)}
        if waited > limit_s:
            log.error("HDFS still in safe mode: queries not started", extra={"fields": {**fields, "limit_s": limit_s}})
            return False
        if waited - said >= 10:
            log.warning("waiting for HDFS to leave safe mode", extra={"fields": fields})
            said = waited
        if stop.wait(1.0):
            return False
    return True


def _input_partitions(opts: JobOptions) -> int:
    """The input topic's partition count from the broker (the contract's count when the broker cannot say)."""
    try:
        return len(input_partitions(opts)[opts.input_topic])
    except Exception as exc:
        log.warning("input partitions unknown", extra={"fields": {"topic": opts.input_topic, "error": repr(exc)}})
        return contracts.PARTITIONS[contracts.INPUT]


def _recent(query: StreamingQuery) -> Callable[[], list[dict[str, Any]]]:
    """The query's retained progress reports, read when called (each report is a call into the JVM)."""
    return lambda: list(query.recentProgress)


def supervise(
    queries: dict[str, StreamingQuery], metrics: telemetry.Metrics, stop: threading.Event, opts: JobOptions
) -> bool:
    """Report each query's progress until a stop is requested or a query terminates; True when one failed."""
    readers = {name: telemetry.ProgressReader() for name in queries}
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
            # every executed batch's report once: a second's poll can span two batches
            for progress in readers[name].new(query.lastProgress, _recent(query)):
                try:
                    telemetry.report(name, progress, metrics)
                except Exception as exc:  # a report the job cannot read must not stop the queries
                    log.warning("progress report unreadable", extra={"fields": {"query": name, "error": repr(exc)}})
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
