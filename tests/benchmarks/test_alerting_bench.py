"""Cost of the SLO evaluator: 200 SLOs (20 APIs x 2 kinds x 5 variants, 30-day windows) over minute data on a
private DynamoDB-API server.

Prints, as one JSON line: the first cycle (it loads ``BENCH_DAYS`` of history, default 1; the design's 30 days is
``BENCH_DAYS=30``) and then ``BENCH_CYCLES`` steady cycles, one simulated minute apart, each after that minute's
digest was written as the sink writes it: wall time (p50, p95, max) and store items read per cycle, with the part
spent reading, and the memory of the per-minute counts. Ratios: a steady cycle's p95 against the first (full-read) cycle of the same run, and against the
target of 1 s per cycle.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from logpipeline.alerting import slo, state
from logpipeline.alerting.evaluator import Evaluator
from logpipeline.alerting.telemetry import Metrics
from logpipeline.metrics import digest, store, synthetic
from support.moto import MotoServer

APIS = synthetic.api_names(20)
DAYS = float(os.environ.get("BENCH_DAYS", "1"))
CYCLES = int(os.environ.get("BENCH_CYCLES", "20"))
MIN = 60_000
TARGET_S = 1.0


def definition() -> slo.Definition:
    slos: list[dict[str, Any]] = []
    for i, api in enumerate(APIS):
        for j, (errors, target) in enumerate([("levels", 0.99), ("levels", 0.995), ("levels", 0.999),
                                              ("status", 0.999), ("status", 0.9995)]):  # fmt: skip
            slos.append({"name": f"a{i}-{j}", "objective": "availability", "errorsFrom": errors, "target": target,
                         "api": api, "receivers": ["hook"]})  # fmt: skip
        for j, threshold in enumerate([50, 100, 200, 300, 500]):
            slos.append({"name": f"l{i}-{j}", "objective": "latency", "thresholdMs": threshold, "target": 0.99,
                         "api": api, "receivers": ["hook"]})  # fmt: skip
    return slo.parse({"slos": slos, "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/"}}]})


def write_minutes(ddb: Any, table: str, start: int, minutes: int) -> None:
    """Minute digests of 20 APIs x 6 levels, 25 to a request (what the evaluator reads)."""
    name, batch = digest.table_name(table), []
    by_minute: dict[int, list[Any]] = {}
    for agg in synthetic.history(start, minutes, APIS, seed=start // MIN):
        by_minute.setdefault(agg.window_start, []).append(agg)
    for entries in by_minute.values():
        pk, sk = digest.key(entries[0])
        batch.append({"PutRequest": {"Item": digest.item(pk, sk, entries, 1, 30)}})
        if len(batch) == 25:
            store_batch(ddb, name, batch)
            batch = []
    if batch:
        store_batch(ddb, name, batch)


def store_batch(ddb: Any, name: str, batch: list[dict[str, Any]]) -> None:
    pending: list[dict[str, Any]] | None = batch
    while pending:
        pending = ddb.batch_write_item(RequestItems={name: pending}).get("UnprocessedItems", {}).get(name)


def test_evaluation_cost_of_200_slos(tmp_path: Path) -> None:
    server = MotoServer(tmp_path)
    server.start()
    try:
        ddb = store.client(server.endpoint, timeout=120)
        store.init_table(ddb, "bench")
        state.ensure_table(ddb, "bench")
        now = int(time.time() * 1000) // MIN * MIN
        minutes = int(DAYS * 1440)
        began = time.perf_counter()
        for chunk in range(0, minutes, 360):
            write_minutes(ddb, "bench", now - (minutes - chunk) * MIN, min(360, minutes - chunk))
            print(f"[seed] {chunk + min(360, minutes - chunk)} of {minutes} minutes in "
                  f"{time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
        sent: list[str] = []
        evaluator = Evaluator(ddb, "bench", definition(), lambda r, p, k, s: sent.append(k), Metrics())
        assert len(evaluator.definition.objectives) == 200

        reading = [0.0]
        refresh = evaluator.refresh

        def timed_refresh(at: int) -> None:
            t0 = time.perf_counter()
            refresh(at)
            reading[0] += time.perf_counter() - t0

        evaluator.refresh = timed_refresh  # type: ignore[method-assign,assignment]

        def one(at: int) -> tuple[float, float, int]:
            """(wall s, of which reading s, items read) of one cycle at ``at``."""
            items_before, reading[0] = evaluator.reader.items_read, 0.0
            t0 = time.perf_counter()
            evaluator.cycle(at)
            return time.perf_counter() - t0, reading[0], evaluator.reader.items_read - items_before

        first_s, first_read_s, first_items = one(now)
        steady = []
        for k in range(1, CYCLES + 1):
            write_minutes(ddb, "bench", now + (k - 1) * MIN, 1)
            steady.append(one(now + k * MIN))
        walls = sorted(s[0] for s in steady)
        p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
        figures = {
            "slos": 200,
            "history_days": DAYS,
            "first_cycle_s": round(first_s, 3),
            "first_cycle_read_s": round(first_read_s, 3),
            "first_cycle_items": first_items,
            "steady_cycles": CYCLES,
            "steady_p50_s": round(statistics.median(walls), 3),
            "steady_p95_s": round(p95, 3),
            "steady_max_s": round(walls[-1], 3),
            "steady_read_p50_s": round(statistics.median(s[1] for s in steady), 3),
            "steady_items_per_cycle": statistics.median(s[2] for s in steady),
            "alerts_firing": sum(1 for s in evaluator.cycle(now + (CYCLES + 1) * MIN).values() if s.status == "firing"),
            "notices": len(sent),
            "counts_mb": round((evaluator.counts.good.nbytes + evaluator.counts.total.nbytes) / 2**20, 1),
            "ratio_steady_p95_to_first_cycle": round(p95 / first_s, 4),
            "ratio_steady_p95_to_target_1s": round(p95 / TARGET_S, 3),
        }
        print(json.dumps(figures), flush=True)
        assert first_items > 0 and all(s[2] > 0 for s in steady)
    finally:
        server.stop()
