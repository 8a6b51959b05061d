"""Correction job figures, printed: one day of raw archive re-aggregated, and the live job's freshness beside it.

1. A raw archive of ``BENCH_CORRECTION_HOURS`` (24) hours at 200 events/s (17.3M events for a day), written as
   Parquet ``raw/date=…/hour=…/`` on local disk from the traffic generator's columns.
2. The reference, in the same Spark session (local[2]): read the archive and count its events per (minute, api,
   level) — the least any re-aggregation has to do.
3. One correction run over the whole archive (``correct.run_plan``: parse rules, de-dup, windows with KLL sketches,
   the table read, the changed windows published to Kafka, the closed-window archive written): wall time, windows
   re-aggregated per second, and its ratio to the reference.
4. The live job's freshness at ``BENCH_RATE`` (2000) events/s for ``BENCH_SECONDS`` (120) s, alone and then with a
   correction run over the archive beside it: the ratio of the p95s (target: at most 1.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from logpipeline import config
from logpipeline.events import EVENT_FIELDS
from logpipeline.generator import traffic
from logpipeline.metrics import store
from logpipeline_spark import correct, correction
from logpipeline_spark.archive import Archive
from logpipeline_spark.session import build_session
from logpipeline_spark.telemetry import CorrectionMetrics
from support.spark_job import create_topics, measure_freshness

HOURS = float(os.environ.get("BENCH_CORRECTION_HOURS", "24"))
ARCHIVE_RATE = 200.0
RATE = int(os.environ.get("BENCH_RATE", "2000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "120"))


def write_archive(raw: Path, start_ms: int, hours: float) -> int:
    """Generated events of ``hours`` at 200 events/s as the streaming job's raw archive lays them out."""
    spec = traffic.TrafficSpec(seed=17, start_ms=start_ms, rate=ARCHIVE_RATE, duration_s=hours * 3600, diurnal=False)
    names = [f.name for f in EVENT_FIELDS]
    total = 0
    for n, block in enumerate(traffic.blocks(spec)):
        rows = list(block.events())
        table = pa.Table.from_pylist([{k: e.get(k) for k in names} for e in rows])
        hours_of = np.asarray(block.timestamp) // correction.HOUR_MS
        for hour in np.unique(hours_of):
            part = table.filter(pa.array(hours_of == hour))
            when = datetime.fromtimestamp(int(hour) * 3600, UTC)
            target = raw / f"date={when:%Y-%m-%d}" / f"hour={when:%H}"
            target.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, target / f"part-{n:05d}.parquet")
        total += len(rows)
    return total


@pytest.mark.timeout(7200)
def test_a_day_of_archive_and_the_live_job_beside_a_correction(stack: config.Settings, tmp_path: Path) -> None:
    now = int(time.time() * 1000)
    start = now - now % correction.HOUR_MS - int(HOURS * correction.HOUR_MS) - correction.HOUR_MS
    pipeline, table = f"bench-corr-{now}", f"bench_corr_{now}"
    root = tmp_path / "archive"
    began = time.perf_counter()
    events = write_archive(root / pipeline / "raw", start, HOURS)
    print(f"\narchive: {events:,} events over {HOURS:g} h written in {time.perf_counter() - began:.0f}s")
    store.init_table(store.client(stack.dynamodb_endpoint), table)
    create_topics(stack, config.Names(input_topic=f"bench_corr_in_{now}", aggregates_topic=f"bench_corr_agg_{now}"))
    opts = correct.parse_args(
        ["--archive-root", f"file://{root}", "--pipeline", pipeline, "--table", table,
         "--endpoint", stack.dynamodb_endpoint, "--aggregates-topic", f"bench_corr_agg_{now}"]
    )  # fmt: skip
    spark = build_session("bench-correction", master="local[2]", with_kafka=False, extra={"spark.driver.memory": "3g"})
    try:
        archive = Archive(spark)
        hours = tuple(sorted(archive.hours(opts.path("raw"))))
        began = time.perf_counter()
        spark.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        reference = (
            spark.read.parquet(opts.path("raw"))
            .groupBy((F.col("timestamp") - F.col("timestamp") % 60_000).alias("minute"), "api", "log_level")
            .count()
            .count()
        )
        reference_s = time.perf_counter() - began
        plan = correction.Plan(hours, now, correction.State(now, now))
        began = time.perf_counter()
        summary = correct.run_plan(spark, archive, opts, CorrectionMetrics(), plan, save_state=False)
        correction_s = time.perf_counter() - began
    finally:
        spark.stop()
    print(
        f"reference (read + count per minute, api, level): {reference:,} groups in {reference_s:.1f}s; "
        f"correction: {summary['windows']:,} windows in {correction_s:.1f}s "
        f"({summary['windows'] / correction_s:,.0f} windows/s, {events / correction_s:,.0f} events/s), "
        f"published {summary['published']:,}; ratio to the reference {correction_s / reference_s:.2f}"
    )
    assert summary["windows"] == reference

    alone = measure_freshness(stack, tmp_path / "alone", RATE, SECONDS)
    print(f"live job alone at {RATE} events/s: {alone.describe()}")

    def run_correction() -> None:  # in its own JVM, as the local pipeline and the CronJob run it
        command = [sys.executable, "-m", "logpipeline_spark.correct", *_args(opts, since=start)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, start_new_session=True)
        runs = [line for line in done.stderr.splitlines() if '"correction run"' in line]
        print(f"correction beside the live job: exit {done.returncode}, {(runs or ['no run line'])[-1][:300]}")

    with_correction = measure_freshness(stack, tmp_path / "beside", RATE, SECONDS, beside=run_correction)
    print(f"live job with a correction beside it: {with_correction.describe()}")
    if alone.lags and with_correction.lags:
        ratio = with_correction.quantile(19) / alone.quantile(19)
        print(f"freshness p95 with a correction / alone: {ratio:.2f} (target <= 1.20)")
    assert alone.lags and with_correction.lags


def _args(opts: correct.CorrectOptions, since: int | None = None) -> list[str]:
    args = ["--archive-root", opts.archive_root, "--pipeline", opts.pipeline, "--table", opts.table]
    args += ["--aggregates-topic", opts.aggregates_topic, "--endpoint", opts.endpoint or ""]
    return [*args, "--since", str(since)] if since is not None else args
