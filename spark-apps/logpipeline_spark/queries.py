"""The streaming job's queries: Kafka source options, the two writers, scheduler pools and per-query settings."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import replace

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery
from pyspark.sql.streaming.readwriter import DataStreamWriter

from logpipeline.kafka import security, topics
from logpipeline_spark import jvm, upgrade
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import JobOptions
from logpipeline_spark.route import Router

log = logging.getLogger("logpipeline_spark.job")

# FAIR scheduler pools: (name, weight, minShare); the aggregates query carries the freshness target.
POOLS: tuple[tuple[str, int, int], ...] = (("aggregates", 8, 1), ("side", 1, 0))
# Kafka consumer settings of the input readers. A micro-batch task reads a known offset range: with the consumer's
# default fetch.max.wait.ms (500 ms), a task that read its range up to the end of the partition waited about that
# long before it finished (in a backlog read as three 100k-record batches, the last took about 1 s longer than the
# others), so it waits 10 ms. A real-time task polls without end. With Kafka's fetch.min.bytes of 1 each fetch
# returned as soon as one record was there: on a quiet stream, a fetch and a poll per event, a third of the tasks'
# CPU. It now waits for 32 KB or 100 ms, whichever comes first: at most 100 ms more on a quiet stream, about 25 ms at
# 10k events/s (32 KB of events per partition), and an idle partition is asked 10 times a second.
# Every Kafka client of the job: no client metrics pushed to the broker (KIP-714). The broker has nowhere to send
# them, and while the push is on, each network poll of each client formats three log strings to say when the next
# push is due (``ClientTelemetryReporter.timeToNextUpdate``): on a quiet real-time job, a tenth of the aggregates
# producer's sampled time.
CLIENT_OPTIONS: dict[str, str] = {"kafka.enable.metrics.push": "false"}
CONSUMER_OPTIONS: dict[str, str] = {**CLIENT_OPTIONS, "kafka.fetch.max.wait.ms": "10"}
REALTIME_CONSUMER_OPTIONS: dict[str, str] = {
    **CLIENT_OPTIONS,
    "kafka.fetch.max.wait.ms": "100",
    "kafka.fetch.min.bytes": "32768",
}
# The aggregates topic's producer: records are ~5 KB (the sketch), so Kafka's 16 KB batches hold three; 256 KB
# batches and a 5 ms linger make far fewer requests for the job and the broker (a real-time query writes a record
# per event).
PRODUCER_OPTIONS: dict[str, str] = {**CLIENT_OPTIONS, "kafka.batch.size": str(256 * 1024), "kafka.linger.ms": "5"}
# Records that retention deleted before the job read them (a job stopped longer than the topic's retention) are
# skipped, not fatal: a query that stops on them stops all counting. Each batch's skipped offsets are counted
# (``skipped_offsets``) and logged instead.
FAIL_ON_DATA_LOSS = "false"


def source_options(opts: JobOptions, min_partitions: int = 0, realtime: bool = False) -> dict[str, str]:
    """The Kafka source's options; ``min_partitions`` > 0 splits each batch into at least that many tasks. A
    real-time query reads each record as it arrives: no batch to bound with ``maxOffsetsPerTrigger``, which Spark
    refuses in that mode."""
    options = {
        "kafka.bootstrap.servers": opts.bootstrap,
        "subscribe": opts.input_topic,
        "startingOffsets": opts.starting_offsets,
        "failOnDataLoss": FAIL_ON_DATA_LOSS,
        **(REALTIME_CONSUMER_OPTIONS if realtime else CONSUMER_OPTIONS),
        **security.spark_options(),
    }
    user = security.client_config().get("sasl.username")
    if user:  # its consumer groups start with the user's name: what the user's ACLs allow
        options["groupIdPrefix"] = user
    if opts.max_offsets_per_trigger > 0 and not realtime:
        options["maxOffsetsPerTrigger"] = str(opts.max_offsets_per_trigger)
    if min_partitions > 0:
        options["minPartitions"] = str(min_partitions)
    return options


def read_input(spark: SparkSession, opts: JobOptions, min_partitions: int = 0, realtime: bool = False) -> DataFrame:
    """The input topic as a stream (``source_options``)."""
    return spark.readStream.format("kafka").options(**source_options(opts, min_partitions, realtime)).load()


def aggregates_of(raw: DataFrame, opts: JobOptions) -> DataFrame:
    """The aggregates of the input. A real-time query updates a window as its events arrive: with
    ``realtime_emit_ms``, from partial totals of each window's events over that interval
    (``tr.partial_window_totals``), else for every event."""
    events = deduplicated(tr.for_aggregation(tr.valid_events(raw, opts.max_ahead_ms)), opts)
    if partial(opts):
        totals = tr.partial_window_totals(events, opts.window, opts.realtime_emit_ms)
    else:
        totals = tr.window_totals(events, opts.window)
    return tr.finish(totals, binary_sketch=True)  # for ``aggregate_records`` only


def deduplicated(events: DataFrame, opts: JobOptions) -> DataFrame:
    """``events`` with the event time and its watermark, without repeats: by the ordered de-dup (``ordered``) or
    Spark's."""
    timed = tr.with_event_time(events, opts.watermark)
    return jvm.ordered_dedup(timed, "id", "timestamp", tr.EVENT_TIME) if ordered(opts) else tr.deduplicate(timed)


