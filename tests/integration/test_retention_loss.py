"""Records deleted before the streaming job read them (a job stopped longer than the topic's retention): the job
keeps counting what remains, and counts and logs what it could not read.

On the real broker: the job counts 500 events and stops; 1,000 more are produced and then deleted from the
topic (Kafka's DeleteRecords, as retention would); 300 more follow; the job resumes from its checkpoint.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient  # type: ignore[attr-defined]

from logpipeline import config
from logpipeline.generator import traffic
from logpipeline.stack.process import free_port
from support import leftovers
from support.spark_job import JobProcess, LatestAggregates, create_topics, job_args, produce
from support.wait import wait_for

PARTITIONS = 3


def _events(n: int, seed: int) -> list[tuple[str, bytes]]:
    now = int(time.time() * 1000)
    spec = traffic.TrafficSpec(seed=seed, start_ms=now - 5_000, count=n, rate=float(n), diurnal=False)
    return [(str(e["api"]), orjson.dumps(e)) for e in traffic.events(spec)]


def _skipped(port: int) -> float:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    prefix = 'logpipeline_spark_offsets_skipped_total{query="aggregates"}'
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


@pytest.fixture(scope="module")
def resumed(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("retention")
    unique = leftovers.suffix()
    names = config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}", pipeline=f"rl-{unique}")
    create_topics(stack, names, partitions=PARTITIONS)
    port = free_port()
    args = job_args(stack, names, f"file://{tmp / 'archive'}", port, queries="aggregates", trigger="1 second")
    aggs = LatestAggregates(stack.kafka_bootstrap, names.aggregates_topic)

    def counted(a: LatestAggregates) -> int:
        return sum(v["log_count"] for v in a.latest.values())

    job = JobProcess(args, tmp / "job.log").start()
    try:
        produce(stack.kafka_bootstrap, names.input_topic, _events(500, random.randrange(1 << 30)))
        aggs.wait_until(lambda a: counted(a) == 500, 300, job)
        assert job.terminate() == 0
        produce(stack.kafka_bootstrap, names.input_topic, _events(1000, random.randrange(1 << 30)))
        admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
        probe = aggs.consumer
        ends = [
            TopicPartition(names.input_topic, p, probe.get_watermark_offsets(TopicPartition(names.input_topic, p))[1])
            for p in range(PARTITIONS)
        ]
        for future in admin.delete_records(ends).values():
            future.result(timeout=30)
        produce(stack.kafka_bootstrap, names.input_topic, _events(300, random.randrange(1 << 30)))
        job = JobProcess(args, tmp / "job.log").start()
        aggs.wait_until(lambda a: counted(a) >= 800, 300, job)
        wait_for(lambda: _skipped(port) >= 1000, 30, "1000 skipped", interval=1, fail=False)
        skipped, alive = _skipped(port), job.alive()
        aggs.poll(2.0)
        exit_code = job.terminate()
        lines = [orjson.loads(x) for x in (tmp / "job.log").read_text().splitlines() if x.startswith("{")]
        yield {"counted": counted(aggs), "skipped": skipped, "alive": alive, "exit": exit_code, "lines": lines}
    finally:
        aggs.close()
        if job.alive():
            job.kill()


def test_the_job_keeps_counting_what_remains(resumed: dict[str, Any]) -> None:
    assert resumed["alive"] and resumed["exit"] == 0
    assert resumed["counted"] == 800


def test_what_it_could_not_read_is_counted_and_logged(resumed: dict[str, Any]) -> None:
    assert resumed["skipped"] == 1000
    warned = [x for x in resumed["lines"] if x["msg"].startswith("offsets skipped")]
    assert sum(x["skipped"] for x in warned) == 1000 and all(x["ranges"] for x in warned)
