"""The real-time query's partial window totals (``tr.partial_window_totals``, the JVM parts ``PartialWindows`` and
``IntervalPerKey``) on small frames: a window's events combined per key in each task, at most one row per key per
interval (its first at once, the rest when the interval is over or the input ends), merge into the aggregates
that every event aggregated alone gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pyspark
import pytest
from pyspark.errors import AnalysisException, IllegalArgumentException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from spark_frames import T0, event, raw_frame

from logpipeline import config
from logpipeline_spark import jvm
from logpipeline_spark import transformations as tr

HOUR_MS = 3_600_000
STATUSES = (200, 201, 302, 404, 500, 503)


def _events(spark: SparkSession, n: int) -> DataFrame:
    """``n`` events over two windows, two apis and two levels, in one task."""
    events = [
        event(
            i,
            T0 + i * 1000,
            api=f"/a{i % 2}",
            level=("INFO", "ERROR")[i % 3 == 0],
            rt=float(i * 7 % 113) + 0.25,
            status=STATUSES[i % len(STATUSES)],
        )
        for i in range(n)
    ]
    valid = tr.for_aggregation(tr.parse(raw_frame(spark, events)).valid).coalesce(1)
    return tr.with_event_time(valid, "30 seconds")


def _by_key(totals: DataFrame) -> dict[tuple[object, ...], dict[str, object]]:
    """The aggregates of ``totals`` by key, with the sketch's count and its quantiles at every tenth of rank for its
    bytes (which hold a sketch's items in the order they came)."""
    ranks = F.array(*(F.lit(i / 10) for i in range(11)))
    deciles = F.kll_sketch_get_quantile_double("_sketch", ranks).alias("deciles")
    with_deciles = totals.select("*", F.kll_sketch_get_n_double("_sketch").alias("sketch_n"), deciles)
    rows = tr.finish(totals).join(with_deciles.select(*tr.WINDOW_KEY, "sketch_n", "deciles"), ["api", "log_level"])
    out = {}
    for r in rows.where(F.unix_millis(F.col("window.start")) == F.col("window_start")).drop("window").collect():
        out[r["window_start"], r["api"], r["log_level"]] = {
            **r.asDict(),
            "response_time_sketch": None,
            "updated_at": None,
        }
    return out


def test_partial_totals_merge_into_the_aggregates_of_every_event_alone(spark: SparkSession) -> None:
    events = _events(spark, 150)
    whole = _by_key(tr.window_totals(events, "1 minute"))
    merged = _by_key(tr.partial_window_totals(events, "1 minute", HOUR_MS))
    assert len(whole) == 12 and merged.keys() == whole.keys(), "3 windows x 2 apis x 2 levels"
    for key, expected in whole.items():
        got = merged[key]
        assert got["avg_response_time"] == pytest.approx(expected["avg_response_time"], rel=1e-12), key
        # counts, extremes, status classes and the quantiles (a sketch of fewer than k values holds them all) exactly
        assert {**got, "avg_response_time": None} == {**expected, "avg_response_time": None}, key


def test_each_key_passes_its_first_event_at_once_and_the_rest_as_one_row(spark: SparkSession) -> None:
    events = _events(spark, 40)
    window = F.window(tr.EVENT_TIME, "1 minute").start
    partials = jvm.partial_windows(events, window, HOUR_MS, tr.KLL_K).collect()
    counts: dict[tuple[str, str], list[int]] = {}
    for row in partials:
        counts.setdefault((row["api"], row["log_level"]), []).append(row["log_count"])
    # one window of 40 s: per key its first event alone, then the others held for the hour, passed at the input's end
    assert counts == {
        ("/a0", "ERROR"): [1, 6],
        ("/a0", "INFO"): [1, 12],
        ("/a1", "ERROR"): [1, 6],
        ("/a1", "INFO"): [1, 12],
    }
    assert [f.name for f in tr.partial_window_totals(events, "1 minute", HOUR_MS).schema] == [
        f.name for f in tr.window_totals(events, "1 minute").schema
    ]


def test_the_event_time_keeps_its_watermark_through_the_partials(spark: SparkSession) -> None:
    stream = spark.readStream.format("rate").load()
    columns = {"id": F.lit("i"), "timestamp": F.col("value") * 1000, "api": F.lit("/a"), "log_level": F.lit("INFO")}
    columns |= {"response_time": F.lit(1.0), "status_code": F.lit(200)}
    events = tr.with_event_time(stream.select(*[c.alias(name) for name, c in columns.items()]), "30 seconds")
    window = F.window(tr.EVENT_TIME, "1 minute").start
    partials = jvm.partial_windows(events, window, 250, tr.KLL_K)
    assert "spark.watermarkDelayMs" not in partials.schema[tr.EVENT_TIME].metadata, "mapped rows lose it"
    # the windows of a watermarked event time carry its delay, by which the aggregation drops late rows and its state
    reference = tr.window_totals(events, "1 minute").schema["window"].metadata
    assert reference["spark.watermarkDelayMs"] == 30_000, "the reference"
    assert tr.partial_window_totals(events, "1 minute", 250).schema["window"].metadata == reference


@pytest.mark.parametrize(
    ("drop", "interval", "error", "problem"),
    [
        (None, 0, IllegalArgumentException, "intervalMs must be positive, got 0"),
        ("api", 250, AnalysisException, "`api`"),
    ],
)
def test_a_wrong_call_names_the_problem(
    spark: SparkSession, drop: str | None, interval: int, error: type[Exception], problem: str
) -> None:
    events = _events(spark, 2)
    with pytest.raises(error, match=problem):
        window = F.window(tr.EVENT_TIME, "1 minute").start
        jvm.partial_windows(events.drop(drop) if drop else events, window, interval, tr.KLL_K)


CHECK = Path(__file__).parent / "jvm" / "IntervalPerKeyCheck.java"


def _check(tmp_path: Path, *args: str) -> list[str]:
    """Runs ``IntervalPerKeyCheck`` (compiled against the job's jar) and returns what it saw, in order."""
    classpath = f"{jvm.jar(config.load().cache)}:{Path(pyspark.__file__).parent / 'jars' / '*'}"
    subprocess.run(["javac", "--release", jvm.RELEASE, "-cp", classpath, "-d", str(tmp_path), str(CHECK)], check=True)
    main = "io.logpipeline.spark.IntervalPerKeyCheck"
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
