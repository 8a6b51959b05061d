"""The aggregates query's two modes: options, state settings, task slots and the checkpoint that decides the mode."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from logpipeline_spark import upgrade
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import parse_args
from logpipeline_spark.queries import (
    CHECKPOINT_FORMAT,
    PRODUCER_OPTIONS,
    aggregates_mode,
    local_master,
    query_conf,
    realtime_slots,
    source_options,
)

PROVIDER = "spark.sql.streaming.stateStore.providerClass"


def test_the_mode_comes_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LOGPIPELINE_AGGREGATES_MODE", raising=False)
    assert (parse_args([]).mode, parse_args([]).realtime_batch) == ("realtime", "1 minute")
    monkeypatch.setenv("LOGPIPELINE_AGGREGATES_MODE", "microbatch")
    assert parse_args([]).mode == "microbatch"
    assert parse_args(["--mode", "microbatch", "--realtime-batch", "30 seconds"]).realtime_batch == "30 seconds"
    with pytest.raises(SystemExit):
        parse_args(["--mode", "continuous"])
    assert "invalid choice: 'continuous'" in capsys.readouterr().err


def test_real_time_state_is_rocksdb_in_checkpoint_format_2() -> None:
    realtime = query_conf("aggregates", parse_args(["--mode", "realtime", "--state-store", "hdfs"]))
    assert realtime[PROVIDER].endswith(".RocksDBStateStoreProvider") and realtime[CHECKPOINT_FORMAT] == "2"
    microbatch = parse_args(["--mode", "microbatch"])
    assert query_conf("aggregates", microbatch)[CHECKPOINT_FORMAT] == "1", "Spark's default for a new checkpoint"
    # a checkpoint written in real-time mode keeps its format when the query goes back to micro-batches
    assert query_conf("aggregates", microbatch, checkpoint_format=2)[CHECKPOINT_FORMAT] == "2"
    assert CHECKPOINT_FORMAT not in query_conf("route", parse_args(["--mode", "realtime"])), "the route is stateless"


def test_a_format_1_checkpoint_stays_in_micro_batch_mode_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    realtime = parse_args(["--mode", "realtime", "--pipeline", "p", "--archive-root", "file:///a"])
    assert aggregates_mode(realtime, None) == "realtime", "a new checkpoint"
    assert aggregates_mode(realtime, 2) == "realtime"
    with caplog.at_level(logging.WARNING, "logpipeline_spark.job"):
        assert aggregates_mode(realtime, 1) == "microbatch"
    (record,) = caplog.records
    fields = record.__dict__["fields"]
    assert fields["checkpoint"] == "file:///a/p/checkpoints/aggregates" and "format 1" in fields["reason"]
    assert aggregates_mode(parse_args(["--mode", "microbatch"]), 2) == "microbatch"


def test_a_real_time_reader_has_no_batch_to_bound() -> None:
    opts = parse_args(["--mode", "realtime", "--max-offsets-per-trigger", "700"])
    assert source_options(opts)["maxOffsetsPerTrigger"] == "700", "the micro-batch readers keep the bound"
    assert "maxOffsetsPerTrigger" not in source_options(opts, realtime=True), "Spark refuses it in real-time mode"
    # a real-time fetch waits for several records (on a quiet stream, not a fetch and a poll per event), but not
    # long: its wait is part of every event's freshness; an idle task asks at most 10 times a second, not 100
    realtime = source_options(opts, realtime=True)
    assert int(realtime["kafka.fetch.min.bytes"]) >= 16 * 1024
    assert 100 <= int(realtime["kafka.fetch.max.wait.ms"]) <= 200
    assert source_options(opts)["kafka.fetch.max.wait.ms"] == "10"


def test_no_kafka_client_of_the_job_pushes_its_metrics_to_the_broker() -> None:
    # while the push is on, each network poll formats log strings to say when the next push is due
    opts = parse_args([])
    for options in (source_options(opts), source_options(opts, realtime=True), PRODUCER_OPTIONS):
        assert options["kafka.enable.metrics.push"] == "false"


def test_a_new_real_time_checkpoint_has_one_state_partition_unless_told() -> None:
    realtime, microbatch = parse_args(["--mode", "realtime"]), parse_args(["--mode", "microbatch"])
    assert (realtime.shuffle_partitions, microbatch.shuffle_partitions) == (1, 2)
    assert query_conf("aggregates", realtime)["spark.sql.shuffle.partitions"] == "1"
    assert realtime_slots(realtime, 3) == 5, "each input partition, and one task of each stateful stage"
    assert parse_args(["--mode", "realtime", "--shuffle-partitions", "3"]).shuffle_partitions == 3
    with pytest.raises(SystemExit):
        parse_args(["--shuffle-partitions", "-1"])


def test_a_local_job_in_real_time_mode_gets_a_thread_per_long_running_task() -> None:
    opts = parse_args(["--mode", "realtime", "--master", "local[2]", "--shuffle-partitions", "2"])
    assert realtime_slots(opts, 3) == 3 + 2 * 2, "each input partition, and each state partition of both stages"
    assert local_master(opts, 3) == "local[9]", "and two for the route query's batches"
    wide = parse_args(["--mode", "realtime", "--master", "local[16]"])
    assert local_master(wide, 3) == "local[16]"
    assert local_master(parse_args(["--mode", "realtime", "--master", "local"]), 1) == "local[5]"
    assert local_master(parse_args(["--mode", "microbatch", "--master", "local[2]"]), 3) == "local[2]"
    k8s = parse_args(["--mode", "realtime", "--master", "k8s://https://api:6443"])
    assert local_master(k8s, 3) == "k8s://https://api:6443", "executors' cores are the operator's to size"


def _stateful_checkpoint(spark: SparkSession, tmp: Path, conf: dict[str, str]) -> str:
    """Runs a real de-dup query over two JSON files to its end and returns its checkpoint's URI."""
    source = tmp / "in"
    source.mkdir(parents=True)
    for i in range(2):
        (source / f"{i}.json").write_text("\n".join(json.dumps({"id": f"e{n % 3}", "n": n}) for n in range(5)))
    checkpoint = f"file://{tmp}/checkpoint"
    previous = {key: spark.conf.get(key) for key in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        query = (
            spark.readStream.schema("id string, n long")
            .json(str(source))
            .dropDuplicates(["id"])
            .writeStream.format("noop")
            .outputMode("append")
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        query.awaitTermination(120)
    finally:
        for key, value in previous.items():
            spark.conf.set(key, value)
    return checkpoint


def test_the_checkpoint_format_is_read_from_spark_s_own_commit_log(spark: SparkSession, tmp_path: Path) -> None:
    archive = Archive(spark)
    assert upgrade.checkpoint_format(archive, f"file://{tmp_path}/none") is None, "no checkpoint yet"
    v1 = _stateful_checkpoint(spark, tmp_path / "v1", {CHECKPOINT_FORMAT: "1"})
    assert upgrade.checkpoint_format(archive, v1) == 1
    rocksdb = query_conf("aggregates", parse_args(["--mode", "realtime"]))
    v2 = _stateful_checkpoint(spark, tmp_path / "v2", {PROVIDER: rocksdb[PROVIDER], CHECKPOINT_FORMAT: "2"})
    assert upgrade.checkpoint_format(archive, v2) == 2
