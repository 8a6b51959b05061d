"""Dashboard callbacks against the query layer on the real DynamoDB-API server, with seeded data.

Every expected number comes from the raw events that were aggregated and loaded (``support.dashboard.truth``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from dash.development.base_component import Component

from logpipeline import config
from logpipeline.dashboard import callbacks, data, timerange, viewstate
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.events.schema import LOG_LEVELS
from support.dashboard import APIS, XSS_API, World, seeded, truth
from support.wait import wait_for

ALL = ["recent", "hour", "old"]


@pytest.fixture(scope="module")
def world(stack: config.Settings) -> Iterator[World]:
    with seeded(stack.dynamodb_endpoint, "dashboard_cb") as world:
        yield world


def source(w: World, cache_s: int = 1800, tail_s: int = 5, table: str | None = None) -> data.Source:
    return data.Source(DashboardSettings(table or w.table, w.endpoint, 4, None, 180, cache_s, tail_s))


def texts(component: Any) -> list[str]:
    """The text of a component tree (component objects or the plain JSON form the callbacks answer with)."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [t for c in component for t in texts(c)]
    if isinstance(component, dict):
        children = component.get("props", {}).get("children")
    else:
        children = getattr(component, "children", None)
    return texts(children) if children is not None else []


def check(snap: Any, events: list[Any]) -> None:
    t = truth(events)
    assert snap.totals == t.totals
    assert (snap.sla.total, snap.sla.errors) == (t.total, t.errors)
    assert snap.sla.ratio == pytest.approx(t.sla)
    assert {r.api: r.count for r in snap.latency} == t.count
    for row in snap.latency:
        assert row.avg == pytest.approx(t.avg[row.api])
        times = sorted(t.times[row.api])
        assert (row.min, row.max) == (times[0], times[-1])
        rank = sum(v <= row.p95 for v in times) / len(times)
        assert row.p95 in times and abs(rank - 0.95) <= 1.5 / len(times) + 0.02, (row.api, rank)
    got = [(r.api, r.errors, r.error_rate, r.avg_response_time) for r in snap.top_errors]
    assert [g[:2] for g in got] == [e[:2] for e in t.top]
    for g, e in zip(got, t.top, strict=True):
        assert g[2] == pytest.approx(e[2]) and g[3] == pytest.approx(e[3])
    assert {lv: sum(snap.series[lv]) for lv in LOG_LEVELS} == t.totals


CASES = [
    ("15m", None, ["recent"], []),
    ("1h", None, ["recent", "hour"], []),
    ("6h", None, ALL, []),
    ("24h", None, ALL, ["/api/v1/users", XSS_API]),
    ("custom", "old", ["old"], []),
]


