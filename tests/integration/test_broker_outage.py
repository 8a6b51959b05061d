"""A broker killed twice (SIGKILL) and restarted under 2,000 generated events/s: nothing acknowledged is lost or
counted twice, and the generator says so while it lasts.

A private Kafka broker (KRaft, its own ports and data directory, so the shared stack is never touched) serves a
generator (``logpipeline generate --rate 2000 --truth``) and the streaming job. The broker is killed and restarted
twice mid-stream. The generator's ``/readyz`` must fail during each outage and pass again after, its ``/metrics``
must count every acknowledged delivery, and the job's aggregates must equal the generator's ground truth exactly:
every (minute, api, level) count.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from logpipeline import config
from logpipeline.stack import lifecycle, process
from logpipeline.stack.process import free_port
from support import leftovers
from support.spark_job import JobProcess, LatestAggregates, create_topics, job_args
from support.wait import wait_for

RATE, SECONDS = 2000, 100
# (seconds after the generator starts or the previous restart, seconds the broker stays down before its restart,
# which takes about 12 s more: a KRaft broker recovering its log after SIGKILL)
OUTAGES = ((8.0, 15.0), (20.0, 15.0))


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _kill_broker(settings: config.Settings) -> None:
    pid = process.read_pid(settings.run / "kafka.pid")
    assert pid is not None, "the private broker runs"
    os.killpg(pid, signal.SIGKILL)
    wait_for(
        lambda: process.read_pid(settings.run / "kafka.pid") is None, 10, "the broker gone", interval=0.1, fail=False
    )


@pytest.fixture(scope="module")
def outage(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("outage")
    ports = replace(stack.ports, kafka=free_port(), kafka_sasl=free_port(), kafka_controller=free_port())
    private = config.Settings(state=tmp / "state", cache=stack.cache, ports=ports)
    lifecycle.up(private, lambda component, message: None, only=["kafka"])
    unique = leftovers.suffix()
    names = config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}", pipeline=f"out-{unique}")
    create_topics(private, names)
    aggs = LatestAggregates(private.kafka_bootstrap, names.aggregates_topic)
    job = JobProcess(
        job_args(private, names, f"file://{tmp / 'archive'}", queries="aggregates", trigger="1 second"),
        tmp / "job.log",
    ).start()
    metrics_port = free_port()
    truth_path = tmp / "truth.jsonl"
    env = {**os.environ, "LOGPIPELINE_KAFKA_BOOTSTRAP": private.kafka_bootstrap}
    exe = str(Path(sys.executable).with_name("logpipeline"))
    generator: subprocess.Popen[str] | None = None
    readiness: list[tuple[float, int]] = []
    stop = threading.Event()
    try:
        aggs.wait_until(lambda a: True, 1, job)
        time.sleep(20)  # the job's session is up and its queries started before the traffic begins
        generator = subprocess.Popen(
            [exe, "generate", "--rate", str(RATE), "--duration", str(SECONDS), "--seed", "21",
             "--topic", names.input_topic, "--metrics-port", str(metrics_port), "--truth", str(truth_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        began = time.monotonic()

        def watch() -> None:
            while not stop.is_set():
                readiness.append((time.monotonic() - began, _status(f"http://127.0.0.1:{metrics_port}/readyz")))
                time.sleep(0.5)

        threading.Thread(target=watch, daemon=True).start()
        windows: list[tuple[float, float, float]] = []  # (killed, restart begun, restarted) after ``began``
        metrics_during: list[str] = []
        since = began
        for wait, down_for in OUTAGES:
            time.sleep(max(0.0, since + wait - time.monotonic()))
            _kill_broker(private)
            killed = time.monotonic() - began
            time.sleep(down_for)
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2) as response:
                metrics_during.append(response.read().decode())
            restarting = time.monotonic() - began
            lifecycle.up(private, lambda component, message: None, only=["kafka"])
            since = time.monotonic()
            windows.append((killed, restarting, since - began))
        out, err = generator.communicate(timeout=SECONDS + 300)
        stop.set()
        summary = orjson.loads(out.strip().splitlines()[-1])
        lines = [orjson.loads(x) for x in truth_path.read_bytes().splitlines()]
        truth = {x["aggregate"]["id"]: x["aggregate"] for x in lines if x["kind"] == "aggregate"}
        total = sum(a["log_count"] for a in truth.values())
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) >= total, 300, job)
        aggs.poll(3.0)
        yield {
            "summary": summary,
            "truth": truth,
            "latest": dict(aggs.latest),
            "readiness": readiness,
            "windows": windows,
            "metrics_during": metrics_during,
            "generator_stderr": err,
        }
    finally:
        stop.set()
        if generator is not None and generator.poll() is None:
            generator.kill()
        aggs.close()
        if job.alive():
            job.kill()
        lifecycle.down(private, lambda component, message: None)


def test_every_acknowledged_event_is_counted_exactly_once(outage: dict[str, Any]) -> None:
    summary, truth, latest = outage["summary"], outage["truth"], outage["latest"]
    assert summary["failed"] == 0 and summary["sent"] == sum(a["log_count"] for a in truth.values()) > 0, summary
    assert sorted(latest) == sorted(truth)
    assert {k: v["log_count"] for k, v in latest.items()} == {k: v["log_count"] for k, v in truth.items()}


def _changes(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """The samples where /readyz changed its answer (a short, readable failure message)."""
    return [(round(t, 1), code) for i, (t, code) in enumerate(samples) if i == 0 or samples[i - 1][1] != code]


def test_readyz_fails_during_each_outage_and_passes_after(outage: dict[str, Any]) -> None:
    samples = outage["readiness"]
    for killed, restarting, restarted in outage["windows"]:
        # from the stall bound (10 s) to the restart's start: while the restart waits for the broker to be ready,
        # the generator may reconnect and be ready first
        during = [code for t, code in samples if killed + 11 <= t <= restarting]
        after = [code for t, code in samples if restarted + 12 <= t <= restarted + 15]
        assert during and set(during) == {503}, (killed, restarted, _changes(samples))
        assert after and set(after) == {200}, (killed, restarted, _changes(samples))


def test_metrics_count_acknowledged_deliveries_and_show_the_outage(outage: dict[str, Any]) -> None:
    for text in outage["metrics_during"]:
        values = {
            line.split()[0]: float(line.split()[1]) for line in text.splitlines() if line and not line.startswith("#")
        }
        assert values["logpipeline_generator_in_flight"] > 0, "events wait for the broker"
        assert values["logpipeline_generator_broker_acknowledging"] == 0
        assert 0 < values["logpipeline_generator_acknowledged_total"] < outage["summary"]["sent"]
