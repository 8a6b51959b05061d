"""Per-user settings, saved views and CSV export, through a real gunicorn (two workers) on a private DynamoDB-API
server and in Chromium: defaults that survive a restart, a view shared by link showing another user the same
figures, roles, conflicting saves, each panel's CSV equal to what the page shows, and annotations posted through
the HTTP API and the CLI marking the series."""

from __future__ import annotations

import base64
import csv
import io
import os
import struct
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from logpipeline.events.schema import LOG_LEVELS
from support.dashboard import (
    APIS,
    ARTIFACTS,
    World,
    chromium,
    gunicorn,
    refresh_request,
    seeded,
    session,
    sign_in,
    truth,
)
from support.moto import MotoServer

WAIT_MS = 60_000
SETTINGS_STATE = ["set-range", "set-refresh", "set-timezone", "set-favourites", "set-panels"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    moto = MotoServer(tmp_path_factory.mktemp("settings-moto"))
    moto.start()
    try:
        with seeded(moto.endpoint, "settings") as made:
            yield made
    finally:
        moto.stop()


def save_request(values: list[Any], loaded: int = 0, saved: int = 0) -> dict[str, Any]:
    """The settings form's Save, as Dash's renderer posts it."""
    state = [{"id": i, "property": "value", "value": v} for i, v in zip(SETTINGS_STATE, values, strict=True)]
    state += [{"id": "set-loaded-version", "property": "data", "value": loaded},
              {"id": "set-version", "property": "data", "value": saved}]  # fmt: skip
    return {
        "output": "..set-result.children...set-version.data..",
        "outputs": [{"id": "set-result", "property": "children"}, {"id": "set-version", "property": "data"}],
        "inputs": [{"id": "set-save", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["set-save.n_clicks"],
        "state": state,
    }


def kpis(page: Any) -> dict[str, str]:
    return dict(
        page.evaluate(
            "levels => Object.fromEntries(levels.map(lv => [lv, document.getElementById(`ov-kpi-${lv}`)?.textContent]))",
            list(LOG_LEVELS),
        )
    )


def wait_kpis(page: Any, expected: dict[str, str]) -> None:
    try:
        page.wait_for_function(
            "w => Object.entries(w).every(([lv, v]) => document.getElementById(`ov-kpi-${lv}`)?.textContent === v)",
            arg=expected,
            timeout=WAIT_MS,
        )
    except Exception:
        raise AssertionError(f"shown {kpis(page)} at {page.url}, expected {expected}") from None


def test_settings_are_the_users_own_survive_a_restart_and_apply_where_a_link_names_no_range(world: World) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with gunicorn(world.table, world.endpoint, workers=2) as base, chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "editor", path="/settings")
        page.wait_for_selector("#set-save")
        page.click("label[for='_dbcprivate_radioitems_set-range_input_24h']")
        page.fill("#set-favourites", f"{APIS[1]}\n{APIS[0]}")
        page.click("#set-save")
        page.wait_for_selector("#settings-saved", timeout=WAIT_MS)
        page.screenshot(path=str(Path(ARTIFACTS) / "settings.png"), full_page=True)
    with gunicorn(world.table, world.endpoint, workers=2) as base, chromium() as browser:  # a new server
        page = browser.new_page()
        sign_in(page, base, "editor")
        page.wait_for_function("() => location.search.includes('range=24h')", timeout=WAIT_MS)
        favourites = page.locator("#favourites a").all_inner_texts()
        assert favourites == [APIS[1], APIS[0]]
        expected = truth(world.select(["recent", "hour", "old"]))
        wait_kpis(page, {lv: f"{expected.totals[lv]:,}" for lv in LOG_LEVELS})
        page.goto(f"{base}/?range=15m")  # a link that names its range shows that range
        page.wait_for_function("() => document.querySelector('#ov-range input:checked')?.value === '15m'")
        page.close()  # its refreshes would renew the editor's cookie
        other = browser.new_page()  # the viewer's defaults are still the product's
        other.context.clear_cookies()
        sign_in(other, base, "viewer")
        other.wait_for_function("() => document.querySelector('#ov-range input:checked')?.value === '1h'")


def test_a_shared_view_shows_another_user_the_same_figures(world: World) -> None:
    api = APIS[2]
    expected = truth(world.select(["recent", "hour", "old"], [api]))
    want = {lv: f"{expected.totals[lv]:,}" for lv in LOG_LEVELS}
    with gunicorn(world.table, world.endpoint, workers=2) as base:
        with chromium() as browser:
            page = browser.new_page()
            sign_in(page, base, "editor", path=f"/?range=6h&api={urllib.parse.quote(api)}")
            wait_kpis(page, want)
            page.fill("#ov-view-name", "payments, 6 hours")
            page.click("#ov-view-shared")
            page.click("#ov-view-save")
            page.wait_for_selector("#view-saved", timeout=WAIT_MS)
        with chromium() as browser:  # another person, another browser
            page = browser.new_page()
            sign_in(page, base, "viewer", path="/settings")
            page.click("text=payments, 6 hours")
            wait_kpis(page, want)
            assert kpis(page) == want
            assert page.locator("#views-table button").count() == 0  # not theirs to share or remove


def test_a_viewer_keeps_settings_but_may_not_save_views_and_a_stale_form_is_refused(world: World) -> None:
    with gunicorn(world.table, world.endpoint) as base:
        viewer = session(base, "viewer")
        values = ["6h", "30", "UTC", "", ["kpis", "series"]]
        first = viewer.post(f"{base}/_dash-update-component", json=save_request(values), timeout=30)
        assert first.status_code == 200 and "saved" in first.text, first.text[:300]
        stale = viewer.post(f"{base}/_dash-update-component", json=save_request(values), timeout=30)
        assert stale.status_code == 200 and "changed meanwhile; reload and try again" in stale.text
        bad = viewer.post(f"{base}/_dash-update-component", json=save_request(["2w", *values[1:]], 1), timeout=30)
        assert "range: expected one of 15m, 1h, 6h, 24h, 7d, got '2w'" in bad.text
        body = {
            "output": "ov-view-result.children",
            "outputs": {"id": "ov-view-result", "property": "children"},
            "inputs": [{"id": "ov-view-save", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["ov-view-save.n_clicks"],
            "state": [{"id": "ov-view-name", "property": "value", "value": "mine"},
                      {"id": "ov-view-shared", "property": "value", "value": False}]
            + [{"id": f"ov-{i}", "property": "value", "value": v} for i, v in
               (("range", "1h"), ("start", None), ("end", None), ("apis", []), ("slo", 99), ("refresh", 10),
                ("paused", False))],
        }  # fmt: skip
        refused = viewer.post(f"{base}/_dash-update-component", json=body, timeout=30)
        assert refused.status_code == 403 and "this needs the editor role" in refused.text


def test_each_panels_csv_equals_what_the_page_shows(world: World) -> None:
    expected = truth(world.select(["recent", "hour", "old"]))
    want = {lv: f"{expected.totals[lv]:,}" for lv in LOG_LEVELS}
    with gunicorn(world.table, world.endpoint) as base, chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "admin", path="/?range=6h")  # every panel shows (the others chose theirs above)
        wait_kpis(page, want)
        shown = kpis(page)
        with page.expect_download(timeout=WAIT_MS) as got:
            page.click("#ov-panel-kpis button:has-text('CSV')")
        levels = dict(list(csv.reader(io.StringIO(Path(got.value.path()).read_text())))[1:])
        assert {lv: f"{int(n):,}" for lv, n in levels.items()} == shown
        with page.expect_download(timeout=WAIT_MS) as got:
            page.click("#ov-panel-latency button:has-text('CSV')")
        latency = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
        assert {r["api"]: int(r["events"]) for r in latency} == expected.count  # every API, exactly
        assert got.value.suggested_filename.startswith("logpipeline-latency-")


REGIONS_JS = """async ([b64, ids]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + b64;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const root = document.getElementById("_pages_content").getBoundingClientRect(), k = window.devicePixelRatio;
  const out = {};
  for (const id of ids) {
    const r = document.getElementById(id).getBoundingClientRect();
    const d = ctx.getImageData(Math.round((r.left - root.left) * k), Math.round((r.top - root.top) * k),
                               Math.max(1, Math.round(r.width * k)), Math.max(1, Math.round(r.height * k))).data;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    out[id] = colours.size;
  }
  return out;
}"""


def test_the_page_downloads_as_one_png_with_its_charts_and_figures(world: World) -> None:
    expected = truth(world.select(["recent", "hour", "old"]))
    with gunicorn(world.table, world.endpoint) as base, chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "admin", path="/?range=6h")
        wait_kpis(page, {lv: f"{expected.totals[lv]:,}" for lv in LOG_LEVELS})
        page.wait_for_function("() => (document.querySelector('#ov-series .js-plotly-plot')?.data?.length ?? 0) > 0")
        size = page.evaluate(
            "() => { const r = document.getElementById('_pages_content'), k = window.devicePixelRatio;"
            " return [Math.ceil(r.getBoundingClientRect().width * k), Math.ceil(r.scrollHeight * k)]; }"
        )
        with page.expect_download(timeout=WAIT_MS) as got:
            page.click("#ov-png")
        png = Path(got.value.path()).read_bytes()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "overview-export.png").write_bytes(png)
        assert got.value.suggested_filename.startswith("logpipeline-overview-")
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        assert list(struct.unpack(">II", png[16:24])) == size  # the whole page, below the fold too
        ids = ["ov-sla", "ov-levels", "ov-latency", "ov-series", "ov-kpis", "ov-problems"]
        colours = page.evaluate(REGIONS_JS, [base64.b64encode(png).decode(), ids])
    # each chart drawn where it stands (many colours), the KPI cards' figures as text, an empty block as background
    assert all(colours[g] > 20 for g in ids[:4]), colours
    assert colours["ov-kpis"] > 5 and colours["ov-problems"] <= 2, colours


def test_annotations_from_the_api_and_the_cli_mark_the_series(world: World) -> None:
    at = world.blocks["recent"][0] + 60_000
    with gunicorn(world.table, world.endpoint, workers=2) as base:
        editor, viewer = session(base, "editor"), session(base, "viewer")
        note = {"text": "deploy <b>1.4.2</b>", "kind": "deploy", "at": at}
        made = editor.post(f"{base}/api/v1/annotations", json=note, timeout=30)
        assert made.status_code == 201 and made.json()["by"] == "editor"
        assert viewer.post(f"{base}/api/v1/annotations", json=note, timeout=30).status_code == 403
        no_token = requests.post(f"{base}/api/v1/annotations", json=note, cookies=editor.cookies, timeout=30)
        assert no_token.status_code == 403 and "CSRF" in no_token.text
        bad = editor.post(f"{base}/api/v1/annotations", json={**note, "kind": "party"}, timeout=30)
        assert bad.status_code == 400 and "kind: expected one of deploy, incident, note" in bad.json()["error"]
        env = {**os.environ, "LOGPIPELINE_DYNAMODB_ENDPOINT": world.endpoint, "LOGPIPELINE_TABLE": world.table}
        cli = [str(Path(sys.executable).parent / "logpipeline"), "annotate", "payments incident", "--kind", "incident",
               "--api", APIS[2], "--at", str(at + 60_000), "--by", "oncall"]  # fmt: skip
        done = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        listed = viewer.get(f"{base}/api/v1/annotations", params={"start": at - 1, "end": at + 120_000}, timeout=30)
        assert [(a["kind"], a["by"]) for a in listed.json()["annotations"]] == [
            ("deploy", "editor"),
            ("incident", "oncall"),
        ]
        answer = viewer.post(f"{base}/_dash-update-component", json=refresh_request("1h"), timeout=60)
        series = answer.json()["response"]["ov-series"]["figure"]
        assert len(series["layout"]["shapes"]) == 2
        hover = next(t for t in series["data"] if t.get("name") == "marks")["text"]
        assert hover == ["deploy: deploy &lt;b&gt;1.4.2&lt;/b&gt;", f"incident: payments incident ({APIS[2]})"]
