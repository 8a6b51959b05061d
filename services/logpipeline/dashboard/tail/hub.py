"""One Kafka consumer per dashboard worker, shared by that worker's open tails; started by the first tail and
closed when the last one ends, so a dashboard nobody tails reads nothing.

The consumer is assigned every partition of the input topic at its end offset (read from the broker when the first
tail opens, so a tail sees every record written after it is ``ready``). It never joins a consumer group nor commits
(its ``group.id`` names the dashboard and the process, never a group of the pipeline), so the pipeline's own readers
are never rebalanced or slowed. Each record is parsed once (``filters.line_of``) and offered to every tail.
At most ``max_tails`` tails per worker: one more raises ``Busy``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from logpipeline.dashboard import telemetry
from logpipeline.dashboard.tail.filters import Filter, Line, line_of
from logpipeline.dashboard.tail.subscription import Subscription
from logpipeline.kafka import security

log = logging.getLogger("logpipeline.dashboard.tail")
BATCH = 2_000
POLL_S = 0.1
REFRESH_S = 30.0  # how often the topic's partitions are listed again


class Busy(RuntimeError):
    """The worker already serves its most tails."""


def consumer_config(bootstrap: str, group_prefix: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": f"{group_prefix}-{socket.gethostname()}-{os.getpid()}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": False,
        "fetch.wait.max.ms": 100,
        "queued.max.messages.kbytes": 16_384,
        "client.id": "logpipeline-dashboard-tail",
        **security.client_config(),
    }


class Hub:
    def __init__(self, topic: str, config: dict[str, Any], max_tails: int, per_second: float,
                 make: Callable[[dict[str, Any]], Any] = Consumer) -> None:  # fmt: skip
        self.topic, self.config, self.max_tails, self.per_second = topic, config, max_tails, per_second
        self.make = make
        self.lock = threading.Lock()
        self.tails: tuple[Subscription, ...] = ()
        self.thread: threading.Thread | None = None
        self._positioned = False  # the consumer reads from the newest offsets

    def subscribe(self, flt: Filter) -> Subscription:
        with self.lock:
            if len(self.tails) >= self.max_tails:
                telemetry.TAILS_REFUSED.inc()
                raise Busy(
                    f"this dashboard worker already serves {self.max_tails} live tails (its limit); close another "
                    "tail or try again shortly"
                )
            sub = Subscription(flt, self.per_second)
            self.tails = (*self.tails, sub)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="live-tail", daemon=True)
                self.thread.start()
            elif self._positioned:
                sub.ready.set()
        telemetry.TAILS_OPEN.inc()
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self.lock:
            if sub in self.tails:
                self.tails = tuple(t for t in self.tails if t is not sub)
                telemetry.TAILS_OPEN.dec()

    def _assign(self, consumer: Any, known: set[int]) -> None:
        """Every partition not assigned yet: at its end when the hub starts, from its beginning when it appears
        later (a partition added to the topic holds only records newer than the tails)."""
        meta = consumer.list_topics(self.topic, timeout=10)
        topic = meta.topics.get(self.topic)
        if topic is None or topic.error is not None:
            raise RuntimeError(f"topic {self.topic}: {topic.error if topic else 'not found'}")
        new = sorted(set(topic.partitions) - known)
        if not new:
            return
        if known:
            where = [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in new]
        else:
            where = [TopicPartition(self.topic, p, consumer.get_watermark_offsets(
                TopicPartition(self.topic, p), timeout=10)[1]) for p in new]  # fmt: skip
        consumer.incremental_assign(where)
        known.update(new)

    def _tell(self, problem: str | None) -> None:
        for sub in self.tails:
            sub.problem = problem
            sub.wake.set()

    def _run(self) -> None:
        try:
            self._read()
        except Exception:
            log.exception("live tail: the reader failed")
            telemetry.TAIL_ERRORS.inc()
        finally:  # an unexpected end (an error) while tails remain: read again in a new thread
            with self.lock:
                if self.thread is threading.current_thread():
                    self.thread, self._positioned = None, False
                    if self.tails:
                        self.thread = threading.Thread(target=self._run, name="live-tail", daemon=True)
                        self.thread.start()

    def _read(self) -> None:
        consumer, known, listed = None, set[int](), 0.0
        try:
            while True:
                with self.lock:
                    if not self.tails:  # the last tail left: this thread ends, the next tail starts another
                        self.thread, self._positioned = None, False
                        return
                try:
                    if consumer is None:
                        consumer = self.make(self.config)
                    if time.monotonic() - listed > REFRESH_S or not known:
                        self._assign(consumer, known)
                        listed = time.monotonic()
                        with self.lock:
                            self._positioned = True
                            for sub in self.tails:
                                sub.ready.set()
                    messages = consumer.consume(BATCH, POLL_S)
                except Exception as exc:  # the broker or the topic: tell the tails, try again
                    log.warning("live tail: cannot read", extra={"fields": {"topic": self.topic, "error": str(exc)}})
                    telemetry.TAIL_ERRORS.inc()
                    self._tell(f"cannot read {self.topic}: {exc}")
                    time.sleep(2)
                    continue
                self._offer(messages)
        finally:
            if consumer is not None:
                consumer.close()

    def _offer(self, messages: list[Any]) -> None:
        batch: list[tuple[Line, int, int]] = []
        problem: str | None = None
        for m in messages:
            error = m.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    telemetry.TAIL_ERRORS.inc()
                    problem = f"reading {self.topic}: {error.str()}"
                continue
            batch.append((line_of(m.value()), m.partition(), m.offset()))
        if batch:
            telemetry.TAIL_SCANNED.inc(len(batch))
        for sub in self.tails:
            sub.problem = problem  # a read that worked clears the last problem, records or not
            if batch:
                sub.offer(batch)
