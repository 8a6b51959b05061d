"""The open dashboard follows late changes to settled minutes: a replay of past minutes, in real Chromium.

A gunicorn dashboard starts on an empty table and caches the last hour's settled minutes as empty (its warm-up),
and the page is open. Then six minutes of windows that ended three to eight minutes ago (a replay, a shipper
catching up, a correction run) arrive through a real sink on the real broker. The sink bumps those hours'
revisions; the page must show the new per-level totals within 10 s of the table holding them, although its
cache would otherwise hold the settled minutes for 30 minutes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from logpipeline import config, observability
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics import query, store, synthetic
from logpipeline.stack.process import free_port
from logpipeline_spark.telemetry import Metrics as JobMetrics
from support import leftovers
from support.dashboard import ARTIFACTS, chromium, gunicorn, sign_in, truth
from support.wait import wait_for

FOLLOW_S = 10.0
LATE = 300


@pytest.fixture(scope="module")
def replay(stack: config.Settings) -> Iterator[dict[str, Any]]:
    unique = leftovers.suffix()
    table, topic = f"follow_{unique}", f"agg_{unique}"
    ddb = store.client(stack.dynamodb_endpoint)
    store.init_table(ddb, table)
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})]).values():
        future.result()
    now = int(time.time() * 1000)
    first = now - now % 60_000 - 8 * 60_000  # six minutes that ended 3 to 8 minutes ago
    events = synthetic.events(first, 6, synthetic.api_names(5), per_minute=25, seed=11)
    aggregates = synthetic.aggregate_events(events, updated_at=now)
    env = {**os.environ, "LOGPIPELINE_AGGREGATES_TOPIC": topic, "LOGPIPELINE_TABLE": table}
    env["LOGPIPELINE_INPUT_TOPIC"] = f"in_{unique}"
    sink_port = free_port()
    sink_log = ARTIFACTS / f"follow-sink-{unique}.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sink_log.open("wb") as out:
        sink = subprocess.Popen(
            [sys.executable, "-m", "logpipeline.cli.main", "sink", "--group", f"sink-{unique}", "--http-port",
             str(sink_port)],
            stdout=out, stderr=out, env=env,
        )  # fmt: skip
    reader = query.Reader(ddb, table)
    job = JobMetrics()  # the streaming job's own counters, served as the job serves them
    job_server = observability.serve("127.0.0.1", free_port(), job.registry, lambda: True)
    job_url = f"http://127.0.0.1:{job_server.server_address[1]}/metrics"
    try:
        with (
            gunicorn(
                table,
                stack.dynamodb_endpoint,
                workers=1,
                LOGPIPELINE_DASHBOARD_WARM="1h",
                LOGPIPELINE_JOB_METRICS_URL=job_url,
            ) as base,
            chromium() as browser,
        ):
            page = browser.new_page()
            sign_in(page, base, "viewer")
            page.goto(f"{base}/?range=1h&refresh=5")
            page.wait_for_function("() => document.getElementById('ov-kpi-INFO')?.textContent === '0'", timeout=60_000)
            time.sleep(3)  # the page has refreshed on the empty, cached minutes
            empty = {lv: page.text_content(f"#ov-kpi-{lv}") for lv in LOG_LEVELS}
            banner_before = page.query_selector("#arrivals-banner")
            job.late.labels("aggregates").inc(LATE)  # the job reports late and skewed events while the page is open
            job.dead.labels("too_far_ahead").inc(1)
            producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})
            for agg in aggregates:
                producer.produce(topic, key=agg.id.encode(), value=orjson.dumps(agg.to_record()))
            assert producer.flush(30) == 0
            total = sum(a.log_count for a in aggregates)
            wait_for(
                lambda: sum(w.log_count for w in reader.windows(first, now)) >= total,
                120,
                "every aggregate in the table",
                interval=0.2,
                fail=False,
            )
            held_at = time.monotonic()
            expected = {lv: f"{truth(events).totals[lv]:,}" for lv in LOG_LEVELS}
            script = (
                "e => Object.entries(e).every(([lv, v]) => document.getElementById(`ov-kpi-${lv}`)?.textContent === v)"
            )
            try:
                page.wait_for_function(script, arg=expected, timeout=FOLLOW_S * 1000)
                shown_after = time.monotonic() - held_at
            except Exception:
                shown_after = None
            shown = {lv: page.text_content(f"#ov-kpi-{lv}") for lv in LOG_LEVELS}
            badges = page.text_content("#ov-health") or ""
            page.wait_for_selector("#arrivals-banner", timeout=30_000)
            banner = page.text_content("#arrivals-banner") or ""
            page.screenshot(path=str(ARTIFACTS / "follows-table.png"), full_page=True)
        yield {
            "empty": empty,
            "expected": expected,
            "shown": shown,
            "shown_after": shown_after,
            "badges": badges,
            "banner_before": banner_before,
            "banner": banner,
            "sink_metrics": _get(f"http://127.0.0.1:{sink_port}/metrics"),
        }
    finally:
        job_server.shutdown()
        sink.terminate()
        sink.wait(30)
        ddb.delete_table(TableName=table)
        admin.delete_topics([topic])


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_the_page_showed_the_cached_empty_minutes_first(replay: dict[str, Any]) -> None:
    assert set(replay["empty"].values()) == {"0"}


def test_the_page_shows_the_replayed_minutes_within_10_s_of_the_table(replay: dict[str, Any]) -> None:
    assert replay["shown"] == replay["expected"]
    assert replay["shown_after"] is not None, f"not shown within {FOLLOW_S} s of the table holding them"


def test_the_sink_bumped_the_hours_and_the_page_says_late_data_arrived(replay: dict[str, Any]) -> None:
    bumped = [
        float(line.split()[-1])
        for line in replay["sink_metrics"].splitlines()
        if line.startswith("logpipeline_sink_revisions_bumped_total")
    ]
    assert bumped and bumped[0] >= 1
    assert "late data folded in" in replay["badges"]


def test_a_banner_says_what_the_job_set_aside_in_the_range(replay: dict[str, Any]) -> None:
    assert replay["banner_before"] is None
    assert f"{LATE} events arrived later than the watermark in this range" in replay["banner"]
    assert "1 event stamped too far ahead of arrival (a wrong clock) was set aside" in replay["banner"]