def ordered(opts: JobOptions) -> bool:
    """Whether the aggregates query de-duplicates with state ordered by event time (``jvm.ordered_dedup``), which
    needs the job's JVM part and the RocksDB store: in micro-batch mode, unless ``--dedup spark``."""
    return opts.mode == "microbatch" and opts.dedup == "ordered"


def partial(opts: JobOptions) -> bool:
    """Whether the aggregates query aggregates partial totals (``aggregates_of``), which needs the job's JVM
    part."""
    return opts.mode == "realtime" and opts.realtime_emit_ms > 0


def aggregates_writer(raw: DataFrame, opts: JobOptions) -> DataStreamWriter:
    """The aggregates query, configured but not started: update mode to the aggregates topic."""
    kafka = {"kafka.bootstrap.servers": opts.bootstrap, **PRODUCER_OPTIONS, **security.spark_options()}
    return (
        tr.aggregate_records(aggregates_of(raw, opts))
        .writeStream.format("kafka")
        .options(**kafka, topic=opts.aggregates_topic)
        .outputMode("update")
    )


def route_writer(raw: DataFrame, router: Router, opts: JobOptions) -> DataStreamWriter:
    """The route query, configured but not started: each micro-batch of judged records goes to ``router``."""
    return tr.classify(raw, opts.max_ahead_ms).writeStream.foreachBatch(router)


def running(opts: JobOptions) -> tuple[str, ...]:
    """The queries that write the selected outputs: ``aggregates``, and ``route`` for dead letters and raw archive."""
    out = ("aggregates",) if "aggregates" in opts.queries else ()
    return out + (("route",) if {"dead_letters", "raw_archive"} & set(opts.queries) else ())


def scheduler_pools() -> str:
    """The FAIR scheduler allocation file of ``POOLS``."""
    pools = "".join(
        f'<pool name="{name}"><schedulingMode>FAIR</schedulingMode><weight>{weight}</weight>'
        f"<minShare>{share}</minShare></pool>"
        for name, weight, share in POOLS
    )
    return f'<?xml version="1.0"?><allocations>{pools}</allocations>'


def trigger_of(query: str, opts: JobOptions) -> str:
    return opts.trigger if query == "aggregates" else opts.side_trigger


ROCKSDB_CONF = {
    "spark.sql.streaming.stateStore.providerClass": (
        "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
    ),
    # Each batch commits a changelog of its updates instead of a snapshot of the store.
    "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
}
HDFS_CONF = {
    "spark.sql.streaming.stateStore.providerClass": (
        "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider"
    ),
}


# The state checkpoint format: 1 is Spark's default; 2 names each batch's state files by unique ids, so a re-executed
# batch never reuses a failed one's files. Real-time mode requires 2 (``CHECKPOINT_FORMAT_V1_NOT_SUPPORTED``).
CHECKPOINT_FORMAT = "spark.sql.streaming.stateStore.checkpointFormatVersion"


