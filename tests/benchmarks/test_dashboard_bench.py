"""Dashboard figures on a private DynamoDB-API server holding 7 days of minute windows (loopback only).

1. Server time of a full refresh, all callbacks (one request: the refresh callback reads and draws every view),
   through Dash's HTTP handler in-process: p50/p95 per range once the worker's caches are warm (the view shared
   for its tail period), with the view computed from the bucket caches on every refresh, and with nothing shared
   (every refresh reading the unsettled tail); the first (cold) refresh; and as reference the dashboard's data path with
   its caches off (``Source.snapshot``: one read of the same 7 days, then the roll-ups).
2. 50 concurrent clients doing full 7-day refreshes through gunicorn with 2 workers: requests/s, p50/p95/p99,
   errors; reference: the same clients on ``/healthz`` (the HTTP stack alone).

Scale: ``BENCH_DASHBOARD_DAYS`` (7) days x ``BENCH_DASHBOARD_APIS`` (2) APIs x 6 levels per minute;
``BENCH_DASHBOARD_SECONDS`` (30) of load.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from logpipeline.dashboard import data, timerange
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.metrics import store, synthetic
from support.dashboard import ensure_users, gunicorn, headers_of, refresh_request, session, sign_in_test_client
from support.moto import moto_server
from support.stats import pct

DAYS = float(os.environ.get("BENCH_DASHBOARD_DAYS", "7"))
APIS = synthetic.api_names(int(os.environ.get("BENCH_DASHBOARD_APIS", "2")))
SECONDS = float(os.environ.get("BENCH_DASHBOARD_SECONDS", "30"))
CLIENTS = 50
REPEATS = 20
MIN = 60_000
TABLE = "bench_dashboard"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private DynamoDB-API server seeded with the history (seeding rate printed)."""
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        ddb = store.client(server.endpoint, timeout=600)
        store.init_table(ddb, TABLE)
        minutes = int(DAYS * 1440)
        now = int(time.time() * 1000) // MIN * MIN
        began = time.perf_counter()
        seeded = store.bulk_load(ddb, TABLE, synthetic.history(now - minutes * MIN, minutes, APIS))
        took = time.perf_counter() - began
        print(f"\n[seed] {seeded} windows ({DAYS:g} d x {len(APIS)} APIs x 6 levels) in {took:.0f} s")
        yield server.endpoint


def test_full_refresh_server_time(endpoint: str) -> None:
    now = int(time.time() * 1000)
    uncached = data.Source(DashboardSettings(TABLE, endpoint, 4, None, 180, cache_s=0, tail_s=0))
    began = time.perf_counter()
    reference = uncached.snapshot(timerange.Bounds(now - int(DAYS * 1440) * MIN, now, "1h"), [], now_ms=now)
    reference_s = time.perf_counter() - began
    reader = uncached.reader
    assert reference.sla.total > 0
    src = data.Source(DashboardSettings(TABLE, endpoint, 4, None, 180, 3600, 5))
    data.use(src)
    from logpipeline.dashboard.app import server

    ensure_users(endpoint, TABLE)
    client = server.test_client()
    sign_in_test_client(client)

    def full(range_name: str, tick: int) -> float:
        began = time.perf_counter()
        answer = client.post("/_dash-update-component", json=refresh_request(range_name, tick))
        took = time.perf_counter() - began
        assert answer.status_code == 200, answer.text[:500]
        kpis = answer.get_json()["response"]["ov-kpis"]["children"]
        assert kpis and answer.get_json()["response"]["ov-problems"]["children"] == []
        return took

    cold = full("7d", 0)
    lines = [
        f"\n[refresh] snapshot of {DAYS:g} days without caches (reference, one read of the range): {reference_s * 1000:.0f} ms "
        f"({reader.queries} Query calls, {reader.items_read} items)",
        f"  dashboard 7d, first refresh of a worker (fills the bucket cache): {cold * 1000:.0f} ms",
    ]
    for range_name in ("7d", "24h", "1h", "15m"):
        full(range_name, 0)
        total = [full(range_name, i) for i in range(REPEATS)]
        p50, p95 = statistics.median(total), pct(total, 0.95)
        line = f"  dashboard {range_name:>3} full refresh (all callbacks): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        if range_name == "7d":
            line += f"; reference / p50 = {reference_s / p50:.0f}x"
        lines.append(line)
    total = []
    for i in range(REPEATS):
        src._views.clear()  # the view computed again from the bucket caches (the tail read stays shared)
        total.append(full("7d", i))
    lines.append(
        f"  dashboard  7d, view computed from the bucket caches each refresh: "
        f"p50 {statistics.median(total) * 1000:.0f} ms, p95 {pct(total, 0.95) * 1000:.0f} ms"
    )
    src.settings = replace(src.settings, tail_s=0)  # nothing shared between refreshes: each reads the tail
    total = []
    for i in range(REPEATS):
        src._views.clear()  # no computed view to answer from: this refresh computes its own
        total.append(full("7d", i))
    lines.append(
        f"  dashboard  7d, every refresh reading the unsettled tail and newest window: "
        f"p50 {statistics.median(total) * 1000:.0f} ms, p95 {pct(total, 0.95) * 1000:.0f} ms"
    )
    print("\n".join(lines))


