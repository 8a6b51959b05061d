"""Spark job figures, printed: sustained events/s against a count-only query, and aggregate freshness.

Throughput: the same events (3 input partitions) read by local[2] with ``availableNow`` in 100k-record micro-batches,
once by a count-only query (the reference: Kafka read, no parsing) and once by the job's aggregation path (parse,
watermark, de-dup, windows, KLL, JSON records to Kafka). Both keep their checkpoints on the stack's HDFS, as the job
does: on a ``file://`` path without Hadoop's native library each checkpoint file costs a few ``chmod``/``stat``
processes, which a job on HDFS does not pay.

Freshness: the real job (its two queries; the aggregates in each mode, 1 s micro-batches or real-time; the route
query at its default trigger, a minute; checkpoints and raw archive on the stack's HDFS) as a subprocess while
events are produced at 1k and 10k events/s in real time, after a 10 s warm-up the job has caught up with. For each
second of production, the lag from sending its last event to the first moment the aggregates on the topic count
every event of that window sent so far; and the same lag for the last event of each minute. Environment:
BENCH_EVENTS (throughput events, default 300000), BENCH_ROUNDS (7) of which BENCH_WARMUP (3) warm up the JVM,
BENCH_SECONDS (freshness duration, default 150), BENCH_RATE (default 10000), BENCH_MODES (the freshness runs' modes,
comma-separated; default both). The throughput ratio is printed of the medians, and as the median of each round's
aggregation against the count-only query run just before it (a machine's drift over the run cancels). With
BENCH_BOUND=1 each throughput round also runs the aggregation path on the parse's fast path alone
(``_fast_path_only``: every generated event is plainly valid, so it counts the same events without the slow path):
what the parse's slow path, in one piece of the fast path's expression (``SlowPath``), still costs on clean traffic.
With BENCH_PROFILE=1 the last aggregation round is recorded with Java Flight Recorder (``support.jfr``; the recording
starts a round earlier) and the share of its samples in each part of the path and in each stage (``STAGES``) is
printed.

As the de-dup state fills: traffic at the throughput target's rate (100k events/s of event time),
BENCH_STATE_EVENTS (8,000,000) of it, so the de-dup's state grows to a watermark's span of ids and then evicts as
much as it adds; after a count-only query (twice, the first warms up), the aggregation path's events/s and ratio in
each tenth of its micro-batches, with the state rows it ended with and where their time went, then over all of them;
with BENCH_STATE_MODE=realtime the aggregation path runs in real-time mode (Spark's de-dup, RocksDB, one state
partition) and its batches are BENCH_REALTIME_BATCH (10 seconds; the job's default: 1 minute) of reading. In
both benchmarks BENCH_DEDUP picks micro-batch mode's de-dup (the job's default, ordered, or spark) and, for Spark's,
BENCH_STATE_STORE its store (hdfs or rocksdb).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from logpipeline import config
from logpipeline.generator import traffic
from logpipeline_spark import jvm, options, queries, telemetry
from logpipeline_spark import transformations as tr
from logpipeline_spark.session import build_session
from support.jfr import Profile
from support.spark_job import create_topics, measure_freshness, produce

EVENTS = int(os.environ.get("BENCH_EVENTS", "300000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
# The aggregation path runs far more code than a count (generated stages, state stores), and the JVM compiles it
# over minutes (one run: 54,619 events/s in round 2, 66,071 in round 7), while the count is flat from round 2.
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "150"))
RATE = int(os.environ.get("BENCH_RATE", "10000"))
STATE_EVENTS = int(os.environ.get("BENCH_STATE_EVENTS", "8000000"))
STATE_RATE = 100_000.0  # the throughput target, as traffic
STATE_MODE = os.environ.get("BENCH_STATE_MODE", "microbatch")
# real-time mode's batches as the state fills: each ends with its progress (the job's default is a minute: its batch
# end's de-dup eviction scans the whole state, six times less often)
REALTIME_BATCH = os.environ.get("BENCH_REALTIME_BATCH", "10 seconds")
DEDUP = os.environ.get("BENCH_DEDUP", options.JobOptions.dedup)
STATE_STORE = os.environ.get("BENCH_STATE_STORE", options.JobOptions.state_store)
PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"
BOUND = os.environ.get("BENCH_BOUND", "") == "1"
# Parts of the aggregation path, each by a method on its samples' stacks (``Profile.within``).
PATH_PARTS = {
    "Kafka read": "KafkaBatchPartitionReader.next",
    "fast path (plainly valid events, EventRules)": "io.logpipeline.spark.EventRules",
    "  of which the scan of plain records (FlatScan)": "io.logpipeline.spark.FlatScan",
    "  of which the JSON parse of the others (Jackson)": "UTF8StreamJsonParser",
    "JSON parse of other records (from_json)": "JsonToStructs",
    "the parse outside generated code (GenerateExec)": "GenerateExec",
    "de-dup (state store)": "StreamingDeduplicateExec",
    "ordered de-dup (transformWithState, its state store)": "TransformWithStateExec",
    "window aggregation (state store)": "StateStoreSaveExec",
    "KLL sketches": "org.apache.datasketches",
    "aggregates to Kafka": "KafkaDataWriter",
    "planning each batch": "IncrementalExecution",
    "code generated in each task (the aggregations' projections)": "MutableProjection$.create",
}
# Real-time mode's own parts
REALTIME_PARTS = {
    "real-time: its Kafka read (RealTimeStreamScanExec)": "RealTimeStreamScanExec",
    "real-time: window aggregation per event (StatefulStreamlineAggregateExec)": "StatefulStreamlineAggregateExec",
    "real-time: shuffle, record by record": "org.apache.spark.shuffle.streaming",
    "real-time: partial window totals (PartialWindows)": "io.logpipeline.spark.PartialWindows",
    "RocksDB (either operator's state)": "org.rocksdb",
}
# The path's stages; ``Profile.split`` counts each sample in the first (in this order) whose code its stack holds. A
# stage's stack holds no other stage's code, except that the windows stage's final aggregation runs in the same
# ``ObjectAggregationIterator`` as the de-dup stage's partial one, so the windows stage comes first.
STAGES = {
    "windows stage: final aggregation, its state, the write to Kafka": (
        "StateStoreSaveExec",
        "StateStoreRestoreExec",
        "KafkaDataWriter",
    ),
    "de-dup stage: the de-dup and the partial aggregation": (
        "StreamingDeduplicateExec",
        "TransformWithStateExec",
        "ObjectAggregationIterator",
    ),
    "parse stage: Kafka read, parse, shuffle write": ("ShuffleWriter",),
    "tasks' other work (loading state stores, starting)": ("Executor$TaskRunner",),
}


class _Setup(NamedTuple):
    spark: SparkSession
    opts: options.JobOptions
    kafka: dict[str, str]  # the aggregates sink's options
    checkpoints: str  # on the stack's HDFS


def _names(tag: str) -> config.Names:
    unique = f"{int(time.time() * 1000) % 10**10:010d}"
    return config.Names(input_topic=f"bench_{tag}_{unique}", aggregates_topic=f"bench_agg_{unique}", pipeline=unique)


def _records(spec: traffic.TrafficSpec) -> Iterator[tuple[str, bytes]]:
    for block in traffic.blocks(spec):
        yield from zip(block.api_keys(), block.encode(), strict=True)


def _fast_path_only(raw: DataFrame, opts: options.JobOptions) -> DataFrame:
    """The aggregation path (``queries.aggregates_of``) with the parse's fast path alone: the plainly valid events
    of ``jvm.clean_events``, typed as the event schema types them; every other record is dropped."""
    checked = jvm.clean_events(raw.select(*tr.RAW_COLUMNS), tr.EVENT_FIELDS, opts.max_ahead_ms)
    types = tr.event_schema()
    events = checked.where(F.col(jvm.CLEAN)).select(
        *[F.col(jvm.CLEAN_PREFIX + name).cast(types[name].dataType).alias(name) for name in tr.AGGREGATION_INPUT]
    )
    totals = tr.window_totals(queries.deduplicated(events, opts), opts.window)
    return tr.finish(totals, binary_sketch=True)


def _run(frame: DataFrame, name: str, checkpoint: str, mode: str, fmt: str, **options: str) -> tuple[float, int]:
    began = time.perf_counter()
    query = _start(frame, name, checkpoint, mode, fmt, **options)
    query.awaitTermination()
    elapsed = time.perf_counter() - began
    batches = [p for p in query.recentProgress if int(p["numInputRows"])]
    rows = sum(int(p["numInputRows"]) for p in batches)
    print(
        f"{name:>7}: {rows} events in {elapsed:6.1f}s = {rows / elapsed:9,.0f} events/s; {_spent(batches)}", flush=True
    )
    return elapsed, rows


def _spent(batches: list[dict[str, Any]]) -> str:
    """Where micro-batches' time went, summed over them (``telemetry.batch_fields``): their tasks, planning, offset
    and commit logs, and per stateful operator its tasks' state updates, evictions and commits."""
    fields = [telemetry.batch_fields("bench", p) for p in batches]
    total = {key: sum(f[key] for f in fields) for key in ("batch_ms", "run_ms", "planning_ms", "log_ms")}
    ops: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for f in fields:
        for op in f["state"]:
            sums = ops[op["operator"]]
            for i, key in enumerate(("update_ms", "evict_ms", "commit_ms")):
                sums[i] += op[key]
    state = "; ".join(f"{name} update/evict/commit {u}/{e}/{c}" for name, (u, e, c) in ops.items())
    return (
        f"{len(batches)} batches, ms: "
        + ", ".join(f"{k[:-3]} {v}" for k, v in total.items())
        + (f"; {state}" if state else "")
    )


