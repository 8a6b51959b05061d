"""Two regional pipelines into one store, and the dashboard's global view over them, on the real local stack.

Each region has its own aggregates topic and its own real sink (``logpipeline sink`` with ``LOGPIPELINE_REGION``),
fed with generated traffic for the same APIs and minutes. The table is what a global table's replica holds: both
regions' items. The dashboard (in-process and under gunicorn, the page in real Chromium) must show each region's
own truth, a global view equal to the exact sum (percentiles within the sketch's rank error), and, once one region's
sink is stopped while the other keeps writing, that region as stale (page and ``/metrics``) with the other region's
figures still moving.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from prometheus_client.parser import text_string_to_metric_families

from logpipeline import config
from logpipeline.dashboard import data
from logpipeline.dashboard import settings as dashboard_settings
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics import digest, query, store, synthetic
from logpipeline.metrics.records import Aggregate
from logpipeline.stack.process import free_port
from support import leftovers
from support.dashboard import ARTIFACTS, chromium, gunicorn, sign_in
from support.wait import wait_for

REGIONS = ("eu-west-1", "us-east-1")
MIN = 60_000
STALE_S = 60  # the dashboard's stale age for this test (its smallest)
APIS = synthetic.api_names(6)


def levels(events: list[synthetic.Event]) -> dict[str, int]:
    out = dict.fromkeys(LOG_LEVELS, 0)
    for e in events:
        out[e.log_level] += 1
    return out


def stored(reader: query.Reader, start: int, end: int) -> int:
    return sum(w.log_count for w in reader.windows(start, end))


def region_metrics(base: str) -> dict[tuple[str, str], float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        body = response.read().decode()
    return {
        (s.name, s.labels["region"]): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name.startswith("logpipeline_dashboard_region_")
    }


class Regional:
    """One region's aggregates topic and real sink."""

    def __init__(self, stack: config.Settings, table: str, region: str, unique: str) -> None:
        self.region, self.topic = region, f"agg_{region}_{unique}"
        env = {**os.environ, "LOGPIPELINE_AGGREGATES_TOPIC": self.topic, "LOGPIPELINE_TABLE": table}
        env |= {"LOGPIPELINE_INPUT_TOPIC": f"in_{region}_{unique}", "LOGPIPELINE_REGION": region}
        self.log = ARTIFACTS / f"regions-sink-{region}-{unique}.log"
        with self.log.open("wb") as out:
            self.sink = subprocess.Popen(
                [sys.executable, "-m", "logpipeline.cli.main", "sink", "--group", f"sink-{region}-{unique}",
                 "--http-port", str(free_port())],
                stdout=out, stderr=out, env=env,
            )  # fmt: skip
        self.producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})

    def send(self, aggregates: list[Aggregate]) -> None:
        for agg in aggregates:
            self.producer.produce(self.topic, key=agg.id.encode(), value=orjson.dumps(agg.to_record()))
        assert self.producer.flush(30) == 0

    def stop(self) -> None:
        if self.sink.poll() is None:
            self.sink.terminate()
            self.sink.wait(30)


@pytest.fixture(scope="module")
def world(stack: config.Settings) -> Iterator[dict[str, Any]]:
    unique = leftovers.suffix()
    table = f"regions_{unique}"
    ddb = store.client(stack.dynamodb_endpoint)
    store.init_table(ddb, table)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    topics = [f"agg_{r}_{unique}" for r in REGIONS]
    for future in admin.create_topics(
        [NewTopic(t, 1, 1, config={"cleanup.policy": "compact"}) for t in topics]
    ).values():
        future.result()
    regions = {r: Regional(stack, table, r, unique) for r in REGIONS}
    now = int(time.time() * 1000)
    minute = now - now % MIN
    first = minute - 8 * MIN  # eight minutes, the last one ended at the start of this minute
    truth = {r: synthetic.events(first, 8, APIS, per_minute=40, seed=70 + i) for i, r in enumerate(REGIONS)}
    try:
        for r, regional in regions.items():
            regional.send(synthetic.aggregate_events(truth[r], updated_at=now))
        readers = {r: query.Reader(ddb, table, region=r) for r in REGIONS}
        for r in REGIONS:
            wait_for(lambda r=r: stored(readers[r], first, minute) == len(truth[r]), 120, f"{r}'s windows stored")
        yield {"stack": stack, "ddb": ddb, "table": table, "regions": regions, "readers": readers,
               "truth": truth, "first": first, "minute": minute}  # fmt: skip
    finally:
        for regional in regions.values():
            regional.stop()
        admin.delete_topics(topics)
        ddb.delete_table(TableName=table)
        ddb.delete_table(TableName=digest.table_name(table))