class Client:
    """One keep-alive connection; ``call`` records (seconds, ok) of every request."""

    def __init__(self, base: str, out: list[tuple[float, bool]], auth: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.address, self.out, self.auth = (host, int(port)), out, auth
        self.conn = http.client.HTTPConnection(*self.address, timeout=60)

    def call(self, path: str, body: Any = None) -> bytes | None:
        began, text = time.perf_counter(), None
        try:
            if body is None:
                self.conn.request("GET", path)
            else:
                self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **self.auth})
            response = self.conn.getresponse()
            text = response.read() if response.status == 200 else None
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(*self.address, timeout=60)
        self.out.append((time.perf_counter() - began, text is not None))
        return text


def _refreshes(base: str, stop: float, out: list[tuple[float, bool]]) -> None:
    client, tick = Client(base, out, headers_of(session(base, "viewer"))), 0
    while time.perf_counter() < stop:
        tick += 1
        client.call("/_dash-update-component", refresh_request("7d", tick))


def _health(base: str, stop: float, out: list[tuple[float, bool]]) -> None:
    client = Client(base, out, {})
    while time.perf_counter() < stop:
        client.call("/healthz")


def _load(base: str, work: Any, seconds: float) -> tuple[float, list[float], int]:
    results: list[list[tuple[float, bool]]] = [[] for _ in range(CLIENTS)]
    stop = time.perf_counter() + seconds
    threads = [threading.Thread(target=work, args=(base, stop, results[i]), daemon=True) for i in range(CLIENTS)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - began
    flat = [r for rs in results for r in rs]
    return len(flat) / took, [s for s, _ in flat], sum(not ok for _, ok in flat)


def test_fifty_clients_through_gunicorn(endpoint: str) -> None:
    with gunicorn(TABLE, endpoint, workers=2, threads=8, LOGPIPELINE_DASHBOARD_WARM="7d") as base:
        host, port = base.removeprefix("http://").split(":")
        deadline, fast = time.monotonic() + 1800, 0
        auth = headers_of(session(base, "viewer"))
        while fast < 6 and time.monotonic() < deadline:  # both workers warm: several quick refreshes in a row
            conn = http.client.HTTPConnection(host, int(port), timeout=1800)
            began = time.perf_counter()
            conn.request(
                "POST",
                "/_dash-update-component",
                json.dumps(refresh_request("7d")),
                {"Content-Type": "application/json", **auth},
            )
            assert conn.getresponse().status == 200
            fast = fast + 1 if time.perf_counter() - began < 1.0 else 0
            conn.close()
        health_rps, health_s, health_errors = _load(base, _health, min(SECONDS, 10))
        rps, seconds, errors = _load(base, _refreshes, SECONDS)
    print(
        f"\n[load] {CLIENTS} clients, gunicorn 2 workers x 8 threads, {DAYS:g}-day view, one request per full refresh\n"
        f"  full refreshes: {rps:.0f} req/s, p50 {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {pct(seconds, 0.95) * 1000:.0f} ms, p99 {pct(seconds, 0.99) * 1000:.0f} ms, errors {errors} of {len(seconds)}\n"
        f"  /healthz (reference, HTTP stack alone): {health_rps:.0f} req/s, p95 {pct(health_s, 0.95) * 1000:.0f} ms, "
        f"errors {health_errors}\n"
        f"  refreshes / healthz requests per second: {rps / health_rps:.2f}"
    )
    assert seconds and health_s
