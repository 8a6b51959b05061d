"""Kafka authentication on the real broker: a SCRAM-SHA-512 user on the local stack's SASL listener is held to its ACLs.

The pipeline's clients authenticate from the environment (``logpipeline.kafka.security``); here a user is created
through the Admin API on the plain listener (the administrators'), given Write on one topic only, and used by the
project's own producer: its writes to that topic arrive, writes to another are refused, a wrong password is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import KafkaException
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
from logpipeline.kafka import topics
from logpipeline.kafka.producer import Sender
from support.wait import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def account(stack: config.Settings) -> Iterator[tuple[str, str, str, str]]:
    """(user, password, allowed topic, other topic)."""
    run = uuid.uuid4().hex[:8]
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
    admin = topics.admin_client(f"{stack.host}:{stack.ports.kafka_sasl}")
    with pytest.raises(KafkaException, match=r"(?i)authentication"):
        admin.list_topics(topic=allowed, timeout=15)
