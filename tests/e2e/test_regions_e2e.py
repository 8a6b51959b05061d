"""``logpipeline up --regions``: two regional pipelines on the local stack and the dashboard's global view.

Each region runs its own Spark job, sink and topics (private names and ports); both are fed generated traffic for
the same APIs and minutes (a seed each, known ground truth). Each region's items carry its region: its own view
equals its own truth, the global view (the dashboard's data path) their exact sum, the region-less view nothing, and
the running dashboard reports both regions fresh in ``/metrics``. ``down`` stops every regional process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline import config
from logpipeline.dashboard import data
from logpipeline.dashboard import settings as dashboard_settings
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.generator.truth import read_ground_truth
from logpipeline.metrics import query, rollup, store
from logpipeline.pipeline import launcher, processes, regions
from logpipeline.stack import process
from support import local_pipeline

REGIONS = ("eu-west-1", "us-east-1")
EVENTS = 3_000


@pytest.fixture(scope="module")
def pipeline(stack: config.Settings) -> Iterator[config.Settings]:
    options = processes.Options(generator=False, correct_every=0, anomalies=False, archive="local")
    with local_pipeline.running("regions", options, REGIONS) as settings:
        yield settings
    assert not launcher.running(settings), "down stops every regional process"


@pytest.fixture(scope="module")
def truth(pipeline: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Both regions' traffic at once (the same APIs and minutes), each counted in full by its own pipeline."""
    cli = Path(sys.executable).with_name("logpipeline")
    out = tmp_path_factory.mktemp("regions")
    runs = {}
    for i, region in enumerate(REGIONS):
        own = regions.regional_settings(pipeline, region, i)
        env = {**os.environ, **regions.regional_env(own, region)}
        runs[region] = subprocess.Popen(
            [str(cli), "generate", "--count", str(EVENTS), "--rate", "500", "--seed", str(31 + i), "--no-diurnal",
             "--truth", str(out / f"{region}.jsonl")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    for region, run in runs.items():
        assert run.wait(300) == 0, (region, run.stderr.read() if run.stderr else "")
    found = {region: read_ground_truth(out / f"{region}.jsonl")[0] for region in REGIONS}
    ddb = store.client(pipeline.dynamodb_endpoint)
    for region, events in found.items():
        reader = query.Reader(ddb, pipeline.names.table, region=region)
        lo, hi = span(events)
        deadline, counted = time.monotonic() + 300, 0
        while time.monotonic() < deadline and counted < EVENTS:
            counted = sum(rollup.totals_by_level(reader.windows(lo, hi)).values())
            time.sleep(1)
        assert counted == EVENTS, f"{region}'s pipeline counted {counted} of {EVENTS} events"
    return found


def span(events: list[dict[str, Any]]) -> tuple[int, int]:
    return min(e["timestamp"] for e in events) - 60_000, max(e["timestamp"] for e in events) + 60_000


def levels(events: list[dict[str, Any]]) -> dict[str, int]:
    counted = Counter(e["log_level"] for e in events)
    return {level: counted.get(level, 0) for level in LOG_LEVELS}


def test_each_region_counts_its_own_and_the_global_view_is_their_sum(
    pipeline: config.Settings, truth: dict[str, list[dict[str, Any]]]
) -> None:
    ddb = store.client(pipeline.dynamodb_endpoint)
    both = truth["eu-west-1"] + truth["us-east-1"]
    lo, hi = span(both)
    for region in REGIONS:
        own = query.Reader(ddb, pipeline.names.table, region=region).windows(lo, hi)
        assert rollup.totals_by_level(own) == levels(truth[region]), region
    assert query.Reader(ddb, pipeline.names.table).windows(lo, hi) == []  # nothing without a region
    settings = dashboard_settings.DashboardSettings(
        pipeline.names.table, pipeline.dynamodb_endpoint, 4, None, 180, cache_s=0, regions=REGIONS
    )
    snap = data.Source(settings, ddb).view("1h", None, None, [])
    assert snap.totals == levels(both) and not snap.stale_regions
    assert {r.region: r.requests for r in snap.regions} == {r: EVENTS for r in REGIONS}


def test_the_dashboard_reports_both_regions_fresh(pipeline: config.Settings, truth: Any) -> None:
    url = f"http://{pipeline.host}:{pipeline.ports.dashboard}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        body = response.read().decode()
    for region in REGIONS:
        assert f'logpipeline_dashboard_region_stale{{region="{region}"}} 0.0' in body, body[-2000:]
    own = {s for s in launcher.running(pipeline) if "." in s}
    assert own == {f"{name}.{r}" for name in ("sink", "spark") for r in REGIONS}
    assert all(process.read_pid(launcher.pid_file(pipeline, name)) for name in own)
