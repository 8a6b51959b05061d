"""Prometheus metrics of the sink (served on /metrics with /healthz and /readyz)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.lag = Gauge(
            "logpipeline_sink_consumer_lag", "records behind the end of the topic", ["partition"], registry=r
        )
        self.lag_total = Gauge("logpipeline_sink_consumer_lag_total", "records behind, all partitions", registry=r)
        self.consumed = Counter("logpipeline_sink_records_consumed", "records read from the topic", registry=r)
        self.written = Counter("logpipeline_sink_items_written", "items written (new or newer version)", registry=r)
        self.stale = Counter(
            "logpipeline_sink_items_stale", "records not written: the table held a newer or equal version", registry=r
        )
        self.retried = Counter(
            "logpipeline_sink_write_retries", "retries after throttling or unavailability", registry=r
        )
        self.dead = Counter(
            "logpipeline_sink_dead_lettered", "records sent to the dead-letter topic", ["error_class"], registry=r
        )
        self.rebuilds = Counter("logpipeline_sink_rebuilds", "table re-created and topic replayed", registry=r)
        self.replica_errors = Counter(
            "logpipeline_sink_replica_errors",
            "starts whose replica regions (global tables) were not set up",
            registry=r,
        )
        self.digests = Counter(
            "logpipeline_sink_digests_updated", "minute digests changed by merging a batch", registry=r
        )
        self.commits = Counter("logpipeline_sink_commits", "offset commits after durable writes", registry=r)
        self.revisions = Counter(
            "logpipeline_sink_revisions_bumped",
            "hour revisions bumped: writes to windows that had ended (late data, corrections, catching up)",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "logpipeline_sink_batch_seconds", "time to write and commit one batch", registry=r
        )
        self.ready = Gauge("logpipeline_sink_ready", "1 when consuming and the store answers", registry=r)
