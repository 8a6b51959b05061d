"""What the streaming job costs on a quiet stream: CPU of the whole job (Python driver and JVM) at 200 events/s.

Each configuration runs as a process of its own, one after another, on the same topic while events are produced in
real time at ``BENCH_COST_RATE`` (200) events/s: after ``BENCH_COST_WARMUP`` (60) seconds of traffic and then until
the JVM's JIT compiler threads use less than ``BENCH_COST_JIT_QUIET`` (5%) of a core over a minute, or a whole
real-time batch if longer (the route query's batch and a real-time batch's end each run Spark's planner and
compile more of it: over 30 s between them the JIT looked at rest and then used 5.5% of the measured span; at most
``BENCH_COST_SETTLE`` (600) seconds more: at 200 events/s the JIT compiles the job's code for minutes, a start-up
cost that would otherwise be half the figure), its CPU seconds over ``BENCH_COST_SECONDS`` (120; a real-time run,
one whole batch at least) give its share of one core, printed with its busiest threads. The reference is a
count-only query over the same topic (``support.spark_count``, 1 s trigger): the least a micro-batch job reading it
can cost. Checkpoints and the archive are on the stack's HDFS, as ``logpipeline up`` has them: on a ``file://`` path
without Hadoop's native library, each checkpoint file costs a few ``chmod``/``ls``/``readlink`` processes, whose CPU
the figure would miss. Target of the job with both queries: at most 15% of one core. With ``BENCH_COST_PROFILE=1``
each run's JVM is also recorded by Java Flight Recorder over the measured span (``support.jfr``), and the methods
its samples were in are printed: where the cost goes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from logpipeline import config
from logpipeline_spark.correct import window_ms
from logpipeline_spark.options import parse_args
from support.jfr import Profile
from support.spark_job import REPO, JobProcess, create_topics, job_args, pace
from support.threads import ThreadSampler, busiest, settle

RATE = int(os.environ.get("BENCH_COST_RATE", "200"))
WARMUP = float(os.environ.get("BENCH_COST_WARMUP", "60"))
SECONDS = float(os.environ.get("BENCH_COST_SECONDS", "120"))
SETTLE = float(os.environ.get("BENCH_COST_SETTLE", "600"))
JIT_QUIET = float(os.environ.get("BENCH_COST_JIT_QUIET", "0.05"))
PROFILE = os.environ.get("BENCH_COST_PROFILE", "") == "1"
TARGET = 0.15


def _whole_batch(extra: list[str]) -> float:
    """Seconds a run is measured at least: a real-time run over one whole batch (its end costs more than its
    middle), with its mode and batch as the job reads them (arguments, else ``LOGPIPELINE_*`` settings)."""
    if extra == ["--count"]:
        return 0.0
    opts = parse_args(extra)
    return window_ms(opts.realtime_batch) / 1000 if opts.mode == "realtime" else 0.0


def _measure(
    start: Callable[[], subprocess.Popen[bytes]],
    ready: Callable[[], bool],
    seconds: float,
    recording: Path,
    window: float,
) -> tuple[float, list[str]]:
    """Share of one core that the process started by ``start`` uses over ``seconds``, after WARMUP and once its JIT
    rested over ``window`` seconds, and its busiest
    threads (with ``PROFILE``, then the methods its JVM's samples were in, recorded to ``recording``)."""
    proc = start()
    try:
        deadline = time.monotonic() + 240
        while not ready():
            assert proc.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(1)
        # A recording's start makes the JVM recompile what it had compiled of the classes that JFR instruments
        # (sockets, files: all of Kafka's client code), so it starts before the warm-up, not in the measured span.
        profile = Profile(proc.pid, recording) if PROFILE else None
        if profile:
            profile.start()
        time.sleep(WARMUP)
        waited, jit = settle(proc.pid, JIT_QUIET, SETTLE, window)
        print(f"\n  warm-up: {WARMUP + waited:.0f} s; then the JIT used {jit:.1%} of a core", flush=True)
        sampler = ThreadSampler(proc.pid)
        sampler.start()
        began, since = time.monotonic(), time.time()
        time.sleep(seconds)
        assert proc.poll() is None, "stopped while measured"
        groups, elapsed = sampler.stop(), time.monotonic() - began
        lines = busiest(groups, elapsed, top=12, started=sampler.started)
        if profile:
            profile.stop(since)
            lines += [f"JFR samples: {len(profile.stacks)}; methods sampled in:", *profile.hot(25)]
            lines += ["Spark's code nearest the sampled method:", *profile.nearest(25)]
        return sampler.seconds / elapsed, lines
    finally:
        proc.terminate()
        try:
            proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.timeout(9000)
def test_cpu_of_the_job_at_two_hundred_events_per_second(stack: config.Settings, tmp_path: Path) -> None:
    names = config.Names(
        input_topic=f"bench_cost_{uuid.uuid4().hex[:8]}", aggregates_topic=f"bench_cost_agg_{uuid.uuid4().hex[:8]}"
    )
    create_topics(stack, names, partitions=3)
    runs = {
        "count-only query (reference)": ["--count"],
        "job: real-time aggregates + route": ["--mode", "realtime"],
        "job: real-time aggregates only": ["--mode", "realtime", "--queries", "aggregates"],
        "job: real-time, 5-minute batches": ["--mode", "realtime", "--realtime-batch", "5 minutes"],
        "job: real-time with two shuffle partitions": ["--mode", "realtime", "--shuffle-partitions", "2"],
        "job: real-time aggregates only, 5-minute batches": [
            *("--mode", "realtime", "--queries", "aggregates", "--realtime-batch", "5 minutes")
        ],
        "job: micro-batch aggregates + route": ["--mode", "microbatch"],
        "job: micro-batch aggregates only": ["--mode", "microbatch", "--queries", "aggregates"],
        "job: micro-batch every 5 s": ["--mode", "microbatch", "--trigger", "5 seconds"],
        "job: micro-batch with Spark's de-dup in the heap": ["--mode", "microbatch", "--dedup", "spark"],
        "job: micro-batch with Spark's de-dup in rocksdb": [
            *("--mode", "microbatch", "--dedup", "spark", "--state-store", "rocksdb")
        ],
        "job: route only": ["--queries", "dead_letters,raw_archive"],
        "job: route only, every 10 s": ["--queries", "dead_letters,raw_archive", "--side-trigger", "10 seconds"],
    }
    seconds = {label: max(SECONDS, _whole_batch(extra)) for label, extra in runs.items()}
    total = sum(WARMUP + SETTLE + s + 60 for s in seconds.values()) + 60
    per_window: defaultdict[int, int] = defaultdict(int)
    feeder = threading.Thread(
        target=pace, args=(stack.kafka_bootstrap, names.input_topic, RATE, total, {}, per_window, 7), daemon=True
    )
    feeder.start()
    shares: dict[str, float] = {}
    only = os.environ.get("BENCH_COST_RUNS")  # a comma-separated subset of the labels' first words
    for label, extra in runs.items():
        if only and not any(label.startswith(word) for word in only.split(",")):
            continue
        run_dir = tmp_path / uuid.uuid4().hex[:6]
        run_dir.mkdir()
        log = run_dir / "out.log"
        if extra == ["--count"]:
            cmd = [sys.executable, "-m", "support.spark_count", "--bootstrap", stack.kafka_bootstrap]
            cmd += [
                "--topic",
                names.input_topic,
                "--checkpoint",
                f"{stack.hdfs_url}/{names.input_topic}/{run_dir.name}",
            ]
            env = {**os.environ, "PYTHONPATH": f"{REPO / 'tests'}:{os.environ.get('PYTHONPATH', '')}"}

            def start(cmd: list[str] = cmd, env: dict[str, str] = env, log: Path = log) -> subprocess.Popen[bytes]:
                out = log.open("ab")
                return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        else:
            pipeline = config.Names(**{**names.__dict__, "pipeline": f"cost{uuid.uuid4().hex[:6]}"})
            args = job_args(stack, pipeline, stack.hdfs_url, starting_offsets="latest")
            job = JobProcess([*args, *extra], log)

            def start(job: JobProcess = job) -> subprocess.Popen[bytes]:
                proc = job.start().proc
                assert proc is not None
                return proc

        shares[label], threads = _measure(
            start,
            lambda log=log: log.exists() and "query started" in log.read_text("utf-8", "replace"),
            seconds[label],
            run_dir / "profile.jfr",
            max(60.0, _whole_batch(extra)),
        )
        assert feeder.is_alive(), "the events stopped flowing"
        print(f"\n{label}: {shares[label]:.1%} of one core ({sum(per_window.values())} events sent so far)", flush=True)
        print("  busiest threads:\n    " + "\n    ".join(threads), flush=True)
    reference = shares.get("count-only query (reference)", float("nan"))
    print(
        f"\nCPU at {RATE} events/s ({SECONDS:.0f} s, or whole real-time batches, once the JIT rested; after "
        f"{WARMUP:.0f} s of traffic at least):"
    )
    for label, share in shares.items():
        print(f"  {label:50} {share:6.1%}   {share / reference:5.1f}x the count-only query")
    for mode in ("real-time", "micro-batch"):
        job = shares.get(f"job: {mode} aggregates + route", float("nan"))
        print(
            f"  target for the job in {mode} mode: <= {TARGET:.0%} of one core ({'met' if job <= TARGET else 'not met'})"
        )
    assert all(share > 0 for share in shares.values()), shares
