"""What the JVM option ``-XX:-DontCompileHugeMethods`` (``contracts.SPARK_JAVA_OPTIONS``) is worth to the events' parse.

Spark's generated code for the parse has a method over HotSpot's 8,000-byte limit, which the JIT does not compile
by default. Two processes, one after the other (``support.parse_rate``): the parse over ``BENCH_PARSE_RECORDS``
(320k) records cached in memory, in one task, ``BENCH_PARSE_ROUNDS`` (8) times, with HotSpot's default
(``-XX:+DontCompileHugeMethods``, the reference) and with the product's option. The median of each run's last half
(the JIT warm) and their ratio are printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

import pytest

from logpipeline import contracts
from support.spark_job import REPO

RECORDS = int(os.environ.get("BENCH_PARSE_RECORDS", "320000"))
ROUNDS = int(os.environ.get("BENCH_PARSE_ROUNDS", "8"))


def _rates(java_options: str) -> list[float]:
    cmd = [sys.executable, "-m", "support.parse_rate", "--java-options", java_options]
    cmd += ["--records", str(RECORDS), "--rounds", str(ROUNDS)]
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}:{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    rounds = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for r in rounds:
        print(f"  {java_options:30} {json.dumps(r)}", flush=True)
    assert len(rounds) == ROUNDS, out.stdout[-2000:]
    return [float(r["records_per_cpu_s"]) for r in rounds]


@pytest.mark.timeout(3600)
def test_the_parse_with_the_huge_method_compiled() -> None:
    reference = _rates("-XX:+DontCompileHugeMethods")
    product = _rates(contracts.SPARK_JAVA_OPTIONS)
    warm = ROUNDS // 2
    ref, got = statistics.median(reference[warm:]), statistics.median(product[warm:])
    print(f"\nparse, one task, JIT warm (median of rounds {warm}-{ROUNDS - 1}):")
    print(f"  HotSpot's default (reference)      {ref:10.0f} records per CPU second")
    print(f"  {contracts.SPARK_JAVA_OPTIONS:34} {got:10.0f} records per CPU second  ({got / ref:.2f}x)")
    assert ref > 0 and got > 0