def _start(frame: DataFrame, name: str, checkpoint: str, mode: str, fmt: str, **options: str) -> StreamingQuery:
    """``frame`` written by a query that reads what the input holds now (``availableNow``), started."""
    return (
        frame.writeStream.format(fmt)
        .queryName(name)
        .outputMode(mode)
        .options(**options)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )


def _setup(
    stack: config.Settings, tmp_path: Path, tag: str, events: int, rate: float, mode: str = "microbatch"
) -> _Setup:
    """``events`` of traffic at ``rate`` events/s (event time) on a new 3-partition topic, and a session with the job's
    settings for reading them as the aggregates query in ``mode``: in 100k-record micro-batches, or in real-time
    mode with its one state partition, its task slots and ``REALTIME_BATCH`` batches."""
    names = _names(tag)
    create_topics(stack, names, partitions=3)
    began = time.perf_counter()
    spec = traffic.TrafficSpec(seed=3, start_ms=1_767_225_600_000, count=events, rate=rate, diurnal=False)
    produced = produce(stack.kafka_bootstrap, names.input_topic, _records(spec))
    print(f"\nproduced {produced} events in {time.perf_counter() - began:.1f}s", flush=True)
    opts = options.JobOptions(
        bootstrap=stack.kafka_bootstrap,
        archive_root=f"file://{tmp_path}",
        checkpoint_root=f"file://{tmp_path}",
        input_topic=names.input_topic,
        aggregates_topic=names.aggregates_topic,
        dlq_topic=names.dlq_topic,
        pipeline="bench",
        max_offsets_per_trigger=100_000,
        dedup=DEDUP,
        state_store=STATE_STORE,
        mode=mode,
        shuffle_partitions=1 if mode == "realtime" else options.JobOptions.shuffle_partitions,
        realtime_batch=REALTIME_BATCH,
    )
    pools = tmp_path / "pools.xml"
    pools.write_text(queries.scheduler_pools())
    # The job's session settings (its heap, no micro-batch without new data, its scheduler), as the job starts it
    spark: SparkSession = build_session(
        f"bench-{tag}",
        master=queries.local_master(opts, 3),
        settings=stack,
        extra=queries.session_conf(opts, str(pools)),
    )
    spark.sparkContext.setLogLevel("WARN")
    for key, value in queries.query_conf("aggregates", opts).items():  # as the job starts that query
        spark.conf.set(key, value)
    kafka = {"kafka.bootstrap.servers": stack.kafka_bootstrap, "topic": names.aggregates_topic}
    return _Setup(spark, opts, kafka, f"{stack.hdfs_url}/bench/{names.pipeline}")


