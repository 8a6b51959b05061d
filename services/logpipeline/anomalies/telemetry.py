"""Prometheus metrics of the anomaly scorer: minutes scored, how long after a minute closed it was scored,
anomalies opened per metric, series still learning, and the model in use."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.minutes = Counter("logpipeline_anomalies_minutes_scored", "Closed minutes scored", registry=r)
        self.series_scored = Counter(
            "logpipeline_anomalies_series_updates", "Series-minutes scored (learnt and judged)", registry=r
        )
        self.delay = Histogram(
            "logpipeline_anomalies_scoring_delay_seconds",
            "From a minute's end to its scores being written",
            buckets=(5, 10, 15, 20, 30, 45, 60, 90, 120, 300),
            registry=r,
        )
        self.opened = Counter("logpipeline_anomalies_opened", "Anomalies opened", ["metric"], registry=r)
        self.open_now = Gauge("logpipeline_anomalies_open", "Anomalies open now", registry=r)
        self.learning = Gauge(
            "logpipeline_anomalies_series_learning", "Series without enough history for a verdict", registry=r
        )
        self.series = Gauge("logpipeline_anomalies_series", "Series the scorer knows", registry=r)
        self.errors = Counter("logpipeline_anomalies_cycle_errors", "Scoring cycles that failed", registry=r)
        self.skipped = Counter(
            "logpipeline_anomalies_minutes_skipped", "Minutes never scored (the scorer was down too long)", registry=r
        )
        self.sent = Counter(
            "logpipeline_anomalies_notifications_sent", "Anomaly notices delivered", ["receiver", "kind"], registry=r
        )
        self.failed = Counter(
            "logpipeline_anomalies_notifications_failed",
            "Anomaly notices a receiver refused after its retries (delivered again next pass)",
            ["receiver", "kind"],
            registry=r,
        )
        self.undelivered = Counter(
            "logpipeline_anomalies_records_undelivered",
            "Records the anomalies topic did not take (the anomalies table still holds them)",
            registry=r,
        )
        self.model_errors = Counter(
            "logpipeline_anomalies_model_errors", "Model files that could not be read or used", registry=r
        )
        self.model_trained_at = Gauge(
            "logpipeline_anomalies_model_trained_at_seconds", "When the model in use was trained (0: none)", registry=r
        )
        self.last_minute = Gauge(
            "logpipeline_anomalies_last_minute_seconds", "Start of the last minute scored", registry=r
        )
