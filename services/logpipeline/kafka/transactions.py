"""Exactly-once delivery of a stream's per-batch output to a Kafka topic.

A batch's records and the input positions it covers are committed in one Kafka transaction. The positions are
committed the way a Kafka read-process-write loop commits them: as the offsets of a consumer group on the input
topic. A batch replayed after a crash (a Spark micro-batch that ran but was not yet committed to its checkpoint) is
recognised by its end positions, which the group already holds, and is not sent again; a batch whose transaction
never committed left nothing a ``read_committed`` reader sees. The group's lag shows how far delivery trails the
input. ``init_transactions`` fences an earlier instance of the same ``transactional.id`` (a job that was killed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from logpipeline.kafka import security
from logpipeline.kafka.producer import producer_config

log = logging.getLogger("logpipeline.kafka")

# (topic, partition) -> the offset after the last record of the batch there
Positions = Mapping[tuple[str, int], int]
Record = tuple[bytes | None, bytes | None, list[tuple[str, str | bytes | None]]]
ATTEMPTS = 5


class BatchDelivery:
    """Delivers each batch's records to ``topic`` in one transaction with the batch's input positions."""

    def __init__(self, bootstrap: str, topic: str, transactional_id: str, timeout_s: float = 60.0) -> None:
        self.topic = topic
        self.timeout_s = timeout_s
        self.producer = Producer(
            producer_config(
                bootstrap,
                **{"transactional.id": transactional_id, "transaction.timeout.ms": int(timeout_s * 1000)},
            )
        )
        # The group holds the delivered positions; it never subscribes or polls.
        self.positions = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": transactional_id,
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                **security.client_config(),
            }
        )
        self.producer.init_transactions(timeout_s)

    def delivered(self, ends: Positions) -> bool:
        """True when a transaction already committed these end positions (or later ones): the batch was delivered."""
        if not ends:
            return True
        wanted = [TopicPartition(topic, partition) for topic, partition in sorted(ends)]
        committed = self.positions.committed(wanted, timeout=self.timeout_s)
        return all(tp.offset >= ends[(tp.topic, tp.partition)] for tp in committed)

    def deliver(self, records: Sequence[Record], ends: Positions) -> None:
        """Send ``records`` and commit ``ends`` in one transaction; retried while Kafka says the error is transient.
        Raises ``KafkaException`` when it cannot commit (nothing of this batch is then visible)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._transaction(records, ends)
                return
            except KafkaException as exc:
                error = exc.args[0]
                abortable = error.txn_requires_abort()
                log.warning(
                    "transaction failed",
                    extra={"fields": {"topic": self.topic, "attempt": attempt, "error": str(error)}},
                )
                if abortable:
                    self.producer.abort_transaction(self.timeout_s)
                if attempt == ATTEMPTS or not (abortable or error.retriable()):
                    raise

    def _transaction(self, records: Sequence[Record], ends: Positions) -> None:
        p = self.producer
        p.begin_transaction()
        for key, value, headers in records:
            while True:
                try:
                    p.produce(self.topic, value, key, headers=headers)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    p.poll(0.1)
        offsets = [TopicPartition(t, part, offset) for (t, part), offset in sorted(ends.items())]
        p.send_offsets_to_transaction(offsets, self.positions.consumer_group_metadata(), self.timeout_s)
        p.commit_transaction(self.timeout_s)

    def close(self) -> None:
        self.producer.flush(self.timeout_s)
        self.positions.close()


def describe(ends: Positions) -> dict[str, Any]:
    """Positions as log fields: ``{"topic:partition": offset}``."""
    return {f"{t}:{p}": o for (t, p), o in sorted(ends.items())}
