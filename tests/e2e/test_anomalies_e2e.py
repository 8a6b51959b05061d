"""A live incident from ``logpipeline generate --incident`` flagged by the anomaly scorer within three minutes.

The local pipeline runs (Kafka, the streaming job, the sink, the metrics table); the generator sends traffic at 90
events/s; 14 days of history like it (``minutes.like_traffic``) are in the closed-window archive up to its first full
minute, and the Spark training job learns them; then ``logpipeline anomalies run`` scores every closed minute from
the metrics table. Four clean minutes, then the payments API's 5xx share times six: its error-rate anomaly must be
in the anomalies table within 3 minutes of the step, nothing may open in the clean minutes, and every minute must be
scored within 60 s of its window closing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from logpipeline import config
from logpipeline.anomalies import table
from logpipeline.contracts import ERROR_RATE_METRIC
from logpipeline.generator import minutes
from logpipeline.metrics import store
from logpipeline.pipeline import processes
from logpipeline.stack import process
from support import anomalies as history
from support import local_pipeline

BUSY_RATE = 90  # events/s during the minutes under test, whatever the hour (the generator's diurnal peak of 60/s)
MINUTE = 60_000
API = "/api/v1/payments"
CLEAN_MINUTES = 4


def histogram(url: str, name: str) -> dict[str, float]:
    """The buckets (le -> count) of a histogram on a /metrics page."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(requests.get(url, timeout=10).text):
        if family.name == name:
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    out[sample.labels["le"]] = sample.value
    return out


@pytest.mark.timeout(1800)
def test_a_live_error_step_is_flagged_within_three_minutes(stack: config.Settings) -> None:
    options = processes.Options(generator=False, archive="local", correct_every=0, dashboard=False, anomalies=False)
    with local_pipeline.running("anom", options) as settings:
        cli = Path(sys.executable).with_name("logpipeline")
        # the history ends at a minute far enough ahead to write it and train on it before the traffic starts there
        first_full = math.ceil((time.time() + 100) / 60) * MINUTE
        step = first_full + CLEAN_MINUTES * MINUTE
        # The generator (and its history, alike) follows a diurnal curve, 0.5x to 1.5x of --rate by the hour: at night
        # the payments API's minutes are so thin that its error-rate step hides in their noise for minutes. The rate
        # is scaled so that the minutes under test are as busy at any hour, and the outcome does not hang on the clock.
        busy = float(minutes.diurnal(np.array([first_full // MINUTE % 1440], dtype=np.float64))[0])
        rate = BUSY_RATE / busy
        root = (settings.state / "archive").as_uri()
        past = minutes.like_traffic(rate, 14, first_full - 14 * 1440 * MINUTE, seed=5)
        history.write_archive(settings.state / "archive", settings.names.pipeline, past)
        job = subprocess.run(
            [sys.executable, "-m", "logpipeline_spark.train", "--archive-root", root, "--until", str(first_full),
             "--nice", "0", "--driver-memory", "1g"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert job.returncode == 0, job.stderr[-3000:]
        port = process.free_port()
        log = settings.state / "anomalies-e2e.log"
        scorer = subprocess.Popen(
            [str(cli), "anomalies", "run", "--archive-root", root, "--http-port", str(port)],
            stdout=subprocess.DEVNULL, stderr=log.open("w"),
        )  # fmt: skip
        time.sleep(max(0.0, first_full / 1000 - 20 - time.time()))
        began = int(time.time() * 1000)
        assert began < first_full, "the history took too long to write and learn"
        incident = f"{API}:errors:{(step - began) / 1000}:{(step - began) / 1000 + 600}:6"
        traffic = subprocess.Popen(
            [str(cli), "generate", "--rate", f"{rate:.3f}", "--seed", "5", "--start-ms", str(began), "--incident", incident],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            ddb = store.client(settings.dynamodb_endpoint)
            found: dict[str, Any] | None = None
            deadline = step + 6 * MINUTE
            while time.time() * 1000 < deadline and found is None:
                for doc in table.read_anomalies(ddb, settings.names.table, first_full, step + 10 * MINUTE):
                    if doc["api"] == API and doc["metric"] == ERROR_RATE_METRIC:
                        found, seen_at = doc, time.time() * 1000
                time.sleep(2)
            assert found is not None, log.read_text()[-3000:]
            delay_s = (seen_at - step) / 1000
            print(json.dumps({"flagged_after_s": round(delay_s, 1), "anomaly": found}), flush=True)
            assert delay_s <= 180, f"flagged {delay_s:.0f} s after the error step"
            assert found["since"] >= step
            all_found = table.read_anomalies(ddb, settings.names.table, first_full, step + 10 * MINUTE)
            assert [d for d in all_found if d["since"] < step] == [], "an anomaly opened in the clean minutes"
            buckets = histogram(f"http://127.0.0.1:{port}/metrics", "logpipeline_anomalies_scoring_delay_seconds")
            print(json.dumps({"scoring_delay_buckets": buckets}), flush=True)
            assert buckets["+Inf"] >= CLEAN_MINUTES and buckets["60.0"] == buckets["+Inf"]
        finally:
            for child in (traffic, scorer):
                child.terminate()
                child.wait(30)
