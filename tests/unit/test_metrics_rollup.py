"""Roll-ups against a direct computation from the raw events of a synthetic hour."""

from __future__ import annotations

import math

import pytest

from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics import rollup, synthetic

T0 = 1_767_225_600_000
APIS = synthetic.api_names(5)
EVENTS = synthetic.events(T0, 30, APIS, per_minute=20, seed=7)
WINDOWS = synthetic.aggregate_events(EVENTS, updated_at=T0)


def _quantile_ok(values: list[float], x: float, q: float, eps: float = 0.02) -> bool:
    below = sum(v < x for v in values) / len(values)
    upto = sum(v <= x for v in values) / len(values)
    return below - eps <= q <= upto + eps


def test_totals_and_sla() -> None:
    totals = rollup.totals_by_level(WINDOWS)
    assert totals == {lv: sum(e.log_level == lv for e in EVENTS) for lv in LOG_LEVELS}
    sla = rollup.sla(WINDOWS)
    errors = sum(e.log_level in ERROR_LEVELS for e in EVENTS)
    assert (sla.total, sla.errors) == (len(EVENTS), errors)
    assert sla.ratio == pytest.approx((len(EVENTS) - errors) / len(EVENTS))
    assert rollup.sla([]).ratio is None


def test_latency_is_count_weighted_and_percentiles_merge_sketches() -> None:
    latency = rollup.latency_by_api(WINDOWS)
    assert sorted(latency) == sorted(APIS)
    for api, figures in latency.items():
        times = sorted(e.response_time for e in EVENTS if e.api == api)
        assert figures.count == len(times)
        assert figures.avg == pytest.approx(sum(times) / len(times))
        assert (figures.min, figures.max) == (times[0], times[-1])
        for q, got in ((0.5, figures.p50), (0.95, figures.p95), (0.99, figures.p99)):
            assert _quantile_ok(times, got, q), (api, q)


def test_single_window_uses_its_stored_percentiles() -> None:
    w = WINDOWS[0]
    figures = rollup.latency(w.api, [w])
    assert (figures.p50, figures.p95, figures.p99) == (w.p50_response_time, w.p95_response_time, w.p99_response_time)


def test_top_apis_by_errors() -> None:
    top = rollup.top_apis_by_errors(WINDOWS, 3)
    expected = []
    for api in APIS:
        mine = [e for e in EVENTS if e.api == api]
        errors = sum(e.log_level in ERROR_LEVELS for e in mine)
        expected.append((-errors, -errors / len(mine), api))
    expected.sort()
    assert [t.api for t in top] == [api for _, _, api in expected[:3]]
    assert top[0].errors == -expected[0][0]
    assert top[0].error_rate == pytest.approx(-expected[0][1])


@pytest.mark.parametrize("resolution", ["1m", "5m", "1h"])
def test_series_buckets(resolution: str) -> None:
    step = rollup.RESOLUTIONS_MS[resolution]
    points = rollup.series_by_level(WINDOWS, T0, T0 + 30 * 60_000, step)
    assert len(points) == math.ceil(30 * 60_000 / step)
    for p in points:
        inside = [e for e in EVENTS if p.start <= e.timestamp < p.start + step]
        assert p.counts == {lv: sum(e.log_level == lv for e in inside) for lv in LOG_LEVELS}


def test_filter_and_freshness() -> None:
    only = rollup.filter_apis(WINDOWS, [APIS[1]])
    assert {w.api for w in only} == {APIS[1]}
    newest = max(WINDOWS, key=lambda w: w.window_start)
    fresh = rollup.freshness(newest, newest.window_end + 2_500)
    assert fresh.age_seconds == 2.5 and fresh.newest_window_start == newest.window_start
    assert rollup.freshness(None, 0).age_seconds is None
