"""The correction job's plan (which hours, which windows) and its batch re-aggregation of archived events."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.sql import SparkSession
from spark_frames import T0, event, raw_frame

from logpipeline.metrics import records
from logpipeline_spark import correction
from logpipeline_spark import transformations as tr
from logpipeline_spark.correct import parse_args, window_ms

H = correction.HOUR_MS
NOW = T0 + 10 * H + 30 * 60_000  # 10:30 on the day of T0
SETTLE, WINDOW = 210_000, 60_000


def test_the_first_run_reads_every_archived_hour_of_the_lookback_with_closed_windows() -> None:
    touched = {T0 + h * H: T0 + h * H + 1 for h in range(0, 11)}
    touched[T0 - 20 * H] = T0  # older than the look-back
    plan = correction.plan(NOW, touched, None, SETTLE, WINDOW)
    assert plan.hours == tuple(T0 + h * H for h in range(0, 11))
    assert plan.closed_before_ms == NOW - 240_000  # 10:26: 10:26:30 rounded down to a window end
    assert plan.state == correction.State(NOW, plan.closed_before_ms)


def test_a_later_run_reads_hours_changed_since_and_hours_whose_windows_closed_since() -> None:
    previous = correction.State(NOW - 300_000, NOW - 300_000 - 240_000)
    touched = {
        T0 + 2 * H: NOW - 200_000,  # an old hour that received late rows after the previous run began
        T0 + 5 * H: NOW - 300_000 - 60_000,  # changed within the slack before the previous run: read again
        T0 + 6 * H: NOW - 3 * H,  # unchanged since long before
        T0 + 10 * H: NOW - 1_000,  # the current hour: windows closed since the previous run
    }
    plan = correction.plan(NOW, touched, previous, SETTLE, WINDOW)
    assert plan.hours == (T0 + 2 * H, T0 + 5 * H, T0 + 10 * H)


def test_an_hour_that_closed_at_the_turn_of_the_hour_is_read_once_more() -> None:
    previous = correction.State(T0 + 11 * H + 60_000, T0 + 11 * H - 180_000)  # 10:57 was closed at 11:01
    now = T0 + 11 * H + 360_000  # 11:06: 10:58 and 10:59 closed since
    plan = correction.plan(now, {T0 + 10 * H: T0 + 11 * H, T0 + 11 * H: now}, previous, SETTLE, WINDOW)
    assert plan.hours == (T0 + 10 * H, T0 + 11 * H)


def test_on_demand_reads_every_hour_of_the_range_up_to_the_closed_edge() -> None:
    plan = correction.on_demand(T0 + 2 * H + 5, T0 + 5 * H, NOW, SETTLE, WINDOW)
    assert plan.hours == (T0 + 2 * H, T0 + 3 * H, T0 + 4 * H)
    assert plan.closed_before_ms == T0 + 5 * H


def _agg(count: int, api: str = "/a", start: int = T0) -> records.Aggregate:
    return records.Aggregate(
        api, "INFO", start, start + WINDOW, count, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, count, 0, 0, 0, b"", 1
    )


def test_only_windows_the_table_lacks_or_counts_lower_are_published() -> None:
    same, more, new, fewer = _agg(5), _agg(7, "/b"), _agg(2, "/c"), _agg(3, "/d")
    stored = [_agg(5), _agg(6, "/b"), _agg(1, "/gone"), _agg(4, "/d")]
    assert correction.changed([same, more, new, fewer], stored) == [more, new]
    assert correction.short([same, more, new, fewer], stored) == ["/d|INFO|1767225600000"]
    other_classes = _agg(5)._replace(status_2xx=4, status_5xx=1)
    assert correction.changed([other_classes], stored) == [other_classes]


def test_batch_aggregates_count_each_repeat_once_and_keep_closed_windows(spark: SparkSession) -> None:
    events: list[Any] = [event(n, T0 + n * 1000) for n in range(5)]  # window T0
    events += [event(2, T0 + 2000), event(3, T0 + 3000)]  # repeats: same id, same time
    events += [event(9, T0 + 61_000), {**event(10, T0 + 125_000), "log_level": "warn"}]
    frame = tr.archive_partitions(tr.parse(raw_frame(spark, events)).valid)
    hours = [T0]
    closed = tr.closed_aggregates(tr.in_hours(frame, hours), "1 minute", T0 + 120_000)
    counts = {(r["api"], r["log_level"], r["window_start"]): r["log_count"] for r in closed.collect()}
    assert counts == {("/a", "INFO", T0): 5, ("/a", "INFO", T0 + 60_000): 1}
    assert tr.in_hours(frame, [T0 + H]).count() == 0


def test_window_lengths_and_exclusive_options() -> None:
    assert (window_ms("1 minute"), window_ms("30 seconds"), window_ms("1 hour")) == (60_000, 30_000, 3_600_000)
    assert parse_args(["--since", "2026-01-01T02:00:00Z"]).since_ms == T0 + 2 * H
    with pytest.raises(SystemExit):
        parse_args(["--since", "2026-01-01T02:00:00Z", "--every", "300"])
    with pytest.raises(SystemExit):
        parse_args(["--until", "2026-01-01T02:00:00Z"])
