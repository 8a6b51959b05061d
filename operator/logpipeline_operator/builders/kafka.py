"""Strimzi KafkaTopic resources for the input, aggregates and dead-letter topics (pure)."""

from __future__ import annotations

from collections.abc import Mapping
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


def build_kafka_topic(lp: Body, role: str) -> Manifest:
    spec = spec_of(lp)["kafka"]
    topic: Mapping[str, Any] = spec["topics"][role]
    meta = metadata(lp, resource_name(lp, role), COMPONENT, {"strimzi.io/cluster": spec["clusterName"]})
    meta["labels"]["logpipeline.io/topic-role"] = role.lower()
    return {
        "apiVersion": API_VERSION,
        "kind": "KafkaTopic",
        "metadata": meta,
        "spec": {
            "topicName": topic["name"],
            "partitions": int(topic["partitions"]),
            "replicas": int(topic["replicas"]),
            # The same configs as the local stack's ``topics ensure``, numbers as numbers.
            "config": {
                key: int(value) if value.isdigit() else value
                for key, value in contracts.topic_configs(role, int(topic["retentionMs"])).items()
            },
        },
    }


def build_kafka_topics(lp: Body) -> list[Manifest]:
    return [build_kafka_topic(lp, role) for role in ROLES]


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
