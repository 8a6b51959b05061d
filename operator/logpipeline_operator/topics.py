"""The pipeline's topics kept by the operator itself (``kafka.topicManagement: operator``) through Kafka's Admin API.

The same contract as the local stack's ``topics ensure`` (:mod:`logpipeline.kafka.topics`): missing topics are
created with the contract's configs, partitions only grow (a smaller count is refused and reported), configs the
contract names are set incrementally. :func:`ensure` returns what the broker has afterwards, one entry per role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from logpipeline.kafka import topics

TIMEOUT_S = 15.0


class Unreachable(Exception):
    """The broker did not answer or refused an admin call; the message names the bootstrap servers."""


def ensure(bootstrap: str, wanted: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Bring each topic to its spec; ``[{role, name, partitions, lastChange}]`` as the broker then reports them."""
    specs = [topics.TopicSpec(t["name"], int(t["partitions"]), dict(t["configs"]), int(t["replicas"])) for t in wanted]
    admin = topics.admin_client(bootstrap, **{"socket.timeout.ms": int(TIMEOUT_S * 1000)})
    try:
        changes = topics.ensure(admin, specs, timeout=TIMEOUT_S)
        partitions = {name: len(meta.partitions) for name, meta in admin.list_topics(timeout=TIMEOUT_S).topics.items()}
    except topics.KafkaException as exc:
        raise Unreachable(f"kafka at {bootstrap}: {exc.args[0]}") from None
    done: dict[str, list[str]] = {}
    for change in changes:
        done.setdefault(change.topic, []).append(f"{change.action}" + (f" ({change.detail})" if change.detail else ""))
    return [
        {
            "role": t["role"],
            "name": t["name"],
            "partitions": partitions.get(t["name"], 0),
            "lastChange": "; ".join(done.get(t["name"], ["unchanged"])),
        }
        for t in wanted
    ]


def refusals(report: Sequence[Mapping[str, Any]]) -> list[str]:
    """The changes Kafka cannot make (a partition decrease), one message per topic."""
    return [
        f"kafka.topics.{t['role']}.partitions: topic {t['name']} {t['lastChange'].split('refused (', 1)[1].split(')')[0]}"
        for t in report
        if "refused (" in t["lastChange"]
    ]
