"""Kafka authentication on the real broker: a SCRAM-SHA-512 user on the local stack's SASL listener is held to its ACLs.

The pipeline's clients authenticate from the environment (``logpipeline.kafka.security``); here users are created
through the Admin API on the plain listener (the administrators'). One with Write on one topic only is used by the
project's own producer: its writes to that topic arrive, writes to another are refused, a wrong password is refused.
Another gets exactly the ACLs the operator gives a pipeline's Spark job (``builders.kafka.user_acls``, as Strimzi
would create them) and runs the real streaming job through the SASL listener: every event is counted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from logpipeline import config, contracts
from logpipeline.events import codec
from logpipeline.kafka import topics
from logpipeline.kafka.producer import Sender
from logpipeline_operator.builders import kafka
from support import crd, leftovers
from support.spark_job import JobProcess, LatestAggregates, committed_records, create_topics, job_args, produce
from support.wait import wait_for

APIS = ("/api/a", "/api/b", "/api/c")


def traffic_event(i: int) -> dict[str, Any]:
    """A valid event of the last minutes (the job's watermark keeps them)."""
    now = int(time.time() * 1000)
    return {
        "id": f"auth-{i}",
        "timestamp": now - (i % 120) * 1000,
        "timestamp_human": "",
        "api": APIS[i % len(APIS)],
        "ip_address": "10.0.0.1",
        "response_time": float(10 + i % 50),
        "status_code": 200 if i % 10 else 500,
        "response_code": "OK" if i % 10 else "ERR",
        "log_level": "SUCCESS" if i % 10 else "ERROR",
    }


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def account(stack: config.Settings) -> Iterator[tuple[str, str, str, str]]:
    """(user, password, allowed topic, other topic)."""
    run = leftovers.suffix()
    user, password = f"client-{run}", f'pw-{run}-"quoted"'
    allowed, other = f"auth_ok_{run}", f"auth_no_{run}"
    admin = topics.admin_client(stack.kafka_bootstrap)
    for name in (allowed, other):
        topics.create_missing(admin, [topics.TopicSpec(name, 1)])
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    for future in admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode())]
    ).values():
        future.result(timeout=30)
    principal = f"User:{user}"
    acls = [
        AclBinding(
            ResourceType.TOPIC, allowed, ResourcePatternType.LITERAL, principal, "*", op, AclPermissionType.ALLOW
        )
        for op in (AclOperation.WRITE, AclOperation.DESCRIBE)
    ]
    for future in admin.create_acls(acls).values():
        future.result(timeout=30)
    yield user, password, allowed, other
    admin.delete_topics([allowed, other])


def _user(admin: Any, user: str, password: str, acls: list[AclBinding]) -> None:
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    for future in admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, password.encode())]
    ).values():
        future.result(timeout=30)
    for future in admin.create_acls(acls).values():
        future.result(timeout=30)


def _sasl(monkeypatch: pytest.MonkeyPatch, user: str, password: str) -> None:
    monkeypatch.setenv(contracts.ENV_KAFKA_SECURITY_PROTOCOL, "SASL_PLAINTEXT")
    monkeypatch.setenv(contracts.ENV_KAFKA_SASL_MECHANISM, contracts.SCRAM)
    monkeypatch.setenv(contracts.ENV_KAFKA_USERNAME, user)
    monkeypatch.setenv(contracts.ENV_KAFKA_PASSWORD, password)