def source(world: dict[str, Any], stale_s: float = STALE_S) -> data.Source:
    base = dashboard_settings.DashboardSettings(
        table=world["table"], endpoint=world["stack"].dynamodb_endpoint, shards=4, sink_metrics_url=None,
        settle_s=180, cache_s=1800, tail_s=0, regions=REGIONS, stale_s=stale_s,
    )  # fmt: skip
    return data.Source(replace(base, revision_check_s=0.0), world["ddb"])


def test_each_regions_view_is_its_own_truth_and_the_global_view_their_exact_sum(world: dict[str, Any]) -> None:
    # Both regions' newest window ended at the fixture's minute: fresh for the stale age counted from then (the
    # sinks' start and the store may take longer than STALE_S past that minute on a busy machine).
    src = source(world, STALE_S + time.time() - world["minute"] / 1000)
    truth = world["truth"]
    both = truth["eu-west-1"] + truth["us-east-1"]
    glob = src.view("1h", None, None, [])
    assert glob.region is None and glob.totals == levels(both)
    for r in REGIONS:
        own = src.view("1h", None, None, [], region=r)
        assert own.region == r and own.totals == levels(truth[r]), r
        assert [row.region for row in own.regions] == [r] and own.regions[0].requests == len(truth[r])
    rows = {row.region: row for row in glob.regions}
    assert {r: rows[r].requests for r in REGIONS} == {r: len(truth[r]) for r in REGIONS}
    assert not glob.stale_regions
    for lat in glob.latency:  # the global percentiles come from both regions' sketches merged
        times = sorted(e.response_time for e in both if e.api == lat.api)
        assert lat.count == len(times)
        for q, value in ((0.5, lat.p50), (0.95, lat.p95), (0.99, lat.p99)):
            rank = sum(t <= value for t in times) / len(times)
            assert abs(rank - q) <= 0.03, (lat.api, q, rank)
    with pytest.raises(data.UnknownRegion, match="'ap-south-1' is not one of this store's regions"):
        src.view("1h", None, None, [], region="ap-south-1")


def test_a_replay_of_either_regions_topic_changes_nothing(world: dict[str, Any]) -> None:
    first, minute = world["first"], world["minute"]
    before = {r: world["readers"][r].windows(first, minute) for r in REGIONS}
    for r in REGIONS:  # the same aggregates again, as a replay of the region's topic from the start
        world["regions"][r].send(synthetic.aggregate_events(world["truth"][r], updated_at=int(time.time() * 1000)))
    time.sleep(5)
    for r in REGIONS:
        assert stored(world["readers"][r], first, minute) == len(world["truth"][r])
        assert sorted(w.id for w in world["readers"][r].windows(first, minute)) == sorted(w.id for w in before[r])


