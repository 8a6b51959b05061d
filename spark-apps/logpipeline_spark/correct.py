"""Entry point of the correction job: re-aggregates closed windows from the raw archive and publishes the changes.

``python -m logpipeline_spark.correct [--since ISO --until ISO | --every SECONDS] [options]``. Each run (the hours
are chosen by ``logpipeline_spark.correction``):

1. reads the chosen hours of the raw archive (``<root>/<pipeline>/raw/``, through the streaming file sink's log, so
   a half-written file of a killed batch is never read) and of the backfill archive (``<root>/<pipeline>/backfill/``);
2. re-aggregates them with the streaming job's own transformations (parse rules, de-dup by id and event time,
   windows, KLL sketches) and keeps the closed windows;
3. reads the same windows from the metrics table through the query layer and publishes every window whose count
   differs to the aggregates topic (full values, a newer ``updated_at``): the sink stores them as for any record;
4. rewrites those hours of the closed-window archive ``<root>/<pipeline>/agg/date=YYYY-MM-DD/hour=HH/``;
5. saves its state (``<checkpoint root>/<pipeline>/checkpoints/correction/state.json``), so the next scheduled
   run reads only hours that changed or closed since.

A run that fails publishes nothing it has not computed in full and saves no state: the next run repeats it
(publishing is idempotent). Logs are JSON lines; with ``--every`` it serves /healthz, /readyz, /metrics.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from logpipeline import config
from logpipeline.kafka.producer import Sender
from logpipeline.metrics import layout, query, records, store
from logpipeline.observability import configure_logging, serve, stop_on_signals
from logpipeline_spark import correction, session
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import from_args
from logpipeline_spark.telemetry import CorrectionMetrics

log = logging.getLogger("logpipeline_spark.correct")

DEFAULT_SETTLE_S = 210  # the streaming job's watermark (1 minute), its archive trigger (1 minute) and a margin


@dataclass(frozen=True)
class CorrectOptions:
    bootstrap: str
    archive_root: str
    checkpoint_root: str
    aggregates_topic: str
    pipeline: str
    table: str
    endpoint: str | None
    window: str = "1 minute"
    region: str = ""  # a regional pipeline reads its own region's items (metrics.layout)
    settle_ms: int = DEFAULT_SETTLE_S * 1000
    lookback_ms: int = correction.DEFAULT_LOOKBACK_MS
    since_ms: int | None = None
    until_ms: int | None = None
    every_s: float = 0.0
    master: str | None = "local[2]"
    driver_memory: str = "2g"
    metrics_port: int = 0
    nice: int = 10

    def path(self, *parts: str) -> str:
        return "/".join([self.archive_root.rstrip("/"), self.pipeline, *parts])

    @property
    def state_path(self) -> str:
        return "/".join([self.checkpoint_root.rstrip("/"), self.pipeline, "checkpoints", "correction", "state.json"])

    @property
    def window_ms(self) -> int:
        return window_ms(self.window)


def window_ms(text: str) -> int:
    """A window length as Spark writes it (``1 minute``, ``30 seconds``, ``1 hour``) in ms."""
    amount, unit = text.split()
    scale = {"second": 1000, "minute": 60_000, "hour": 3_600_000}[unit.rstrip("s")]
    return int(amount) * scale


def _when(text: str) -> int:
    """ISO 8601 (UTC unless it says otherwise) or epoch ms, as epoch ms."""
    if text.isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp() * 1000)


def parse_args(argv: Sequence[str] | None = None) -> CorrectOptions:
    settings = config.load()
    names = settings.names
    env = os.environ.get
    p = argparse.ArgumentParser(prog="logpipeline_spark.correct", description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", default=env("LOGPIPELINE_KAFKA_BOOTSTRAP") or settings.kafka_bootstrap)
    p.add_argument("--archive-root", default=env("LOGPIPELINE_ARCHIVE_ROOT") or settings.hdfs_url)
    p.add_argument("--checkpoint-root", default=env("LOGPIPELINE_CHECKPOINT_ROOT"), help="default: the archive root")
    p.add_argument("--aggregates-topic", default=names.aggregates_topic)
    p.add_argument("--pipeline", default=names.pipeline)
    p.add_argument("--table", default=names.table)
    p.add_argument("--region", default=None, help="a regional pipeline's region (default: LOGPIPELINE_REGION)")
    # LOGPIPELINE_DYNAMODB_ENDPOINT set but empty means AWS (as the operator's ConfigMap says for engine aws).
    endpoint = env("LOGPIPELINE_DYNAMODB_ENDPOINT", settings.dynamodb_endpoint)
    p.add_argument("--endpoint", default=endpoint, help="DynamoDB endpoint ('' for AWS)")
    p.add_argument("--window", default=env("LOGPIPELINE_WINDOW") or "1 minute")
    p.add_argument(
        "--settle",
        type=float,
        default=float(env("LOGPIPELINE_CORRECTION_SETTLE_SECONDS") or DEFAULT_SETTLE_S),
        help="seconds after its end before a window is closed (the streaming job's watermark and archive trigger)",
    )
    p.add_argument("--lookback-hours", type=float, default=24.0, help="how far back a scheduled run looks")
    p.add_argument("--since", type=_when, default=None, help="on demand: correct every hour from this time (ISO)")
    p.add_argument("--until", type=_when, default=None, help="on demand: up to this time (default: now)")
    p.add_argument("--every", type=float, default=0.0, help="seconds between scheduled runs (0: one run)")
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    p.add_argument("--master", default=env("LOGPIPELINE_SPARK_MASTER") or ("" if under_submit else "local[2]"))
    p.add_argument("--driver-memory", default=env("LOGPIPELINE_CORRECTION_DRIVER_MEMORY") or "2g")
    p.add_argument("--metrics-port", type=int, default=0, help="/healthz, /readyz, /metrics (0: none)")
    p.add_argument(
        "--nice",
        type=int,
        default=int(env("LOGPIPELINE_CORRECTION_NICE") or 10),
        help="CPU priority below the streaming job's (added niceness of this process and its JVM; 0: none)",
    )
    a = p.parse_args(argv)
    if a.since is not None and a.every:
        p.error("--since runs once; --every schedules runs over the look-back: choose one")
    if a.until is not None and a.since is None:
        p.error("--until needs --since")
    try:
        a.region = config.region() if a.region is None else a.region
        layout.scope(a.region)  # names a region that is no region
    except ValueError as exc:
        p.error(f"--region: {exc}")
    try:
        window_ms(a.window)
    except (ValueError, KeyError):
        p.error(f"--window: expected '<n> seconds|minutes|hours', got {a.window!r}")
    return from_args(
        CorrectOptions,
        a,
        checkpoint_root=a.checkpoint_root or a.archive_root,
        endpoint=a.endpoint or None,
        settle_ms=int(a.settle * 1000),
        lookback_ms=int(a.lookback_hours * correction.HOUR_MS),
        since_ms=a.since,
        until_ms=a.until,
        every_s=a.every,
        master=a.master or None,
    )


def read_events(spark: SparkSession, archive: Archive, opts: CorrectOptions, hours: Sequence[int]) -> DataFrame | None:
    """The archived events of ``hours``: the streaming raw archive (through its file-sink log) and the backfills."""
    spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
    frames = []
    for where in ("raw", "backfill"):
        if archive.exists(opts.path(where)):
            frames.append(spark.read.parquet(opts.path(where)))
    if not frames:
        return None
    events = frames[0]
    for frame in frames[1:]:
        events = events.unionByName(frame, allowMissingColumns=True)
    return tr.in_hours(events, hours)


def write_closed_windows(aggregates: DataFrame, opts: CorrectOptions, archive: Archive) -> None:
    """Rewrite the hours of the closed-window archive that this run re-aggregated (dynamic partition overwrite)."""
    target = opts.path("agg")
    if archive.exists(f"{target}/_spark_metadata"):  # written by the streaming query of earlier versions
        moved = f"{target}-stream-{int(time.time())}"
        archive.move(target, moved)
        log.warning("earlier window archive moved aside", extra={"fields": {"from": target, "to": moved}})
    aggregates.sparkSession.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    tr.closed_window_partitions(aggregates).write.mode("overwrite").partitionBy("date", "hour").parquet(target)


def publish(opts: CorrectOptions, values: Sequence[tuple[str, bytes]]) -> None:
    """Produce the changed windows to the aggregates topic; raises unless every one is acknowledged."""
    sender = Sender.connect(opts.bootstrap, opts.aggregates_topic)
    try:
        for key, value in values:
            sender.send(key, value)
        left = sender.flush(120)
        if left or sender.failed:
            raise RuntimeError(f"aggregates topic: {left} undelivered, failures {dict(sender.failed)}")
    finally:
        sender.close()


def touched_hours(archive: Archive, opts: CorrectOptions) -> dict[int, int]:
    """Every archived hour (raw and backfill) with the newest modification time of its partitions."""
    touched = archive.hours(opts.path("raw"))
    for hour, mtime in archive.hours(opts.path("backfill")).items():
        touched[hour] = max(touched.get(hour, 0), mtime)
    return touched


def run_once(
    spark: SparkSession, archive: Archive, opts: CorrectOptions, metrics: CorrectionMetrics, now_ms: int
) -> dict[str, Any]:
    """One correction run, on demand (``--since``) or scheduled (from the saved state); returns its summary."""
    touched = touched_hours(archive, opts)
    if opts.since_ms is not None:
        until = opts.until_ms if opts.until_ms is not None else now_ms
        plan = correction.on_demand(opts.since_ms, until, now_ms, opts.settle_ms, opts.window_ms)
        plan = correction.Plan(tuple(h for h in plan.hours if h in touched), plan.closed_before_ms, plan.state)
        return run_plan(spark, archive, opts, metrics, plan, save_state=False)
    saved = archive.read_text(opts.state_path)
    previous = correction.State.from_dict(json.loads(saved)) if saved else None
    plan = correction.plan(now_ms, touched, previous, opts.settle_ms, opts.window_ms, opts.lookback_ms)
    return run_plan(spark, archive, opts, metrics, plan, save_state=True)


def run_plan(
    spark: SparkSession,
    archive: Archive,
    opts: CorrectOptions,
    metrics: CorrectionMetrics,
    plan: correction.Plan,
    save_state: bool,
) -> dict[str, Any]:
    """Re-aggregate the plan's hours, publish the changed windows, archive the closed ones, then save the state."""
    began = time.monotonic()
    summary: dict[str, Any] = {"hours": len(plan.hours), "closed_before": plan.closed_before_ms}
    if plan.hours:
        events = read_events(spark, archive, opts, plan.hours)
        assert events is not None, "planned hours exist in the archive"
        closed = tr.closed_aggregates(events, opts.window, plan.closed_before_ms).cache()
        values = {str(r["key"]): str(r["value"]).encode() for r in tr.aggregate_records(closed).collect()}
        recomputed = [records.parse(value) for value in values.values()]
        first, last = plan.hours[0], plan.hours[-1] + correction.HOUR_MS
        hours = set(plan.hours)
        reader = query.Reader(store.client(opts.endpoint), opts.table, region=opts.region)
        stored = [w for w in reader.windows(first, last) if correction.hour_of(w.window_start) in hours]
        changed = correction.changed(recomputed, stored)
        short = correction.short(recomputed, stored)
        if short:
            log.warning(
                "the archive holds fewer events than the table for some windows; they are left as stored",
                extra={"fields": {"windows": len(short), "first": short[:5]}},
            )
        held = {w.id: w.log_count for w in stored}
        publish(opts, [(a.id, values[a.id]) for a in changed])
        write_closed_windows(closed, opts, archive)
        closed.unpersist()
        added = sum(a.log_count - held.get(a.id, 0) for a in changed)
        metrics.recomputed.inc(len(recomputed))
        metrics.published.inc(len(changed))
        metrics.events.inc(max(added, 0))
        summary.update(
            first_hour=_iso(first),
            last_hour=_iso(last),
            windows=len(recomputed),
            published=len(changed),
            added=added,
            archive_short=len(short),
        )
    if save_state:
        archive.write_text(opts.state_path, json.dumps(plan.state.as_dict()))
    summary["seconds"] = round(time.monotonic() - began, 3)
    metrics.runs.labels("ok").inc()
    metrics.last_seconds.set(summary["seconds"])
    metrics.last_success.set(time.time())
    log.info("correction run", extra={"fields": summary})
    return summary


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def lower_priority(nice: int) -> None:
    """Add ``nice`` to this process's niceness, which the JVM it starts inherits, and to its autogroup's: with the
    kernel's autogroup scheduling (the default) niceness only ranks processes of one session, while the local
    pipeline starts each service in its own session."""
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(min(19, nice)))
    except OSError:  # no autogroup scheduling here: the niceness alone applies
        pass


