"""Metrics store figures on a private DynamoDB-API server: items/s written (sink's conditional puts and the
bulk loader) and the dashboard's full refresh (Query) against a full-table Scan of the same table.

Scales are hours of minute windows for 20 APIs x 6 levels (``BENCH_HOURS``, default "2,8"; the design
target, 7 days, is ``BENCH_HOURS=168``); the refresh covers the last ``BENCH_REFRESH_MINUTES`` (60).

The reference Scan stops after ``BENCH_SCAN_BUDGET_S`` (1200) seconds. The local server serves each Scan page by
walking the table from its first item, so a full Scan grows with the square of the table: at 1.2M items it would
take hours. A Scan stopped at the budget is reported as such, and its time is a lower bound of the full Scan's, so
the ratio printed for it is a lower bound too.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline.dashboard import data, timerange
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.metrics import query, rollup, store, synthetic
from support.moto import MotoServer
from support.stats import pct

APIS = synthetic.api_names(20)
HOURS = [float(h) for h in os.environ.get("BENCH_HOURS", "2,8").split(",")]
REFRESH_MINUTES = int(os.environ.get("BENCH_REFRESH_MINUTES", "60"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "20"))
SCAN_BUDGET_S = float(os.environ.get("BENCH_SCAN_BUDGET_S", "1200"))
MIN = 60_000


def _scan(ddb: Any, table: str, budget_s: float) -> tuple[float, int, int, bool]:
    """(seconds, items, pages, complete) of a full-table Scan, stopped once it has run for ``budget_s``."""
    began, items, pages = time.perf_counter(), 0, 0
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        items, pages = items + len(page["Items"]), pages + 1
        elapsed = time.perf_counter() - began
        if "LastEvaluatedKey" not in page:
            return elapsed, items, pages, True
        if elapsed >= budget_s:
            return elapsed, items, pages, False
        if pages % 100 == 0:
            print(f"[scan] {items} items in {elapsed:.0f} s", flush=True)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _counted(items: Iterable[Any], every: int) -> Iterator[Any]:
    """``items``, printing a progress line every ``every`` of them."""
    began = time.perf_counter()
    for n, item in enumerate(items, 1):
        if n % every == 0:
            print(f"[seed] {n} windows in {time.perf_counter() - began:.0f} s", flush=True)
        yield item


def test_write_throughput(tmp_path: Path) -> None:
    server = MotoServer(tmp_path)
    server.start()
    endpoint = server.endpoint
    try:
        ddb = store.client(endpoint, timeout=60)
        store.init_table(ddb, "w")
        now = int(time.time() * 1000) // MIN * MIN
        fresh = list(synthetic.history(now - 20 * MIN, 20, APIS))  # 2400 items
        writer = store.ConditionalWriter(ddb, "w", 4, 30)
        began = time.perf_counter()
        first = writer.write(fresh)
        t_new = time.perf_counter() - began
        began = time.perf_counter()
        again = writer.write(fresh)
        t_again = time.perf_counter() - began
        writer.close()
        digests = store.DigestWriter(ddb, "w", 30)
        began = time.perf_counter()
        for i in range(0, len(fresh), 1000):  # the sink's batches: merge into the minute digests
            digests.merge(fresh[i : i + 1000])
        t_digest = time.perf_counter() - began
        digests.close()
        store.init_table(ddb, "b")
        began = time.perf_counter()
        loaded = store.bulk_load(ddb, "b", fresh)
        t_bulk = time.perf_counter() - began
    finally:
        server.stop()
    assert (first.written, again.stale, loaded) == (len(fresh), len(fresh), len(fresh))
    print(
        f"\n[write] {len(fresh)} items: sink conditional puts {len(fresh) / t_new:.0f} items/s (new), "
        f"{len(fresh) / t_again:.0f} items/s (replayed, all refused as not newer); "
        f"with the digest merge (the sink's whole write path) {len(fresh) / (t_new + t_digest):.0f} items/s; "
        f"bulk loader (BatchWriteItem) {len(fresh) / t_bulk:.0f} items/s; "
        f"bulk/conditional = {t_new / t_bulk:.1f}x"
    )


def _uncached(ddb: Any) -> data.Source:
    """The dashboard's data path with its caches off: every snapshot reads its whole range from table "t"."""
    return data.Source(DashboardSettings("t", None, 4, None, settle_s=180, cache_s=0, tail_s=0), ddb)