def query_conf(query: str, opts: JobOptions, checkpoint_format: int | None = None) -> dict[str, str]:
    """Session settings that a query takes at its start: its state partitions, state store and checkpoint format.
    Spark keeps them in the checkpoint (``checkpoint_format``: the one it holds, None when new), so a restarted
    query goes on with those it began with. Real-time mode keeps its state in RocksDB, in format 2; so does the
    ordered de-dup (``ordered``), in its mode's format."""
    conf = {"spark.sql.shuffle.partitions": str(opts.shuffle_partitions)}
    if query == "aggregates":
        realtime = opts.mode == "realtime"
        conf.update(ROCKSDB_CONF if realtime or ordered(opts) or opts.state_store == "rocksdb" else HDFS_CONF)
        conf[CHECKPOINT_FORMAT] = "2" if realtime or checkpoint_format == 2 else "1"
    return conf


def aggregates_mode(opts: JobOptions, checkpoint_format: int | None) -> str:
    """The mode the aggregates query runs in: ``opts.mode``, except that a checkpoint written in format 1 (by a
    micro-batch query) stays in micro-batch mode: real-time mode refuses it, and a new checkpoint would count the
    topic again from its start."""
    if opts.mode == "realtime" and checkpoint_format == 1:
        log.warning(
            "aggregates query stays in micro-batch mode",
            extra={
                "fields": {
                    "checkpoint": opts.checkpoint("aggregates"),
                    "reason": "its checkpoint is in state format 1, which real-time mode refuses; real-time mode "
                    "needs a new checkpoint (a new --pipeline name)",
                }
            },
        )
        return "microbatch"
    return opts.mode


def aggregates_dedup(opts: JobOptions, checkpoint_dedup: str | None) -> str:
    """The de-dup the aggregates query runs in ``opts.mode``: the one its checkpoint holds state for
    (``checkpoint_dedup``), else ``opts.dedup`` in micro-batch mode and Spark's in real-time mode. A query cannot
    resume another de-dup's state, and a new checkpoint would count the topic again."""
    wanted = opts.dedup if opts.mode == "microbatch" else "spark"
    if checkpoint_dedup is None or checkpoint_dedup == wanted:
        return wanted
    log.warning(
        "aggregates query keeps its checkpoint's de-dup",
        extra={
            "fields": {
                "checkpoint": opts.checkpoint("aggregates"),
                "dedup": checkpoint_dedup,
                "reason": f"its checkpoint holds the state of the {checkpoint_dedup} de-dup; --dedup {opts.dedup} "
                "needs a new checkpoint (a new --pipeline name)",
            }
        },
    )
    return checkpoint_dedup


def realtime_slots(opts: JobOptions, input_partitions: int) -> int:
    """Task slots the aggregates query holds in real-time mode: one long-running task per input partition and per
    state partition of each of its two stateful stages (de-dup, then the windows), all at once."""
    return input_partitions + 2 * opts.shuffle_partitions


def _threads(master: str) -> int:
    """The task threads of a ``local``, ``local[N]``, ``local[*]`` or ``local[N,F]`` master."""
    match = re.fullmatch(r"local(?:\[([0-9]+|\*)(?:,[0-9]+)?\])?", master)
    if match is None or match.group(1) is None:
        return 1
    return (os.cpu_count() or 1) if match.group(1) == "*" else int(match.group(1))


def local_master(opts: JobOptions, input_partitions: int) -> str | None:
    """The master of a local-mode job: ``opts.master``, widened in real-time mode to the aggregates query's slots
    plus two for the route query's batches. Task slots are threads: a long-running task that waits for records
    holds its slot, not a core."""
    master = opts.master
    if opts.mode != "realtime" or master is None or not master.startswith("local"):
        return master
    threads = _threads(master)
    wanted = realtime_slots(opts, input_partitions) + 2
    return master if threads >= wanted else f"local[{wanted}]"


def session_conf(opts: JobOptions, allocation_file: str) -> dict[str, str]:
    """The job's session settings: FAIR pools from ``allocation_file``, the UI, and the heap of a local-mode JVM.
    Each query sets its own state partitions when it starts (``query_conf``)."""
    conf = {
        "spark.scheduler.mode": "FAIR",
        "spark.scheduler.allocation.file": allocation_file,
        # No micro-batch without new data. The route query has nothing to do then; in update mode the aggregates
        # query would write nothing (it would only evict state that the watermark has passed, which the next data
        # batch does as well), yet such a batch costs as much as a small data batch.
        "spark.sql.streaming.noDataMicroBatches.enabled": "false",
    }
    if opts.master:  # a JVM this process starts; under spark-submit the JVM runs already
        conf["spark.driver.memory"] = opts.driver_memory
    conf.update({"spark.ui.port": str(opts.ui_port)} if opts.ui_port else {"spark.ui.enabled": "false"})
    return conf


