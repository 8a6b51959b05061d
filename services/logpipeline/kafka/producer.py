"""The tuned, idempotent producer and a sender that counts what was queued and what failed.

Settings: ``enable.idempotence`` with ``acks=all`` (no loss, no duplicates on retry), lz4
compression, 10 ms linger and 1 MiB batches (large batches, few requests), and a deep local queue.
Only failed deliveries call back (``delivery.report.only.error``), through one producer-wide callback,
so counting costs nothing on the happy path: delivered = queued - failed once ``flush`` returns, and
acknowledged = queued - failed - still waiting at any time (``BrokerHealth``, behind ``/readyz`` and ``/metrics``).
Plain ``produce`` calls in a loop are cheaper per message than ``produce_batch`` (which needs a dict
per message), so the batch path is a tight loop of them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from logpipeline.kafka import security

MAX_DLQ_MESSAGE_BYTES = 8 << 20
KAFKA_LOG = logging.getLogger("logpipeline.kafka")


def producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "compression.type": "lz4",
        "linger.ms": 10,
        "batch.size": 1 << 20,
        "batch.num.messages": 100_000,
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1 << 20,
        "message.max.bytes": MAX_DLQ_MESSAGE_BYTES + (64 << 10),
        "delivery.report.only.error": True,
        "client.id": "logpipeline",
        "logger": KAFKA_LOG,  # the client's own log lines go through logging (JSON lines in the services)
        **security.client_config(),
    }
    config.update(overrides)
    return config


@dataclass
class Failures:
    """Failed deliveries by (topic, error name); the producer-wide delivery callback. ``queued`` counts every
    message handed to the producer by any of its senders (what was acknowledged follows from it)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    queued: int = 0

    def __call__(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.counts[(msg.topic() or "", err.name())] += 1


def make_producer(bootstrap: str, **overrides: Any) -> tuple[Producer, Failures]:
    failures = Failures()
    return Producer({**producer_config(bootstrap, **overrides), "on_delivery": failures}), failures


@dataclass
class Sender:
    """Produces to one topic of a producer made by ``make_producer``; never drops a message locally."""

    producer: Producer
    failures: Failures
    topic: str
    queued: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def connect(cls, bootstrap: str, topic: str, **overrides: Any) -> Sender:
        producer, failures = make_producer(bootstrap, **overrides)
        return cls(producer, failures, topic)

    def sibling(self, topic: str) -> Sender:
        """A sender to another topic through the same producer (e.g. the dead-letter topic)."""
        return Sender(self.producer, self.failures, topic)

    def send_batch(self, keys: Sequence[str], values: Sequence[bytes]) -> None:
        """Queue a batch, waiting for room whenever the local queue is full."""
        produce, topic = self.producer.produce, self.topic
        for key, value in zip(keys, values, strict=True):
            try:
                produce(topic, value, key)
            except BufferError:
                self.send(key, value)
                self.queued -= 1
                self.failures.queued -= 1
        self.queued += len(values)
        self.failures.queued += len(values)
        self.producer.poll(0)

    def send(self, key: str, value: bytes, headers: list[tuple[str, str | bytes | None]] | None = None) -> None:
        while True:
            try:
                self.producer.produce(self.topic, value, key, headers=headers)
                break
            except BufferError:
                self.producer.poll(0.05)
            except Exception as exc:  # rejected locally (e.g. too large): counted as sent and failed
                self.rejected[type(exc).__name__ + ": " + str(exc)[:80]] += 1
                self.queued += 1
                self.producer.poll(0)
                return
        self.queued += 1
        self.failures.queued += 1
        self.producer.poll(0)

    def flush(self, timeout: float = 60.0) -> int:
        """Wait for every queued message; returns how many are still undelivered (0 = all done)."""
        return int(self.producer.flush(timeout))

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout``), then release the producer's connections."""
        self.producer.flush(timeout)
        self.producer.close()

    @property
    def failed(self) -> Counter[str]:
        out = Counter({name: n for (topic, name), n in self.failures.counts.items() if topic == self.topic})
        return out + self.rejected

    @property
    def delivered(self) -> int:
        return self.queued - sum(self.failed.values())

    def rate(self) -> float:
        return self.queued / max(time.monotonic() - self.started, 1e-9)


class BrokerHealth:
    """Whether the broker acknowledges what a producer sends: ready while nothing waits, or while acknowledgements
    came within ``stall_s``; serves ``/readyz`` and, as a Prometheus collector, the delivery counts."""

    def __init__(self, producer: Producer, failures: Failures, prefix: str, stall_s: float = 10.0) -> None:
        self.producer, self.failures, self.prefix, self.stall_s = producer, failures, prefix, stall_s
        self._acked = 0
        self._progress = time.monotonic()

    def acknowledged(self) -> int:
        """Messages the broker acknowledged: handed over, minus failed, minus still waiting."""
        return max(0, self.failures.queued - sum(self.failures.counts.values()) - len(self.producer))

    def ready(self) -> bool:
        acked, waiting, now = self.acknowledged(), len(self.producer), time.monotonic()
        if acked > self._acked or waiting == 0:
            self._acked, self._progress = acked, now
        return now - self._progress <= self.stall_s

    def collect(self) -> Iterator[Metric]:
        acked = CounterMetricFamily(f"{self.prefix}_acknowledged", "messages the broker acknowledged")
        acked.add_metric([], self.acknowledged())
        failed = CounterMetricFamily(
            f"{self.prefix}_delivery_failures", "messages the broker never acknowledged", labels=["topic", "error"]
        )
        for (topic, error), n in sorted(self.failures.counts.items()):
            failed.add_metric([topic, error], n)
        waiting = GaugeMetricFamily(f"{self.prefix}_in_flight", "messages waiting for the broker's acknowledgement")
        waiting.add_metric([], len(self.producer))
        up = GaugeMetricFamily(f"{self.prefix}_broker_acknowledging", "1 while the broker acknowledges (/readyz)")
        up.add_metric([], 1 if self.ready() else 0)
        return iter([acked, failed, waiting, up])