@pytest.mark.parametrize(("range_name", "custom", "blocks", "apis"), CASES)
def test_refresh_equals_ground_truth(
    world: World, range_name: str, custom: str | None, blocks: list[str], apis: list[str]
) -> None:
    start = end = None
    if custom:
        lo, hi = world.blocks[custom]
        start, end = timerange.format_utc(lo), timerange.format_utc(hi)
    b = timerange.bounds(range_name, int(time.time() * 1000), start, end)
    snap = source(world).snapshot(b, apis)
    check(snap, world.select(blocks, apis))
    assert snap.apis_available == sorted({e.api for e in world.select(blocks)})
    expected_buckets = -(-(b.end_ms - b.start_ms) // b.step_ms)
    assert len(snap.series_starts) == expected_buckets and snap.series_starts[0] == b.start_ms


def test_cache_gives_the_same_figures_and_reads_only_the_tail(world: World) -> None:
    now = int(time.time() * 1000)
    b = timerange.bounds("6h", now)
    plain, cached = source(world, cache_s=0), source(world, tail_s=0)
    want = plain.snapshot(b, [], now)
    first = cached.snapshot(b, [], now)
    read_first = cached.reader.items_read
    again = cached.snapshot(b, [], now)
    # Percentiles of merged KLL sketches (over k=200 values) vary within the rank error: checked by ``check``.
    assert replace(first, latency=[]) == replace(again, latency=[]) == replace(want, latency=[])
    for snap in (want, first, again):
        check(snap, world.select(ALL))
    # at least one item per minute that holds events (a window item, or the minute's digest)
    assert read_first >= len({e.timestamp // 60_000 for e in world.select(ALL)})
    # The seeded minutes are all older than the settle margin: the second refresh reads no window again,
    # only the newest window of each shard (Limit=1) for the freshness badge.
    assert cached.reader.items_read - read_first <= 4


def test_expired_buckets_are_served_and_read_again_in_the_background(world: World) -> None:
    src = source(world, cache_s=1, tail_s=0)
    b = timerange.bounds("6h", int(time.time() * 1000))
    first = src.snapshot(b, [])
    read = src.reader.items_read
    time.sleep(1.2)
    assert src.snapshot(b, []).totals == first.totals  # answered from the expired buckets at once
    # every bucket read again (the freshness probe aside)
    wait_for(lambda: src.reader.items_read >= 2 * read - 8, 120, "every bucket read again", interval=0.2)
    assert src.snapshot(b, []).totals == first.totals


def test_a_view_is_computed_once_for_concurrent_refreshes(world: World) -> None:
    single = source(world)
    single.view("6h", None, None, [])
    shared = source(world)
    with ThreadPoolExecutor(8) as pool:
        snaps = list(pool.map(lambda _: shared.view("6h", None, None, []), range(8)))
    assert all(s == snaps[0] for s in snaps)
    assert shared.reader.queries == single.reader.queries  # one computation served all eight
    shared.view("6h", None, None, [])
    assert shared.reader.queries == single.reader.queries  # within tail_s: shared, no read


def test_drill_down_detail(world: World) -> None:
    b = timerange.bounds("6h", int(time.time() * 1000))
    for api in (XSS_API, APIS[0]):
        snap = source(world).snapshot(b, [api], drill=api)
        mine = world.select(ALL, [api])
        assert sum(x.count for x in snap.detail) == len(mine)
        assert sum(x.errors for x in snap.detail) == sum(e.log_level in ("ERROR", "CRITICAL") for e in mine)
        assert [x.start for x in snap.detail] == snap.series_starts


def test_callbacks_draw_every_view(world: World) -> None:
    data.use(source(world))
    snap, problems = callbacks.load("overview", "6h", None, None, [], None)
    assert problems == []
    t = truth(world.select(ALL))
    view = viewstate.View(range="6h", slo=95.0)
    drawn = callbacks.render_overview(snap, 95.0, view)
    sla, levels, latency, series, top, kpis, health, label, options, anomalies, *regions = drawn
    assert texts(anomalies)[-1] == "no anomaly in this range"
    assert regions == [[{"label": "all regions", "value": "all"}], {"display": "none"}, []]  # a store without regions
    gauge, pie, avg = sla["data"][0], levels["data"][0], latency["data"][0]
    assert gauge["value"] == pytest.approx(100 * t.sla) and gauge["gauge"]["threshold"]["value"] == 95.0
    assert dict(zip(pie["labels"], pie["values"], strict=True)) == {lv: n for lv, n in t.totals.items() if n}
    assert dict(zip(avg["customdata"], avg["y"], strict=True)) == pytest.approx(t.avg)
    assert [sum(trace["y"]) for trace in series["data"]] == [t.totals[lv] for lv in LOG_LEVELS]
    rows = texts(top)[4:]
    assert rows[0::4] == [r[0] for r in t.top] and rows[1::4] == [f"{r[1]:,}" for r in t.top]
    assert rows[2::4] == [f"{100 * r[2]:.2f}%" for r in t.top]
    assert texts(kpis) == [x for lv in LOG_LEVELS for x in (lv, f"{t.totals[lv]:,}")]
    assert texts(health)[0].startswith("newest window")
    assert XSS_API in [o["value"] for o in options]
    assert label.endswith("5m buckets")
    stats, percentiles, errors, *_ = callbacks.render_api(
        callbacks.load("api", "6h", None, None, [XSS_API], XSS_API)[0], XSS_API
    )
    assert texts(stats)[:2] == ["events", f"{t.count[XSS_API]:,}"]
    assert [trace["name"] for trace in percentiles["data"]] == ["p50", "p95", "p99"]
    assert sum(sum(trace["y"]) for trace in errors["data"]) == sum(
        e.log_level in ("ERROR", "CRITICAL") for e in world.select(ALL, [XSS_API])
    )


def test_bad_range_and_missing_table_are_named(world: World) -> None:
    data.use(source(world))
    _, problems = callbacks.load("overview", "custom", "2026-01-02T00:00", "2026-01-01T00:00", [], None)
    assert isinstance(problems[0], Component) and "must be after start" in texts(problems)[0]
    missing = source(world, table=f"{world.table}_missing")
    data.use(missing)
    _, problems = callbacks.load("overview", "1h", None, None, [], None)
    assert "metrics table unavailable" in texts(problems)[0]
    assert missing.ready() == (False, f"table {world.table}_missing does not exist")


def test_health_endpoints(world: World) -> None:
    from logpipeline.dashboard.app import server

    client = server.test_client()
    data.use(source(world))
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    callbacks.load("overview", "1h", None, None, [], None)
    assert "logpipeline_dashboard_refresh_seconds_count" in client.get("/metrics").text
    data.use(source(world, table=f"{world.table}_gone"))
    gone = client.get("/readyz")
    assert gone.status_code == 503 and f"{world.table}_gone" in gone.text


def test_health_and_metrics_answer_only_on_their_own_port_when_one_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a cluster the Ingress routes the dashboard's http port: /healthz, /readyz and /metrics must not be
    reachable through it (they need no session)."""
    from logpipeline.dashboard.app import server

    client = server.test_client()
    monkeypatch.setenv("LOGPIPELINE_DASHBOARD_METRICS_PORT", "9112")
    for path in ("/metrics", "/healthz", "/readyz"):
        assert client.get(path, environ_overrides={"SERVER_PORT": "8050"}).status_code == 404, path
    own = client.get("/metrics", environ_overrides={"SERVER_PORT": "9112"})
    assert own.status_code == 200 and "logpipeline_dashboard" in own.text
    assert client.get("/healthz", environ_overrides={"SERVER_PORT": "9112"}).status_code == 200
    page = client.get("/", environ_overrides={"SERVER_PORT": "8050"}, headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/auth/login")
