"""Entry point of the anomaly training job: learns every API's series from the closed-window archive.

``python -m logpipeline_spark.train [--days 28] [--every SECONDS] [options]``. Each run:

1. reads the closed windows of the last ``--days`` days from ``<root>/<pipeline>/agg/`` (what the correction job
   archives), and turns them into one row per API and minute (``transformations.api_minutes``);
2. replays each API's minutes through its detectors, one Spark task per API (``logpipeline.anomalies.training``);
3. writes the states as one model file, ``<root>/<pipeline>/models/anomalies/model-<trained at>.json``, then points
   ``LATEST`` at it, and removes all but the newest ``KEEP`` files.

The scorer reloads ``LATEST`` when it changes and catches up from the file's last minute through the metrics
table, so minutes the archive does not hold yet (the correction job archives closed hours) are learnt there.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from logpipeline import config
from logpipeline.anomalies import catalogue, modelfile, models, training
from logpipeline.anomalies.detector import Detector
from logpipeline.anomalies.scoring import Scorer
from logpipeline.observability import configure_logging, stop_on_signals
from logpipeline_spark import session
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.correct import lower_priority

log = logging.getLogger("logpipeline_spark.train")
MINUTE_MS = 60_000
DAY_MS = 86_400_000
STATES = "api string, metric string, state string"


@dataclass(frozen=True)
class TrainOptions:
    archive_root: str
    pipeline: str
    days: float = 28.0
    until_ms: int | None = None
    every_s: float = 0.0
    master: str | None = "local[2]"
    driver_memory: str = "2g"
    nice: int = 10

    def path(self, *parts: str) -> str:
        return "/".join([self.archive_root.rstrip("/"), self.pipeline, *parts])


def parse_args(argv: Sequence[str] | None = None) -> TrainOptions:
    settings = config.load()
    env = os.environ.get
    p = argparse.ArgumentParser(prog="logpipeline_spark.train", description=__doc__.splitlines()[0])
    p.add_argument("--archive-root", default=env("LOGPIPELINE_ARCHIVE_ROOT") or settings.hdfs_url)
    p.add_argument("--pipeline", default=settings.names.pipeline)
    p.add_argument("--days", type=float, default=28.0, help="days of history to learn from")
    p.add_argument("--until", type=int, default=None, help="learn minutes before this epoch ms (default: now)")
    p.add_argument("--every", type=float, default=0.0, help="seconds between runs (0: one run)")
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    p.add_argument("--master", default=env("LOGPIPELINE_SPARK_MASTER") or ("" if under_submit else "local[2]"))
    p.add_argument("--driver-memory", default=env("LOGPIPELINE_TRAINING_DRIVER_MEMORY") or "2g")
    p.add_argument("--nice", type=int, default=int(env("LOGPIPELINE_TRAINING_NICE") or 10))
    a = p.parse_args(argv)
    if a.days <= 0:
        p.error("--days: expected a positive number of days")
    return TrainOptions(a.archive_root, a.pipeline, a.days, a.until, a.every, a.master or None, a.driver_memory, a.nice)


def _train(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """One API's minutes in (as Arrow batches of the group), its series' states out (in a Spark Python worker)."""
    whole = pd.concat(list(frames), ignore_index=True)
    for api, frame in whole.groupby("api", sort=False):
        rows = (
            (int(m), int(e), int(x), None if pd.isna(p) else float(p))
            for m, e, x, p in zip(frame["minute"], frame["events"], frame["errors"], frame["p95"], strict=True)
        )
        detectors = training.train_api(str(api), rows)
        yield pd.DataFrame(
            [(a, m, json.dumps(d.state())) for (a, m), d in detectors.items()], columns=["api", "metric", "state"]
        )


def run_once(spark: SparkSession, archive: Archive, opts: TrainOptions, now_ms: int) -> dict[str, object]:
    began = time.monotonic()
    until = (opts.until_ms or now_ms) // MINUTE_MS * MINUTE_MS
    since = until - int(opts.days * DAY_MS)
    source = opts.path("agg")
    if not archive.exists(source):
        log.warning("no closed-window archive yet; nothing to train on", extra={"fields": {"path": source}})
        return {"series": 0, "path": source}
    windows = spark.read.parquet(source).where((F.col("window_start") >= since) & (F.col("window_start") < until))
    minutes = tr.api_minutes(windows)
    span = minutes.agg(F.min("minute").alias("lo"), F.max("minute").alias("hi")).first()
    if span is None or span["lo"] is None:
        log.warning("the archive holds no window in the range", extra={"fields": {"since": since, "until": until}})
        return {"series": 0, "path": source}
    states = minutes.groupBy("api").applyInPandas(_train, STATES).collect()
    detectors = {
        (r["api"], r["metric"]): Detector.restore(catalogue.settings(r["metric"]), json.loads(r["state"]))
        for r in states
    }
    trained_at = int(time.time() * 1000)
    data = modelfile.encode(Scorer(detectors), trained_at, int(span["lo"]), int(span["hi"]) + MINUTE_MS)
    where = models.directory(opts.archive_root, opts.pipeline)
    name = modelfile.file_name(trained_at)
    archive.write_text(f"{where}/{name}", data.decode())
    archive.write_text(f"{where}/{modelfile.LATEST}", name + "\n")
    kept = sorted(n for n in archive.names(where) if n.startswith(modelfile.NAME_PREFIX) and n.endswith(".json"))
    for old in kept[: -models.KEEP]:
        archive.delete(f"{where}/{old}")
    summary: dict[str, object] = {
        "model": f"{where}/{name}",
        "series": len(detectors),
        "apis": len({a for a, _ in detectors}),
        "history_from": int(span["lo"]),
        "history_until": int(span["hi"]) + MINUTE_MS,
        "bytes": len(data),
        "seconds": round(time.monotonic() - began, 3),
    }
    log.info("anomaly model trained", extra={"fields": summary})
    return summary


def run(opts: TrainOptions) -> int:
    """One run in this process (its Spark driver ends with it)."""
    if opts.nice > 0:
        lower_priority(opts.nice)
    extra = {"spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "4"}
    if opts.master:  # a JVM this process starts: its Python workers are this Python (it has the detectors)
        extra["spark.driver.memory"] = opts.driver_memory
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = session.build_session(
        f"logpipeline-{opts.pipeline}-train", master=opts.master, with_kafka=False, extra=extra
    )
    spark.sparkContext.setLogLevel("WARN")
    try:
        summary = run_once(spark, Archive(spark), opts, int(time.time() * 1000))
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()
        return 0
    except Exception as exc:
        log.error("training failed", extra={"fields": {"error": str(exc)[:500]}})
        return 1
    finally:
        spark.stop()


def repeat(opts: TrainOptions, argv: Sequence[str]) -> int:
    """``--every``: one run per interval, each in a child process, so no Spark driver idles between runs."""
    stop = stop_on_signals(log)
    once = [a for i, a in enumerate(argv) if a != "--every" and (i == 0 or argv[i - 1] != "--every")]
    once = [a for a in once if not a.startswith("--every=")]
    while True:
        code = subprocess.run([sys.executable, "-m", "logpipeline_spark.train", *once], check=False).returncode
        if code:
            log.error("training run failed; the next one repeats it", extra={"fields": {"exit": code}})
        if stop.wait(opts.every_s):
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = list(sys.argv[1:] if argv is None else argv)
    opts = parse_args(args)
    return repeat(opts, args) if opts.every_s else run(opts)


if __name__ == "__main__":
    sys.exit(main())
