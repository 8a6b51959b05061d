"""How each metric of an API is scored: its model kind, the directions that matter and its guards (pure data).

Events per minute are counts (a drop matters as much as a spike: an outage is a drop); the error rate is a ratio
of the minute's events and only a rise matters; p95 latency is a level and only a rise matters. No metric is
flagged in a minute with fewer than ``MIN_COUNT`` events, so quiet hours do not page.
"""

from __future__ import annotations

from dataclasses import replace

from logpipeline.anomalies.detector import BOTH, UP, Settings
from logpipeline.anomalies.model import COUNT, LEVEL, RATIO, Params
from logpipeline.contracts import ERROR_RATE_METRIC, EVENTS_METRIC, P95_METRIC

MIN_COUNT = 20

SETTINGS: dict[str, Settings] = {
    EVENTS_METRIC: Settings(Params(kind=COUNT), direction=BOTH, min_count=MIN_COUNT, min_change=0.2),
    ERROR_RATE_METRIC: Settings(Params(kind=RATIO), direction=UP, min_count=MIN_COUNT, min_change=0.01),
    P95_METRIC: Settings(Params(kind=LEVEL), direction=UP, min_count=MIN_COUNT, min_change=0.2),
}


def settings(metric: str, warmup_minutes: int | None = None) -> Settings:
    """The settings of ``metric``, with another warm-up when given; an unknown metric is refused by name."""
    try:
        chosen = SETTINGS[metric]
    except KeyError:
        raise ValueError(f"metric {metric!r}: expected one of {', '.join(SETTINGS)}") from None
    return chosen if warmup_minutes is None else replace(chosen, warmup_minutes=warmup_minutes)
