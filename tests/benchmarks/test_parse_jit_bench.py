"""What the parse's layout of barriers and the JVM option ``-XX:-DontCompileHugeMethods`` are worth, per query.

HotSpot does not compile a method over 8,000 bytes of bytecode by default. With every repaired field behind one
``inline`` barrier (and the route query's checks behind one), Spark's generated code for the parse has such a method
(10,833 bytes for the aggregates', 14,556 for the route query's). For each query, four processes one after the other
(``support.parse_rate``): that layout under HotSpot's default (the reference), the same with the product's option
(``contracts.SPARK_JAVA_OPTIONS``), and the product's layout (``transformations.REPAIR_BARRIER_FIELDS``,
``ERROR_BARRIER_CHECKS``) under HotSpot's default, then with the option (as the product runs). Each parses ``BENCH_PARSE_RECORDS`` (320k) records cached in
memory, in one task, ``BENCH_PARSE_ROUNDS`` (8) times; the median of each run's last half (the JIT warm) and its
ratio to the reference are printed. ``BENCH_PARSE_QUERIES``: ``parse,route`` by default (``parse``: the valid events
of ``transformations.parse``, whose expressions the aggregates query's slow path holds). The same for the events'
fast path (``jvm.clean_events``): the Spark expressions alone (the reference) against the product's parse; and for
the aggregates query's slow path in one piece (``transformations.valid_events``) against the same expressions in the
plan (``parse``, the reference), on traffic with records to repair.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

from logpipeline import contracts
from logpipeline_spark import transformations as tr
from support.spark_job import REPO

RECORDS = int(os.environ.get("BENCH_PARSE_RECORDS", "320000"))
ROUNDS = int(os.environ.get("BENCH_PARSE_ROUNDS", "8"))


QUERIES = os.environ.get("BENCH_PARSE_QUERIES", "parse,route").split(",")
DEFAULT = "-XX:+DontCompileHugeMethods"  # HotSpot's own
ONE_BARRIER = "17,42"  # every repaired field behind one barrier, every check behind one
PRODUCT = f"{tr.REPAIR_BARRIER_FIELDS},{tr.ERROR_BARRIER_CHECKS}"


def _rates(query: str, java_options: str, barriers: str, fast_path: str = "on", repaired_every: int = 0) -> list[float]:
    cmd = [sys.executable, "-m", "support.parse_rate", f"--java-options={java_options}", "--query", query]
    cmd += ["--barriers", barriers, "--records", str(RECORDS), "--rounds", str(ROUNDS), "--fast-path", fast_path]
    cmd += ["--repaired-every", str(repaired_every)]
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}:{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rounds = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for r in rounds:
        print(
            f"  {query:10} {java_options:28} barriers {barriers:5} fast path {fast_path:3} "
            f"repaired every {repaired_every} {json.dumps(r)}",
            flush=True,
        )
    assert len(rounds) == ROUNDS, out.stdout[-2000:]
    return [float(r["records_per_cpu_s"]) for r in rounds]


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("query", QUERIES)
def test_the_parse_within_the_jits_method_limit(query: str) -> None:
    runs = {
        f"one barrier, {DEFAULT} (reference)": _rates(query, DEFAULT, ONE_BARRIER),
        f"one barrier, {contracts.SPARK_JAVA_OPTIONS}": _rates(query, contracts.SPARK_JAVA_OPTIONS, ONE_BARRIER),
        f"barriers {PRODUCT}, {DEFAULT}": _rates(query, DEFAULT, PRODUCT),
        f"barriers {PRODUCT}, {contracts.SPARK_JAVA_OPTIONS} (product)": _rates(
            query, contracts.SPARK_JAVA_OPTIONS, PRODUCT
        ),
    }
    _print(query, runs)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("repaired_every", [10, 1])
def test_the_aggregates_slow_path_in_one_piece(repaired_every: int) -> None:
    """The aggregates query's valid events with the parse's slow path in one piece of the fast path's expression
    (``valid_events``, ``SlowPath``) against the same expressions in the plan (``parse``), every ``repaired_every``-th
    record one the slow path repairs."""
    options = contracts.SPARK_JAVA_OPTIONS
    runs = {
        "slow path in the plan (reference)": _rates("parse", options, PRODUCT, repaired_every=repaired_every),
        "slow path in one piece (product)": _rates("aggregates", options, PRODUCT, repaired_every=repaired_every),
    }
    _print(f"aggregates (every {repaired_every}. record repaired)", runs)


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("query", ["aggregates", "route"])
def test_the_parse_with_and_without_its_fast_path(query: str) -> None:
    """The events' fast path (``jvm.clean_events``) against the Spark expressions alone, on plain valid events."""
    options = contracts.SPARK_JAVA_OPTIONS
    runs = {
        "Spark expressions alone (reference)": _rates(query, options, PRODUCT, fast_path="off"),
        "with the fast path (product)": _rates(query, options, PRODUCT),
    }
    _print(query, runs)


def _print(query: str, runs: dict[str, list[float]]) -> None:
    warm = ROUNDS // 2
    medians = {label: statistics.median(rates[warm:]) for label, rates in runs.items()}
    ref = next(iter(medians.values()))
    print(f"\n{query} query's parse, one task, JIT warm (median of rounds {warm}-{ROUNDS - 1}):")
    for label, got in medians.items():
        print(f"  {label:56} {got:10.0f} records per CPU second  ({got / ref:.2f}x)")
    assert all(got > 0 for got in medians.values())
