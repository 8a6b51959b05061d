"""From stored windows to the figures every API's series is scored on, one minute at a time (pure, no I/O).

A minute of an API: its events (all levels), its errors (``ERROR`` and ``CRITICAL`` levels: the dashboard's error
rate) and its p95 latency, read from the merged response-time sketches of its levels. An API with no window in a
minute had no events: its events series reads 0 and its other two series have no data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from logpipeline.contracts import ERROR_RATE_METRIC, EVENTS_METRIC, P95_METRIC
from logpipeline.events.schema import ERROR_LEVELS
from logpipeline.metrics.records import Aggregate
from logpipeline.metrics.rollup import merged_sketch

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Figures:
    """One API's minute."""

    events: int
    errors: int
    p95: float | None

    def value(self, metric: str) -> tuple[float | None, float | None]:
        """The series' value and the minute's events (its weight); None when the series has no data."""
        if metric == EVENTS_METRIC:
            return float(self.events), None
        if not self.events:
            return None, None
        if metric == ERROR_RATE_METRIC:
            return self.errors / self.events, float(self.events)
        if metric == P95_METRIC:
            return self.p95, float(self.events)
        raise ValueError(f"metric {metric!r}: expected one of {EVENTS_METRIC}, {ERROR_RATE_METRIC}, {P95_METRIC}")


NONE = Figures(0, 0, None)


def by_minute(windows: Iterable[Aggregate]) -> dict[int, dict[str, Figures]]:
    """Figures per minute start, per API, from the windows of any levels."""
    grouped: dict[tuple[int, str], list[Aggregate]] = defaultdict(list)
    for w in windows:
        grouped[(w.window_start // MINUTE_MS * MINUTE_MS, w.api)].append(w)
    out: dict[int, dict[str, Figures]] = defaultdict(dict)
    for (minute, api), group in grouped.items():
        events = sum(w.log_count for w in group)
        errors = sum(w.log_count for w in group if w.log_level in ERROR_LEVELS)
        sketch = merged_sketch(group)
        p95 = float(sketch.get_quantile(0.95)) if not sketch.is_empty() else None
        out[minute][api] = Figures(events, errors, p95)
    return dict(out)
