"""The dashboard's pure parts: ranges, URL state, bucket roll-ups, snapshot JSON, figures and components."""

from __future__ import annotations

from urllib.parse import parse_qs

import plotly.graph_objects as go
import pytest
from dash import dcc, html

from logpipeline.dashboard import buckets, components, figures, model, timerange, viewstate
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics import rollup, synthetic

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
XSS = "<img src=x onerror=alert(1)>"
APIS = [*synthetic.api_names(3), XSS]
EVENTS = synthetic.events(T0, 150, APIS, per_minute=6, seed=11)
WINDOWS = synthetic.aggregate_events(EVENTS, updated_at=T0)
MIN = 60_000


def _quantile_ok(values: list[float], x: float, q: float, eps: float = 0.02) -> bool:
    below = sum(v < x for v in values) / len(values)
    upto = sum(v <= x for v in values) / len(values)
    return below - eps <= q <= upto + eps


@pytest.mark.parametrize(
    ("name", "resolution", "span"),
    [
        ("15m", "1m", 15 * MIN),
        ("1h", "1m", 60 * MIN),
        ("6h", "5m", 360 * MIN),
        ("24h", "5m", 1440 * MIN),
        ("7d", "1h", 7 * 1440 * MIN),
    ],
)
def test_presets_end_now_and_start_on_a_bucket(name: str, resolution: str, span: int) -> None:
    now = T0 + 7 * 3_600_000 + 123_456
    b = timerange.bounds(name, now)
    assert (b.resolution, b.end_ms) == (resolution, now)
    assert b.start_ms % b.step_ms == 0 and now - span - b.step_ms < b.start_ms <= now - span


def test_custom_range_and_its_errors() -> None:
    b = timerange.bounds("custom", 0, "2026-01-01T00:07", "2026-01-01T00:52")
    assert (b.start_ms, b.end_ms, b.resolution) == (T0 + 7 * MIN, T0 + 52 * MIN, "1m")
    assert timerange.bounds("custom", 0, "2026-01-01T00:00", "2026-01-03T00:00").resolution == "1h"
    with pytest.raises(ValueError, match=r"end .* must be after start"):
        timerange.bounds("custom", 0, "2026-01-01T01:00", "2026-01-01T00:00")
    with pytest.raises(ValueError, match="YYYY-MM-DDTHH:MM"):
        timerange.bounds("custom", 0, "yesterday", "2026-01-01T00:00")
    with pytest.raises(ValueError, match="range: expected one of"):
        timerange.bounds("2w", 0)
    assert timerange.format_utc(T0 + 7 * MIN) == "2026-01-01T00:07"


def test_view_round_trips_through_the_url() -> None:
    view = viewstate.View("custom", "2026-01-01T00:07", "2026-01-01T00:52", ("/a,b", XSS), 99.5, 30, True, XSS)
    query = viewstate.query(view)
    assert "<" not in query and "&api=" in query
    params = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(query).items()}  # as Dash Pages passes them
    assert viewstate.parse(params) == (view, [])
    assert viewstate.query(viewstate.View()) == "range=1h"  # always: a reader's own default would replace it


def test_bad_url_values_fall_back_and_are_named() -> None:
    view, problems = viewstate.parse({"range": "2w", "slo": "abc", "refresh": "7", "api": ["a", "a", "b"]})
    assert view == viewstate.View(apis=("a", "b"))
    assert [p.split(":")[0] for p in problems] == ["range", "slo", "refresh"]
    view, problems = viewstate.parse({"range": "custom", "start": "2026-01-01T00:00"})
    assert view.range == "1h" and "both start and end" in problems[0]


@pytest.mark.parametrize("step", [5 * MIN, 60 * MIN])
def test_buckets_keep_the_roll_ups(step: int) -> None:
    coarse = buckets.flatten(buckets.coarsen(WINDOWS, step))
    assert len(coarse) < len(WINDOWS)
    assert all(w.window_start % step == 0 and w.window_end == w.window_start + step for w in coarse)
    assert rollup.totals_by_level(coarse) == rollup.totals_by_level(WINDOWS)
    assert rollup.sla(coarse) == rollup.sla(WINDOWS)
    series = rollup.series_by_level(coarse, T0, T0 + 150 * MIN, step)
    assert series == rollup.series_by_level(WINDOWS, T0, T0 + 150 * MIN, step)
    for got, want in zip(rollup.top_apis_by_errors(coarse, 5), rollup.top_apis_by_errors(WINDOWS, 5), strict=True):
        assert (got.api, got.errors, got.total, got.error_rate) == (want.api, want.errors, want.total, want.error_rate)
        assert got.avg_response_time == pytest.approx(want.avg_response_time)
    for api, lat in rollup.latency_by_api(coarse).items():
        times = [e.response_time for e in EVENTS if e.api == api]
        assert lat.count == len(times) and lat.avg == pytest.approx(sum(times) / len(times))
        assert (lat.min, lat.max) == (min(times), max(times))
        for q, got in ((0.5, lat.p50), (0.95, lat.p95), (0.99, lat.p99)):
            assert _quantile_ok(times, got, q), (api, q)


