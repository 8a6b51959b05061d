"""The job's options: flags over environment defaults, derived names, and clear errors."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from logpipeline import contracts
from logpipeline_spark import transformations as tr
from logpipeline_spark.correct import window_ms
from logpipeline_spark.options import QUERIES, parse_args
from logpipeline_spark.queries import (
    checkpoint_hint,
    pool_of,
    query_conf,
    running,
    scheduler_pools,
    session_conf,
    source_options,
    trigger_of,
)
from logpipeline_spark.telemetry import Metrics, ProgressReader, batch_fields, report, skipped_offsets


def test_defaults_follow_the_input_topic_and_the_archive_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPELINE_WINDOW", "5 minutes")
    monkeypatch.delenv("LOGPIPELINE_DLQ_TOPIC", raising=False)
    opts = parse_args(["--input-topic", "in_x", "--archive-root", "file:///tmp/a", "--pipeline", "p"])
    assert (opts.dlq_topic, opts.window, opts.queries) == ("in_x.dlq", "5 minutes", QUERIES)
    assert opts.path("raw") == "file:///tmp/a/p/raw"
    assert opts.checkpoint("aggregates") == "file:///tmp/a/p/checkpoints/aggregates"


def test_an_unknown_query_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--queries", "aggregates,bogus"])
    assert "--queries: unknown bogus" in capsys.readouterr().err


def test_the_aggregates_query_has_the_heaviest_scheduler_pool() -> None:
    root = ElementTree.fromstring(scheduler_pools())
    weights = {pool.get("name"): int(pool.findtext("weight") or 0) for pool in root.iter("pool")}
    assert {pool_of(query) for query in ("aggregates", "route")} == set(weights)
    assert weights[pool_of("aggregates")] > weights[pool_of("route")]
    assert all(root.find(f"pool[@name='{name}']/schedulingMode").text == "FAIR" for name in weights)  # type: ignore[union-attr]


def test_side_queries_read_in_small_tasks_unless_told_otherwise() -> None:
    assert parse_args([]).side_min_partitions > 0
    assert parse_args(["--side-min-partitions", "0"]).side_min_partitions == 0


def test_the_input_readers_do_not_wait_at_the_end_of_a_partition() -> None:
    opts = parse_args(["--input-topic", "in_x", "--bootstrap", "broker:9092"])
    aggregates, side = source_options(opts), source_options(opts, opts.side_min_partitions)
    assert (aggregates["subscribe"], aggregates["kafka.bootstrap.servers"]) == ("in_x", "broker:9092")
    # the consumer's default, 500 ms, is paid by every task that reaches the end of its partition
    assert int(aggregates["kafka.fetch.max.wait.ms"]) <= 50 and int(side["kafka.fetch.max.wait.ms"]) <= 50
    assert "minPartitions" not in aggregates and side["minPartitions"] == str(opts.side_min_partitions)
    assert "maxOffsetsPerTrigger" not in aggregates
    capped = source_options(parse_args(["--max-offsets-per-trigger", "5000"]))
    assert capped["maxOffsetsPerTrigger"] == "5000"


def test_driver_memory_is_a_size_with_room_for_the_state(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert parse_args([]).driver_memory == "3g"
    monkeypatch.setenv("LOGPIPELINE_SPARK_DRIVER_MEMORY", "2048m")
    assert parse_args([]).driver_memory == "2048m"
    with pytest.raises(SystemExit):
        parse_args(["--driver-memory", "lots"])
    assert "--driver-memory: expected a size such as 3g or 2048m, got 'lots'" in capsys.readouterr().err


def test_the_heap_is_set_only_for_a_jvm_the_job_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    local = session_conf(parse_args(["--master", "local[2]", "--driver-memory", "4g"]), "/tmp/pools.xml")
    assert local["spark.driver.memory"] == "4g"
    assert local["spark.scheduler.allocation.file"] == "/tmp/pools.xml"
    monkeypatch.delenv("LOGPIPELINE_SPARK_MASTER", raising=False)
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "1")  # under spark-submit, which chose the master and the heap
    assert "spark.driver.memory" not in session_conf(parse_args([]), "/tmp/pools.xml")


def test_each_query_has_its_trigger_and_state_partitions() -> None:
    opts = parse_args(
        ["--mode", "microbatch", "--trigger", "2 seconds", "--side-trigger", "7 seconds", "--shuffle-partitions", "3"]
    )
    assert {q: trigger_of(q, opts) for q in ("aggregates", "route")} == {
        "aggregates": "2 seconds",
        "route": "7 seconds",
    }
    assert query_conf("route", opts) == {"spark.sql.shuffle.partitions": "3"}
    # the route query's default, which the dashboard's note on a recent minute names in seconds
    assert window_ms(trigger_of("route", parse_args([]))) == contracts.SIDE_TRIGGER_S * 1000
    aggregates = query_conf("aggregates", opts)
    assert aggregates["spark.sql.shuffle.partitions"] == "3"
    # Spark's de-dup keeps its state in the --state-store store (the ordered one's is RocksDB: test_ordered_dedup)
    spark_s = parse_args(["--mode", "microbatch", "--dedup", "spark"])
    assert query_conf("aggregates", spark_s)["spark.sql.streaming.stateStore.providerClass"].endswith(
        ".HDFSBackedStateStoreProvider"
    )
    rocksdb = query_conf(
        "aggregates", parse_args(["--mode", "microbatch", "--dedup", "spark", "--state-store", "rocksdb"])
    )
    assert rocksdb["spark.sql.streaming.stateStore.providerClass"].endswith(".RocksDBStateStoreProvider")
    assert rocksdb["spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"] == "true"


def test_no_query_runs_a_micro_batch_without_new_data() -> None:
    """Neither query has work without new data: update mode writes nothing, the route query has no records."""
    assert session_conf(parse_args([]), "/tmp/p.xml")["spark.sql.streaming.noDataMicroBatches.enabled"] == "false"


def test_the_outputs_decide_which_queries_run() -> None:
    assert running(parse_args([])) == ("aggregates", "route")
    assert running(parse_args(["--queries", "aggregates,dead_letters"])) == ("aggregates", "route")
    assert running(parse_args(["--queries", "aggregates"])) == ("aggregates",)
    assert running(parse_args(["--queries", "raw_archive"])) == ("route",)


def test_a_checkpoint_of_other_stateful_operators_gets_a_remedy() -> None:
    opts = parse_args(["--archive-root", "hdfs://nn:9000", "--pipeline", "p"])
    error = "[STREAMING_STATEFUL_OPERATOR_NOT_MATCH_IN_STATE_METADATA] Streaming stateful operator name does not match"
    hint = checkpoint_hint(error, "aggregates", opts)
    assert hint is not None
    assert "hdfs://nn:9000/p/checkpoints/aggregates" in hint and "remove hdfs://nn:9000/p " in hint
    apart = parse_args(["--archive-root", "hdfs://nn:9000", "--checkpoint-root", "file:///ck", "--pipeline", "p"])
    assert "remove hdfs://nn:9000/p and file:///ck/p/checkpoints " in (
        checkpoint_hint(error, "aggregates", apart) or ""
    )
    assert checkpoint_hint("java.net.ConnectException: Connection refused", "aggregates", opts) is None


# A progress report of the aggregates query at 10k events/s (fields the job reads; Spark's names).
_PROGRESS = {
    "batchId": 76,
    "numInputRows": 2450,
    "processedRowsPerSecond": 2115.7,
    "durationMs": {
        "addBatch": 984,
        "commitOffsets": 76,
        "getBatch": 0,
        "latestOffset": 7,
        "queryPlanning": 59,
        "triggerExecution": 1158,
        "walCommit": 31,
    },
    "eventTime": {"max": "2026-11-29T11:04:00.244Z", "watermark": "2026-11-29T11:02:59.999Z"},
    "stateOperators": [
        {
            "operatorName": "stateStoreSave",
            "numRowsTotal": 168,
            "allUpdatesTimeMs": 83,
            "allRemovalsTimeMs": 11,
            "commitTimeMs": 96,
            "numRowsDroppedByWatermark": 3,
        },
        {
            "operatorName": "dedupe",
            "numRowsTotal": 602450,
            "allUpdatesTimeMs": 80,
            "allRemovalsTimeMs": 200,
            "commitTimeMs": 155,
            "numRowsDroppedByWatermark": 17,
        },
    ],
    "sink": {"numOutputRows": 48},
}


def test_a_batch_log_line_says_where_the_time_went() -> None:
    fields = batch_fields("aggregates", _PROGRESS)
    assert (fields["input_rows"], fields["output_rows"], fields["state_rows"]) == (2450, 48, 602618)
    assert (fields["batch_ms"], fields["run_ms"], fields["planning_ms"], fields["log_ms"]) == (1158, 984, 59, 107)
    assert fields["watermark"] == "2026-11-29T11:02:59.999Z"
    dedupe = {"operator": "dedupe", "rows": 602450, "update_ms": 80, "evict_ms": 200, "commit_ms": 155, "late_rows": 17}
    assert fields["state"][1] == dedupe
    assert fields["late_events"] == 17, "late events are the de-dup's drops (the windows' count aggregated rows)"


def test_a_stateless_batch_has_no_state_fields_to_fill() -> None:
    fields = batch_fields("raw_archive", {"batchId": 3, "numInputRows": 5, "durationMs": {"triggerExecution": 40}})
    assert (fields["state"], fields["state_rows"], fields["output_rows"], fields["run_ms"]) == ([], 0, 0, 0)
    assert fields["late_events"] == 0


def test_the_clock_skew_bound_comes_from_the_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_args([]).max_ahead_ms == 300_000
    assert parse_args(["--max-ahead", "30"]).max_ahead_ms == 30_000
    monkeypatch.setenv("LOGPIPELINE_MAX_AHEAD_SECONDS", "90")
    assert parse_args([]).max_ahead_ms == 90_000
    with pytest.raises(SystemExit):
        parse_args(["--max-ahead", "-1"])


def test_offsets_a_batch_could_not_read_are_counted() -> None:
    progress = {
        "numInputRows": 70,
        "sources": [{"startOffset": {"in": {"0": 100, "1": 50}}, "endOffset": {"in": {"0": 150, "1": 90, "2": 5}}}],
    }
    assert skipped_offsets(progress) == 20, "50 + 40 offsets in range (the new partition 2 aside), 70 records read"
    assert skipped_offsets({**progress, "numInputRows": 90}) == 0
    text = {"startOffset": '{"in": {"0": 1}}', "endOffset": '{"in": {"0": 11}}'}
    assert skipped_offsets({"numInputRows": 4, "sources": [text]}) == 6
    assert skipped_offsets({"numInputRows": 9, "sources": [{"startOffset": None, "endOffset": {"in": {"0": 9}}}]}) == 0


def test_a_lost_offset_never_stops_the_queries() -> None:
    assert source_options(parse_args([]))["failOnDataLoss"] == "false"


def test_every_dead_letter_class_is_shown_from_zero() -> None:
    from prometheus_client import generate_latest

    text = generate_latest(Metrics().registry).decode()
    for error_class in tr.DEAD_LETTER_CLASSES:
        assert f'logpipeline_spark_dead_letters_total{{error_class="{error_class}"}} 0.0' in text


def _report(batch: int, second: int, rows: int, ran: bool = True) -> dict[str, object]:
    durations = {"addBatch": 5, "triggerExecution": 9} if ran else {"triggerExecution": 1}
    return {"batchId": batch, "timestamp": f"2026-12-02T05:00:{second:02d}.000Z", "numInputRows": rows,
            "durationMs": durations}  # fmt: skip


def test_every_executed_batch_is_reported_once_whatever_the_polls_see() -> None:
    reports = [_report(0, 1, 4), _report(1, 2, 0, ran=False), _report(1, 3, 5), _report(2, 4, 2), _report(3, 5, 7)]
    asked: list[int] = []

    def recent(upto: int) -> list[dict[str, object]]:
        asked.append(upto)
        return reports[: upto + 1]

    reader = ProgressReader()
    assert reader.new(None, lambda: recent(0)) == []
    assert reader.new(reports[0], lambda: recent(0)) == [reports[0]], "the first poll reads what came before it"
    assert reader.new(reports[0], lambda: recent(0)) == [], "a report read before is not read again"
    assert reader.new(reports[1], lambda: recent(1)) == [], "an idle trigger's report ran no batch"
    assert reader.new(reports[2], lambda: recent(2)) == [reports[2]], "the batch after it has the same id: read"
    assert asked == [0], "the next batch of a poll needs no recentProgress"
    assert reader.new(reports[4], lambda: recent(4)) == [reports[3], reports[4]], "two batches ended between polls"
    assert asked == [0, 4]
    quiet = [*reports, _report(4, 6, 3), _report(5, 17, 0, ran=False)]  # batch 4 ended, then ten idle seconds
    assert reader.new(quiet[6], lambda: quiet) == [quiet[5]], "an idle report tells that the batch before it ended"
    assert reader.new(quiet[6], lambda: quiet) == []
    assert ProgressReader().new(_report(0, 1, 0, ran=False), lambda: []) == [], "nothing ran yet"
    metrics = Metrics()
    for progress in reports:
        report("aggregates", progress, metrics)
    value = metrics.registry.get_sample_value
    assert value("logpipeline_spark_batches_total", {"query": "aggregates"}) == 4, "the idle trigger ran no batch"
    assert value("logpipeline_spark_input_rows_total", {"query": "aggregates"}) == 18
