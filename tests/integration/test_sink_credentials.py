"""``logpipeline sink`` when the store refuses its credentials: it stops with one error line and commits nothing.

A private DynamoDB-API server (moto) enforces IAM authentication: the sink runs with a user's access key, the key is
deleted mid-stream (as an expired or rotated key would be), and the sink must exit non-zero without dead-lettering
or committing the records it could not store; restarted with a new key, it stores every aggregate.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from test_metrics_sink import SINK, scan

from logpipeline import config
from logpipeline.metrics import records, synthetic
from logpipeline.stack.process import free_port
from support import leftovers
from support.moto import MotoServer
from support.wait import wait_for

T0 = 1_767_225_600_000
PARTITIONS = 2
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ALLOW_DYNAMODB = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}


@dataclass
class Outcome:
    phase1_stored: bool
    exit_on_denied: int | None
    denied_logs: list[dict[str, Any]]
    committed_after_denied: dict[int, int]
    phase1_offsets: dict[int, int]
    dead_letters: int
    table_after_restart: dict[str, records.Aggregate]
    final: dict[str, records.Aggregate]
    exit_after_restart: int | None


def _iam(port: int, key: dict[str, str] | None = None) -> Any:
    creds = (
        {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        if key
        else {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
    )
    return boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", **creds)


def _user(iam: Any, name: str, policy: dict[str, Any]) -> dict[str, str]:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    key: dict[str, str] = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def _enforce_auth(port: int) -> None:
    """From now on the server authenticates and authorizes every request (moto's reset-auth endpoint)."""
    url = f"http://127.0.0.1:{port}/moto-api/reset-auth"
    request = urllib.request.Request(url, data=b"0", method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    committed = {tp.partition: tp.offset for tp in probe.committed(parts, timeout=10)}
    probe.close()
    return committed


def _count_records(bootstrap: str, topic: str) -> int:
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "probe"})
    total = 0
    for p in range(PARTITIONS if not topic.endswith(".dlq") else 1):
        low, high = probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        total += max(high - low, 0)
    probe.close()
    return total


def _sink(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([*SINK, *args], stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


@pytest.fixture(scope="module")
def outcome(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    tmp = tmp_path_factory.mktemp("sink-auth")
    suffix = leftovers.suffix()
    topic, input_topic, table, group = f"agg_{suffix}", f"in_{suffix}", f"metrics_{suffix}", f"sink_{suffix}"
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    new = [NewTopic(topic, PARTITIONS, 1, config={"cleanup.policy": "compact"}), NewTopic(f"{input_topic}.dlq", 1, 1)]
    for future in admin.create_topics(new).values():
        future.result()
    events = synthetic.events(T0, 6, synthetic.api_names(3), per_minute=10, seed=5)
    versions = synthetic.update_versions(events, steps=2, updated_at=T0)
    random.Random(4).shuffle(versions)
    first, second = versions[: len(versions) // 2], versions[len(versions) // 2 :]
    final = {a.id: a for a in records.latest(versions)}
    phase1 = {a.id: a for a in records.latest(first)}
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap, "acks": "all"})

    def produce(aggs: list[records.Aggregate]) -> None:
        for agg in aggs:
            producer.produce(topic, key=agg.id.encode(), value=orjson.dumps(agg.to_record()))
        assert producer.flush(30) == 0

    moto = MotoServer(tmp / "moto")
    moto.start()
    try:
        setup = _iam(moto.port)
        operator_key = _user(setup, "operator", ALLOW_ALL)
        sink_key = _user(setup, "sink", ALLOW_DYNAMODB)
        _enforce_auth(moto.port)
    except BaseException:  # the server stops however the setup ends
        moto.stop()
        admin.delete_topics([topic, f"{input_topic}.dlq"])
        raise
    iam = _iam(moto.port, operator_key)
    env = {
        **os.environ,
        "LOGPIPELINE_DYNAMODB_PORT": str(moto.port),
        "LOGPIPELINE_AGGREGATES_TOPIC": topic,
        "LOGPIPELINE_INPUT_TOPIC": input_topic,
        "LOGPIPELINE_TABLE": table,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    args = ["--group", group, "--batch-size", "100", "--max-backoff", "1"]

    def with_key(key: dict[str, str]) -> dict[str, str]:
        return {**env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}

    def table_rows() -> dict[str, records.Aggregate]:
        saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ.update({"AWS_ACCESS_KEY_ID": operator_key["AccessKeyId"]})
        os.environ.update({"AWS_SECRET_ACCESS_KEY": operator_key["SecretAccessKey"]})
        try:
            return scan(moto.port, table)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    first_log, second_log = tmp / "sink-1.log", tmp / "sink-2.log"
    sink = _sink([*args, "--http-port", str(free_port())], with_key(sink_key), first_log)
    restarted: subprocess.Popen[bytes] | None = None
    try:
        produce(first)
        phase1_stored = wait_for(lambda: table_rows() == phase1, 120, "the first half", interval=1, fail=False)
        phase1_offsets = _committed(stack.kafka_bootstrap, group, topic)
        iam.delete_access_key(UserName="sink", AccessKeyId=sink_key["AccessKeyId"])  # the key expires
        produce(second)
        exit_on_denied = _wait_exit(sink, 90)
        logs = [orjson.loads(line) for line in first_log.read_bytes().splitlines() if line.startswith(b"{")]
        denied_logs = [line for line in logs if line.get("level") == "error"]
        committed_after = _committed(stack.kafka_bootstrap, group, topic)
        dead_letters = _count_records(stack.kafka_bootstrap, f"{input_topic}.dlq")

        new_key = iam.create_access_key(UserName="sink")["AccessKey"]
        restarted = _sink([*args, "--http-port", str(free_port())], with_key(new_key), second_log)
        wait_for(lambda: table_rows() == final, 120, "every aggregate", interval=1, fail=False)
        table_after = table_rows()
        restarted.send_signal(signal.SIGTERM)
        exit_after = _wait_exit(restarted, 30)
        yield Outcome(
            phase1_stored,
            exit_on_denied,
            denied_logs,
            committed_after,
            phase1_offsets,
            dead_letters,
            table_after,
            final,
            exit_after,
        )
    finally:
        for proc in (sink, restarted):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        moto.stop()
        admin.delete_topics([topic, f"{input_topic}.dlq"])


def test_the_sink_stores_with_valid_credentials(outcome: Outcome) -> None:
    assert outcome.phase1_stored, "the first half never reached the table"


def test_refused_credentials_stop_the_sink_with_one_error_line(outcome: Outcome) -> None:
    assert outcome.exit_on_denied == 1, "the sink must exit non-zero, not keep running"
    [line] = outcome.denied_logs
    assert line["msg"].startswith("the store refused the sink's credentials")
    assert "InvalidClientTokenId" in line["error"] or "UnrecognizedClientException" in line["error"], line


def test_nothing_is_committed_or_dead_lettered_while_refused(outcome: Outcome) -> None:
    assert outcome.committed_after_denied == outcome.phase1_offsets, "records the sink could not store stay unread"
    assert outcome.dead_letters == 0, "a refused write is not the record's fault"


def test_with_new_credentials_every_aggregate_arrives(outcome: Outcome) -> None:
    assert outcome.table_after_restart == outcome.final
    assert outcome.exit_after_restart == 0
