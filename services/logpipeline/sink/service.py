"""``logpipeline sink``: consumes aggregate records and keeps the metrics table up to date.

Per batch (up to ``batch_size`` records or ``poll_timeout``): parse (invalid records go to the dead-letter
topic with the reason), keep the newest version of each id, write with conditional puts in parallel (an older
version never replaces a newer one), merge the batch into the minute digests (``digest``), bump the change
signal of the hours of windows that had already ended (``revisions``: late data, corrections), flush the dead
letters, and only then commit the batch's offsets.
Throttling or an unreachable store is retried with exponential backoff and full jitter, without
committing; refused credentials or permissions (``store.Denied``) stop the sink with one error line and
nothing committed, since no retry or dead letter could store the records; a stop request during retries leaves the batch uncommitted (it is re-read on restart, which
is harmless: records are full values and writes are idempotent).

Rebuild: the local DynamoDB-API server keeps no data across restarts. When the table is missing (a write
fails with ResourceNotFound, or it is absent at start) or replaced (its creation time changed), the sink
re-creates it, seeks every assigned partition of the aggregates topic (compacted: the newest value of
every id is retained) back to its beginning, commits those offsets, and writes everything again. At start
an empty table triggers the same replay.
"""

from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from logpipeline import contracts, observability
from logpipeline.kafka import security, topics
from logpipeline.kafka.deadletters import DeadLetters
from logpipeline.kafka.producer import Sender
from logpipeline.metrics import records, revisions, store
from logpipeline.metrics.records import Aggregate, InvalidAggregate
from logpipeline.sink.config import SinkConfig
from logpipeline.sink.retry import Stopped, StoreRetry
from logpipeline.sink.telemetry import Metrics

log = logging.getLogger("logpipeline.sink")
KAFKA_LOG = logging.getLogger("logpipeline.sink.kafka")