def test_a_stopped_region_is_stale_on_the_page_and_in_metrics_and_the_other_keeps_updating(
    world: dict[str, Any],
) -> None:
    eu, us = world["regions"]["eu-west-1"], world["regions"]["us-east-1"]
    with (
        gunicorn(world["table"], world["stack"].dynamodb_endpoint, workers=1, LOGPIPELINE_DASHBOARD_WARM="",
                 LOGPIPELINE_DASHBOARD_REGIONS=",".join(REGIONS),
                 LOGPIPELINE_DASHBOARD_STALE_SECONDS=str(STALE_S)) as base,
        chromium() as browser,
    ):  # fmt: skip
        page = browser.new_page()
        sign_in(page, base, "viewer")
        page.goto(f"{base}/?range=1h&refresh=5")
        page.wait_for_selector("#region-row-us-east-1", timeout=60_000)
        assert page.is_visible("#ov-region")
        eu_info = f"{levels(world['truth']['eu-west-1'])['INFO']:,}"
        page.select_option("#ov-region", "eu-west-1")  # one region's figures: its own truth, its row alone
        page.wait_for_function("v => document.getElementById('ov-kpi-INFO')?.textContent === v", arg=eu_info)
        page.wait_for_selector("#region-row-us-east-1", state="detached", timeout=30_000)
        assert "region=eu-west-1" in page.url
        api = APIS[0]  # its drill-down keeps the region: that API's figures in eu-west-1 alone
        page.goto(f"{base}/api?name={api}&range=1h&region=eu-west-1")
        own = f"{sum(e.api == api for e in world['truth']['eu-west-1']):,}"
        page.wait_for_function("v => document.getElementById('api-stat-events')?.textContent === v", arg=own)
        assert "region eu-west-1" in (page.text_content("#api-range-label") or "")
        assert "region=eu-west-1" in (page.get_attribute("#api-back", "href") or "")
        page.goto(f"{base}/?range=1h&refresh=5&region=eu-west-1")
        page.wait_for_selector("#region-row-eu-west-1", timeout=30_000)
        page.select_option("#ov-region", "all")
        page.wait_for_selector("#region-row-us-east-1", timeout=30_000)
        assert "region=" not in page.url
        us.stop()  # the us-east-1 pipeline stops; eu-west-1 goes on writing the minutes that follow
        stopped = time.monotonic()
        start = world["minute"]
        sent: dict[int, int] = {}  # eu-west-1's minutes since the stop: events in each
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            now = int(time.time() * 1000)
            minute = (
                now - now % MIN
            )  # the minute under way: eu-west-1's newest window stays fresh however long this runs
            events = synthetic.events(minute, 1, APIS, per_minute=30, seed=minute // MIN % 1000)
            eu.send(synthetic.aggregate_events(events, updated_at=now))
            us.send(synthetic.aggregate_events(events, updated_at=now))  # never stored: its sink is stopped
            sent[minute] = len(events)
            seen = region_metrics(base)  # eu-west-1's minute may not be stored yet: wait for it as well
            if seen.get(("logpipeline_dashboard_region_stale", "us-east-1")) == 1 and not seen.get(
                ("logpipeline_dashboard_region_stale", "eu-west-1")
            ):
                break
            time.sleep(5)
        flagged_after = time.monotonic() - stopped
        print(f"\nus-east-1 flagged stale {flagged_after:.0f} s after its sink stopped (stale age {STALE_S} s)")
        assert seen[("logpipeline_dashboard_region_stale", "us-east-1")] == 1, seen
        assert seen[("logpipeline_dashboard_region_stale", "eu-west-1")] == 0, seen
        assert seen[("logpipeline_dashboard_region_newest_window_age_seconds", "us-east-1")] > STALE_S
        first = world["first"]
        end = max(sent) + MIN
        wait_for(
            lambda: stored(world["readers"]["eu-west-1"], start, end) == sum(sent.values()), 60, "eu's new minutes"
        )
        assert stored(world["readers"]["us-east-1"], first, end) == len(world["truth"]["us-east-1"])
        # the page may still show an older refresh in which both regions were stale (the world's minutes are past):
        # wait for the refresh that follows eu-west-1's new minutes, then check what it says
        page.wait_for_function(
            "() => { const t = document.getElementById('stale-regions')?.textContent || '';"
            " return t.includes('us-east-1') && !t.includes('eu-west-1'); }",
            timeout=60_000,
        )
        text = page.text_content("#stale-regions") or ""
        assert "us-east-1" in text and "eu-west-1" not in text and "global view misses" in text
        assert "table-danger" in (page.get_attribute("#region-row-us-east-1", "class") or "")
        assert "table-danger" not in (page.get_attribute("#region-row-eu-west-1", "class") or "")
        page.screenshot(path=str(ARTIFACTS / "regions-stale.png"), full_page=True)
        src = source(world)
        glob = src.view("1h", None, None, [])
        assert glob.stale_regions == ["us-east-1"]
        truth = world["truth"]
        assert sum(glob.totals.values()) == len(truth["eu-west-1"]) + sum(sent.values()) + len(truth["us-east-1"])
