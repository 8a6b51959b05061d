"""Prometheus metrics of the Spark jobs: the streaming job's (fed from its queries' progress reports, which are also
its log lines) and the correction job's."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from logpipeline_spark import transformations as tr

log = logging.getLogger("logpipeline_spark.job")


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
        for error_class in tr.DEAD_LETTER_CLASSES:
            self.dead.labels(error_class)
        self.late = Counter(
            "logpipeline_spark_late_events",
            "Events older than the watermark: not counted by this query (kept in the raw archive for the correction job)",
            labels,
            registry=self.registry,
        )


def ran(progress: dict[str, Any]) -> bool:
    """Whether a progress report is an executed batch's (an idle trigger's report has no ``addBatch`` time)."""
    return "addBatch" in (progress.get("durationMs") or {})


class ProgressReader:
    """Every executed batch's progress report of one query, once, from polls of its ``lastProgress``.

    A poll reads one report (two calls into the JVM); ``recentProgress`` (two calls per retained report, about a
    hundred) is read only when the last report skips a batch: the first poll, or a poll that two batches ended
    before. Executed batches of a run have consecutive ids. An idle trigger's report carries the id of the batch
    that runs next, so ids alone do not tell a report read before from a new one: its timestamp does."""

    def __init__(self) -> None:
        self.stamp: str | None = None  # the timestamp of the last report read
        self.batch: int | None = None  # the id of the last executed batch reported

    def new(self, last: dict[str, Any] | None, recent: Callable[[], Sequence[dict[str, Any]]]) -> list[dict[str, Any]]:
        if not last or last.get("timestamp") == self.stamp:
            return []
        self.stamp = last.get("timestamp")
        # an idle trigger's report names the batch that runs next: the batches before it have ended
        batch = int(last["batchId"]) if ran(last) else int(last["batchId"]) - 1
        if self.batch is not None and batch <= self.batch:
            return []
        if self.batch is not None and batch == self.batch + 1 and ran(last):
            out = [last]
        else:  # reports this reader has not seen were replaced before a poll read them
            after = -1 if self.batch is None else self.batch
            out = [p for p in recent() if ran(p) and after < int(p["batchId"]) <= batch]
            out = out or ([last] if ran(last) else [])
            batch = max((int(p["batchId"]) for p in out), default=after)
        self.batch = batch if batch >= 0 else None
        return out


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
        # Late events are dropped by the first stateful operator, the de-dup (Spark's or the ordered one); later
        # operators see none of them.
        "late_events": sum(op["late_rows"] for op in state if op["operator"] in tr.DEDUP_OPERATORS),
        "state": state,
    }


def report(name: str, progress: dict[str, Any], metrics: Metrics) -> None:
    fields = batch_fields(name, progress)
    metrics.input_rows.labels(name).inc(fields["input_rows"])
    metrics.output_rows.labels(name).inc(max(fields["output_rows"], 0))
    if ran(progress):  # an idle trigger's report ran no batch
        metrics.batches.labels(name).inc()
        metrics.duration.labels(name).set(fields["batch_ms"] / 1000.0)
    metrics.state_rows.labels(name).set(fields["state_rows"])
    metrics.late.labels(name).inc(fields["late_events"])
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


class CorrectionMetrics:
    """Prometheus figures of the correction job's runs."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter("logpipeline_correction_runs", "Correction runs", ["outcome"], registry=r)
        self.recomputed = Counter(
            "logpipeline_correction_windows_recomputed", "Closed windows re-aggregated from the archive", registry=r
        )
        self.published = Counter(
            "logpipeline_correction_windows_published",
            "Windows whose stored value differed, published to the aggregates topic",
            registry=r,
        )
        self.events = Counter(
            "logpipeline_correction_events_added",
            "Events the published windows count beyond the stored values (late, backfilled or not yet stored)",
            registry=r,
        )
        self.last_success = Gauge(
            "logpipeline_correction_last_success_timestamp_seconds", "End of the last run that succeeded", registry=r
        )
        self.last_seconds = Gauge("logpipeline_correction_last_run_seconds", "Duration of the last run", registry=r)
