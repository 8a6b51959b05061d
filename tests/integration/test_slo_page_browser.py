"""The SLO page and the overview's paging banner in headless Chromium, against a real gunicorn and a table an
evaluator judged (a private DynamoDB-API server): budgets and burn rates as the evaluator left them, the banner
while a page fires, and a silence made from the page's form landing in the store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline.alerting import slo, state
from logpipeline.alerting.evaluator import Evaluator
from logpipeline.metrics import store, synthetic
from support.dashboard import ARTIFACTS, chromium, gunicorn, sign_in
from support.moto import MotoServer

API = "/api/v1/checkout"
MIN = 60_000
TABLE = "slo_page"


def minute(start: int, bad: int, good: int = 1000) -> list[Any]:
    agg = synthetic.window_aggregate(API, "INFO", start, [100.0] * 5, [200] * 5, start)
    out = [agg._replace(log_count=good)]
    if bad:
        out.append(agg._replace(log_level="ERROR", log_count=bad, status_5xx=bad))
    return out


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A table with six clean hours then two failing minutes, judged by an evaluator until its page fires."""
    moto = MotoServer(tmp_path_factory.mktemp("moto"))
    moto.start()
    try:
        ddb = store.client(moto.endpoint)
        store.init_table(ddb, TABLE)
        state.ensure_table(ddb, TABLE)
        now = int(time.time() * 1000) // MIN * MIN
        store.bulk_load(ddb, TABLE, [a for m in range(-360, -2) for a in minute(now + m * MIN, 0)])
        store.bulk_load(ddb, TABLE, [a for m in (-2, -1) for a in minute(now + m * MIN, 1000)])
        definition = slo.parse({
            "slos": [{"name": "checkout-availability", "objective": "availability", "target": 0.999, "api": API,
                      "receivers": ["hook"]}],
            "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/"}}],
        })  # fmt: skip
        evaluator = Evaluator(ddb, TABLE, definition, lambda *args: None)
        evaluator.cycle(now - MIN)  # pending
        states = evaluator.cycle(now)
        assert states[f"checkout-availability|{API}"].status == "firing"
        yield moto.endpoint, now
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def page(judged: tuple[str, int]) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with gunicorn(TABLE, judged[0]) as base, chromium() as browser:
        tab = browser.new_page()
        tab.base = base
        sign_in(tab, base)
        yield tab


def test_the_slo_page_shows_budgets_burn_rates_and_the_firing_page(page: Any) -> None:
    page.goto(f"{page.base}/slos")
    page.wait_for_selector("#slo-table-rows tbody tr td", timeout=60_000)
    row = page.locator("#slo-table-rows tbody tr").first.inner_text()
    assert "checkout-availability" in row and API in row and "firing (page)" in row
    cells = page.locator("#slo-table-rows tbody tr").first.locator("td").all_inner_texts()
    burn_5m = float(cells[4])
    assert burn_5m > 14.4  # two failing minutes of five
    assert cells[3].endswith("%") and float(cells[3].rstrip("%")) < 100
    assert "firing page" in cells[-1]
    page.screenshot(path=str(Path(ARTIFACTS) / "slos.png"), full_page=True)


def test_the_overview_shows_a_banner_while_a_page_fires(page: Any) -> None:
    page.goto(f"{page.base}/?range=15m&refresh=5")
    banner = page.wait_for_selector("#alert-banner", timeout=60_000)
    assert f"checkout-availability ({API})" in banner.inner_text()


def test_a_silence_from_the_page_lands_in_the_store(page: Any, judged: tuple[str, int]) -> None:
    page.goto(f"{page.base}/slos")
    page.wait_for_selector("#slo-table-rows tbody tr td", timeout=60_000)
    page.click("#slo-silence-slo")
    page.click("text=checkout-availability >> nth=-1")
    page.fill("#slo-silence-comment", "deploying the fix")
    page.click("#slo-silence-add")
    made = page.wait_for_selector("#slo-silence-made", timeout=30_000).inner_text()
    silences = state.read_silences(store.client(judged[0]), TABLE)
    assert len(silences) == 1 and silences[0].id in made
    assert silences[0].slo == "checkout-availability" and silences[0].comment == "deploying the fix"
    assert silences[0].created_by == "editor"  # the signed-in user
    assert 2 * 3_600_000 - 120_000 < silences[0].ends - silences[0].starts <= 2 * 3_600_000
    page.wait_for_selector("#slo-silences-rows", timeout=30_000)


def test_an_editor_sets_an_apis_target_from_the_page(page: Any, judged: tuple[str, int]) -> None:
    page.goto(f"{page.base}/slos")
    page.wait_for_selector("#slo-table-rows tbody tr td", timeout=60_000)
    page.click("#slo-target-group")
    page.click(f"text=checkout-availability · {API} >> nth=-1")
    page.fill("#slo-target-value", "99.5")
    page.click("#slo-target-set")
    made = page.wait_for_selector("#slo-target-made", timeout=30_000).inner_text()
    assert "99.5%" in made
    assert state.read_targets(store.client(judged[0]), TABLE) == {("checkout-availability", API): 0.995}
    page.fill("#slo-target-value", "150")
    page.click("#slo-target-set")
    page.wait_for_selector("text=target: expected a percentage between 0 and 100", timeout=30_000)


def test_a_single_region_store_hides_the_silence_forms_region(page: Any) -> None:
    page.goto(f"{page.base}/slos")
    page.wait_for_selector("#slo-table-rows tbody tr td", timeout=60_000)
    assert page.is_hidden("#slo-silence-region-col")


def test_a_silence_for_one_region_from_the_page_of_a_regional_store(page: Any, judged: tuple[str, int]) -> None:
    """With regions, the form offers the store's regions; the silence stored names the one chosen."""
    regions = "eu-west-1,us-east-1"
    with gunicorn(TABLE, judged[0], LOGPIPELINE_DASHBOARD_REGIONS=regions) as base:
        tab = page.context.browser.new_page()  # the module's browser (one Playwright per process)
        try:
            sign_in(tab, base)
            tab.goto(f"{base}/slos")
            tab.wait_for_selector("#slo-silence-region-col", state="visible", timeout=60_000)
            tab.click("#slo-silence-region")
            tab.click("text=eu-west-1 >> nth=-1")
            tab.fill("#slo-silence-api", API)
            tab.fill("#slo-silence-comment", "eu-west-1 failover drill")
            tab.click("#slo-silence-add")
            made = tab.wait_for_selector("#slo-silence-made", timeout=30_000).inner_text()
            assert "in eu-west-1" in made
        finally:
            tab.close()
    ours = [s for s in state.read_silences(store.client(judged[0]), TABLE) if s.comment == "eu-west-1 failover drill"]
    assert len(ours) == 1 and ours[0].id in made
    assert ours[0].region == "eu-west-1" and ours[0].api == API and ours[0].slo is None
