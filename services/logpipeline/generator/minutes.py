"""The traffic model at minute resolution: days of per-minute figures per API in a second (pure, seeded, no I/O).

For what a week of raw events would take too long to make: anomaly benchmarks and seeded history. Per API and
minute: events ``~ Poisson(rate · diurnal · weekly · trend)`` with the event generator's diurnal curve, a weekend
at 70% of weekday traffic (ramps of four hours either side of midnight, UTC) and a growth of 0.5% a day; 5xx errors
``~ Binomial(events, error share)``; the p95 latency of the minute as its sample estimate from ``events`` log-normal
draws (its noise shrinks as the minute gets busier), 15% slower at the daily peak.

``inject`` adds incidents of the four kinds the detector must see: a rate spike (x3), a level shift (+50%), an
error-rate step (to 5%) and a latency spike (p95 x2), each on one API for 5 to 60 minutes, at random times, and
returns them as the ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from logpipeline.contracts import ERROR_RATE_METRIC as ERROR_RATE
from logpipeline.contracts import EVENTS_METRIC as EVENTS
from logpipeline.contracts import P95_METRIC as P95
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.generator import traffic
from logpipeline.generator.catalogue import DEFAULT_APIS, Api
from logpipeline.generator.traffic import DIURNAL_AMPLITUDE

MINUTE_MS = 60_000
DAY_MINUTES = 1440
MONDAY_MS = 1_793_577_600_000  # 2026-11-02T00:00:00Z, a Monday
WEEKEND_FACTOR = 0.7
RAMP_MINUTES = 240
GROWTH_PER_DAY = 0.005
P95_Z = 1.6448536269514722
SPIKE, SHIFT, ERRORS, LATENCY = "spike", "shift", "errors", "latency"
KINDS = (SPIKE, SHIFT, ERRORS, LATENCY)
METRIC_OF = {SPIKE: EVENTS, SHIFT: EVENTS, ERRORS: ERROR_RATE, LATENCY: P95}
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Incident:
    """An injected anomaly: ``api`` index, ``kind``, and its minutes ``[start, end)`` as indices into the series."""

    api: int
    kind: str
    start: int
    end: int

    @property
    def metric(self) -> str:
        return METRIC_OF[self.kind]


@dataclass(frozen=True)
class Minutes:
    """Per-minute figures, shaped (APIs, minutes). Minute ``i`` starts at ``start_ms + i · 60 s``."""

    start_ms: int
    apis: tuple[str, ...]
    events: Ints
    errors: Ints
    p95: Floats
    incidents: tuple[Incident, ...]

    @property
    def minutes(self) -> int:
        return int(self.events.shape[1])

    def series(self, api: int, metric: str) -> tuple[Floats, Floats | None]:
        """One series' values and its events per minute (None for the events series itself)."""
        events = self.events[api].astype(np.float64)
        if metric == EVENTS:
            return events, None
        if metric == ERROR_RATE:
            return np.divide(self.errors[api], events, out=np.zeros_like(events), where=events > 0), events
        return self.p95[api], events


def weekly(minute_of_week: Floats) -> Floats:
    """The weekly factor: 1 on weekdays, ``WEEKEND_FACTOR`` on Saturday and Sunday, with smooth ramps."""
    start, end = 5 * DAY_MINUTES, 7 * DAY_MINUTES  # Saturday 00:00 to Monday 00:00
    half = RAMP_MINUTES / 2
    into = np.clip((minute_of_week - (start - half)) / RAMP_MINUTES, 0, 1)
    out = np.clip((minute_of_week - (end - half)) / RAMP_MINUTES, 0, 1)
    wrapped = np.clip((minute_of_week + 7 * DAY_MINUTES - (end - half)) / RAMP_MINUTES, 0, 1)
    weekend = np.where(minute_of_week < start - half, 1 - wrapped, into - out)
    return 1 - (1 - WEEKEND_FACTOR) * (0.5 - 0.5 * np.cos(np.pi * weekend))


def diurnal(minute_of_day: Floats) -> Floats:
    return 1 + DIURNAL_AMPLITUDE * np.sin(2 * math.pi * (minute_of_day / 60 - 8) / 24)


def generate(seed: int = 0, apis: int = 20, days: int = 14, start_ms: int = MONDAY_MS) -> Minutes:
    """Clean traffic: ``apis`` APIs over ``days`` days from ``start_ms`` (a minute boundary)."""
    rng = np.random.default_rng([seed, 21])
    rates = np.exp(rng.uniform(math.log(60), math.log(1200), apis))
    shares = rng.uniform(0.003, 0.008, apis)
    medians = rng.uniform(25, 300, apis)
    sigmas = rng.uniform(0.4, 0.8, apis)
    base = medians * np.exp(sigmas * P95_Z)
    spread = sigmas * math.sqrt(0.95 * 0.05) / (math.exp(-(P95_Z**2) / 2) / math.sqrt(2 * math.pi))
    names = tuple(f"/api/v1/service-{i:02d}" for i in range(apis))
    return _minutes(rng, names, rates, shares, base, spread, start_ms, days, cycles=True)