@pytest.mark.timeout(3600)
def test_sustained_throughput_against_a_count_only_query(stack: config.Settings, tmp_path: Path) -> None:
    spark, opts, kafka, checkpoints = _setup(stack, tmp_path, "tp", EVENTS, 10_000.0)
    results: dict[str, list[tuple[float, int]]] = defaultdict(list)
    profile: Profile | None = None
    for round_ in range(ROUNDS):  # interleaved, so JIT warm-up favours neither; the first rounds are warm-up
        raw = queries.read_input(spark, opts)
        results["count"].append(
            _run(raw.groupBy().count(), f"count{round_}", f"{checkpoints}/c{round_}", "complete", "memory")
        )
        raw = queries.read_input(spark, opts)
        records = tr.aggregate_records(queries.aggregates_of(raw, opts))
        if PROFILE and round_ == ROUNDS - 2:  # a recording's start makes the JVM compile much again: a round early
            profile = Profile(os.getpid(), tmp_path / "aggregation.jfr")
            profile.start()
        since = time.time()
        results["job"].append(_run(records, f"agg{round_}", f"{checkpoints}/a{round_}", "update", "kafka", **kafka))
        if BOUND:
            fast = tr.aggregate_records(_fast_path_only(queries.read_input(spark, opts), opts))
            results["fast"].append(_run(fast, f"fast{round_}", f"{checkpoints}/f{round_}", "update", "kafka", **kafka))
        if profile is not None and round_ == ROUNDS - 1:
            profile.stop(since)  # the last round's samples
            print(f"JFR samples of agg{round_}: {len(profile.stacks)}; in each part (with what it calls):")
            rest = "the driver (planning, logs, scheduling) and other threads"
            print("\n".join([*profile.within(PATH_PARTS), "by stage:", *profile.split(STAGES, rest)]))
            print("\n".join(["methods sampled in:", *profile.hot(20)]))
    spark.stop()
    for name, runs in results.items():
        assert [rows for _, rows in runs] == [EVENTS] * len(runs), name
    rates = {name: [rows / elapsed for elapsed, rows in runs[WARMUP:] or runs] for name, runs in results.items()}
    warmed = ROUNDS - len(rates["job"])
    for label, pick in (("best", max), ("median", statistics.median)):
        count, job = pick(rates["count"]), pick(rates["job"])
        print(
            f"{label} of {len(rates['job'])} rounds after {warmed} warm-up: "
            f"count-only {count:,.0f} events/s, aggregation {job:,.0f} events/s; ratio {job / count:.2f}"
        )
        if BOUND:
            fast = pick(rates["fast"])
            print(
                f"  {label}: on the fast path alone {fast:,.0f} events/s, ratio {fast / count:.2f}; "
                f"the aggregation path at {job / fast:.2f} of it"
            )
    # Each round's aggregation against the count-only query run just before it: a machine's drift over the run cancels
    paired = [job / count for count, job in zip(rates["count"], rates["job"], strict=True)]
    print(
        f"each round's aggregation against its own count-only query: median ratio {statistics.median(paired):.2f} "
        f"(from {min(paired):.2f} to {max(paired):.2f})"
    )