@pytest.mark.timeout(2 * 3600)  # BENCH_HOURS=168: the bulk load takes about 16 minutes, then the Scan budget
@pytest.mark.parametrize("hours", HOURS)
def test_dashboard_refresh_vs_scan(hours: float, tmp_path: Path) -> None:
    server = MotoServer(tmp_path)
    server.start()
    endpoint = server.endpoint
    try:
        ddb = store.client(endpoint, timeout=600)
        store.init_table(ddb, "t")
        minutes = int(hours * 60)
        now = int(time.time() * 1000) // MIN * MIN
        began = time.perf_counter()
        history = synthetic.history(now - minutes * MIN, minutes, APIS)
        seeded = store.bulk_load(ddb, "t", _counted(history, 100_000))
        t_seed = time.perf_counter() - began
        start, end = now - REFRESH_MINUTES * MIN, now
        refresh_s, api_s = [], []
        for _ in range(REPEATS):
            source = _uncached(ddb)
            began = time.perf_counter()
            result = source.snapshot(timerange.Bounds(start, end, "1m"), [], now_ms=end)
            refresh_s.append(time.perf_counter() - began)
        reader = source.reader
        read_s, compute_s = [], []  # the same refresh split into the Query part and the pure roll-ups
        for _ in range(REPEATS):
            began = time.perf_counter()
            windows = query.Reader(ddb, "t").windows(start, end)
            read_s.append(time.perf_counter() - began)
            began = time.perf_counter()
            rollup.totals_by_level(windows)
            rollup.sla(windows)
            rollup.latency_by_api(windows)
            rollup.top_apis_by_errors(windows, 10)
            rollup.series_by_level(windows, start, end, MIN)
            compute_s.append(time.perf_counter() - began)
        for _ in range(REPEATS):
            source = _uncached(ddb)
            began = time.perf_counter()
            source.snapshot(timerange.Bounds(start, end, "1m"), [APIS[0]], now_ms=end)
            api_s.append(time.perf_counter() - began)
        one = source.reader
        tiny_s = []  # Queries that return one item each: the server's fixed cost per Query at this table size
        for _ in range(REPEATS):
            tiny = query.Reader(ddb, "t")
            began = time.perf_counter()
            tiny.newest(now + 30_000)
            tiny_s.append(time.perf_counter() - began)
        assert result.sla.total > 0 and len(result.latency) == len(APIS)
        p50, p95 = statistics.median(refresh_s), pct(refresh_s, 0.95)
        print(
            f"\n[refresh] table {seeded} items ({hours:g} h x {len(APIS)} APIs x 6 levels), seeded at "
            f"{seeded / t_seed:.0f} items/s\n"
            f"  full refresh, all APIs, last {REFRESH_MINUTES} min: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
            f"({reader.queries} Query calls, {reader.items_read} items read); of which reading and decoding "
            f"p50 {statistics.median(read_s) * 1000:.0f} ms, roll-ups p50 {statistics.median(compute_s) * 1000:.0f} ms\n"
            f"  full refresh, one API (the digests of its shard): p50 {statistics.median(api_s) * 1000:.0f} ms, "
            f"p95 {pct(api_s, 0.95) * 1000:.0f} ms ({one.queries} Query calls, {one.items_read} items read)\n"
            f"  latest window only ({tiny.queries} Query calls, Limit 1): p50 {statistics.median(tiny_s) * 1000:.0f} ms",
            flush=True,
        )
        scans = [_scan(ddb, "t", SCAN_BUDGET_S) for _ in range(2 if seeded <= 20_000 else 1)]
    finally:
        server.stop()
    scan_s = statistics.median(s for s, _, _, _ in scans)
    _, scan_items, scan_pages, complete = scans[0]
    if complete:
        assert scan_items == seeded
        print(
            f"  full-table Scan: {scan_s * 1000:.0f} ms ({scan_pages} pages, {scan_items} items read)\n"
            f"  Scan / refresh: {scan_s / p50:.1f}x by p50 latency, {scan_s / p95:.1f}x by p95; "
            f"{scan_items / max(reader.items_read, 1):.1f}x by items read"
        )
    else:
        assert scan_items < seeded and scan_s >= SCAN_BUDGET_S
        print(
            f"  full-table Scan: stopped at the {SCAN_BUDGET_S:.0f} s budget after {scan_pages} pages, "
            f"{scan_items} of {seeded} items ({scan_items / seeded:.1%})\n"
            f"  Scan / refresh, lower bounds (the full Scan takes longer): >= {scan_s / p50:.0f}x by p50 latency, "
            f">= {scan_s / p95:.0f}x by p95; {seeded / max(reader.items_read, 1):.1f}x by items read"
        )
