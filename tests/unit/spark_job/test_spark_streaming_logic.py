"""The transformations as a stream (file source, memory sinks, processAllAvailable): lateness and duplicates.

Window 1 minute, watermark 30 s. The watermark used by a micro-batch is the max event time of the
previous batches minus 30 s; an event older than it is too late and dropped, anything else counts once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery
from spark_frames import T0, event

from logpipeline_spark import transformations as tr

BATCHES: list[list[dict[str, Any]]] = [
    # batch 0: window [T0, T0+60s) gets 2 events; max event time T0+80s -> watermark T0+50s
    [event(1, T0 + 10_000, rt=10.0), event(2, T0 + 45_000, rt=20.0), event(3, T0 + 80_000, rt=1.0)],
    # batch 1: late but within the watermark (T0+55s >= T0+50s) counts; out of order by 25 s;
    # T0+40s is older than the watermark: too late; id-1 again: duplicate; T0+130s -> watermark T0+100s
    [event(4, T0 + 55_000, rt=30.0), event(5, T0 + 40_000, rt=99.0), event(1, T0 + 10_000), event(6, T0 + 130_000)],
    # batch 2: T0+70s is older than the watermark T0+100s: too late (its window is still open, it still drops)
    [event(7, T0 + 70_000, rt=50.0), event(8, T0 + 150_000)],
]


def _write(directory: Path, n: int, events: list[dict[str, Any]]) -> None:
    tmp = directory.parent / f"batch-{n}.tmp"
    tmp.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    tmp.rename(directory / f"batch-{n}.json")


@pytest.fixture(scope="module")
def streamed(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Any]]]:
    """Runs the three batches through update-mode and append-mode aggregation; yields each sink's rows."""
    base = tmp_path_factory.mktemp("stream")
    source = base / "in"
    source.mkdir()
    lines = spark.readStream.format("text").option("maxFilesPerTrigger", 1).load(str(source))
    raw = lines.select(
        F.lit(None).cast("binary").alias("key"),
        F.col("value").cast("binary").alias("value"),
        F.lit("in").alias("topic"),
        F.lit(0).alias("partition"),
        F.lit(0).cast("long").alias("offset"),
        F.current_timestamp().alias("timestamp"),
    )
    valid = tr.parse(raw).valid
    aggregates = tr.aggregate(tr.deduplicate(tr.with_event_time(valid, "30 seconds")), "1 minute")

    def start(frame: DataFrame, name: str, mode: str) -> StreamingQuery:
        return (
            frame.writeStream.format("memory")
            .queryName(name)
            .outputMode(mode)
            .option("checkpointLocation", str(base / name))
            .start()
        )

    queries = [
        start(aggregates, "updates", "update"),
        start(aggregates, "closed", "append"),
        start(valid, "raw", "append"),
    ]
    try:
        for n, batch in enumerate(BATCHES):
            _write(source, n, batch)
            for q in queries:
                q.processAllAvailable()
        yield {name: spark.table(name).collect() for name in ("updates", "closed", "raw")}
    finally:
        for q in queries:
            q.stop()


def _latest(rows: list[Any]) -> dict[str, Any]:
    """The last value emitted per aggregate id (update mode re-emits a group when it changes)."""
    out: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: (r["updated_at"], r["log_count"])):
        out[r["id"]] = r
    return out


def test_late_within_watermark_counts_and_too_late_and_duplicates_do_not(streamed: dict[str, list[Any]]) -> None:
    first = _latest(streamed["updates"])[f"/a|INFO|{T0}"]
    assert first["log_count"] == 3, "id-1, id-2 and the late id-4; not id-5 (too late) nor id-1 again"
    assert (first["min_response_time"], first["max_response_time"], first["avg_response_time"]) == (10.0, 30.0, 20.0)


def test_an_event_older_than_the_watermark_is_dropped_even_if_its_window_is_open(
    streamed: dict[str, list[Any]],
) -> None:
    second = _latest(streamed["updates"])[f"/a|INFO|{T0 + 60_000}"]
    assert (second["log_count"], second["max_response_time"]) == (1, 1.0), "id-7 (T0+70s) came after watermark T0+100s"


def test_update_mode_re_emits_a_window_as_it_grows(streamed: dict[str, list[Any]]) -> None:
    counts = sorted(r["log_count"] for r in streamed["updates"] if r["id"] == f"/a|INFO|{T0}")
    assert counts == [2, 3], "emitted after batch 0 and again after batch 1, never after it stopped changing"


def test_append_mode_emits_only_windows_closed_by_the_watermark(streamed: dict[str, list[Any]]) -> None:
    closed = {r["id"]: r["log_count"] for r in streamed["closed"]}
    assert closed == {f"/a|INFO|{T0}": 3, f"/a|INFO|{T0 + 60_000}": 1}, "the windows after T0+120s are still open"


def test_the_raw_stream_keeps_every_valid_record_including_duplicates_and_late_ones(
    streamed: dict[str, list[Any]],
) -> None:
    assert sorted(r["id"] for r in streamed["raw"]) == sorted(e["id"] for batch in BATCHES for e in batch)