# Spark's error classes for a checkpoint whose stateful operators or state schema differ from the query's.
_INCOMPATIBLE_STATE = (
    "STREAMING_STATEFUL_OPERATOR_NOT_MATCH_IN_STATE_METADATA",
    "STATE_STORE_KEY_SCHEMA_NOT_COMPATIBLE",
)


def checkpoint_hint(error: str, query: str, opts: JobOptions) -> str | None:
    """What to do when a query stopped because its checkpoint was written by a job with other stateful operators
    (an upgrade that changed them); None for any other error."""
    if not any(code in error for code in _INCOMPATIBLE_STATE):
        return None
    checkpoints = opts.checkpoint(query).rsplit("/", 1)[0]
    both = opts.path() if checkpoints == opts.path("checkpoints") else f"{opts.path()} and {checkpoints}"
    return (
        f"the checkpoint {opts.checkpoint(query)} was written by a job whose stateful operators differ from this "
        f"one's, so it cannot be resumed; run under a new --pipeline name, or remove {both} (the pipeline's "
        "checkpoints and archive) to rebuild from the topic"
    )


def pool_of(query: str) -> str:
    return "aggregates" if query == "aggregates" else "side"


def input_partitions(opts: JobOptions) -> dict[str, list[int]]:
    """The input topic's partitions, from the broker."""
    metadata = topics.admin_client(opts.bootstrap).list_topics(opts.input_topic, timeout=30)
    return {opts.input_topic: sorted(metadata.topics[opts.input_topic].partitions)}


def start(spark: SparkSession, opts: JobOptions, router: Router | None) -> dict[str, StreamingQuery]:
    """Start the ``running`` queries (the route query writes through ``router``)."""
    started: dict[str, StreamingQuery] = {}
    for name in running(opts):
        checkpoint_format, mode, in_mode = None, "microbatch", opts
        if name == "aggregates":
            archive = router.archive if router is not None else Archive(spark)
            checkpoint_format = upgrade.checkpoint_format(archive, opts.checkpoint(name))
            mode = aggregates_mode(opts, checkpoint_format)
            in_mode = replace(opts, mode=mode)
            dedup = aggregates_dedup(in_mode, upgrade.checkpoint_dedup(archive, opts.checkpoint(name)))
            in_mode = replace(in_mode, dedup=dedup)
            writer = aggregates_writer(read_input(spark, in_mode, realtime=mode == "realtime"), in_mode)
        else:
            assert router is not None, "the route query needs its writer"
            archive = router.archive
            if "raw_archive" in opts.queries:
                upgrade.retire_file_sink_log(archive, opts.path("raw"))
            begin = upgrade.route_start(archive, opts, lambda: input_partitions(opts))
            source = replace(opts, starting_offsets=begin) if begin else opts
            writer = route_writer(read_input(spark, source, opts.side_min_partitions), router, opts)
        # A query's micro-batches run in the pool set on the thread that starts it.
        spark.sparkContext.setLocalProperty("spark.scheduler.pool", pool_of(name))
        # A new query keeps the session's settings as they are at its start.
        for key, value in query_conf(name, in_mode, checkpoint_format).items():
            spark.conf.set(key, value)
        writer = writer.queryName(f"{opts.pipeline}.{name}").option("checkpointLocation", opts.checkpoint(name))
        if mode == "realtime":
            # pyspark 4.3's typing overloads of trigger() do not list realTime yet; its implementation takes it
            writer = writer.trigger(realTime=opts.realtime_batch)  # type: ignore[call-overload]
        else:
            writer = writer.trigger(processingTime=trigger_of(name, opts))
        query = writer.start()
        started[name] = query
        log.info(
            "query started",
            extra={
                "fields": {
                    "query": name,
                    "id": str(query.id),
                    "checkpoint": opts.checkpoint(name),
                    "mode": mode,
                    **({"dedup": in_mode.dedup} if name == "aggregates" else {}),
                }
            },
        )
    return started