def test_a_scram_user_writes_where_its_acls_allow_and_nowhere_else(
    stack: config.Settings, account: tuple[str, str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, password, allowed, other = account
    _sasl(monkeypatch, user, password)
    bootstrap = f"{stack.host}:{stack.ports.kafka_sasl}"

    def delivered() -> bool:  # the broker learns new credentials and ACLs within moments
        sender = Sender.connect(bootstrap, allowed)
        try:
            sender.send("k", b"v")
            return sender.flush(15) == 0 and not sender.failed
        finally:
            sender.close(5)

    wait_for(delivered, 60, f"a write by {user} to {allowed}")
    sender = Sender.connect(bootstrap, other)
    try:
        sender.send("k", b"v")
        sender.flush(30)
        assert set(sender.failed) == {"TOPIC_AUTHORIZATION_FAILED"}, sender.failed
    finally:
        sender.close(5)


def test_a_wrong_password_is_refused(
    stack: config.Settings, account: tuple[str, str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _password, allowed, _other = account
    _sasl(monkeypatch, user, "not-the-password")
    errors: list[KafkaError] = []
    admin = topics.admin_client(
        f"{stack.host}:{stack.ports.kafka_sasl}", error_cb=errors.append, logger=logging.getLogger("kafka-auth-test")
    )
    with pytest.raises(KafkaException):
        admin.list_topics(topic=allowed, timeout=10)
    wait_for(lambda: admin.poll(0.5) is not None and any(e.code() == KafkaError._AUTHENTICATION for e in errors),
             30, "the broker's authentication error")  # fmt: skip


def _strimzi_acls(user: str, acls: list[dict[str, Any]]) -> list[AclBinding]:
    """A KafkaUser's ``spec.authorization.acls`` as the ACL bindings Strimzi's user operator creates."""
    return [
        AclBinding(
            {
                "topic": ResourceType.TOPIC,
                "group": ResourceType.GROUP,
                "transactionalId": ResourceType.TRANSACTIONAL_ID,
            }[acl["resource"]["type"]],
            acl["resource"]["name"],
            ResourcePatternType[{"literal": "LITERAL", "prefix": "PREFIXED"}[acl["resource"]["patternType"]]],
            f"User:{user}",
            "*",
            AclOperation[operation.upper()],
            AclPermissionType.ALLOW,
        )
        for acl in acls
        for operation in acl["operations"]
    ]


def test_the_streaming_job_runs_as_the_operators_spark_user(stack: config.Settings, tmp_path: Path) -> None:
    run = leftovers.suffix()
    names = config.Names(input_topic=f"in_{run}", aggregates_topic=f"agg_{run}", table=f"t_{run}", pipeline=f"p{run}")
    create_topics(stack, names)
    topic_spec = {
        "input": {"name": names.input_topic},
        "aggregates": {"name": names.aggregates_topic},
        "deadLetter": {"name": names.dlq_topic},
    }
    lp = crd.logpipeline({"kafka": {"topics": topic_spec}}, name=f"p{run}")
    user, password = kafka.user_name(lp, "spark"), f"pw-{run}"
    admin = topics.admin_client(stack.kafka_bootstrap)
    _user(admin, user, password, _strimzi_acls(user, kafka.user_acls(lp)["spark"]))
    events = [traffic_event(i) for i in range(300)]
    produce(stack.kafka_bootstrap, names.input_topic, ((e["api"], codec.encode(e)) for e in events))
    produce(stack.kafka_bootstrap, names.input_topic, [("bad", b"not json")])
    env = {
        contracts.ENV_KAFKA_SECURITY_PROTOCOL: "SASL_PLAINTEXT",
        contracts.ENV_KAFKA_SASL_MECHANISM: contracts.SCRAM,
        contracts.ENV_KAFKA_USERNAME: user,
        contracts.ENV_KAFKA_PASSWORD: password,
    }
    sasl = replace(stack, kafka_bootstrap_url=f"{stack.host}:{stack.ports.kafka_sasl}")
    args = job_args(sasl, names, f"file://{tmp_path}/archive", queries="aggregates,dead_letters")
    aggs = LatestAggregates(stack.kafka_bootstrap, names.aggregates_topic)
    job = JobProcess(args, tmp_path / "job.log", env).start()
    try:
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) >= len(events), 300, job)
        assert sum(v["log_count"] for v in aggs.latest.values()) == len(events)
        dead = committed_records(stack.kafka_bootstrap, names.dlq_topic, 1)
        assert [value for value, _ in dead] == [b"not json"], "sent once, in a transaction its ACLs allow"
    finally:
        aggs.close()
        job.terminate()
    log = (tmp_path / "job.log").read_text()
    assert "TOPIC_AUTHORIZATION_FAILED" not in log and "GROUP_AUTHORIZATION_FAILED" not in log
    assert "TRANSACTIONAL_ID_AUTHORIZATION_FAILED" not in log