def test_snapshot_matches_the_events() -> None:
    end = T0 + 150 * MIN
    snap = model.summarize(WINDOWS, T0, end, end + 30_000, "5m", 5 * MIN, [APIS[1]], end, model.Sink(), APIS[1])
    mine = [e for e in EVENTS if e.api == APIS[1]]
    assert snap.totals == {lv: sum(e.log_level == lv for e in mine) for lv in LOG_LEVELS}
    assert snap.apis_available == sorted(APIS) and snap.age_seconds == 30.0
    assert sum(b.count for b in snap.detail) == len(mine)
    assert sum(b.errors for b in snap.detail) == sum(e.log_level in ERROR_LEVELS for e in mine)


def test_figures_carry_the_numbers_and_escape_names() -> None:
    latency = list(rollup.latency_by_api(WINDOWS).values())
    bars = figures.latency_bars(latency)
    avg, p95 = bars["data"]
    assert avg["y"] == [r.avg for r in latency] and p95["y"] == [r.p95 for r in latency]
    assert "&lt;img src=x onerror=alert(1)&gt;" in avg["x"] and XSS in avg["customdata"]
    assert all("<" not in label for label in avg["x"])
    gauge = figures.sla_gauge(rollup.Sla(200, 10, 0.95), 99.0)["data"][0]
    assert gauge["value"] == pytest.approx(95.0) and gauge["gauge"]["threshold"]["value"] == 99.0
    assert gauge["gauge"]["bar"]["color"] == figures.BAD
    assert figures.sla_gauge(rollup.Sla(0, 0, None), 99.0)["data"][0]["value"] is None
    pie = figures.level_pie({"INFO": 3, "ERROR": 1, "DEBUG": 0})["data"][0]
    assert pie["labels"] == ["INFO", "ERROR"] and pie["values"] == [3, 1]
    for figure in (bars, figures.level_series([T0], {"INFO": [1]}), figures.error_series([T0], {})):
        go.Figure(figure)  # valid for Plotly (validated here, not on the request path)


def _texts(component: object) -> list[str]:
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if isinstance(children, list):
        return [t for c in children for t in _texts(c)]
    return _texts(children) if children is not None else []


def test_top_errors_table_shows_names_as_text() -> None:
    rows = [rollup.ApiErrors(XSS, 7, 20, 0.35, 123.45)]
    table = components.top_errors_table(rows, lambda api: "/api?name=" + api)
    assert _texts(table) == ["API", "errors", "error rate", "avg response", XSS, "7", "35.00%", "123.5 ms"]
    link = table.children[1].children[0].children[0].children
    assert isinstance(link, dcc.Link) and link.children == XSS
    assert not any(isinstance(c, html.Iframe) for c in table.children)


@pytest.mark.parametrize(
    ("age", "color"), [(None, "secondary"), (30.0, "success"), (600.0, "warning"), (3600.0, "danger")]
)
def test_health_badge(age: float | None, color: str) -> None:
    fresh, sink = components.health_badge(age, model.Sink("up", 12.0))
    assert fresh.color == color
    assert sink.children == "sink lag 12 records"
    assert components.health_badge(age, model.Sink("down"))[1].children == "sink metrics unreachable"


def test_the_arrivals_banner_names_what_the_job_set_aside() -> None:
    from logpipeline.dashboard.data import parse_arrivals
    from logpipeline.dashboard.model import Arrivals

    assert components.arrivals_banner(Arrivals()) == []
    [alert] = components.arrivals_banner(Arrivals(late=2, too_far_ahead=1))
    text = " ".join(str(div.children) for div in alert.children)
    assert text.startswith("2 events arrived later than the watermark")
    assert "1 event stamped too far ahead of arrival (a wrong clock) was set aside" in text
    metrics = (
        'logpipeline_spark_late_events_total{query="aggregates"} 412.0\n'
        'logpipeline_spark_late_events_total{query="raw_archive"} 9.0\n'
        'logpipeline_spark_dead_letters_total{error_class="too_far_ahead"} 3.0\n'
        'logpipeline_spark_dead_letters_total{error_class="not_json"} 5.0\n'
    )
    assert parse_arrivals(metrics) == (412.0, 3.0)
