"""The contracts are the one definition: the local stack, the CRD's defaults and the operator's children agree."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from logpipeline import config, contracts
from logpipeline.kafka import topics
from logpipeline_operator.builders import config as config_builder
from logpipeline_operator.builders import kafka
from support import crd

ROOT = Path(__file__).resolve().parents[2]


def pipeline() -> dict[str, Any]:
    return crd.logpipeline()


def test_operator_kafka_topics_have_the_local_stacks_configs() -> None:
    local = {spec.name: spec for spec in topics.default_topics(config.Names())}
    children = {obj["spec"]["topicName"]: obj["spec"] for obj in kafka.build_kafka_topics(pipeline())}
    assert (
        set(children)
        == set(local)
        == {"logging_info", "agg_logging_info", "logging_info.dlq", "anomalies_logging_info"}
    )
    for name, spec in local.items():
        assert {k: str(v) for k, v in children[name]["config"].items()} == spec.configs, name
        assert children[name]["partitions"] == spec.partitions, name
    assert local["agg_logging_info"].configs["cleanup.policy"] == "compact,delete"
    assert local["logging_info.dlq"].configs["max.message.bytes"] == str(8 << 20)


def test_crd_defaults_are_the_contracts() -> None:
    spec = pipeline()["spec"]
    for role in contracts.TOPIC_ROLES:
        topic = spec["kafka"]["topics"][role]
        assert topic["partitions"] == contracts.PARTITIONS[role], role
        assert topic["retentionMs"] == contracts.RETENTION_MS[role], role
    assert spec["kafka"]["topics"][contracts.INPUT]["name"] == contracts.INPUT_TOPIC
    assert spec["kafka"]["topics"][contracts.AGGREGATES]["name"] == contracts.AGGREGATES_TOPIC
    assert spec["kafka"]["topics"][contracts.DEAD_LETTER]["name"] == contracts.dlq_topic(contracts.INPUT_TOPIC)
    assert spec["metricsStore"]["table"] == contracts.TABLE
    assert spec["metricsStore"]["ttlDays"] == contracts.TTL_DAYS


def _read_env_names() -> set[str]:
    """Every LOGPIPELINE_* name the services and Spark jobs read (string constants in their source)."""
    names: set[str] = set()
    for root in (ROOT / "services/logpipeline", ROOT / "spark-apps/logpipeline_spark"):
        for path in root.rglob("*.py"):
            if path.name == "contracts.py":
                continue  # defining a name is not reading it
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isupper():
                    names.add(node.value)
                elif isinstance(node, ast.Attribute) and node.attr.startswith("ENV_"):
                    names.add(getattr(contracts, node.attr))
    return names


def test_every_config_map_entry_is_read_by_some_part() -> None:
    data = config_builder.build_config_map(pipeline())["data"]
    read = _read_env_names()
    unread = sorted(key for key in data if key.startswith("LOGPIPELINE_") and key not in read)
    assert not unread, f"the operator sets {unread}, which nothing reads"
    # Besides the project's own names, only variables the software it runs reads itself (boto3, Hadoop's client).
    read_by_libraries = {"AWS_REGION", "AWS_DEFAULT_REGION", "HADOOP_USER_NAME"}
    assert set(data) - read_by_libraries <= {v for k, v in vars(contracts).items() if k.startswith("ENV_")}
