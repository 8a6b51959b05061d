"""The dashboard's global view over regional pipelines against a single-region view of the same size (loopback).

One private DynamoDB-API server holds two stores of minute windows of the last ``BENCH_REGIONS_DAYS`` (7) days:

- the regional store: ``BENCH_REGIONS`` (3) regions x ``BENCH_REGIONS_APIS`` (20) APIs x 6 levels, each region's
  items under its own keys, as a global table's replica holds them;
- the reference: one region-less store of (regions x APIs) APIs x 6 levels: the same number of windows.

Both are read by the dashboard's data path (``Source.view``: bucket caches, tail read, roll-ups, and for the global
view one source per region read in parallel, the regions side by side and their staleness). Printed: the first
(cold) 7-day view of each, then p50/p95 of ``BENCH_REPEATS`` (20) 7-day refreshes computed anew each time (the
cached settled buckets plus a fresh read of the unsettled tail and the newest window), and the ratio global /
single (target: p95 at most 1.5x).

The view reads the minute digests (one item per minute and shard), so only they are seeded, by the loader's own
item builder (``digest.item``); the window items, which the view never reads, would only make seeding slower.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import pytest

from logpipeline.dashboard import data, timerange
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.metrics import digest, store, synthetic
from logpipeline.metrics.records import Aggregate
from support.moto import moto_server
from support.stats import pct

DAYS = float(os.environ.get("BENCH_REGIONS_DAYS", "7"))
REGIONS = ("eu-west-1", "us-east-1", "ap-south-1")[: int(os.environ.get("BENCH_REGIONS", "3"))]
APIS = int(os.environ.get("BENCH_REGIONS_APIS", "20"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "20"))
MIN = 60_000


def seed_digests(ddb: Any, table: str, aggregates: Iterator[Aggregate], region: str = "") -> int:
    """The minute digests of ``aggregates`` (one item per minute and shard), written 25 a request."""
    groups: dict[tuple[str, str], list[Aggregate]] = {}
    for agg in aggregates:
        groups.setdefault(digest.key(agg, region=region), []).append(agg)
    name = digest.table_name(table)
    items = [digest.item(pk, sk, entries, 1, 30) for (pk, sk), entries in groups.items()]
    batches = [items[i : i + 25] for i in range(0, len(items), 25)]

    def send(batch: list[Any]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in batch]
        while requests:
            requests = ddb.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {}).get(name, [])

    with ThreadPoolExecutor(max_workers=4) as pool:
        for done, _ in enumerate(pool.map(send, batches), 1):
            if done % 500 == 0:
                print(f"[seed] {table}{' ' + region if region else ''}: {done * 25}/{len(items)} digests", flush=True)
    return len(items)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        ddb = store.client(server.endpoint, timeout=600)
        minutes = int(DAYS * 1440)
        start = int(time.time() * 1000) // MIN * MIN - minutes * MIN
        for table in ("bench_regions", "bench_single"):
            store.init_table(ddb, table)
        began = time.perf_counter()
        for i, region in enumerate(REGIONS):
            # every region serves the same APIs (one service deployed in each)
            seed_digests(ddb, "bench_regions", synthetic.history(start, minutes, synthetic.api_names(APIS), seed=i + 1),
                         region)  # fmt: skip
        all_apis = synthetic.api_names(APIS * len(REGIONS))
        seed_digests(ddb, "bench_single", synthetic.history(start, minutes, all_apis, seed=9))
        windows = minutes * APIS * len(REGIONS) * 6
        print(f"\n[seed] {windows} windows twice ({DAYS:g} d x {len(REGIONS)} regions x {APIS} APIs x 6 levels, and "
              f"{DAYS:g} d x {APIS * len(REGIONS)} APIs x 6 levels) in {time.perf_counter() - began:.0f} s")  # fmt: skip
        yield server.endpoint


@dataclass
class Figures:
    cold: float  # the first 7-day view (fills the caches)
    took: list[float]  # each refresh computed anew
    reads: list[float]  # the reads alone of a refresh (tail and newest window, every region's in parallel)
    queries: float  # Query calls per refresh
    items: float  # items read per refresh
    events: int


def measure(src: data.Source) -> Figures:
    began = time.perf_counter()
    snap = src.view("7d", None, None, [])
    cold = time.perf_counter() - began
    took, reads = [], []
    queries, items = src_counts(src)
    for _ in range(REPEATS):
        src._views.clear()  # no shared view to answer from: each refresh computes its own
        began = time.perf_counter()
        src.view("7d", None, None, [])
        took.append(time.perf_counter() - began)
    after = src_counts(src)
    for _ in range(REPEATS):
        now = int(time.time() * 1000)
        b = timerange.bounds("7d", now)
        began = time.perf_counter()
        if src.regional:
            src.each(lambda s, b=b, now=now: s.read(b, now))
        else:
            src.read(b, now)
        reads.append(time.perf_counter() - began)
    return Figures(cold, took, reads, (after[0] - queries) / REPEATS, (after[1] - items) / REPEATS, snap.sla.total)


def src_counts(src: data.Source) -> tuple[int, int]:
    sources = list(src.regional.values()) or [src]
    return sum(s.reader.queries for s in sources), sum(s.reader.items_read for s in sources)


def test_global_view_refresh_against_a_single_region_view_of_the_same_size(endpoint: str) -> None:
    base = DashboardSettings("bench_single", endpoint, 4, None, 180, cache_s=3600, tail_s=0, revision_check_s=3600)
    single = measure(data.Source(base))
    regional = measure(data.Source(replace(base, table="bench_regions", regions=REGIONS)))
    assert single.events > 0 and regional.events > 0
    lines = [f"\n[regions] 7-day view, {DAYS:g} d x {APIS} APIs x 6 levels per region, {REPEATS} refreshes"]
    for name, f in (("single region", single), (f"{len(REGIONS)} regions", regional)):
        p50, p95 = statistics.median(f.took), pct(f.took, 0.95)
        read = statistics.median(f.reads)
        lines.append(f"  {name:>14}: first view {f.cold * 1000:,.0f} ms; refresh p50 {p50 * 1000:.0f} ms, "
                     f"p95 {p95 * 1000:.0f} ms, of which reads p50 {read * 1000:.0f} ms ({f.queries:.0f} Query "
                     f"calls, {f.items:.0f} items); {f.events:,} events")  # fmt: skip
    ratio = pct(regional.took, 0.95) / pct(single.took, 0.95)
    compute = [statistics.median(f.took) - statistics.median(f.reads) for f in (regional, single)]
    lines.append(f"  global / single: refresh p95 {ratio:.2f}x (target <= 1.5x), reads p50 "
                 f"{statistics.median(regional.reads) / statistics.median(single.reads):.2f}x, roll-ups "
                 f"{compute[0] / compute[1]:.2f}x, first view {regional.cold / single.cold:.2f}x")  # fmt: skip
    print("\n".join(lines))
