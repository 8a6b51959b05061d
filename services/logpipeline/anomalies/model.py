"""What a minute of one series should be, and how far the observed minute is from it (pure, no I/O).

Double-seasonal exponential smoothing (Taylor, 2003) in multiplicative form, with pooled seasonal indices:

    expected(t) = level · daily(minute of day) · weekly(day of week)

``daily`` has one index per 15 minutes, read and learnt with linear interpolation between neighbours, so each
index learns from about 15 minutes a day instead of one; ``weekly`` has one index per UTC day of the week.
``level`` follows the deseasonalised series (the trend) with a time constant of ``1/alpha_level`` minutes. Each
update moves one component towards what the observation says it should be, as in Holt-Winters.

How far a minute is depends on what the series counts:

- ``count`` (events per minute): the Anscombe residual ``2(sqrt(x+3/8) - sqrt(x̂+3/8))``, about N(0, 1) for Poisson
  counts whatever their size;
- ``ratio`` (error rate, with ``n`` events in the minute): the same residual on the errors, ``x·n`` against
  ``x̂·n``, so a minute of 20 events weighs less than one of 2,000;
- ``level`` (p95 latency, any positive series): ``ln((x+c)/(x̂+c))``.

The residual is divided by a learnt scale per 15 minutes of the day (the root of a moving mean of squared
residuals, clipped at the band): it absorbs over-dispersion and model error, and night hours get their own.
Count scales never drop below 1 (Poisson noise). The first day learns the daily shape against a fixed level. A minute far from the expectation teaches the model
as if it were ``HUBER`` scales away (robust smoothing, as in Gelper, Fried and Croux, 2010), and once the model has
settled (a week), a minute outside the band teaches it nothing (it would learn the incident), unless the series
stays outside for ``adapt_after`` minutes: then it is the new normal and the model follows it at full weight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

COUNT, RATIO, LEVEL = "count", "ratio", "level"
KINDS = (COUNT, RATIO, LEVEL)
MINUTE_MS = 60_000
DAY_MINUTES = 1440
BUCKET_MINUTES = 15
BUCKETS = DAY_MINUTES // BUCKET_MINUTES
_TINY = 1e-9
_MAX_INDEX = 20.0
FIRST_DAY_ALPHA = 0.5
HUBER = 2.0  # a minute more than this many scales away teaches the model as if it were this far (robust smoothing)
EXACT_BELOW = 30.0
_NORMAL = NormalDist()


def poisson_z(observed: float, expected: float) -> float:
    """How many standard normal deviations ``observed`` counts are from a Poisson mean ``expected``.

    Below ``EXACT_BELOW`` expected counts the exact mid-p tail is turned into a z-score (the Anscombe residual
    overstates how rare 3 errors are when 0.3 are expected); above, the Anscombe residual.
    """
    if expected >= EXACT_BELOW or observed > 4 * EXACT_BELOW:
        return 2.0 * (math.sqrt(observed + 0.375) - math.sqrt(expected + 0.375))
    k = round(observed)
    lam = max(expected, 1e-6)
    term = math.exp(-lam)
    below = 0.0
    for i in range(k):
        below += term
        term *= lam / (i + 1)
    mid = below + 0.5 * term  # P(X < k) + P(X = k) / 2
    mid = min(max(mid, 1e-15), 1 - 1e-15)
    return _NORMAL.inv_cdf(mid)


@dataclass(frozen=True)
class Params:
    """How the model learns; the defaults are the ones the benchmark measured (``logpipeline anomalies eval``)."""

    kind: str = LEVEL
    threshold: float = 3.0  # half-width of the band, in scales
    alpha_level: float = 0.005
    alpha_daily: float = 0.05
    alpha_weekly: float = 0.001
    alpha_scale: float = 0.03
    adapt_after: int = 180
    settled_after: int = 7 * DAY_MINUTES  # before, a long excursion is the model's own ignorance, not a new normal
    offset: float = 1.0  # c of the level residual
    level_floor: float = 0.02  # smallest scale of a level series (2%)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.threshold <= 0:
            raise ValueError(f"threshold {self.threshold}: expected a positive number of scales")


@dataclass(frozen=True)
class Point:
    """One scored minute: the expectation, the band, the standardised residual and whether it is outside."""

    expected: float
    lower: float
    upper: float
    score: float
    outside: bool


class Model:
    """The learnt state of one series. ``step`` scores a minute, then learns from it."""

    __slots__ = ("daily", "day", "first_ms", "last_ms", "level", "outside_run", "params", "scale2", "weekly")

    def __init__(self, params: Params) -> None:
        self.params = params
        self.level: float | None = None
        self.daily = [1.0] * BUCKETS
        self.weekly = [1.0] * 7
        self.scale2 = [1.0 if params.kind != LEVEL else 0.0025] * BUCKETS
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self.outside_run = 0
        self.day = -1

    def history_minutes(self) -> int:
        """Minutes from the first minute learnt to the last one."""
        if self.first_ms is None or self.last_ms is None:
            return 0
        return (self.last_ms - self.first_ms) // MINUTE_MS + 1

    def step(self, ts_ms: int, value: float, n: float | None = None) -> Point | None:
        """Score the minute starting at ``ts_ms`` and learn from it; None for a ratio minute without events."""
        p = self.params
        if p.kind == RATIO and not n:
            return None
        if p.kind == LEVEL and value <= -p.offset:
            raise ValueError(f"value {value}: a level series needs values above -{p.offset}")
        if value < 0 and p.kind != LEVEL:
            raise ValueError(f"value {value}: a {p.kind} series cannot be negative")
        minute = ts_ms // MINUTE_MS
        day = minute // DAY_MINUTES
        if day != self.day:
            self._normalise()
            self.day = day
        pos = (minute % DAY_MINUTES) / BUCKET_MINUTES - 0.5
        b0 = math.floor(pos)
        w1 = pos - b0
        b0 %= BUCKETS
        b1 = (b0 + 1) % BUCKETS
        dow = (day + 3) % 7  # 1970-01-01 was a Thursday; 0 is Monday
        if self.level is None:
            self.level = max(value, _TINY)
            self.first_ms = ts_ms
        d = (1 - w1) * self.daily[b0] + w1 * self.daily[b1]
        w = self.weekly[dow]
        expected = self.level * d * w
        scale = math.sqrt((1 - w1) * self.scale2[b0] + w1 * self.scale2[b1])
        scale = max(scale, 1.0) if p.kind != LEVEL else max(scale, p.level_floor)
        u = self._residual(value, expected, n)
        z = u / scale
        lower, upper = self._band(expected, scale, n)
        outside = abs(z) > p.threshold
        self.outside_run = self.outside_run + 1 if outside else 0
        settled = self.history_minutes() >= p.settled_after
        adapting = settled and self.outside_run > p.adapt_after
        if not outside or adapting or not settled:
            weight = 1.0 if adapting or abs(z) <= HUBER else HUBER / abs(z)
            self._learn(value, d, w, b0, b1, w1, dow, weight)
        if self.outside_run < 2:
            clipped = min(u * u, (p.threshold * scale) ** 2)
            a = p.alpha_scale
            self.scale2[b0] += a * (1 - w1) * (clipped - self.scale2[b0])
            self.scale2[b1] += a * w1 * (clipped - self.scale2[b1])
        self.last_ms = ts_ms
        return Point(expected, lower, upper, z, outside)

    def _residual(self, value: float, expected: float, n: float | None) -> float:
        kind = self.params.kind
        if kind == LEVEL:
            c = self.params.offset
            return math.log((value + c) / (expected + c))
        per = n if kind == RATIO and n else 1.0
        return poisson_z(value * per, expected * per)

    def _band(self, expected: float, scale: float, n: float | None) -> tuple[float, float]:
        p = self.params
        half = p.threshold * scale
        if p.kind == LEVEL:
            c = p.offset
            return (expected + c) * math.exp(-half) - c, (expected + c) * math.exp(half) - c
        per = n if p.kind == RATIO and n else 1.0
        root = math.sqrt(expected * per + 0.375)
        upper = (root + half / 2) ** 2 - 0.375
        lower = max(root - half / 2, 0.0) ** 2 - 0.375
        return max(lower, 0.0) / per, upper / per

    def _learn(self, value: float, d: float, w: float, b0: int, b1: int, w1: float, dow: int, weight: float) -> None:
        p = self.params
        assert self.level is not None
        first_day = self.history_minutes() < DAY_MINUTES  # the daily shape first, against a fixed level
        if not first_day:
            self.level += weight * p.alpha_level * (value / max(d * w, _TINY) - self.level)
            self.level = max(self.level, _TINY)
        target = min(value / max(self.level * w, _TINY), _MAX_INDEX)
        a = weight * (FIRST_DAY_ALPHA if first_day else p.alpha_daily)
        self.daily[b0] += a * (1 - w1) * (target - self.daily[b0])
        self.daily[b1] += a * w1 * (target - self.daily[b1])
        if not first_day:
            target = min(value / max(self.level * d, _TINY), _MAX_INDEX)
            self.weekly[dow] += weight * p.alpha_weekly * (target - self.weekly[dow])

    def _normalise(self) -> None:
        """Keep the indices' means at 1 (their scale moves into the level), once a day."""
        if self.level is None:
            return
        for indices in (self.daily, self.weekly):
            mean = sum(indices) / len(indices)
            if mean > _TINY:
                indices[:] = [i / mean for i in indices]
                self.level *= mean

    def state(self) -> dict[str, Any]:
        """The learnt state as plain data (a model file holds one per series)."""
        return {
            "level": self.level,
            "daily": list(self.daily),
            "weekly": list(self.weekly),
            "scale2": list(self.scale2),
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "outside_run": self.outside_run,
            "day": self.day,
        }

    @classmethod
    def restore(cls, params: Params, state: dict[str, Any]) -> Model:
        """A model from ``state()``; a state of the wrong shape is refused with the field it lacks."""
        model = cls(params)
        try:
            model.level = None if state["level"] is None else float(state["level"])
            model.daily = [float(v) for v in state["daily"]]
            model.weekly = [float(v) for v in state["weekly"]]
            model.scale2 = [float(v) for v in state["scale2"]]
            model.first_ms, model.last_ms = state["first_ms"], state["last_ms"]
            model.outside_run, model.day = int(state["outside_run"]), int(state["day"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"model state: {exc!r}") from None
        if len(model.daily) != BUCKETS or len(model.weekly) != 7 or len(model.scale2) != BUCKETS:
            raise ValueError(f"model state: expected {BUCKETS} daily indices and scales and 7 weekly indices")
        return model