def like_traffic(
    rate_per_s: float, days: int, start_ms: int, seed: int = 0, apis: Sequence[Api] = DEFAULT_APIS
) -> Minutes:
    """What ``logpipeline generate --rate`` sends, at minute resolution: its APIs and weights, its diurnal curve (and,
    like it, no weekly cycle or growth), the share of its events at ERROR or CRITICAL level and the p95 of its latency
    mixture per API, both measured on 200,000 of its events, and the spread of a minute's p95 measured the same way."""
    spec = traffic.TrafficSpec(seed=seed, apis=tuple(apis), start_ms=start_ms, count=200_000, diurnal=False)
    blocks = list(traffic.blocks(spec))
    api = np.concatenate([b.api for b in blocks])
    latency = np.concatenate([b.hundredths for b in blocks]) / 100.0
    erring = np.isin(np.concatenate([b.level for b in blocks]), [LOG_LEVELS.index(x) for x in sorted(ERROR_LEVELS)])
    rng = np.random.default_rng([seed, 23])
    base, spread, shares = [], [], []
    for i in range(len(apis)):
        mine = latency[api == i]
        base.append(float(np.quantile(mine, 0.95)))
        shares.append(float(erring[api == i].mean()))
        samples = [np.quantile(rng.choice(mine, 400), 0.95) for _ in range(200)]
        spread.append(float(np.std(np.log(samples))) * math.sqrt(400))
    weights = np.array([a.weight for a in apis], dtype=np.float64)
    rates = rate_per_s * 60 * weights / weights.sum()
    names = tuple(a.name for a in apis)
    return _minutes(rng, names, rates, np.array(shares), np.array(base), np.array(spread), start_ms, days, cycles=False)


def _minutes(
    rng: np.random.Generator, names: tuple[str, ...], rates: Floats, shares: Floats, base_p95: Floats,
    spread: Floats, start_ms: int, days: int, cycles: bool,
) -> Minutes:  # fmt: skip
    """Per-minute figures: Poisson events, binomial errors, a p95 whose log has sd ``spread / sqrt(events)``."""
    if start_ms % MINUTE_MS:
        raise ValueError(f"start_ms {start_ms}: expected a minute boundary")
    t = np.arange(days * DAY_MINUTES, dtype=np.float64)
    minute = start_ms // MINUTE_MS + t
    shape = diurnal(minute % DAY_MINUTES)
    if cycles:
        shape = shape * weekly((minute + 3 * DAY_MINUTES) % (7 * DAY_MINUTES)) * (1 + GROWTH_PER_DAY * t / DAY_MINUTES)
    events = rng.poisson(rates[:, None] * shape[None, :])
    errors = rng.binomial(events, shares[:, None])
    peak = 1 + (0.15 if cycles else 0.0) * (diurnal(minute % DAY_MINUTES) - 1) / DIURNAL_AMPLITUDE
    noise = spread[:, None] / np.sqrt(np.maximum(events, 1)) * rng.standard_normal(events.shape)
    p95 = np.asarray(base_p95[:, None] * peak[None, :] * np.exp(noise), dtype=np.float64)
    return Minutes(start_ms, names, events, errors, p95, ())


def inject(clean: Minutes, seed: int = 0, per_day: float = 12.0, min_len: int = 5, max_len: int = 60) -> Minutes:
    """Incidents at random times, ``per_day`` a day over all APIs, kinds in turn; none overlap on one API."""
    rng = np.random.default_rng([seed, 22])
    events, errors, p95 = clean.events.copy(), clean.errors.copy(), clean.p95.copy()
    count = round(per_day * clean.minutes / DAY_MINUTES)
    busy: dict[int, list[tuple[int, int]]] = {}
    incidents: list[Incident] = []
    for _ in range(count * 20):
        if len(incidents) == count:
            break
        kind = KINDS[len(incidents) % len(KINDS)]
        api = int(rng.integers(len(clean.apis)))
        length = int(rng.integers(min_len, max_len + 1))
        start = int(rng.integers(0, clean.minutes - length))
        gap = 120  # apart from any other incident on the API, so each is judged on its own
        if any(start < e + gap and s < start + length + gap for s, e in busy.get(api, [])):
            continue
        busy.setdefault(api, []).append((start, start + length))
        incidents.append(Incident(api, kind, start, start + length))
        span = slice(start, start + length)
        if kind in (SPIKE, SHIFT):
            factor = 3.0 if kind == SPIKE else 1.5
            base = events[api, span]
            extra = rng.poisson(base * (factor - 1))
            share = np.divide(errors[api, span], np.maximum(base, 1))
            events[api, span] = base + extra
            errors[api, span] += rng.binomial(extra, np.clip(share, 0, 1))
        elif kind == ERRORS:
            errors[api, span] = rng.binomial(events[api, span], 0.05)
        else:
            p95[api, span] *= 2.0
    incidents.sort(key=lambda x: (x.start, x.api))
    return Minutes(clean.start_ms, clean.apis, events, errors, p95, tuple(incidents))
