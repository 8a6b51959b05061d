"""The live tail's cost, on loopback only.

1. In process, one core: records/s that the tail's parse (``filters.line_of``, once per record) and the filters of
   1 and 20 tails get through; reference in the same run: ``orjson.loads`` of the same records (the least any
   parser costs).
2. One gunicorn worker (``LOGPIPELINE_DASHBOARD_LIVE_TAILS=20``) with ``BENCH_TAIL_RATE`` (5,000) events/s of
   background traffic from the generator: the worker's CPU (share of one core) and the lines it pushes with no tail
   (reference), one tail and 20 concurrent tails (5 unfiltered, so sampled at 500 lines/s each, and 15 filtered
   on level, status or text), over ``BENCH_TAIL_SECONDS`` (20) each; delay of marked lines (p50/p95) and whether the
   sampled-out counts add up.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from logpipeline import config
from logpipeline.dashboard.tail import filters
from logpipeline.dashboard.tail.subscription import Subscription
from logpipeline.generator import traffic
from support.dashboard import session
from support.tail import Served, Tail, marked, producer, sent_at, served

RATE = float(os.environ.get("BENCH_TAIL_RATE", "5000"))
SECONDS = float(os.environ.get("BENCH_TAIL_SECONDS", "20"))
TAILS = 20
FILTERED = [{"level": "ERROR"}, {"status": "5xx"}, {"q": "timeout"}, {"level": "WARNING", "status": "4xx"},
            {"api": "/api/v1/orders"}]  # fmt: skip


def records(n: int) -> list[bytes]:
    return [orjson.dumps(e) for e in traffic.events(traffic.TrafficSpec(seed=3, count=n, start_ms=1_767_225_600_000))]


def rate_of(work: Callable[[], object], items: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return items / best


def test_records_per_second_one_core_filters() -> None:
    raw = records(50_000)
    parsed = [(filters.line_of(r), 0, i) for i, r in enumerate(raw)]
    reference = rate_of(lambda: [orjson.loads(r) for r in raw], len(raw))
    parse = rate_of(lambda: [filters.line_of(r) for r in raw], len(raw))
    subs = [Subscription(filters.parse({k: [v] for k, v in FILTERED[i % len(FILTERED)].items()}), 500.0)
            for i in range(TAILS)]  # fmt: skip

    def offer(to: list[Subscription]) -> None:
        for sub in to:
            sub.offer(parsed)

    one = rate_of(lambda: offer(subs[:1]), len(raw))
    twenty = rate_of(lambda: offer(subs), len(raw))
    whole = 1 / (1 / parse + 1 / twenty)
    print(f"\n[in process, one core] orjson.loads: {reference:,.0f} records/s (reference)")
    print(f"  parse as the pipeline does: {parse:,.0f}/s ({parse / reference:.2f} of the reference)")
    print(f"  filters of 1 tail: {one:,.0f}/s; of 20 tails: {twenty:,.0f}/s")
    print(f"  parse + 20 tails: {whole:,.0f} records/s ({RATE / whole:.1%} of a core at {RATE:,.0f}/s)")
    assert parse > 0 and twenty > 0


def worker_pid(port: int) -> int:
    """The gunicorn worker serving ``port`` (its parent, the arbiter, has the same bind in its environment)."""
    bind = f"LOGPIPELINE_DASHBOARD_BIND=127.0.0.1:{port}".encode()
    having = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if bind in (entry / "environ").read_bytes().split(b"\0"):
                    having.add(int(entry.name))
            except OSError:
                continue
    workers = [p for p in having if int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1]) in having]
    assert len(workers) == 1, (having, workers)
    return workers[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module")
def world(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(stack, tmp_path_factory.mktemp("tail-bench-moto"), RATE, TAILS) as made:
        yield made


def test_one_worker_twenty_tails_at_5k_events_per_second(world: Served) -> None:
    base, topic, bootstrap = world.base, world.topic, world.bootstrap
    pid = worker_pid(int(base.rsplit(":", 1)[1]))
    http = session(base, "viewer")
    out = producer(bootstrap)
    print(f"\n[one gunicorn worker, {RATE:,.0f} events/s of background traffic, {SECONDS:g} s each]")
    results = {}
    for n in (0, 1, TAILS):
        marker = f"k{uuid.uuid4().hex[:8]}"
        params = [{"q": marker}] + [{} for _ in range(5)] + [FILTERED[i % len(FILTERED)] for i in range(TAILS - 6)]
        tails = [Tail(http, base, p) for p in params[:n]]
        for t in tails:
            t.wait_ready()
        cpu, began = cpu_seconds(pid), time.monotonic()
        sent = 0
        while time.monotonic() - began < SECONDS:
            out.produce(topic, marked(marker, time.time()))
            out.poll(0)
            sent += 1
            time.sleep(0.1)
        out.flush(10)
        took = time.monotonic() - began
        used = (cpu_seconds(pid) - cpu) / took
        if tails:
            tails[0].wait_counts(lambda c, want=sent: c["matched"] >= want)
        counts = [t.wait_counts(lambda c: c["scanned"] > 0) for t in tails]
        for t in tails:
            t.close()
        lines = sum(c["sent"] for c in counts)
        exact = all(c["matched"] == c["sent"] + c["sampled_out"] for c in counts)
        delays = sorted(arrived - sent_at(line) for arrived, line in tails[0].lines) if tails else [0.0]
        p95 = statistics.quantiles(delays, n=20)[18] if len(delays) > 1 else delays[0]
        scanned = counts[0]["scanned"] / took if counts else 0.0
        results[n] = used
        print(f"  {n:2d} tails: worker CPU {used:.1%} of a core, {lines / took:,.0f} lines/s pushed, "
              f"{scanned:,.0f} records/s read; marked lines p50 {statistics.median(delays):.3f} s, p95 {p95:.3f} s; "
              f"counts add up: {exact}")  # fmt: skip
        assert exact
        time.sleep(3)  # the closed streams free their slots at the next write
    print(
        f"  CPU of 20 tails / 1 tail: {results[TAILS] / max(results[1], 1e-9):.2f}; "
        f"per extra tail: {(results[TAILS] - results[1]) / (TAILS - 1):.1%} of a core"
    )
