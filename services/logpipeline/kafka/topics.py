"""Create or update the pipeline's topics idempotently and say what changed.

Partitions only grow (Kafka cannot shrink them; a smaller request is reported, not applied).
Configs are set with incremental alters, so settings this module does not manage stay as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from logpipeline import contracts
from logpipeline.config import Names
from logpipeline.kafka import security


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)
    replication: int = 1


@dataclass(frozen=True)
class Change:
    topic: str
    action: str  # created | partitions | config | unchanged | refused
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.topic}: {self.action}" + (f" ({self.detail})" if self.detail else "")


def default_topics(
    names: Names, partitions: int = 3, retention_days: float = 7.0, replication: int = 1
) -> list[TopicSpec]:
    """Input and aggregates topics with ``partitions`` and ``retention_days``, the dead-letter and anomalies topics
    with the contract's partitions and retention; every config from ``contracts.topic_configs``."""
    retention = int(retention_days * contracts.DAY_MS)
    return [
        TopicSpec(names.input_topic, partitions, contracts.topic_configs(contracts.INPUT, retention), replication),
        TopicSpec(
            names.aggregates_topic, partitions, contracts.topic_configs(contracts.AGGREGATES, retention), replication
        ),
        TopicSpec(
            names.dlq_topic,
            contracts.PARTITIONS[contracts.DEAD_LETTER],
            contracts.topic_configs(contracts.DEAD_LETTER),
            replication,
        ),
        TopicSpec(
            names.anomalies_topic,
            contracts.PARTITIONS[contracts.ANOMALIES],
            contracts.topic_configs(contracts.ANOMALIES),
            replication,
        ),
    ]


def _current_configs(admin: AdminClient, topic: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    described = admin.describe_configs([resource])[resource].result(timeout=30)
    return {name: entry.value for name, entry in described.items()}


def _normalized(name: str, value: str) -> str:
    return ",".join(sorted(value.split(","))) if name == "cleanup.policy" else value


def ensure(admin: AdminClient, specs: Sequence[TopicSpec], timeout: float = 30.0) -> list[Change]:
    """Bring each topic to its spec; one Change per topic and kind of change."""
    existing = admin.list_topics(timeout=timeout).topics
    changes: list[Change] = []
    for spec in specs:
        if spec.name not in existing:
            new = NewTopic(spec.name, spec.partitions, spec.replication, config=dict(spec.configs))
            admin.create_topics([new], operation_timeout=timeout)[spec.name].result(timeout=timeout)
            detail = ", ".join(f"{k}={v}" for k, v in sorted(spec.configs.items()))
            changes.append(Change(spec.name, "created", f"partitions={spec.partitions}, {detail}"))
            continue
        changes.extend(_update(admin, spec, len(existing[spec.name].partitions), timeout))
    return changes


def _update(admin: AdminClient, spec: TopicSpec, partitions: int, timeout: float) -> list[Change]:
    changes: list[Change] = []
    if spec.partitions > partitions:
        admin.create_partitions([NewPartitions(spec.name, spec.partitions)])[spec.name].result(timeout=timeout)
        changes.append(Change(spec.name, "partitions", f"{partitions} -> {spec.partitions}"))
    elif spec.partitions < partitions:
        changes.append(
            Change(spec.name, "refused", f"has {partitions} partitions; Kafka cannot shrink to {spec.partitions}")
        )
    current = _current_configs(admin, spec.name)
    differing = {k: v for k, v in spec.configs.items() if _normalized(k, current.get(k, "")) != _normalized(k, v)}
    if differing:
        entries = [ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET) for k, v in differing.items()]
        resource = ConfigResource(ConfigResource.Type.TOPIC, spec.name, incremental_configs=entries)
        admin.incremental_alter_configs([resource])[resource].result(timeout=timeout)
        detail = ", ".join(f"{k}: {current.get(k)} -> {v}" for k, v in sorted(differing.items()))
        changes.append(Change(spec.name, "config", detail))
    return changes or [Change(spec.name, "unchanged")]


def create_missing(admin: AdminClient, specs: Sequence[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics of ``specs`` that do not exist (leaving existing ones as they are); the names created."""
    existing = admin.list_topics(timeout=timeout).topics
    wanted = [
        NewTopic(s.name, s.partitions, s.replication, config=dict(s.configs)) for s in specs if s.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=timeout).items():
        try:
            future.result(timeout=timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


class MissingTopics(Exception):
    """The broker is unreachable or a topic is absent (topic auto-creation is off)."""


def require(client: Producer | AdminClient, bootstrap: str, names: Sequence[str], timeout: float = 15.0) -> None:
    """Raise MissingTopics with a one-line cause unless the broker answers and every topic exists."""
    try:
        existing = client.list_topics(timeout=timeout).topics
    except KafkaException as exc:
        raise MissingTopics(f"kafka: cannot reach {bootstrap}: {exc.args[0]}") from None
    missing = [n for n in names if n not in existing]
    if missing:
        raise MissingTopics(
            f"kafka: topic(s) {', '.join(missing)} missing on {bootstrap}; create them with `logpipeline topics ensure`"
        )


def admin_client(bootstrap: str, **overrides: Any) -> AdminClient:
    """An admin client that authenticates as the environment says (``security``); ``overrides`` are added settings."""
    return AdminClient({"bootstrap.servers": bootstrap, **security.client_config(), **overrides})


__all__ = [
    "Change",
    "KafkaException",
    "MissingTopics",
    "TopicSpec",
    "admin_client",
    "create_missing",
    "default_topics",
    "ensure",
    "require",
]
