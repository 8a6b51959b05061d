"""The dashboard in headless Chromium (Debian's package, driven by Playwright) against a real gunicorn.

One seeded table, one gunicorn with two workers (any worker answers any request) and one browser serve every
test; the numbers on the page are compared with the ground truth computed from the seeded raw events.
Screenshots go to ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from logpipeline import config, observability
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.sink import telemetry as sink_telemetry
from logpipeline.stack.process import free_port
from support.dashboard import APIS, ARTIFACTS, XSS_API, Truth, World, chromium, gunicorn, seeded, sign_in, truth

ALL = ["recent", "hour", "old"]
WAIT_MS = 120_000
SINK_LAG = 42


@pytest.fixture(scope="module")
def world(stack: config.Settings) -> Iterator[World]:
    with seeded(stack.dynamodb_endpoint, "dashboard_ui") as world:
        yield world


@pytest.fixture(scope="module")
def sink_metrics() -> Iterator[str]:
    """The sink's own metrics and HTTP server, with a known consumer lag."""
    metrics = sink_telemetry.Metrics()
    metrics.lag_total.set(SINK_LAG)
    server = observability.serve("127.0.0.1", free_port(), metrics.registry, lambda: True)
    yield f"http://127.0.0.1:{server.server_address[1]}/metrics"
    server.shutdown()


