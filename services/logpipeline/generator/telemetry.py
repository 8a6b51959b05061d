"""Prometheus metrics of the generator (served on /metrics with /healthz and /readyz)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter


@dataclass
class GeneratorMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.events = Counter("logpipeline_generator_events", "events queued", registry=self.registry)
