"""``logpipeline bench``'s figures: freshness to the topic from the watched timeline, the side-by-side table, and the
job's route query's rows read from its metrics (the quiet phase waits for them)."""

from __future__ import annotations

import math

from prometheus_client import generate_latest

from logpipeline.cli.bench import side_by_side
from logpipeline.pipeline.bench import BenchResult, Freshness, query_rows, topic_latencies
from logpipeline_spark import telemetry


def test_a_probe_counts_as_arrived_when_its_window_reaches_the_expected_count() -> None:
    w0, w1 = 60_000, 120_000
    timeline = [(10.0, w0, 1), (10.4, w1, 7), (11.0, w0, 2), (12.5, w0, 3), (13.0, w1, 8)]
    sent = [(w0, 9.8, 1), (w0, 10.5, 2), (w0, 10.9, 3), (w1, 12.0, 8), (w1, 12.9, 9)]
    got = topic_latencies(timeline, sent)
    assert [round(x, 2) for x in got[:4]] == [0.2, 0.5, 1.6, 1.0]
    assert math.isinf(got[4])  # the window never reached 9
    # a count reached before the probe was sent (another run's record) is not its arrival
    assert topic_latencies([(5.0, w0, 4)], [(w0, 6.0, 1)]) == [float("inf")]


def test_freshness_rows_name_the_rate_the_path_and_three_percentiles() -> None:
    rows = Freshness(10_000, topic=[0.1, 0.2, 0.3, 0.4], query=[1.0, 2.0, 3.0, float("inf")]).rows()
    assert rows[0] == ("freshness at 10,000 events/s p50/p95/p99: → aggregates topic",
                       "0.20 s / 0.40 s / 0.40 s (4 probes)")  # fmt: skip
    assert rows[1][0].endswith("→ query layer") and rows[1][1] == "2.00 s / inf s / inf s (4 probes)"
    result = BenchResult(cold_start_s=12.0, freshness=[Freshness(1000, [0.5], [1.5])], peak_rss={"kafka": 2**30})
    names = [name for name, _ in result.rows()]
    assert (
        names.index("Spark (backlog → query layer)")
        < names.index("freshness at 1,000 events/s p50/p95/p99: → aggregates topic")
        < names.index("dashboard refresh p50 / p95")
    )


def test_modes_side_by_side_keep_the_figure_order_and_mark_what_a_mode_lacks() -> None:
    rows = side_by_side({
        "microbatch": [("ingest", "1 events/s"), ("CPU: spark", "50%")],
        "realtime": [("ingest", "2 events/s"), ("CPU: spark", "40%"), ("extra", "x")],
    })  # fmt: skip
    assert rows == [["ingest", "1 events/s", "2 events/s"], ["CPU: spark", "50%", "40%"], ["extra", "-", "x"]]


def test_the_route_querys_rows_are_read_from_the_jobs_own_metrics_text() -> None:
    metrics = telemetry.Metrics()
    assert query_rows(generate_latest(metrics.registry).decode(), "route") == 0.0  # before its first batch
    metrics.input_rows.labels("aggregates").inc(5_000)
    metrics.input_rows.labels("route").inc(1_200)
    metrics.input_rows.labels("route").inc(800)
    text = generate_latest(metrics.registry).decode()
    assert query_rows(text, "route") == 2_000
    assert query_rows(text, "aggregates") == 5_000
