"""Generator -> real broker, on one core, beside Kafka's own ProducerPerformance for the same records and count.

Both sides are pinned to the same single CPU and use the same producer settings (idempotent, acks=all,
lz4, linger 10 ms, 1 MiB batches) against the same broker, each into its own fresh topic. Kafka's tool
runs twice: with ``--record-size`` equal to the generator's mean record size (random letters, which
lz4 cannot shrink), and with ``--payload-file`` holding the generator's own records (same bytes on the
wire as ours). A cProfile of the generator's own loop shows where the time goes.

Run: ``python -m pytest tests/benchmarks/test_generator_throughput.py -m benchmark -s``
(``LOGPIPELINE_BENCH_EVENTS`` sets the count, default 1,000,000).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import resource
import subprocess
import time
from pathlib import Path

from logpipeline import config
from logpipeline.cli.generate import run
from logpipeline.generator import traffic
from logpipeline.kafka import topics
from logpipeline.kafka.producer import Sender
from logpipeline.stack import artifacts

EVENTS = int(os.environ.get("LOGPIPELINE_BENCH_EVENTS", "1000000"))
JAVA_PROPS = {
    "acks": "all",
    "enable.idempotence": "true",
    "compression.type": "lz4",
    "linger.ms": "10",
    "batch.size": str(1 << 20),
    "buffer.memory": str(256 << 20),
}


def _topic(settings: config.Settings, unique: str, label: str) -> str:
    names = config.Names(input_topic=f"bench_{label}_{unique}", aggregates_topic=f"bench_agg_{label}_{unique}")
    topics.ensure(topics.admin_client(settings.kafka_bootstrap), topics.default_topics(names)[:1])
    return names.input_topic


def _one_cpu() -> int:
    return max(os.sched_getaffinity(0))


def _generator_run(settings: config.Settings, topic: str, count: int) -> dict[str, float]:
    spec = traffic.TrafficSpec(seed=1, start_ms=1_714_564_800_000, count=count)
    sender = Sender.connect(settings.kafka_bootstrap, topic)
    before = resource.getrusage(resource.RUSAGE_SELF)
    began = time.monotonic()
    summary = run(spec, sender, None)
    seconds = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_SELF)
    assert summary["failed"] == 0 and summary["sent"] == count
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"events_per_s": count / seconds, "seconds": seconds, "cpu_s": cpu}


def _sample_records(path: Path, count: int) -> float:
    spec = traffic.TrafficSpec(seed=1, start_ms=1_714_564_800_000, count=count)
    values = [v for block in traffic.blocks(spec) for v in block.encode()]
    path.write_bytes(b"\n".join(values))
    return sum(map(len, values)) / len(values)


def _java(settings: config.Settings, topic: str, count: int, payload: list[str]) -> float:
    jars = artifacts.resolve(settings.cache, artifacts.KAFKA)
    props = [f"bootstrap.servers={settings.kafka_bootstrap}", *(f"{k}={v}" for k, v in JAVA_PROPS.items())]
    cmd = [
        *("taskset", "-c", str(_one_cpu()), "java", "-Xmx1g", "-cp", f"{jars}/*"),
        "org.apache.kafka.tools.ProducerPerformance",
        *("--topic", topic, "--num-records", str(count), "--throughput", "-1", *payload),
        *("--producer-props", *props),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    final = [line for line in out.stdout.splitlines() if re.match(rf"^{count} records sent", line)]
    assert final, out.stdout[-2000:]
    print(f"  java: {final[-1]}")
    return float(re.search(r"([0-9.]+) records/sec", final[-1]).group(1))  # type: ignore[union-attr]


def _profile(settings: config.Settings, topic: str, count: int) -> str:
    spec = traffic.TrafficSpec(seed=2, start_ms=1_714_564_800_000, count=count)
    sender = Sender.connect(settings.kafka_bootstrap, topic)
    profiler = cProfile.Profile()
    profiler.enable()
    run(spec, sender, None)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(12)
    return "\n".join(line for line in text.getvalue().splitlines() if line.strip())


def test_generator_versus_kafka_producer_performance(stack: config.Settings, unique: str, tmp_path: Path) -> None:
    cpu = _one_cpu()
    payload_file = tmp_path / "records.txt"
    mean_size = _sample_records(payload_file, 50_000)
    record_size = round(mean_size)
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        ours = _generator_run(stack, _topic(stack, unique, "gen"), EVENTS)
        profile = _profile(stack, _topic(stack, unique, "prof"), min(EVENTS, 300_000))
    finally:
        os.sched_setaffinity(0, saved)
    print(f"\n== generator -> Kafka, {EVENTS} events, mean record {mean_size:.1f} bytes, pinned to CPU {cpu}")
    print(
        f"  generator: {ours['events_per_s']:,.0f} events/s ({ours['seconds']:.2f} s wall, {ours['cpu_s']:.2f} s CPU)"
    )
    print(
        f"  generator per CPU-second (all its threads; independent of load from others): {EVENTS / ours['cpu_s']:,.0f}"
    )
    sized = _java(stack, _topic(stack, unique, "jsize"), EVENTS, ["--record-size", str(record_size)])
    same = _java(stack, _topic(stack, unique, "jfile"), EVENTS, ["--payload-file", str(payload_file)])
    print(f"  ProducerPerformance --record-size {record_size}: {sized:,.0f} records/s")
    print(f"  ProducerPerformance --payload-file (the generator's records): {same:,.0f} records/s")
    print(f"  ratio generator / Java (record size): {ours['events_per_s'] / sized:.2f}")
    print(f"  ratio generator / Java (same records): {ours['events_per_s'] / same:.2f}")
    print(f"  target: ratio >= 0.5 and >= 250,000 events/s; reached {ours['events_per_s']:,.0f} events/s")
    print("== cProfile of the generator loop (tottime):")
    print(profile)
    assert ours["events_per_s"] > 0 and sized > 0 and same > 0
