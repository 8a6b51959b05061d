"""The real-time query's thinning (``jvm.latest_per_key``, the JVM part ``LatestPerKey``) on small frames: each
key's first row in an interval and its newest row pass, in order; the aggregates it lets through are whole."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pyspark
import pytest
from pyspark.errors import IllegalArgumentException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from spark_frames import T0, event, raw_frame

from logpipeline import config
from logpipeline.metrics import records
from logpipeline_spark import jvm
from logpipeline_spark import transformations as tr

HOUR_MS = 3_600_000


def _updates(spark: SparkSession, rows: list[tuple[int, str, str, int]]) -> tr.DataFrame:
    """An update stream in one task: (window start, api, level, version) with the aggregates' key columns."""
    frame = spark.createDataFrame(rows, "start long, api string, log_level string, version int").coalesce(1)
    window = F.struct(F.timestamp_millis("start").alias("start"), F.timestamp_millis(F.col("start") + 60_000))
    return frame.select(window.alias("window"), "api", "log_level", "version")


def test_each_keys_first_and_newest_rows_pass_in_order_within_one_interval(spark: SparkSession) -> None:
    a, b, other_window = (T0, "/a", "INFO"), (T0, "/b", "INFO"), (T0 + 60_000, "/a", "INFO")
    rows = [(*a, v) for v in range(5)] + [(*b, v) for v in range(3)] + [(*other_window, 0), (*a, 5)]
    thinned = jvm.latest_per_key(_updates(spark, rows), tr.WINDOW_KEY, HOUR_MS).collect()
    seen = [(r["window"]["start"].timestamp() * 1000, r["api"], r["version"]) for r in thinned]
    per_key: dict[tuple[float, str], list[int]] = {}
    for start, api, version in seen:
        per_key.setdefault((start, api), []).append(version)
    # the first row passes at once; the others wait for the interval and the newest passes at the end of the input
    assert per_key == {(T0, "/a"): [0, 5], (T0, "/b"): [0, 2], (T0 + 60_000, "/a"): [0]}
    assert thinned[0].asDict().keys() == {"window", "api", "log_level", "version"}


def test_a_level_is_a_key_of_its_own(spark: SparkSession) -> None:
    rows = [(T0, "/a", "INFO", 0), (T0, "/a", "ERROR", 0), (T0, "/a", "INFO", 1), (T0, "/a", "ERROR", 1)]
    thinned = jvm.latest_per_key(_updates(spark, rows), tr.WINDOW_KEY, HOUR_MS).collect()
    assert sorted((r["log_level"], r["version"]) for r in thinned) == [
        ("ERROR", 0),
        ("ERROR", 1),
        ("INFO", 0),
        ("INFO", 1),
    ]


def test_thinned_window_totals_finish_into_whole_aggregate_records(spark: SparkSession) -> None:
    events = [event(i, T0 + i * 10, api=f"/a{i % 2}", rt=float(i)) for i in range(60)]
    totals = tr.window_totals(tr.with_event_time(tr.parse(raw_frame(spark, events)).valid, "30 seconds"), "1 minute")
    thinned = tr.aggregate_records(tr.finish(jvm.latest_per_key(totals, tr.WINDOW_KEY, HOUR_MS), binary_sketch=True))
    whole = tr.aggregate_records(tr.finish(totals, binary_sketch=True))
    strip = ("updated_at",)

    def values(frame: tr.DataFrame) -> dict[str, dict[str, object]]:
        out = {}
        for row in frame.collect():
            value = orjson.loads(row["value"])
            records.parse(row["value"].encode())  # what the sink reads
            out[row["key"]] = {k: v for k, v in value.items() if k not in strip}
        return out

    assert len(values(whole)) == 2 and values(thinned) == values(whole)


@pytest.mark.parametrize(
    ("keys", "interval", "problem"),
    [
        (tr.WINDOW_KEY, 0, "intervalMs must be positive, got 0"),
        (("window", "service"), 250, "No such struct field `service`"),
    ],
)
def test_a_wrong_call_names_the_problem(
    spark: SparkSession, keys: tuple[str, ...], interval: int, problem: str
) -> None:
    with pytest.raises(IllegalArgumentException, match=problem):
        jvm.latest_per_key(_updates(spark, [(T0, "/a", "INFO", 0)]), keys, interval)


CHECK = Path(__file__).parent / "jvm" / "LatestPerKeyCheck.java"


def _check(tmp_path: Path, *args: str) -> list[str]:
    """Runs ``LatestPerKeyCheck`` (compiled against the job's jar) and returns what it saw, in order."""
    classpath = f"{jvm.jar(config.load().cache)}:{Path(pyspark.__file__).parent / 'jars' / '*'}"
    subprocess.run(["javac", "--release", jvm.RELEASE, "-cp", classpath, "-d", str(tmp_path), str(CHECK)], check=True)
    main = "io.logpipeline.spark.LatestPerKeyCheck"
    done = subprocess.run(["java", "-cp", f"{tmp_path}:{classpath}", main, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_held_row_passes_when_its_interval_is_over_without_waiting_for_more_input(tmp_path: Path) -> None:
    # three versions at once, then no row for 3 s: the newest passes after 100 ms, long before the input ends
    assert _check(tmp_path, "100", "3000", "3", "end") == ["out k:0", "out k:2", "input ended"]


def test_the_inputs_failure_fails_the_task_with_its_own_error_after_the_rows_due(tmp_path: Path) -> None:
    assert _check(tmp_path, "100", "1000", "2", "fail") == [
        "out k:0",
        "out k:1",
        "failed java.lang.UnsupportedOperationException",
    ]