def batch_session(opts: CorrectOptions, role: str) -> SparkSession:
    """The session of a batch job (correction, backfill): no UI, no Kafka connector, the options' heap, and a CPU
    priority below the streaming job's (``--nice``): on a small machine the live job's batches come first."""
    if opts.nice > 0:
        lower_priority(opts.nice)
    extra = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}
    if opts.master:  # a JVM this process starts; under spark-submit the JVM runs already
        extra["spark.driver.memory"] = opts.driver_memory
    spark = session.build_session(
        f"logpipeline-{opts.pipeline}-{role}", master=opts.master, with_kafka=False, extra=extra
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def run(opts: CorrectOptions) -> int:
    stop = stop_on_signals(log)
    spark = batch_session(opts, "correct")
    archive, metrics = Archive(spark), CorrectionMetrics()
    healthy = threading.Event()
    healthy.set()
    if opts.metrics_port:
        serve("0.0.0.0", opts.metrics_port, metrics.registry, healthy.is_set)
    failed = False
    try:
        while True:
            try:
                run_once(spark, archive, opts, metrics, int(time.time() * 1000))
                healthy.set()
            except Exception as exc:
                failed = True
                healthy.clear()
                metrics.runs.labels("failed").inc()
                log.error("correction run failed; the next run repeats it", extra={"fields": {"error": str(exc)[:500]}})
            if not opts.every_s or stop.wait(opts.every_s):
                return 1 if failed else 0
            failed = False
    finally:
        spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
