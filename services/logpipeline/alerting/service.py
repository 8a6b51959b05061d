"""``logpipeline alerts run``: the evaluator on a loop, with ``/healthz``, ``/readyz`` and ``/metrics``.

One cycle a minute (``interval``). A cycle that fails (the store unreachable, throttled) is logged and counted,
and the next one runs as usual; ready means the last cycle succeeded and is recent. Several replicas may run:
conditional writes of the alert state let exactly one of them notify.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from logpipeline import observability
from logpipeline.alerting import receivers, slo, state
from logpipeline.alerting.evaluator import Evaluator
from logpipeline.alerting.telemetry import Metrics
from logpipeline.metrics import store

log = logging.getLogger("logpipeline.alerts")


def load_definition(path: Path) -> slo.Definition:
    """The alerting document of a YAML or JSON file; InvalidDefinition naming the file and the field."""
    try:
        doc: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise slo.InvalidDefinition(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise slo.InvalidDefinition(f"{path}: not YAML or JSON: {exc}") from exc
    try:
        return slo.parse(doc)
    except slo.InvalidDefinition as exc:
        raise slo.InvalidDefinition(f"{path}: {exc}") from exc


@dataclass(frozen=True)
class ServiceConfig:
    definition: slo.Definition
    table: str
    endpoint: str | None
    interval_s: float = 60.0
    http_host: str = "127.0.0.1"
    http_port: int = 9113
    region: str = ""  # a regional pipeline judges its own region's windows (metrics.layout)


class AlertsService:
    def __init__(self, cfg: ServiceConfig, stop: threading.Event) -> None:
        self.cfg, self.stop = cfg, stop
        self.metrics = Metrics()
        self.ddb = store.client(cfg.endpoint, attempts=2, timeout=10.0)
        self.evaluator = Evaluator(
            self.ddb, cfg.table, cfg.definition, receivers.deliver, self.metrics, stop=stop, region=cfg.region
        )
        self.last_ok = 0.0

    def ready(self) -> bool:
        return not self.stop.is_set() and time.monotonic() - self.last_ok < 3 * self.cfg.interval_s + 30

    def run(self) -> None:
        server = observability.serve(self.cfg.http_host, self.cfg.http_port, self.metrics.registry, self.ready)
        log.info(
            "alerts service started",
            extra={
                "fields": {
                    "slos": [o.name for o in self.cfg.definition.objectives],
                    "receivers": [r.name for r in self.cfg.definition.receivers],
                    "table": self.cfg.table,
                    "http_port": server.server_address[1],
                }
            },
        )
        try:
            state.ensure_table(self.ddb, self.cfg.table)
            while not self.stop.is_set():
                began = time.monotonic()
                try:
                    states = self.evaluator.cycle(int(time.time() * 1000))
                    self.last_ok = time.monotonic()
                    firing = sorted(g for g, s in states.items() if s.status == "firing")
                    log.debug("evaluated", extra={"fields": {"firing": firing}})
                except store.Denied:
                    raise
                except store.TableMissing:
                    log.warning("the alerts table is missing; creating it (alert state starts over)")
                    state.ensure_table(self.ddb, self.cfg.table)
                except Exception as exc:
                    self.metrics.errors.inc()
                    log.error(
                        "evaluation failed; the next cycle runs as usual", extra={"fields": {"error": str(exc)[:300]}}
                    )
                self.stop.wait(max(0.0, self.cfg.interval_s - (time.monotonic() - began)))
        finally:
            server.shutdown()
            log.info("alerts service stopped")
