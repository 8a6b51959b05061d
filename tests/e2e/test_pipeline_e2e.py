"""The whole pipeline, as ``logpipeline up`` runs it, checked against the generator's ground truth.

Generator (known seed, an injected error burst on one API) → Kafka → Spark job → aggregates topic → sink →
DynamoDB-API server → dashboard in headless Chromium: the page shows the same totals and SLA as the ground
truth, and the incident's API tops the error table. The pipeline runs on private topics, table and ports.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline import config
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.generator.truth import read_ground_truth
from logpipeline.metrics import query, rollup, store
from logpipeline.pipeline import processes
from support import local_pipeline
from support.dashboard import ARTIFACTS, chromium, sign_in

INCIDENT_API = "/api/v1/payments"
EVENTS = 6_000
RATE = 500.0


@pytest.fixture(scope="module")
def pipeline(stack: config.Settings) -> Iterator[config.Settings]:
    with local_pipeline.running("e2e", processes.Options(generator=False)) as settings:
        yield settings


@pytest.fixture(scope="module")
def truth(pipeline: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Generate a known workload with an error burst on one API; return its events once all are counted."""
    path = tmp_path_factory.mktemp("e2e") / "truth.jsonl"
    cli = Path(sys.executable).with_name("logpipeline")
    subprocess.run(
        [str(cli), "generate", "--count", str(EVENTS), "--rate", str(RATE), "--seed", "2026", "--no-diurnal",
         "--incident", f"{INCIDENT_API}:errors:1:11:40", "--truth", str(path)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    events, _ = read_ground_truth(path)
    assert len(events) == EVENTS
    reader = query.Reader(store.client(pipeline.dynamodb_endpoint), pipeline.names.table)
    lo = min(e["timestamp"] for e in events) - 60_000
    hi = max(e["timestamp"] for e in events) + 60_000
    deadline = time.monotonic() + 300
    counted = 0
    while time.monotonic() < deadline:
        counted = sum(rollup.totals_by_level(reader.windows(lo, hi)).values())
        if counted >= EVENTS:
            break
        time.sleep(1)
    assert counted == EVENTS, f"the pipeline counted {counted} of {EVENTS} events"
    return events


def test_query_layer_equals_ground_truth(pipeline: config.Settings, truth: list[dict[str, Any]]) -> None:
    reader = query.Reader(store.client(pipeline.dynamodb_endpoint), pipeline.names.table)
    lo = min(e["timestamp"] for e in truth) - 60_000
    hi = max(e["timestamp"] for e in truth) + 60_000
    expected = Counter(e["log_level"] for e in truth)
    assert rollup.totals_by_level(reader.windows(lo, hi)) == {level: expected.get(level, 0) for level in LOG_LEVELS}
    errors = Counter(e["api"] for e in truth if e["log_level"] in ERROR_LEVELS)
    top = rollup.top_apis_by_errors(reader.windows(lo, hi), 5)
    assert top[0].api == INCIDENT_API == errors.most_common(1)[0][0]
    assert {row.api: row.errors for row in top} == dict(errors.most_common(len(top)))


def test_dashboard_shows_the_ground_truth(pipeline: config.Settings, truth: list[dict[str, Any]]) -> None:
    expected = Counter(e["log_level"] for e in truth)
    sla = 100 * sum(n for level, n in expected.items() if level not in ERROR_LEVELS) / len(truth)
    url = f"http://{pipeline.host}:{pipeline.ports.dashboard}/?range=1h"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        password = processes.admin_password_file(pipeline).read_text().strip()  # made by `logpipeline up`
        sign_in(page, url.split("/?")[0], "admin", password, path="/?range=1h")
        want = {level: f"{expected.get(level, 0):,}" for level in LOG_LEVELS}
        page.wait_for_function(
            "w => Object.entries(w).every(([lv, v]) => document.getElementById(`ov-kpi-${lv}`)?.textContent === v)",
            arg=want,
            timeout=120_000,
        )
        page.wait_for_function("() => document.querySelectorAll('#top-errors-table tbody tr').length > 0")
        # Plotly draws the gauge after Dash has set the KPIs of the same refresh: wait for its figure to match.
        gauge_js = "() => document.querySelector('#ov-sla .js-plotly-plot')?.data?.[0]?.value ?? null"
        deadline = time.monotonic() + 30
        gauge = page.evaluate(gauge_js)
        while (gauge is None or abs(gauge - sla) > 1e-9) and time.monotonic() < deadline:
            page.wait_for_timeout(200)
            gauge = page.evaluate(gauge_js)
        first_row = page.evaluate(
            "() => [...document.querySelector('#top-errors-table tbody tr').cells].map(c => c.textContent)"
        )
        page.screenshot(path=str(ARTIFACTS / "e2e-pipeline.png"), full_page=True)
        assert dialogs == []
    assert gauge == pytest.approx(sla)
    errors = sum(1 for e in truth if e["api"] == INCIDENT_API and e["log_level"] in ERROR_LEVELS)
    assert first_row[:2] == [INCIDENT_API, f"{errors:,}"]
