"""``kafka.topicManagement: operator`` on the real broker: the operator creates, grows and repairs the topics itself.

The operator's topic module (what its handlers call) against the local stack's Kafka: topics appear with the
contract's configs, partitions grow and never shrink (a decrease is refused with a message naming the field), a
config changed by hand is set back, a deleted topic comes back, and an unreachable broker is one clear error.
"""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource  # type: ignore[attr-defined]

from logpipeline import config, contracts
from logpipeline_operator import topics
from logpipeline_operator.builders import kafka, plan
from support.crd import logpipeline
from support.wait import wait_for


def _lp(unique: str, bootstrap: str, input_partitions: int = 2) -> dict[str, Any]:
    return logpipeline(
        {
            "kafka": {
                "topicManagement": "operator",
                "authentication": "none",
                "bootstrapServers": bootstrap,
                "topics": {
                    "input": {"name": f"in-{unique}", "partitions": input_partitions},
                    "aggregates": {"name": f"agg-{unique}"},
                    "deadLetter": {"name": f"in-{unique}.dlq"},
                },
            }
        }
    )


def _configs(admin: AdminClient, topic: str) -> dict[str, str]:
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return {k: v.value for k, v in admin.describe_configs([resource])[resource].result(timeout=30).items()}


def test_no_kafka_topic_resources_and_the_topics_appear_on_the_broker(stack: config.Settings, unique: str) -> None:
    lp = _lp(unique, stack.kafka_bootstrap)
    assert [c for c in plan.build_children(lp) if c["kind"] in ("KafkaTopic", "KafkaUser")] == []
    report = topics.ensure(stack.kafka_bootstrap, kafka.operator_topics(lp)).topics
    by_role = {t["role"]: t for t in report}
    assert set(by_role) == set(contracts.TOPIC_ROLES)
    assert by_role[contracts.INPUT]["partitions"] == 2 and by_role[contracts.INPUT]["lastChange"].startswith("created")
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    aggregates = _configs(admin, f"agg-{unique}")
    assert aggregates["cleanup.policy"] in ("compact,delete", "delete,compact")
    dead = _configs(admin, f"in-{unique}.dlq")
    wanted = contracts.topic_configs(contracts.DEAD_LETTER)
    assert dead["max.message.bytes"] == wanted["max.message.bytes"]
    again = topics.ensure(stack.kafka_bootstrap, kafka.operator_topics(lp))
    assert {t["lastChange"] for t in again.topics} == {"unchanged"}
    assert again.refusals == []


def test_partitions_grow_never_shrink_and_drift_is_repaired(stack: config.Settings, unique: str) -> None:
    bootstrap = stack.kafka_bootstrap
    topics.ensure(bootstrap, kafka.operator_topics(_lp(unique, bootstrap, 2)))
    grown = {t["role"]: t for t in topics.ensure(bootstrap, kafka.operator_topics(_lp(unique, bootstrap, 4))).topics}
    assert grown[contracts.INPUT]["partitions"] == 4
    assert grown[contracts.INPUT]["lastChange"] == "partitions (2 -> 4)"
    shrink = topics.ensure(bootstrap, kafka.operator_topics(_lp(unique, bootstrap, 3)))
    assert {t["role"]: t["partitions"] for t in shrink.topics}[contracts.INPUT] == 4
    (refusal,) = shrink.refusals
    assert refusal.startswith(f"kafka.topics.input.partitions: topic in-{unique} has 4 partitions")
    # A topic deleted and a config changed behind the operator's back: the next reconcile puts both back.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    entry = ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, f"in-{unique}", incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)
    admin.delete_topics([f"agg-{unique}"])[f"agg-{unique}"].result(timeout=30)
    wait_for(lambda: f"agg-{unique}" not in admin.list_topics(timeout=10).topics, 30, "the topic to go")
    repaired = {t["role"]: t for t in topics.ensure(bootstrap, kafka.operator_topics(_lp(unique, bootstrap, 4))).topics}
    assert repaired[contracts.AGGREGATES]["lastChange"].startswith("created")
    assert repaired[contracts.AGGREGATES]["partitions"] > 0
    assert repaired[contracts.INPUT]["lastChange"].startswith("config (retention.ms: 1000 -> ")
    assert _configs(admin, f"in-{unique}")["retention.ms"] != "1000"


def test_an_unreachable_broker_is_one_clear_error() -> None:
    lp = _lp("unreachable", "127.0.0.1:1")
    with pytest.raises(topics.Unreachable, match=r"kafka at 127\.0\.0\.1:1"):
        topics.ensure("127.0.0.1:1", kafka.operator_topics(lp))
