"""Strimzi KafkaTopic resources for the input, aggregates and dead-letter topics, and the KafkaUsers of the
components that use them, each allowed its own topics and consumer group only (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from logpipeline import contracts
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of

API_VERSION = "kafka.strimzi.io/v1"
ROLES = contracts.TOPIC_ROLES
COMPONENT = "kafka-topics"


def resource_name(lp: Body, role: str) -> str:
    """The KafkaTopic's name, from the topic's role (not its Kafka name: names that differ only in ``.`` and ``_``, or
    are longer than a resource name may be, would collide or be refused)."""
    return child_name(lp, "topic-" + role.lower())


def operator_managed(lp: Body) -> bool:
    """``kafka.topicManagement: operator``: the operator keeps the topics itself through Kafka's Admin API."""
    return bool(spec_of(lp)["kafka"].get("topicManagement", "strimzi") == "operator")


def topic_spec(lp: Body, role: str) -> dict[str, Any]:
    """One topic as the spec wants it: role, Kafka name, partitions, replicas and the contract's configs (strings),
    the same as the local stack's ``topics ensure``."""
    topic: Mapping[str, Any] = spec_of(lp)["kafka"]["topics"][role]
    return {
        "role": role,
        "name": topic["name"],
        "partitions": int(topic["partitions"]),
        "replicas": int(topic["replicas"]),
        "configs": contracts.topic_configs(role, int(topic["retentionMs"])),
    }


def operator_topics(lp: Body) -> list[dict[str, Any]]:
    """The topics the operator creates and updates itself (none when Strimzi does)."""
    return [topic_spec(lp, role) for role in ROLES] if operator_managed(lp) else []


def build_kafka_topic(lp: Body, role: str) -> Manifest:
    topic = topic_spec(lp, role)
    meta = metadata(lp, resource_name(lp, role), COMPONENT, {"strimzi.io/cluster": spec_of(lp)["kafka"]["clusterName"]})
    meta["labels"]["logpipeline.io/topic-role"] = role.lower()
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaTopic",
        "metadata": meta,
        "spec": {
            "topicName": topic["name"],
            "partitions": topic["partitions"],
            "replicas": topic["replicas"],
            # Numbers as numbers.
            "config": {key: int(value) if value.isdigit() else value for key, value in topic["configs"].items()},
        },
    }


def build_kafka_topics(lp: Body) -> list[Manifest]:
    """Strimzi KafkaTopics, unless the operator manages the topics itself."""
    return [] if operator_managed(lp) else [build_kafka_topic(lp, role) for role in ROLES]


def released(
    pruned: Iterable[Mapping[str, Any]], desired: Iterable[Mapping[str, Any]], managed: Iterable[str] = ()
) -> list[Manifest]:
    """Before a KafkaTopic is pruned while the spec still names its Kafka topic (another resource names it, as when
    topic resources came to be named by role, or the operator now manages the topics itself: ``managed``): the patch
    that makes Strimzi let go of the topic (``strimzi.io/managed: "false"``), so deleting the old resource leaves
    the topic and its records in Kafka."""
    kept = {obj["spec"]["topicName"] for obj in desired if obj["kind"] == "KafkaTopic"} | set(managed)
    return [
        {
            "apiVersion": obj["apiVersion"],
            "kind": "KafkaTopic",
            "metadata": {
                "name": obj["metadata"]["name"],
                "namespace": obj["metadata"]["namespace"],
                "annotations": {"strimzi.io/managed": "false"},
            },
        }
        for obj in pruned
        if obj["kind"] == "KafkaTopic" and (obj.get("spec") or {}).get("topicName") in kept
    ]


def scram(lp: Body) -> bool:
    return bool(spec_of(lp)["kafka"]["authentication"] == "scram-sha-512")


def user_name(lp: Body, component: str) -> str:
    """The KafkaUser (and the Secret Strimzi keeps its password in) of one component."""
    return child_name(lp, f"kafka-{component}")


def sink_group(lp: Body) -> str:
    """The sink's consumer group: one per pipeline, so pipelines sharing a Kafka cluster never share a group."""
    return child_name(lp, "sink")


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> Manifest:
    return {"resource": {"type": kind, "name": name, "patternType": pattern}, "operations": operations}