def _state_rows(progress: dict[str, Any]) -> str:
    """A micro-batch's state rows per stateful operator, from its progress."""
    return ", ".join(f"{op['operatorName']} {int(op['numRowsTotal']):,}" for op in progress["stateOperators"])


@pytest.mark.timeout(3600)
def test_throughput_as_the_de_dup_state_fills(stack: config.Settings, tmp_path: Path) -> None:
    """Traffic at the target's rate: the de-dup then holds a watermark's span of ids (6M at 100k events/s and the
    default minute), and each part of the run, in tenths of its micro-batches, shows what that state costs."""
    spark, opts, kafka, checkpoints = _setup(stack, tmp_path, "st", STATE_EVENTS, STATE_RATE, STATE_MODE)
    # Every micro-batch's progress is kept (100 by default), the count-only query's too
    planned = -(-STATE_EVENTS // opts.max_offsets_per_trigger)
    spark.conf.set("spark.sql.streaming.numRecentProgressUpdates", str(planned + 10))
    for i in range(2):  # the first warms up
        raw = queries.read_input(spark, opts)
        count = _run(raw.groupBy().count(), f"count{i}", f"{checkpoints}/c{i}", "complete", "memory")
    realtime = opts.mode == "realtime"
    records = tr.aggregate_records(queries.aggregates_of(queries.read_input(spark, opts, realtime=realtime), opts))
    profile = Profile(os.getpid(), tmp_path / "state.jfr") if PROFILE else None
    if profile is not None:
        profile.start()
    since = time.time()
    if realtime:  # a real-time query reads on until stopped: until its batches have read every event
        query = _start_realtime(records, f"{checkpoints}/a", kafka)
    else:
        query = _start(records, "agg", f"{checkpoints}/a", "update", "kafka", **kafka)
        query.awaitTermination()
    batches = [p for p in query.recentProgress if int(p["numInputRows"])]
    if profile is not None:
        profile.stop(since)
        print(f"JFR samples of the aggregation path: {len(profile.stacks)}; in each part (with what it calls):")
        print("\n".join([*profile.within({**PATH_PARTS, **REALTIME_PARTS}), "methods sampled in:", *profile.hot(25)]))
    spark.stop()
    assert sum(int(p["numInputRows"]) for p in batches) == STATE_EVENTS
    reference = count[1] / count[0]
    print(f"count-only: {reference:,.0f} events/s; the aggregation path ({opts.mode}) by tenth of its batches:")
    tenth = -(-len(batches) // 10)
    for first in range(0, len(batches), tenth):
        part = batches[first : first + tenth]
        rows = sum(int(p["numInputRows"]) for p in part)
        rate = rows / sum(int(p["durationMs"]["triggerExecution"]) / 1000 for p in part)
        print(
            f"  batches {first:3}-{first + len(part) - 1:3}: {rate:9,.0f} events/s, ratio {rate / reference:.2f}; "
            f"state rows after: {_state_rows(part[-1])}; {_spent(part)}"
        )
    whole = STATE_EVENTS / sum(int(p["durationMs"]["triggerExecution"]) / 1000 for p in batches)
    print(f"  all {len(batches)} batches: {whole:,.0f} events/s, ratio {whole / reference:.2f}")


def _start_realtime(records: DataFrame, checkpoint: str, kafka: dict[str, str]) -> StreamingQuery:
    """``records`` written by a real-time query, stopped once its batches have read ``STATE_EVENTS``."""
    writer = records.writeStream.format("kafka").queryName("agg").outputMode("update").options(**kafka)
    # pyspark 4.3's typing overloads of trigger() do not list realTime yet; its implementation takes it
    writer = writer.option("checkpointLocation", checkpoint).trigger(realTime=REALTIME_BATCH)  # type: ignore[call-overload]
    query = writer.start()
    while sum(int(p["numInputRows"]) for p in query.recentProgress) < STATE_EVENTS:
        assert query.isActive, f"the real-time query stopped: {query.exception()}"
        time.sleep(1)
    query.stop()
    return query


@pytest.mark.timeout(3600)
def test_freshness_in_both_modes_at_one_and_ten_thousand_events_per_second(
    stack: config.Settings, tmp_path: Path
) -> None:
    results = {}
    modes = os.environ.get("BENCH_MODES", ",".join(options.MODES)).split(",")
    assert set(modes) <= set(options.MODES), f"BENCH_MODES: expected some of {options.MODES}, got {modes}"
    for mode in modes:
        for rate in (1000, RATE):
            result = measure_freshness(stack, tmp_path / f"{mode}-{rate}", rate, SECONDS, mode=mode)
            print(f"\n{mode} at {rate} events/s for {SECONDS:.0f}s; {result.describe()}", flush=True)
            assert result.lags, f"no aggregate became visible; job log:\n{result.job_tail}"
            results[mode, rate] = result
    print("\nevent produced -> counted on the aggregates topic (s):")
    for (mode, rate), result in results.items():
        p50, p95, p99 = (result.percentile(p) for p in (50, 95, 99))
        print(f"  {mode:10} {rate:6} events/s   p50 {p50:5.2f}  p95 {p95:5.2f}  p99 {p99:5.2f}")
    print("  target: p95 <= 1 s at 10k events/s")
