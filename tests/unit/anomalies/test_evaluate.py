"""The benchmark's data and judging: the minute model, the injected incidents, recall, precision and delay."""

from __future__ import annotations

import numpy as np
import pytest

from logpipeline.anomalies import evaluate
from logpipeline.anomalies.model import DAY_MINUTES
from logpipeline.contracts import ERROR_RATE_METRIC, EVENTS_METRIC, P95_METRIC
from logpipeline.generator import minutes
from logpipeline.generator.minutes import ERRORS, LATENCY, SHIFT, SPIKE, Incident, Minutes


def test_the_minute_model_has_its_cycles_and_is_seeded() -> None:
    data = minutes.generate(seed=3, apis=4, days=14)
    again = minutes.generate(seed=3, apis=4, days=14)
    assert np.array_equal(data.events, again.events) and np.array_equal(data.p95, again.p95)
    total = data.events.sum(axis=0).astype(np.float64)
    by_hour = total[: 5 * DAY_MINUTES].reshape(5, 24, 60).sum(axis=(0, 2))
    assert by_hour.argmax() in (13, 14) and by_hour.argmin() in (1, 2)  # the generator's peak 14:00, trough 02:00
    weekday, saturday = total[2 * DAY_MINUTES : 3 * DAY_MINUTES].sum(), total[5 * DAY_MINUTES : 6 * DAY_MINUTES].sum()
    assert saturday / weekday == pytest.approx(minutes.WEEKEND_FACTOR, abs=0.05)
    assert (data.errors <= data.events).all()
    with pytest.raises(ValueError, match="minute boundary"):
        minutes.generate(start_ms=minutes.MONDAY_MS + 1)


def test_incidents_change_what_their_kind_says_and_nothing_else() -> None:
    clean = minutes.generate(seed=1, apis=6, days=3)
    data = minutes.inject(clean, seed=1, per_day=8)
    assert {i.kind for i in data.incidents} == {SPIKE, SHIFT, ERRORS, LATENCY}
    for i in data.incidents:
        assert 5 <= i.end - i.start <= 60
        span = slice(i.start, i.end)
        ratio = data.events[i.api, span].sum() / clean.events[i.api, span].sum()
        if i.kind == SPIKE:
            assert ratio == pytest.approx(3, rel=0.1)
        elif i.kind == SHIFT:
            assert ratio == pytest.approx(1.5, rel=0.1)
        elif i.kind == ERRORS:
            assert data.errors[i.api, span].sum() / data.events[i.api, span].sum() == pytest.approx(0.05, abs=0.02)
        else:
            assert np.allclose(data.p95[i.api, span], 2 * clean.p95[i.api, span])
    touched = np.zeros_like(data.events, dtype=bool)
    for i in data.incidents:
        touched[i.api, i.start : i.end] = True
    assert np.array_equal(data.events[~touched], clean.events[~touched])


def test_series_give_values_and_their_event_counts() -> None:
    data = minutes.generate(apis=1, days=1)
    events, none = data.series(0, EVENTS_METRIC)
    rate, n = data.series(0, ERROR_RATE_METRIC)
    p95, n2 = data.series(0, P95_METRIC)
    assert none is None and n is not None and n2 is not None
    assert np.array_equal(n, events) and np.allclose(rate * n, data.errors[0])
    assert (p95 > 0).all()


def hand_made(incidents: tuple[Incident, ...], length: int = 100) -> Minutes:
    zeros = np.zeros((1, length), np.int64)
    return Minutes(0, ("a",), zeros, zeros, np.zeros((1, length)), incidents)


def test_judging_counts_detections_delays_and_false_alarms() -> None:
    incidents = (Incident(0, SPIKE, 20, 30), Incident(0, ERRORS, 50, 55), Incident(0, LATENCY, 5, 12))
    data = hand_made(incidents)
    flags = {(0, m): np.zeros(100, dtype=bool) for m in (EVENTS_METRIC, ERROR_RATE_METRIC, P95_METRIC)}
    flags[(0, EVENTS_METRIC)][21:25] = True  # the spike, found on its second minute
    flags[(0, EVENTS_METRIC)][70:72] = True  # a false alarm
    flags[(0, ERROR_RATE_METRIC)][80:82] = True  # another, on a series whose incident was missed
    flags[(0, P95_METRIC)][10:16] = True  # over an incident of the warm-up: neither true nor false
    f = evaluate.judge(data, flags, 10, "x", updates=300, cpu=1.5)
    assert (f.incidents, f.detected) == (2, 1)
    assert f.recall_by_kind[SPIKE] == 1.0 and f.recall_by_kind[ERRORS] == 0.0
    assert (f.alarms, f.false_alarms) == (3, 2)
    assert f.median_delay_min == 2
    assert f.false_per_series_day == pytest.approx(2 / (3 * 90 / DAY_MINUTES))
    assert f.updates_per_s == 200
    assert list(evaluate.runs(np.array([1, 1, 0, 1, 0, 0, 1], dtype=bool))) == [(0, 2), (3, 4), (6, 7)]


def test_the_model_beats_both_baselines_on_a_small_benchmark() -> None:
    data = minutes.inject(minutes.generate(seed=5, apis=4, days=10), seed=5, per_day=6)
    warmup = 7 * DAY_MINUTES
    model, static, rolling = (evaluate.evaluate(data, c, warmup) for c in evaluate.CANDIDATES)
    assert model.incidents >= 10
    assert model.recall >= 0.85 and model.precision >= 0.8
    assert model.precision > rolling.precision and model.recall > static.recall
    assert model.false_per_series_day <= 0.1
