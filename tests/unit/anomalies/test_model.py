"""The per-series model on small series: the seasonal expectation, the count-aware residual, the band, robustness."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from logpipeline.anomalies.model import COUNT, DAY_MINUTES, LEVEL, MINUTE_MS, RATIO, Model, Params, Point, poisson_z
from logpipeline.generator import minutes

T0 = 1_793_577_600_000  # a Monday, 00:00 UTC


def daily_shape(minute: int) -> float:
    return 1 + 0.5 * math.sin(2 * math.pi * minute / DAY_MINUTES)


def step(model: Model, minute: int, value: float, n: float | None = None) -> Point:
    point = model.step(T0 + minute * MINUTE_MS, value, n)
    assert point is not None
    return point


def feed(model: Model, days: int, value_at: Callable[[int], float], start: int = 0) -> list[Point]:
    return [step(model, i, value_at(i)) for i in range(start, start + days * DAY_MINUTES)]


def test_poisson_z_is_exact_for_small_counts_and_anscombe_for_large() -> None:
    # P(X >= 3 | 0.3) is about 0.0036: near 2.9 standard deviations, where the Anscombe residual says 2.0
    assert poisson_z(3, 0.3) == pytest.approx(2.89, abs=0.02)
    assert 2 * (math.sqrt(3.375) - math.sqrt(0.675)) < 2.1
    assert poisson_z(5, 5) == pytest.approx(0.0, abs=0.1)
    assert poisson_z(0, 5) < -2.5
    assert poisson_z(130, 100) == pytest.approx(2 * (math.sqrt(130.375) - math.sqrt(100.375)))


def test_a_daily_cycle_is_learnt_and_the_band_holds_the_clean_minutes() -> None:
    model = Model(Params(kind=LEVEL))
    feed(model, 7, lambda i: 100 * daily_shape(i % DAY_MINUTES))
    points = feed(model, 1, lambda i: 100 * daily_shape(i % DAY_MINUTES), start=7 * DAY_MINUTES)
    errors = [abs(p.expected / (100 * daily_shape(i)) - 1) for i, p in enumerate(points)]
    assert max(errors) < 0.03
    assert not any(p.outside for p in points)
    assert all(p.lower < p.expected < p.upper for p in points)


def test_a_weekly_cycle_is_learnt() -> None:
    def week(i: int) -> float:
        return float(minutes.weekly(np.array([i % (7 * DAY_MINUTES)], dtype=np.float64))[0])

    model = Model(Params(kind=LEVEL))
    feed(model, 19, lambda i: 200 * week(i))
    saturday = feed(model, 1, lambda i: 200 * week(i), start=19 * DAY_MINUTES)
    assert all(p.expected == pytest.approx(200 * minutes.WEEKEND_FACTOR, rel=0.05) for p in saturday[720:])
    assert not any(p.outside for p in saturday)


def test_count_residuals_weigh_the_minute_by_its_size() -> None:
    small, big = Model(Params(kind=COUNT)), Model(Params(kind=COUNT))
    feed(small, 3, lambda i: 20)
    feed(big, 3, lambda i: 2000)
    # +30% is noise at 20 a minute and an anomaly at 2,000 a minute
    assert not step(small, 3 * DAY_MINUTES, 26).outside
    assert step(big, 3 * DAY_MINUTES, 2600).outside


def test_a_ratio_needs_the_minutes_events_and_its_band_is_in_rate_units() -> None:
    model = Model(Params(kind=RATIO))
    assert model.step(T0, 0.0, 0) is None
    for i in range(3 * DAY_MINUTES):
        model.step(T0 + i * MINUTE_MS, 0.01, 1000)
    point = model.step(T0 + 3 * DAY_MINUTES * MINUTE_MS, 0.05, 1000)
    assert point is not None and point.outside and point.score > 5
    assert 0 <= point.lower < 0.01 < point.upper < 0.05


def test_an_incident_does_not_teach_the_model_but_a_lasting_change_does() -> None:
    model = Model(Params(kind=LEVEL, adapt_after=120, settled_after=DAY_MINUTES))
    feed(model, 2, lambda i: 100.0)
    incident = feed(model, 1, lambda i: 300.0 if i < 2 * DAY_MINUTES + 60 else 100.0, start=2 * DAY_MINUTES)
    assert all(p.outside for p in incident[:60])
    assert incident[61].expected == pytest.approx(100, rel=0.02)
    assert not any(p.outside for p in incident[62:])
    shifted = feed(model, 1, lambda i: 300.0, start=3 * DAY_MINUTES)
    assert shifted[100].outside and not shifted[-1].outside


def test_noise_widens_the_band() -> None:
    rng = np.random.default_rng(1)
    quiet, noisy = Model(Params(kind=LEVEL)), Model(Params(kind=LEVEL))
    feed(quiet, 3, lambda i: 100.0)
    noise = rng.normal(0, 10, 3 * DAY_MINUTES)
    feed(noisy, 3, lambda i: 100.0 + noise[i])
    q, n = step(quiet, 3 * DAY_MINUTES, 100.0), step(noisy, 3 * DAY_MINUTES, 100.0)
    assert n.upper - n.lower > 2 * (q.upper - q.lower)


def test_state_round_trips_and_a_bad_state_is_refused() -> None:
    model = Model(Params(kind=COUNT))
    feed(model, 1, lambda i: 50 + i % 7)
    copy = Model.restore(model.params, model.state())
    at = T0 + DAY_MINUTES * MINUTE_MS
    assert copy.step(at, 60) == model.step(at, 60)
    with pytest.raises(ValueError, match="daily"):
        Model.restore(model.params, {**model.state(), "daily": [1.0]})
    with pytest.raises(ValueError, match="level"):
        Model.restore(model.params, {"daily": []})


def test_bad_values_and_params_are_named() -> None:
    with pytest.raises(ValueError, match="kind 'gauge'"):
        Params(kind="gauge")
    with pytest.raises(ValueError, match="cannot be negative"):
        Model(Params(kind=COUNT)).step(T0, -1)
    with pytest.raises(ValueError, match=r"above -1\.0"):
        Model(Params(kind=LEVEL)).step(T0, -2)
