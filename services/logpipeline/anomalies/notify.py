"""Anomaly notices through the alerting receivers (email, SMS, webhook), at the definition's own severity.

The anomalies table is the outbox: the scorer marks a new anomaly ``firing`` and an ended one ``resolved``; the
notifier, on its own thread so a slow receiver never delays scoring, delivers what is marked and clears the mark.
A scorer that stops between marking and delivering leaves the mark, and the next one delivers it: a notice is
sent at least once (its idempotency key, ``anomaly:<api>|<metric>|<start>:<kind>``, with ``<region>|`` before the
API for a regional pipeline, lets a receiver drop a repeat). Anomalies of metrics the definition leaves out are
cleared unsent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from logpipeline.alerting import message
from logpipeline.alerting.receivers import DeliveryFailed
from logpipeline.alerting.slo import Definition, Receiver
from logpipeline.anomalies import table
from logpipeline.anomalies.telemetry import Metrics

log = logging.getLogger("logpipeline.anomalies")
LOOKBACK_MS = 2 * 86_400_000
Deliver = Callable[[Receiver, dict[str, Any], str, threading.Event | None], None]


class Notifier:
    def __init__(
        self, ddb: Any, table_name: str, definition: Definition, deliver: Deliver, metrics: Metrics, region: str = ""
    ) -> None:
        assert definition.anomalies is not None, "a definition with an anomalies section"
        self.ddb, self.table, self.definition, self.deliver, self.metrics = (
            ddb,
            table_name,
            definition,
            deliver,
            metrics,
        )
        self.region = region  # a regional pipeline's notifier delivers its own region's anomalies
        self.notices = definition.anomalies
        self.receivers = [
            r for r in (definition.receivers_by_name[n] for n in self.notices.receivers)
            if self.notices.severity in r.severities
        ]  # fmt: skip

    def once(self, now_ms: int, stop: threading.Event | None = None) -> int:
        """Deliver every pending notice; returns how many were delivered to every receiver."""
        done = 0
        due = table.pending_notices(self.ddb, self.table, now_ms - LOOKBACK_MS, now_ms + 60_000, self.region)
        for key, kind, doc in due:
            if doc["metric"] not in self.notices.metrics:
                table.delivered(self.ddb, self.table, key, kind)
                continue
            payload = message.anomaly_payload(doc, kind, self.notices.severity, now_ms, self.definition.dashboard_url)
            scope = f"{doc['region']}|" if doc.get("region") else ""
            ident = f"anomaly:{scope}{doc['api']}|{doc['metric']}|{doc['since']}:{kind}"
            failed = False
            for receiver in self.receivers:
                try:
                    self.deliver(receiver, payload, ident, stop)
                    self.metrics.sent.labels(receiver.name, kind).inc()
                except DeliveryFailed as exc:
                    failed = True
                    self.metrics.failed.labels(receiver.name, kind).inc()
                    log.error("anomaly notice failed; retried next pass",
                              extra={"fields": {"receiver": receiver.name, "key": ident, "error": str(exc)[:200]}})  # fmt: skip
            if not failed:
                table.delivered(self.ddb, self.table, key, kind)
                done += 1
        return done

    def run(self, stop: threading.Event, interval_s: float = 5.0) -> None:
        while not stop.is_set():
            try:
                self.once(int(time.time() * 1000), stop)
            except Exception as exc:
                self.metrics.errors.inc()
                log.error(
                    "anomaly notices unreadable; the next pass retries", extra={"fields": {"error": str(exc)[:300]}}
                )
            stop.wait(interval_s)