class Sink:
    def __init__(self, cfg: SinkConfig, stop: threading.Event) -> None:
        self.cfg, self.stop = cfg, stop
        self.metrics = Metrics()
        self.ddb = store.client(cfg.endpoint, attempts=1, timeout=5.0)
        self.writer = store.ConditionalWriter(self.ddb, cfg.table, cfg.shards, cfg.retention_days, region=cfg.region)
        self.digests = store.DigestWriter(self.ddb, cfg.table, cfg.retention_days, cfg.digest_shards, region=cfg.region)
        self.generation: str | None = None
        self.rewind_on_assign = False
        self.assigned = False
        self.retry = StoreRetry(stop, cfg.max_backoff, self.metrics.retried)
        self.consumer: Consumer | None = None
        self.dead_letters = DeadLetters(Sender.connect(cfg.bootstrap, cfg.dlq_topic, logger=KAFKA_LOG), stage="sink")
        self.replayed_below: dict[int, int] = {}  # partition -> offset processed before a replay began
        self._last_lag = 0.0
        self._last_generation_check = time.monotonic()

    def ready(self) -> bool:
        ok = self.assigned and self.retry.ok and not self.stop.is_set()
        self.metrics.ready.set(1 if ok else 0)
        return ok

    def _init_store(self) -> None:
        def init() -> list[str]:
            try:
                return store.init_table(self.ddb, self.cfg.table)
            except Exception as exc:
                raise store.classify(exc) from exc

        changes = self.retry("init", init)
        if self.cfg.replica_regions:
            changes += self._replicate()
        self.generation = self.retry("describe", lambda: store.generation(self.ddb, self.cfg.table))
        log.info(
            "table ready",
            extra={"fields": {"table": self.cfg.table, "changes": changes, "generation": self.generation}},
        )

    def _replicate(self) -> list[str]:
        """The tables' replicas (global tables). A table that cannot become global as it is, or a refusal, is logged
        and counted; the sink writes on (its own region's table is what it needs)."""
        try:
            return store.replicate(self.ddb, self.cfg.table, self.cfg.replica_regions)
        except Exception as exc:
            self.metrics.replica_errors.inc()
            fields = {"error": str(exc)[:300], "regions": list(self.cfg.replica_regions)}
            log.error("the replica regions were not set up", extra={"fields": fields})
            return []

    def _rebuild(self, why: str) -> None:
        """Re-create the table and replay the topic from the beginning (see module docstring)."""
        self.metrics.rebuilds.inc()
        log.warning("rebuilding table from the topic", extra={"fields": {"reason": why, "table": self.cfg.table}})
        self._init_store()
        assert self.consumer is not None
        partitions = self.consumer.assignment()
        if not partitions:
            self.rewind_on_assign = True
            return
        self._remember_processed(partitions)
        starts = self._beginnings(partitions)
        for tp in starts:
            self._seek(tp)
        self.consumer.commit(offsets=starts, asynchronous=False)
        log.info(
            "replaying from the beginning", extra={"fields": {"partitions": {tp.partition: tp.offset for tp in starts}}}
        )

    def _seek(self, tp: TopicPartition) -> None:
        assert self.consumer is not None
        for _ in range(50):
            try:
                self.consumer.seek(tp)
                return
            except KafkaException:  # not fetching yet; a record read here is re-read after the seek
                self.consumer.consume(num_messages=1, timeout=0.1)
        self.consumer.seek(tp)

    def _beginnings(self, partitions: list[TopicPartition]) -> list[TopicPartition]:
        assert self.consumer is not None
        out = []
        for tp in partitions:
            low, _high = self.consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
            out.append(TopicPartition(tp.topic, tp.partition, max(low, 0)))
        return out

    def _remember_processed(self, partitions: list[TopicPartition]) -> None:
        """Committed offsets before a replay: invalid records below them were dead-lettered already."""
        assert self.consumer is not None
        for tp in self.consumer.committed([TopicPartition(t.topic, t.partition) for t in partitions], timeout=10):
            if tp.offset >= 0:
                self.replayed_below[tp.partition] = max(self.replayed_below.get(tp.partition, 0), tp.offset)

    def _check_generation(self, force: bool = False) -> bool:
        """True when the table was replaced or removed (and a rebuild has started)."""
        now = time.monotonic()
        if not force and now - self._last_generation_check < self.cfg.generation_check_s:
            return False
        self._last_generation_check = now
        current = self.retry("describe", lambda: store.generation(self.ddb, self.cfg.table))
        if current == self.generation:
            return False
        self._rebuild("table missing" if current is None else "table was replaced")
        return True

    def _ensure_topics(self) -> None:
        """Create the aggregates and dead-letter topics if absent, with the contracts' configs."""
        admin = topics.admin_client(self.cfg.bootstrap, logger=KAFKA_LOG)
        specs = [
            topics.TopicSpec(self.cfg.topic, self.cfg.topic_partitions, contracts.topic_configs(contracts.AGGREGATES)),
            topics.TopicSpec(
                self.cfg.dlq_topic,
                contracts.PARTITIONS[contracts.DEAD_LETTER],
                contracts.topic_configs(contracts.DEAD_LETTER),
            ),
        ]
        for name in topics.create_missing(admin, specs):
            log.info("topic created", extra={"fields": {"topic": name}})

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = True
        if self.rewind_on_assign and partitions:
            self.rewind_on_assign = False
            self._remember_processed(partitions)
            starts = self._beginnings(partitions)
            consumer.assign(starts)
            consumer.commit(offsets=starts, asynchronous=False)
            log.info(
                "replaying from the beginning",
                extra={"fields": {"partitions": {tp.partition: tp.offset for tp in starts}}},
            )
        log.info("partitions assigned", extra={"fields": {"partitions": [tp.partition for tp in partitions]}})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions revoked", extra={"fields": {"partitions": [tp.partition for tp in partitions]}})

    def _update_lag(self) -> None:
        now = time.monotonic()
        if self.consumer is None or now - self._last_lag < 5:
            return
        self._last_lag = now
        total = 0
        try:
            for tp in self.consumer.position(self.consumer.assignment()):
                low, high = self.consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=2)
                lag = max(0, high - (tp.offset if tp.offset >= 0 else low))
                self.metrics.lag.labels(str(tp.partition)).set(lag)
                total += lag
            self.metrics.lag_total.set(total)
        except KafkaException as exc:
            log.warning("lag not measured", extra={"fields": {"error": str(exc)}})

    def _dead_letter(self, items: list[tuple[Message, str, str]]) -> None:
        """Send the batch's rejected records; raises ``store.Unavailable`` (retried) unless all arrived."""
        before = self.dead_letters.undelivered()
        for msg, reason, error_class in items:
            position = f"{msg.partition()}:{msg.offset()}"
            self.dead_letters.send_reason(msg.value() or b"", reason, error_class, self.cfg.topic, position)
            log.warning(
                "dead-lettered", extra={"fields": {"position": position, "reason": reason, "error_class": error_class}}
            )
        left = self.dead_letters.sender.flush(30)
        failed = self.dead_letters.undelivered() - before
        if left or failed:
            raise store.Unavailable(f"dead-letter topic: {left} undelivered, {failed} failed")
        for _msg, _reason, error_class in items:
            self.metrics.dead.labels(error_class).inc()

    def _process(self, messages: list[Message]) -> None:
        assert self.consumer is not None
        began = time.monotonic()
        offsets: dict[int, int] = {}
        parsed: list[Aggregate] = []
        origin: dict[str, Message] = {}
        rejected: list[tuple[Message, str, str]] = []
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error", extra={"fields": {"error": str(err)}})
                continue
            partition, offset = int(msg.partition() or 0), int(msg.offset() or 0)
            offsets[partition] = max(offsets.get(partition, -1), offset + 1)
            try:
                agg = records.parse(msg.value())
            except InvalidAggregate as exc:
                if offset >= self.replayed_below.get(partition, 0):  # not dead-lettered before a replay
                    rejected.append((msg, exc.reason, exc.error_class))
                continue
            parsed.append(agg)
            origin[agg.id] = msg
        self.metrics.consumed.inc(sum(1 for m in messages if m.error() is None))
        newest = records.latest(parsed)

        def write() -> store.WriteResult:
            result = self.writer.write(newest)
            refused = {a.id for a, _ in result.failed}
            stored = [a for a in newest if a.id not in refused]
            self.metrics.digests.inc(self.digests.merge(stored))
            now = int(time.time() * 1000)
            hours = revisions.hours_to_bump(stored, now)
            self.metrics.revisions.inc(
                store.bump_revisions(self.ddb, self.cfg.table, hours, now, self.cfg.retention_days, self.cfg.region)
            )
            return result

        try:
            result = self.retry("write", write)
        except store.TableMissing:
            self._rebuild("table missing")
            return
        if self.retry.recovered:  # after an outage the server may have come back without the table's data
            self.retry.recovered = False
            if self._check_generation(force=True):
                return
        rejected += [(origin[a.id], f"store rejected the item: {why}", "store_rejected") for a, why in result.failed]
        if rejected:
            self.retry("dead-letter", lambda: self._dead_letter(rejected))
        if offsets:
            self.consumer.commit(
                offsets=[TopicPartition(self.cfg.topic, p, o) for p, o in sorted(offsets.items())], asynchronous=False
            )
            self.metrics.commits.inc()
        self.metrics.written.inc(result.written)
        self.metrics.stale.inc(result.stale)
        self.metrics.batch_seconds.observe(time.monotonic() - began)
        log.info(
            "batch stored",
            extra={
                "fields": {
                    "records": len(messages),
                    "written": result.written,
                    "stale": result.stale,
                    "dead_lettered": len(rejected),
                    "offsets": offsets,
                }
            },
        )

    def run(self) -> None:
        cfg = self.cfg
        server = observability.serve(cfg.http_host, cfg.http_port, self.metrics.registry, self.ready)
        log.info(
            "sink starting",
            extra={
                "fields": {"topic": cfg.topic, "table": cfg.table, "group": cfg.group, "http": server.server_address[1]}
            },
        )
        try:
            if cfg.create_topics:
                self._ensure_topics()
            self._init_store()
            if self.retry("probe", lambda: store.is_empty(self.ddb, cfg.table)):
                self.rewind_on_assign = True
                log.info("table is empty: the topic will be replayed from the beginning")
            self.consumer = Consumer(
                {
                    "bootstrap.servers": cfg.bootstrap,
                    "group.id": cfg.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "isolation.level": "read_committed",
                    "max.poll.interval.ms": 600_000,
                    "logger": KAFKA_LOG,  # the client's own log lines, as JSON lines like the sink's
                    **security.client_config(),
                }
            )
            self.consumer.subscribe([cfg.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
            while not self.stop.is_set():
                messages = self.consumer.consume(num_messages=cfg.batch_size, timeout=cfg.poll_timeout)
                if messages:
                    self._process(messages)
                elif self._check_generation():
                    continue
                self._update_lag()
        except Stopped:
            log.info("stop requested while waiting for the store; the current batch stays uncommitted")
        except store.Denied as exc:
            self.retry.ok = False
            log.error(
                "the store refused the sink's credentials or permissions; stopping with the batch uncommitted",
                extra={
                    "fields": {
                        "error": str(exc)[:300],
                        "table": cfg.table,
                        "endpoint": cfg.endpoint or "AWS",
                        "hint": "check AWS_ACCESS_KEY_ID / AWS_PROFILE / the role's policy (dynamodb:PutItem, GetItem, "
                        "Query, DescribeTable, CreateTable, UpdateTable, UpdateTimeToLive on the table and its digest "
                        "table); records are re-read from the last commit once the sink runs again",
                    }
                },
            )
            raise
        finally:
            if self.consumer is not None:
                self.consumer.close()
            self.dead_letters.sender.close(10)
            self.writer.close()
            self.digests.close()
            server.shutdown()
            log.info("sink stopped")
