"""Prometheus metrics of file ingest (served on /metrics with /healthz and /readyz)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter


@dataclass
class IngestMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.lines = Counter("logpipeline_ingest_lines", "lines read", registry=r)
        self.events = Counter("logpipeline_ingest_events", "valid events queued to the input topic", registry=r)
        self.dead = Counter(
            "logpipeline_ingest_dead_letters", "lines sent to the dead-letter topic", ["error_class"], registry=r
        )
        self.blank = Counter("logpipeline_ingest_blank_lines", "empty lines (no event)", registry=r)
