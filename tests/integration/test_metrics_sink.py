"""``logpipeline sink`` end to end on the real broker and a private DynamoDB-API server that is stopped
for 30 s mid-stream and comes back empty (moto keeps no data): the sink must re-create the table and
replay the compacted aggregates topic, ending with exactly the ground truth."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from logpipeline import config, contracts
from logpipeline.metrics import digest, layout, records, revisions, store, synthetic
from logpipeline.stack.process import free_port
from support import leftovers
from support.moto import MotoServer
from support.wait import wait_for

T0 = 1_767_225_600_000
OUTAGE_S = 30.0
PARTITIONS = 3
SINK = [sys.executable, "-m", "logpipeline.cli.main", "sink"]


@dataclass
class Run:
    final: dict[str, records.Aggregate]
    table: dict[str, records.Aggregate]
    digests: dict[str, records.Aggregate]
    phase1_ok: bool
    ready_before: int
    ready_during: list[int]
    retried_during: float
    metrics_after: str
    exit_code: int | None
    logs: list[dict[str, Any]]
    committed: dict[int, int]
    end_offsets: dict[int, int]
    dead_letters: list[tuple[bytes, dict[str, bytes]]] = field(default_factory=list)


def http(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def metric(text: str, name: str) -> float:
    return sum(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith(name) and not line.startswith("#")
    )


def scan(port: int, table: str, digests: bool = False) -> dict[str, records.Aggregate]:
    """Window items (or minute-digest entries) of the table; empty while the server is down."""
    ddb = store.client(f"http://127.0.0.1:{port}", attempts=1, timeout=5)
    out: dict[str, records.Aggregate] = {}
    kwargs: dict[str, Any] = {"TableName": digest.table_name(table) if digests else table}
    try:
        while True:
            page = ddb.scan(**kwargs)
            for item in page["Items"]:
                if digests and item["pk"]["S"] == revisions.PARTITION:
                    continue  # the hours' change signal lives beside the digests
                for agg in digest.decode(bytes(item["body"]["B"])) if digests else [layout.from_item(item)]:
                    assert agg.id not in out, f"duplicate item {agg.id}"
                    out[agg.id] = agg
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except Exception:
        return {}


@pytest.fixture(scope="module")
def run(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("sink")
    suffix = leftovers.suffix()
    topic, input_topic, table, group = f"agg_{suffix}", f"in_{suffix}", f"metrics_{suffix}", f"sink_{suffix}"
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1, config={"cleanup.policy": "compact"})]).values():
        future.result()

    events = synthetic.events(T0, 12, synthetic.api_names(4), per_minute=12, seed=3)
    versions = synthetic.update_versions(events, steps=3, updated_at=T0)
    rng = random.Random(9)
    rng.shuffle(versions)
    versions += rng.sample(versions, len(versions) // 5)  # some records twice
    half = len(versions) // 2
    first, second = versions[:half], versions[half:]
    final = {a.id: a for a in records.latest(versions)}
    phase1 = {a.id: a for a in records.latest(first)}
    malformed = [b"{not json", orjson.dumps({**first[0].to_record(), "log_level": "FATAL"})]

    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})

    def produce(aggs: list[records.Aggregate], extra: list[bytes] = []) -> None:  # noqa: B006
        for agg in aggs:
            producer.produce(topic, key=agg.id.encode(), value=orjson.dumps(agg.to_record()))
        for raw in extra:
            producer.produce(topic, key=b"bad", value=raw)
        assert producer.flush(30) == 0

    moto = MotoServer(tmp / "moto")
    moto.start()
    http_port = free_port()
    base = f"http://127.0.0.1:{http_port}"
    env = {
        **os.environ,
        "LOGPIPELINE_DYNAMODB_PORT": str(moto.port),
        "LOGPIPELINE_AGGREGATES_TOPIC": topic,
        "LOGPIPELINE_INPUT_TOPIC": input_topic,
        "LOGPIPELINE_TABLE": table,
    }
    log_path = tmp / "sink.log"
    with log_path.open("wb") as log_file:
        sink = subprocess.Popen(
            [*SINK, "--group", group, "--batch-size", "200", "--http-port", str(http_port), "--max-backoff", "2"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        produce(first, malformed)
        phase1_ok = wait_for(lambda: scan(moto.port, table) == phase1, 120, "the first half", interval=1, fail=False)
        ready_before = http(f"{base}/readyz")[0]

        moto.stop()  # the store goes away for 30 s while records keep coming
        down_at = time.monotonic()
        produce(second)
        ready_during = []
        while time.monotonic() - down_at < OUTAGE_S:
            ready_during.append(http(f"{base}/readyz")[0])
            time.sleep(1)
        retried_during = metric(http(f"{base}/metrics")[1], "logpipeline_sink_write_retries_total")
        moto.start()  # back, empty

        wait_for(
            lambda: scan(moto.port, table) == final and scan(moto.port, table, digests=True) == final,
            180,
            "the final table",
            interval=1,
            fail=False,
        )
        wait_for(
            lambda: metric(http(f"{base}/metrics")[1], "logpipeline_sink_consumer_lag_total") == 0,
            20,
            "no consumer lag",
            interval=1,
            fail=False,
        )
        metrics_after = http(f"{base}/metrics")[1]
        table_now = scan(moto.port, table)
        digests_now = scan(moto.port, table, digests=True)
        sink.send_signal(signal.SIGTERM)
        try:
            exit_code: int | None = sink.wait(30)
        except subprocess.TimeoutExpired:
            exit_code = None

        probe = Consumer({"bootstrap.servers": stack.kafka_bootstrap, "group.id": group})
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        committed = {tp.partition: tp.offset for tp in probe.committed(parts, timeout=10)}
        end_offsets = {p.partition: probe.get_watermark_offsets(p, timeout=10)[1] for p in parts}
        probe.close()

        dlq = Consumer(
            {"bootstrap.servers": stack.kafka_bootstrap, "group.id": f"dlq_{suffix}", "auto.offset.reset": "earliest"}
        )
        dlq.subscribe([f"{input_topic}.dlq"])
        dead: list[tuple[bytes, dict[str, bytes]]] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = dlq.poll(1.0)
            if msg is not None and msg.error() is None:
                dead.append((msg.value() or b"", {k: v or b"" for k, v in (msg.headers() or [])}))
            elif msg is None and len(dead) >= len(malformed):
                break
        dlq.close()
        logs = [orjson.loads(line) for line in log_path.read_bytes().splitlines() if line.strip()]
        yield Run(
            final,
            table_now,
            digests_now,
            phase1_ok,
            ready_before,
            ready_during,
            retried_during,
            metrics_after,
            exit_code,
            logs,
            committed,
            end_offsets,
            dead,
        )
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
        moto.stop()
        admin.delete_topics([topic, f"{input_topic}.dlq"])


def test_table_equals_ground_truth_after_outage_with_no_duplicates(run: Run) -> None:
    assert run.phase1_ok, "the first half never reached the table"
    assert run.table == run.final  # every id once, each with its newest version
    assert run.digests == run.final  # the minute digests hold the same
    assert sum(a.log_count for a in run.table.values()) == sum(a.log_count for a in run.final.values())


def test_rebuilt_from_the_topic_after_the_server_came_back_empty(run: Run) -> None:
    messages = [line["msg"] for line in run.logs]
    assert "rebuilding table from the topic" in messages
    assert "replaying from the beginning" in messages
    assert metric(run.metrics_after, "logpipeline_sink_rebuilds_total") >= 1


def test_not_ready_and_retrying_while_the_store_is_down(run: Run) -> None:
    assert run.ready_before == 200
    assert 503 in run.ready_during
    assert run.retried_during >= 3
    assert metric(run.metrics_after, "logpipeline_sink_items_written_total") >= len(run.final)
    assert metric(run.metrics_after, "logpipeline_sink_items_stale_total") > 0


def test_malformed_records_dead_lettered_once_with_reason(run: Run) -> None:
    reasons = sorted(h[contracts.DLQ_REASON].decode() for _, h in run.dead_letters)
    assert len(run.dead_letters) == 2, reasons
    assert any(r.startswith("value: not JSON") for r in reasons)
    assert any(r.startswith("log_level: expected one of") for r in reasons)
    assert all(h[contracts.DLQ_STAGE] == b"sink" for _, h in run.dead_letters)
    assert metric(run.metrics_after, "logpipeline_sink_dead_lettered_total") == 2


def test_offsets_committed_to_the_end_and_clean_shutdown(run: Run) -> None:
    assert run.exit_code == 0
    assert run.committed == run.end_offsets
    assert run.logs[-1]["msg"] == "sink stopped"
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in run.logs)
    assert metric(run.metrics_after, "logpipeline_sink_consumer_lag_total") == 0