@pytest.fixture(scope="module")
def base(world: World, sink_metrics: str) -> Iterator[str]:
    with gunicorn(world.table, world.endpoint, workers=2, threads=4, sink=sink_metrics) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base: str) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as context:
        tab = context.new_page()
        sign_in(tab, base)  # the context's cookies serve every tab after
        tab.close()
        yield context


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab that records every dialog (an executed ``alert`` would open one)."""
    tab = browser.new_page()
    tab.dialogs = []

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", on_dialog)
    yield tab
    assert tab.dialogs == [], f"a dialog opened: {tab.dialogs}"
    tab.close()


def wait_kpis(page: Any, t: Truth, prefix: str = "ov") -> None:
    """Wait until the KPI cards show the expected counts, then compare them all."""
    expected = {lv: f"{t.totals[lv]:,}" for lv in LOG_LEVELS}
    script = (
        "([p, e]) => Object.entries(e).every(([lv, v]) => document.getElementById(`${p}-kpi-${lv}`)?.textContent === v)"
    )
    try:
        page.wait_for_function(script, arg=[prefix, expected], timeout=WAIT_MS)
    finally:
        shown = {lv: page.text_content(f"#{prefix}-kpi-{lv}") for lv in LOG_LEVELS}
        assert shown == expected


def plot(page: Any, graph_id: str) -> list[dict[str, Any]]:
    """The traces Plotly drew in a graph (waiting for the graph to be drawn)."""
    page.wait_for_function(
        "id => document.querySelector(`#${id} .js-plotly-plot`)?.data !== undefined", arg=graph_id, timeout=WAIT_MS
    )
    data: list[dict[str, Any]] = page.evaluate(
        "id => document.querySelector(`#${id} .js-plotly-plot`).data.map(t => ({...t}))", graph_id
    )
    return data


def table_rows(page: Any) -> list[list[str]]:
    rows: list[list[str]] = page.evaluate(
        "() => [...document.querySelectorAll('#top-errors-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))"
    )
    return rows


def check_overview(page: Any, t: Truth) -> None:
    """Every view shows the ground truth (the graphs redraw just after the cards: compared until they agree)."""
    wait_kpis(page, t)
    deadline = time.monotonic() + 30
    while True:
        try:
            check_views(page, t)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(250)


def check_views(page: Any, t: Truth) -> None:
    gauge = plot(page, "ov-sla")[0]
    assert gauge["value"] == pytest.approx(100 * t.sla)
    pie = plot(page, "ov-levels")[0]
    assert dict(zip(pie["labels"], pie["values"], strict=True)) == {lv: n for lv, n in t.totals.items() if n}
    avg, p95 = plot(page, "ov-latency")
    assert dict(zip(avg["customdata"], avg["y"], strict=True)) == pytest.approx(t.avg)
    assert set(p95["customdata"]) == set(t.avg)
    series = plot(page, "ov-series")
    assert {s["name"]: sum(s["y"]) for s in series} == t.totals
    rows = table_rows(page)
    assert [r[:3] for r in rows] == [[api, f"{n:,}", f"{100 * rate:.2f}%"] for api, n, rate, _ in t.top]
    for row, (_, _, _, mean) in zip(rows, t.top, strict=True):
        assert float(row[3].removesuffix(" ms")) == pytest.approx(mean, abs=0.051)


def test_overview_shows_the_seeded_ground_truth(page: Any, base: str, world: World) -> None:
    page.goto(f"{base}/?range=6h")
    check_overview(page, truth(world.select(ALL)))
    health = page.text_content("#ov-health") or ""
    assert re.match(r"newest window (\d+) (s|min) ago", health), health
    assert f"sink lag {SINK_LAG} records" in health
    assert "5m buckets" in (page.text_content("#ov-range-label") or "")
    page.screenshot(path=str(ARTIFACTS / "overview-6h.png"), full_page=True)


def test_time_range_picker_changes_the_numbers(page: Any, base: str, world: World) -> None:
    page.goto(f"{base}/?range=6h")
    wait_kpis(page, truth(world.select(ALL)))
    page.click("label:text-is('15m')")
    check_overview(page, truth(world.select(["recent"])))
    assert urllib.parse.urlparse(page.url).query == "range=15m"
    page.click("label:text-is('1h')")
    check_overview(page, truth(world.select(["recent", "hour"])))
    assert urllib.parse.urlparse(page.url).query == "range=1h"  # named even as the default: a reader's may differ
    assert "1m buckets" in (page.text_content("#ov-range-label") or "")
    page.screenshot(path=str(ARTIFACTS / "overview-1h.png"), full_page=True)


def test_custom_range_from_a_bookmark(page: Any, base: str, world: World) -> None:
    from logpipeline.dashboard.timerange import format_utc

    lo, hi = world.blocks["old"]
    query = urllib.parse.urlencode({"range": "custom", "start": format_utc(lo), "end": format_utc(hi)})
    page.goto(f"{base}/?{query}")
    check_overview(page, truth(world.select(["old"])))
    assert page.is_visible("#ov-start") and page.input_value("#ov-start") == format_utc(lo)


def test_api_filter_from_the_url_and_the_dropdown(page: Any, base: str, world: World) -> None:
    users, orders = APIS[1], APIS[0]
    page.goto(f"{base}/?range=6h&api={urllib.parse.quote(users)}")
    check_overview(page, truth(world.select(ALL, [users])))
    page.click("#ov-apis")
    # The option list loads with the popover: search and click the option once it is there (keys typed
    # earlier could land on the popover's "deselect all" button).
    search = page.locator(".dash-dropdown-search")
    search.wait_for(state="visible")
    search.fill(orders)
    page.locator(".dash-dropdown-option", has_text=orders).first.click()
    page.keyboard.press("Escape")
    check_overview(page, truth(world.select(ALL, [users, orders])))
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params == {"range": ["6h"], "api": [users, orders]}
    page.screenshot(path=str(ARTIFACTS / "overview-filtered.png"), full_page=True)


def test_slo_target_and_refresh_settings_live_in_the_url(page: Any, base: str, world: World) -> None:
    page.goto(f"{base}/?range=6h")
    wait_kpis(page, truth(world.select(ALL)))
    page.fill("#ov-slo", "80")
    page.wait_for_function("() => location.search.includes('slo=80')", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('#ov-sla .js-plotly-plot').data[0].gauge.threshold.value === 80",
        timeout=WAIT_MS,
    )
    page.select_option("#ov-refresh", "30")
    page.click("label:text-is('paused')")
    page.wait_for_function("() => location.search.includes('paused=1')", timeout=WAIT_MS)
    bookmark = page.url
    assert urllib.parse.parse_qs(urllib.parse.urlparse(bookmark).query) == {
        "range": ["6h"],
        "slo": ["80"],
        "refresh": ["30"],
        "paused": ["1"],
    }
    page.goto(bookmark)
    wait_kpis(page, truth(world.select(ALL)))
    assert (page.input_value("#ov-slo"), page.input_value("#ov-refresh")) == ("80", "30")
    assert page.is_checked("#ov-paused")
    gauge = plot(page, "ov-sla")[0]
    assert gauge["gauge"]["threshold"]["value"] == 80
    sla = truth(world.select(ALL)).sla or 0
    assert gauge["gauge"]["bar"]["color"] == ("#00bc8c" if 100 * sla >= 80 else "#e74c3c")


def test_auto_refresh_runs_and_pauses(page: Any, base: str, world: World) -> None:
    ticks: list[float] = []

    def on_request(request: Any) -> None:
        if request.method != "POST" or "_dash-update-component" not in request.url:
            return
        if json.loads(request.post_data or "{}").get("changedPropIds") == ["ov-tick.n_intervals"]:
            ticks.append(time.monotonic())

    page.on("request", on_request)
    page.goto(f"{base}/?range=1h&refresh=5")
    wait_kpis(page, truth(world.select(["recent", "hour"])))
    page.wait_for_timeout(11_500)
    assert len(ticks) >= 2, ticks
    page.click("label:text-is('paused')")
    page.wait_for_function("() => location.search.includes('paused=1')", timeout=WAIT_MS)
    page.wait_for_timeout(500)
    paused_at = len(ticks)
    page.wait_for_timeout(7_000)
    assert len(ticks) == paused_at


def test_xss_probe_stays_inert(page: Any, base: str, world: World) -> None:
    page.goto(f"{base}/?range=6h")
    check_overview(page, truth(world.select(ALL)))
    assert XSS_API in [r[0] for r in table_rows(page)]
    ticks = page.evaluate("() => [...document.querySelectorAll('#ov-latency .xtick text')].map(t => t.textContent)")
    assert XSS_API in ticks
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    page.goto(f"{base}/api?range=6h&name={urllib.parse.quote(XSS_API)}")
    page.wait_for_function("() => document.getElementById('api-stat-events')?.textContent !== undefined")
    assert page.text_content("#api-title") == XSS_API
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    # the page fixture asserts that no dialog opened


def test_drill_down_from_the_table_and_the_chart(page: Any, base: str, world: World) -> None:
    page.goto(f"{base}/?range=6h")
    t = truth(world.select(ALL))
    check_overview(page, t)
    page.click(f"#top-errors-table a:text-is('{XSS_API}')")
    page.wait_for_url(re.compile(r"/api\?"), timeout=WAIT_MS)
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params == {"name": [XSS_API], "range": ["6h"]}
    mine = world.select(ALL, [XSS_API])
    errors = sum(e.log_level in ("ERROR", "CRITICAL") for e in mine)
    page.wait_for_function(
        "v => document.getElementById('api-stat-events')?.textContent === v", arg=f"{len(mine):,}", timeout=WAIT_MS
    )
    assert page.text_content("#api-stat-errors") == f"{errors:,}"
    assert page.text_content("#api-stat-error-rate") == f"{100 * errors / len(mine):.2f}%"
    avg = float((page.text_content("#api-stat-avg") or "").removesuffix(" ms"))
    assert avg == pytest.approx(t.avg[XSS_API], abs=0.051)
    percentiles = plot(page, "api-latency")
    assert [p["name"] for p in percentiles] == ["p50", "p95", "p99"]
    assert sum(sum(s["y"]) for s in plot(page, "api-errors")) == errors
    page.screenshot(path=str(ARTIFACTS / "drill-down.png"), full_page=True)
    page.click("#api-back")
    wait_kpis(page, t)
    target = APIS[2]
    index = plot(page, "ov-latency")[0]["customdata"].index(target)
    page.locator("#ov-latency .bars .point").nth(index).click(force=True)
    page.wait_for_url(re.compile(r"/api\?"), timeout=WAIT_MS)
    assert urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["name"] == [target]
    count = len(world.select(ALL, [target]))
    page.wait_for_function(
        "v => document.getElementById('api-stat-events')?.textContent === v", arg=f"{count:,}", timeout=WAIT_MS
    )


def test_health_ready_and_metrics(base: str, page: Any, world: World) -> None:
    page.goto(f"{base}/?range=1h")
    wait_kpis(page, truth(world.select(["recent", "hour"])))
    for path, expected in (("/healthz", "ok\n"), ("/readyz", "ready\n")):
        with urllib.request.urlopen(base + path, timeout=30) as response:
            assert (response.status, response.read().decode()) == (200, expected)
    with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
        text = response.read().decode()
    counts = re.findall(r'^logpipeline_dashboard_refresh_seconds_count\{page="overview"\} (\S+)$', text, re.M)
    assert counts and float(counts[0]) >= 1, text