def user_acls(lp: Body) -> dict[str, list[Manifest]]:
    """Component -> its ACLs: read what it consumes, write what it produces, its own consumer group."""
    spec = spec_of(lp)
    topics = {role: spec["kafka"]["topics"][role]["name"] for role in ROLES}
    read, write = ["Read", "Describe"], ["Write", "Describe"]
    users = {
        # The streaming job reads the input through consumer groups named after its user (``groupIdPrefix``).
        "spark": [
            _acl("topic", topics[contracts.INPUT], read),
            _acl("topic", topics[contracts.AGGREGATES], write),
            _acl("topic", topics[contracts.DEAD_LETTER], write),
            _acl("group", user_name(lp, "spark"), ["Read"], "prefix"),
            # Dead letters go out in transactions whose id starts with the user's name (``route.delivery_id``).
            _acl("transactionalId", user_name(lp, "spark"), ["Write", "Describe"], "prefix"),
        ],
        "sink": [
            _acl("topic", topics[contracts.AGGREGATES], read),
            _acl("topic", topics[contracts.DEAD_LETTER], write),
            _acl("group", sink_group(lp), ["Read"]),
        ],
    }
    # The live tail reads the input from its end, with a group id that starts with the user's name and never joins.
    users["dashboard"] = [
        _acl("topic", topics[contracts.INPUT], read),
        _acl("group", user_name(lp, "dashboard"), ["Read"], "prefix"),
    ]
    if spec["generator"]["enabled"]:
        users["generator"] = [_acl("topic", topics[contracts.INPUT], write)]
    if spec["correction"]["enabled"] and spec["archive"]["enabled"]:
        users["correction"] = [_acl("topic", topics[contracts.AGGREGATES], write)]
    if spec["anomalies"]["enabled"]:
        users["anomalies"] = [_acl("topic", topics[contracts.ANOMALIES], write)]
    return users


def build_kafka_users(lp: Body) -> list[Manifest]:
    if not scram(lp):
        return []
    cluster = {"strimzi.io/cluster": spec_of(lp)["kafka"]["clusterName"]}
    return [
        {
            "apiVersion": API_VERSION,
            "kind": "KafkaUser",
            "metadata": metadata(lp, user_name(lp, component), COMPONENT, cluster),
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": acls},
            },
        }
        for component, acls in user_acls(lp).items()
    ]


def client_env(lp: Body, component: str, optional: bool = False) -> list[Manifest]:
    """A Kafka client's user name and password (from the Secret Strimzi writes for its KafkaUser); ``optional``: the
    pod starts before the Secret exists (the dashboard, which needs Kafka only for its live tail)."""
    if not scram(lp):
        return []
    ref: Manifest = {"name": user_name(lp, component), "key": "password"}
    if optional:
        ref["optional"] = True
    return [
        {"name": contracts.ENV_KAFKA_USERNAME, "value": user_name(lp, component)},
        {"name": contracts.ENV_KAFKA_PASSWORD, "valueFrom": {"secretKeyRef": ref}},
    ]


def refuse_partition_decreases(
    lp: Body, desired: list[Manifest], observed_partitions: Mapping[str, int]
) -> tuple[list[Manifest], list[str]]:
    """Keep a topic's current partition count where the spec asks for fewer; say why for each.

    ``observed_partitions`` maps KafkaTopic resource names to their current ``spec.partitions``.
    """
    roles = {resource_name(lp, role): role for role in ROLES}
    out: list[Manifest] = []
    refusals: list[str] = []
    for obj in desired:
        name = obj["metadata"]["name"]
        current = observed_partitions.get(name)
        if obj["kind"] == "KafkaTopic" and current is not None and obj["spec"]["partitions"] < current:
            wanted = obj["spec"]["partitions"]
            refusals.append(
                f"spec.kafka.topics.{roles.get(name, name)}.partitions: {wanted} is lower than the "
                f"{current} partitions of topic {obj['spec']['topicName']}; Kafka cannot remove partitions, "
                f"keeping {current}"
            )
            obj = {**obj, "spec": {**obj["spec"], "partitions": current}}
        out.append(obj)
    return out, refusals
