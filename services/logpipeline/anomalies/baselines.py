"""The two detectors the model is measured against, with the model's interface (pure, no I/O).

- ``StaticThreshold``: the band is the 0.1% and 99.9% quantiles of the warm-up minutes, fixed from then on
  (what a hand-set alert threshold is at best).
- ``RollingZ``: the band is the mean ± ``threshold`` standard deviations of the previous hour.

Both go through the same guards and k-of-m rule as the model (``Detector(settings, model=...)``), so a
comparison measures the expectation and the band alone.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from logpipeline.anomalies.model import MINUTE_MS, RATIO, Params, Point


class _History:
    def __init__(self) -> None:
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def _seen(self, ts_ms: int) -> None:
        self.first_ms = ts_ms if self.first_ms is None else self.first_ms
        self.last_ms = ts_ms

    def history_minutes(self) -> int:
        if self.first_ms is None or self.last_ms is None:
            return 0
        return (self.last_ms - self.first_ms) // MINUTE_MS + 1

    def state(self) -> dict[str, Any]:
        return {"first_ms": self.first_ms, "last_ms": self.last_ms}


class StaticThreshold(_History):
    def __init__(self, params: Params, warmup_minutes: int, low: float = 0.001, high: float = 0.999) -> None:
        super().__init__()
        self.params, self.warmup, self.low, self.high = params, warmup_minutes, low, high
        self.values: list[float] = []
        self.bounds: tuple[float, float, float] | None = None

    def step(self, ts_ms: int, value: float, n: float | None = None) -> Point | None:
        if self.params.kind == RATIO and not n:
            return None
        self._seen(ts_ms)
        if self.bounds is None:
            self.values.append(value)
            if self.history_minutes() <= self.warmup:
                return Point(value, value, value, 0.0, False)
            ordered = sorted(self.values)
            last = len(ordered) - 1
            lo, mid, hi = (ordered[min(last, int(q * len(ordered)))] for q in (self.low, 0.5, self.high))
            self.bounds = (lo, mid, hi)
            self.values = []
        lo, mid, hi = self.bounds
        k = self.params.threshold
        above = value >= mid
        score = k * (value - mid) / max((hi - mid) if above else (mid - lo), 1e-12)
        return Point(mid, lo, hi, score, value > hi or value < lo)


class RollingZ(_History):
    def __init__(self, params: Params, window: int = 60) -> None:
        super().__init__()
        self.params = params
        self.window: deque[float] = deque(maxlen=window)
        self.total = 0.0
        self.squares = 0.0

    def step(self, ts_ms: int, value: float, n: float | None = None) -> Point | None:
        if self.params.kind == RATIO and not n:
            return None
        self._seen(ts_ms)
        point = None
        size = len(self.window)
        if size >= 2:
            mean = self.total / size
            sd = math.sqrt(max(self.squares / size - mean * mean, 0.0) * size / (size - 1))
            z = (value - mean) / max(sd, 1e-12)
            half = self.params.threshold * sd
            point = Point(mean, mean - half, mean + half, z, abs(z) > self.params.threshold)
        if size == self.window.maxlen:
            old = self.window[0]
            self.total -= old
            self.squares -= old * old
        self.window.append(value)
        self.total += value
        self.squares += value * value
        return point or Point(value, value, value, 0.0, False)
