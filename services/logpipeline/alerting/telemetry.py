"""Prometheus metrics of the alerts service: evaluations, notifications sent and failed per receiver, and where
each SLO stands (burn rates, budget remaining, alerts firing)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from logpipeline.alerting.burnrate import Assessment, window_label
from logpipeline.alerting.lifecycle import FIRING, AlertState
from logpipeline.alerting.slo import SEVERITIES


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.evaluations = Counter("logpipeline_alerts_evaluations", "Evaluation cycles completed", registry=r)
        self.errors = Counter("logpipeline_alerts_evaluation_errors", "Evaluation cycles that failed", registry=r)
        self.duration = Histogram(
            "logpipeline_alerts_evaluation_seconds",
            "Wall time of one evaluation cycle",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.items_read = Gauge("logpipeline_alerts_items_read", "Store items read since start", registry=r)
        self.sent = Counter(
            "logpipeline_alerts_notifications_sent", "Notifications delivered", ["receiver", "kind"], registry=r
        )
        self.failed = Counter(
            "logpipeline_alerts_notifications_failed",
            "Notifications given up after their retries",
            ["receiver", "kind"],
            registry=r,
        )
        self.silenced = Counter("logpipeline_alerts_silenced", "Notices held back by a silence", ["slo"], registry=r)
        self.conflicts = Counter(
            "logpipeline_alerts_state_conflicts",
            "State writes lost to another evaluator (not notified twice)",
            registry=r,
        )
        self.burn = Gauge("logpipeline_slo_burn_rate", "Burn rate per window", ["slo", "api", "window"], registry=r)
        self.budget = Gauge(
            "logpipeline_slo_error_budget_remaining", "Share of the error budget left", ["slo", "api"], registry=r
        )
        self.firing = Gauge("logpipeline_alerts_firing", "Alerts firing", ["severity"], registry=r)

    def observe(self, slo: str, api: str, assessment: Assessment) -> None:
        for minutes, rate in assessment.burn.items():
            self.burn.labels(slo, api, window_label(minutes)).set(rate)
        self.budget.labels(slo, api).set(assessment.budget_remaining)

    def firing_now(self, states: Iterable[AlertState]) -> None:
        counts = dict.fromkeys(SEVERITIES, 0)
        for st in states:
            if st.status == FIRING and st.severity in counts:
                counts[st.severity] += 1
        for severity, n in counts.items():
            self.firing.labels(severity).set(n)
