"""Time ranges of the dashboard and the roll-up resolution each one uses (pure).

A range is a preset (``15m``, ``1h``, ``6h``, ``24h``, ``7d``) ending now, or ``custom`` with a start and end
in UTC (``YYYY-MM-DDTHH:MM``). The resolution follows the span (1m up to 1 h, 5m up to 24 h, else 1h) and
the start is snapped down to a bucket boundary, so every bucket of the series is whole at its start.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
PRESETS: dict[str, int] = {"15m": 15 * MINUTE_MS, "1h": HOUR_MS, "6h": 6 * HOUR_MS, "24h": DAY_MS, "7d": 7 * DAY_MS}
CUSTOM = "custom"
RANGES = (*PRESETS, CUSTOM)
RESOLUTION_MS: dict[str, int] = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "1h": HOUR_MS}
MAX_CUSTOM_MS = 31 * DAY_MS
TIME_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class Bounds:
    """Windows starting in ``[start_ms, end_ms)``, bucketed by ``resolution``."""

    start_ms: int
    end_ms: int
    resolution: str

    @property
    def step_ms(self) -> int:
        return RESOLUTION_MS[self.resolution]


def resolution_for(span_ms: int) -> str:
    if span_ms <= HOUR_MS:
        return "1m"
    if span_ms <= DAY_MS:
        return "5m"
    return "1h"


def parse_utc(text: str) -> int:
    """``YYYY-MM-DDTHH:MM`` (UTC; seconds allowed and ignored) -> epoch ms; ValueError naming the format."""
    try:
        parsed = time.strptime(text.strip()[:16], TIME_FORMAT)
    except ValueError:
        raise ValueError(f"expected a UTC time as YYYY-MM-DDTHH:MM, got {text!r}") from None
    return calendar.timegm(parsed) * 1000


def format_utc(ms: int) -> str:
    return time.strftime(TIME_FORMAT, time.gmtime(ms // 1000))


def bounds(range_name: str, now_ms: int, start: str | None = None, end: str | None = None) -> Bounds:
    """The windows a range covers at ``now_ms``; ValueError naming the problem for a bad range."""
    if range_name in PRESETS:
        span = PRESETS[range_name]
        resolution = resolution_for(span)
        step = RESOLUTION_MS[resolution]
        return Bounds((now_ms - span) // step * step, now_ms, resolution)
    if range_name != CUSTOM:
        raise ValueError(f"range: expected one of {', '.join(RANGES)}, got {range_name!r}")
    if not start or not end:
        raise ValueError("custom range: both start and end are needed")
    lo, hi = parse_utc(start), parse_utc(end)
    if hi <= lo:
        raise ValueError(f"custom range: end {end} must be after start {start}")
    if hi - lo > MAX_CUSTOM_MS:
        raise ValueError(f"custom range: at most {MAX_CUSTOM_MS // DAY_MS} days, got {(hi - lo) / DAY_MS:.1f}")
    resolution = resolution_for(hi - lo)
    step = RESOLUTION_MS[resolution]
    return Bounds(lo // step * step, hi, resolution)
