"""The route query's archive path on local files: each batch once however often it runs, and the take-over of an
archive and checkpoints that an earlier version of the job left."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from spark_frames import T0, event, raw_frame

from logpipeline_spark import transformations as tr
from logpipeline_spark import upgrade
from logpipeline_spark.archive import Archive, batch_file
from logpipeline_spark.options import parse_args
from logpipeline_spark.route import Router, committed_positions, offset_log, starting_offsets


def test_a_part_file_keeps_its_task_and_counter_under_its_batch() -> None:
    name = "part-00003-0f3c1c1e-6a8e-4a57-a3c5-2d7a1f0c9b11.c001.snappy.parquet"
    assert batch_file(name, 42) == "batch-000000000042-part-00003.c001.snappy.parquet"
    with pytest.raises(ValueError, match="expected a Parquet part file name, got '_SUCCESS'"):
        batch_file("_SUCCESS", 1)


def _router(root: Path, spark: SparkSession) -> Router:
    opts = parse_args(["--archive-root", f"file://{root}", "--pipeline", "p", "--queries", "raw_archive"])
    return Router(opts, Archive(spark), lambda batch_id: {}, None)


def _archived(spark: SparkSession, root: Path) -> list[str]:
    return sorted(r["id"] for r in spark.read.parquet(f"file://{root}/p/raw").collect())


def test_a_batch_run_again_is_archived_once(spark: SparkSession, tmp_path: Path) -> None:
    router = _router(tmp_path, spark)
    first = tr.classify(raw_frame(spark, [event(1, T0), "not json", event(2, T0 + 3_600_000)]))
    router(first, 0)
    router(first, 0)  # replayed after a crash: the same batch id
    router(tr.classify(raw_frame(spark, [event(3, T0)])), 1)
    assert _archived(spark, tmp_path) == ["id-1", "id-2", "id-3"]
    hours = sorted(p.parent.name + "/" + p.name for p in (tmp_path / "p/raw").glob("date=*/hour=*"))
    assert hours == ["date=2026-01-01/hour=00", "date=2026-01-01/hour=01"]
    assert not (tmp_path / "p/raw/_staging").exists() or not any((tmp_path / "p/raw/_staging").iterdir())


def test_files_of_an_attempt_cut_short_are_replaced(spark: SparkSession, tmp_path: Path) -> None:
    router = _router(tmp_path, spark)
    batch = tr.classify(raw_frame(spark, [event(1, T0), event(2, T0)]))
    router(batch, 7)
    [published] = (tmp_path / "p/raw").glob("date=*/hour=*/batch-000000000007-*.parquet")
    # an earlier attempt that wrote the batch in two tasks, one file of which was moved before the crash
    shutil.copy(published, published.with_name("batch-000000000007-part-00001.c000.snappy.parquet"))
    router(batch, 7)
    assert _archived(spark, tmp_path) == ["id-1", "id-2"]


def _file_sink_archive(spark: SparkSession, root: Path) -> Path:
    """An archive as the earlier version's Parquet file sink wrote it (with its ``_spark_metadata`` log)."""
    source = root / "json"
    source.mkdir()
    (source / "a.json").write_text("\n".join(json.dumps({"id": f"old-{n}", "date": "2026-01-01"}) for n in range(3)))
    stream = spark.readStream.schema("id string, date string").json(str(source))
    raw = root / "p/raw"
    query = (
        stream.writeStream.format("parquet")
        .option("path", str(raw))
        .option("checkpointLocation", str(root / "p/checkpoints/raw_archive"))
        .partitionBy("date")
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination(120)
    return raw


def test_the_file_sink_log_is_retired_and_unlisted_files_stay_hidden(spark: SparkSession, tmp_path: Path) -> None:
    raw = _file_sink_archive(spark, tmp_path)
    [committed] = raw.glob("date=*/part-*.parquet")
    shutil.copy(committed, committed.with_name("part-09999-left-by-a-failed-batch.c000.snappy.parquet"))
    assert spark.read.parquet(str(raw)).count() == 3, "the log hides the unlisted file"
    moved = upgrade.retire_file_sink_log(Archive(spark), f"file://{raw}")
    assert moved == 1
    assert not (raw / "_spark_metadata").exists() and list(raw.glob("_spark_metadata.retired-*"))
    assert sorted(r["id"] for r in spark.read.parquet(str(raw)).collect()) == ["old-0", "old-1", "old-2"]
    assert list((raw / "_uncommitted").glob("date=*/part-09999-*"))
    assert upgrade.retire_file_sink_log(Archive(spark), f"file://{raw}") == 0, "once"


def test_the_route_query_starts_where_the_earlier_archive_query_committed(spark: SparkSession, tmp_path: Path) -> None:
    checkpoint = tmp_path / "p/checkpoints/raw_archive"
    (checkpoint / "offsets").mkdir(parents=True)
    (checkpoint / "commits").mkdir()
    meta = '{"batchWatermarkMs":0,"batchTimestampMs":1,"conf":{}}'
    for batch, offsets in ((4, {"in": {"0": 10, "1": 7}}), (5, {"in": {"0": 12, "1": 9}})):
        (checkpoint / "offsets" / str(batch)).write_text(f"v1\n{meta}\n{json.dumps(offsets)}")
    (checkpoint / "commits" / "4").write_text('v1\n{"nextBatchWatermarkMs":0}')  # batch 5 never committed
    archive = Archive(spark)
    assert committed_positions(archive, f"file://{checkpoint}") == {("in", 0): 10, ("in", 1): 7}
    assert offset_log(archive, f"file://{checkpoint}")(5) == {("in", 0): 12, ("in", 1): 9}, "written before it runs"
    with pytest.raises(RuntimeError, match="has no batch 6"):
        offset_log(archive, f"file://{checkpoint}")(6)
    opts = parse_args(["--archive-root", f"file://{tmp_path}", "--pipeline", "p", "--input-topic", "in"])
    start = upgrade.route_start(archive, opts, lambda: {"in": [0, 1, 2]})
    assert start is not None and json.loads(start) == {"in": {"0": 10, "1": 7, "2": -2}}
    (tmp_path / "p/checkpoints/route").mkdir()
    assert upgrade.route_start(archive, opts, lambda: {"in": [0]}) is None, "a route checkpoint resumes itself"
    assert starting_offsets({}, {"in": [1, 0]}) == '{"in": {"0": -2, "1": -2}}'
