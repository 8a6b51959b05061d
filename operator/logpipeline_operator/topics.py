"""The pipeline's topics kept by the operator itself (``kafka.topicManagement: operator``) through Kafka's Admin API.

The same contract as the local stack's ``topics ensure`` (:mod:`logpipeline.kafka.topics`): missing topics are
created with the contract's configs, partitions only grow (a smaller count is refused and reported), configs the
contract names are set incrementally. :func:`ensure` returns what the broker has afterwards, one entry per role.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from logpipeline.kafka import topics

TIMEOUT_S = 15.0


class Unreachable(Exception):
    """The broker did not answer or refused an admin call; the message names the bootstrap servers."""


@dataclass(frozen=True)
class Report:
    """What the broker has after :func:`ensure` (``[{role, name, partitions, lastChange}]``, the status's
    ``topics``) and the changes Kafka cannot make (a partition decrease), one message per topic naming the field."""

    topics: list[dict[str, Any]]
    refusals: list[str]


def _partitions(admin: Any, names: Sequence[str]) -> dict[str, int]:
    """Each topic's partition count from the broker's metadata, waiting briefly for topics just created to appear."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        listed = admin.list_topics(timeout=TIMEOUT_S).topics
        counts = {name: len(meta.partitions) for name, meta in listed.items() if not meta.error}
        if all(counts.get(name) for name in names) or time.monotonic() >= deadline:
            return counts
        time.sleep(0.2)


def ensure(bootstrap: str, wanted: Sequence[Mapping[str, Any]]) -> Report:
    """Bring each topic to its spec and report what the broker then has."""
    specs = [topics.TopicSpec(t["name"], int(t["partitions"]), dict(t["configs"]), int(t["replicas"])) for t in wanted]
    admin = topics.admin_client(bootstrap, **{"socket.timeout.ms": int(TIMEOUT_S * 1000)})
    try:
        changes = topics.ensure(admin, specs, timeout=TIMEOUT_S)
        partitions = _partitions(admin, [t["name"] for t in wanted])
    except topics.KafkaException as exc:
        raise Unreachable(f"kafka at {bootstrap}: {exc.args[0]}") from None
    done: dict[str, list[str]] = {}
    for change in changes:
        done.setdefault(change.topic, []).append(f"{change.action}" + (f" ({change.detail})" if change.detail else ""))
    roles = {t["name"]: t["role"] for t in wanted}
    return Report(
        topics=[
            {
                "role": t["role"],
                "name": t["name"],
                "partitions": partitions.get(t["name"], 0),
                "lastChange": "; ".join(done.get(t["name"], ["unchanged"])),
            }
            for t in wanted
        ],
        refusals=[
            f"kafka.topics.{roles[c.topic]}.partitions: topic {c.topic} {c.detail}"
            for c in changes
            if c.action == "refused"
        ],
    )
