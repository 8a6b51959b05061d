"""Test and benchmark helpers for the Spark job: run it as a subprocess, feed its topic, read its outputs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from confluent_kafka import Consumer, Producer

from logpipeline import config
from logpipeline.kafka import topics
from logpipeline.kafka.producer import producer_config

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_topics(settings: config.Settings, names: config.Names, partitions: int = 3) -> None:
    topics.ensure(topics.admin_client(settings.kafka_bootstrap), topics.default_topics(names, partitions=partitions))


def produce(bootstrap: str, topic: str, records: Iterable[tuple[str, bytes]]) -> int:
    producer = Producer(producer_config(bootstrap))
    n = 0
    for key, value in records:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        n += 1
        producer.poll(0)
    assert producer.flush(60) == 0, "undelivered records"
    return n


@dataclass
class JobProcess:
    """The job as a subprocess in its own process group (SIGKILL takes its JVM down with it)."""

    args: list[str]
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> JobProcess:
        out = self.log.open("ab")
        cmd = [sys.executable, "-m", "logpipeline_spark.job", *self.args]
        self.proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True, env={**os.environ, **self.env}
        )
        return self

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self, timeout: float = 90.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def job_args(
    settings: config.Settings, names: config.Names, archive_root: str, metrics_port: int = 0, **options: str
) -> list[str]:
    args = {
        "bootstrap": settings.kafka_bootstrap,
        "archive-root": archive_root,
        "input-topic": names.input_topic,
        "aggregates-topic": names.aggregates_topic,
        "dlq-topic": names.dlq_topic,
        "pipeline": names.pipeline,
        "ui-port": "0",
        "metrics-port": str(metrics_port),
        **{k.replace("_", "-"): v for k, v in options.items()},
    }
    return [item for k, v in args.items() for item in (f"--{k}", v)]


class LatestAggregates:
    """Follows the aggregates topic; keeps the latest version of each aggregate id (by log_count, updated_at)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"t-{os.getpid()}-{time.time()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self.consumer.subscribe([topic])
        self.latest: dict[str, dict[str, Any]] = {}
        self.records = 0
        self.arrivals: dict[str, float] = {}

    def poll(self, seconds: float = 0.5, on_record: Callable[[dict[str, Any], float], None] | None = None) -> int:
        got = 0
        for msg in self.consumer.consume(10_000, timeout=seconds):
            assert msg.error() is None, msg.error()
            now = time.time()
            value = orjson.loads(msg.value() or b"{}")
            assert msg.key() == value["id"].encode()
            self.records += 1
            got += 1
            old = self.latest.get(value["id"])
            if old is None or (value["log_count"], value["updated_at"]) >= (old["log_count"], old["updated_at"]):
                self.latest[value["id"]] = value
            if on_record is not None:
                on_record(value, now)
        return got

    def wait_until(self, done: Callable[[LatestAggregates], bool], timeout: float, job: JobProcess | None) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for aggregates" + (f"; job log:\n{job.tail()}" if job else ""))
            if job is not None and not job.alive():
                raise AssertionError(f"job exited; log:\n{job.tail()}")
            self.poll()

    def close(self) -> None:
        self.consumer.close()


def reference(events: Iterable[Mapping[str, Any]], window_ms: int = 60_000) -> pd.DataFrame:
    """Independent per-(window, api, log_level) aggregates with pandas, indexed by aggregate id."""
    df = pd.DataFrame.from_records(
        list(events), columns=["timestamp", "api", "log_level", "response_time", "status_code"]
    )
    df["window_start"] = df["timestamp"] // window_ms * window_ms
    cls = (df["status_code"].clip(200, 599) // 100).astype(int)
    for c in (2, 3, 4, 5):
        df[f"status_{c}xx"] = (cls == c).astype(int)
    g = df.groupby(["window_start", "api", "log_level"])
    out = g.agg(
        log_count=("response_time", "size"),
        avg_response_time=("response_time", "mean"),
        min_response_time=("response_time", "min"),
        max_response_time=("response_time", "max"),
        status_2xx=("status_2xx", "sum"),
        status_3xx=("status_3xx", "sum"),
        status_4xx=("status_4xx", "sum"),
        status_5xx=("status_5xx", "sum"),
    ).reset_index()
    out["window_end"] = out["window_start"] + window_ms
    out["id"] = out["api"] + "|" + out["log_level"] + "|" + out["window_start"].astype(str)
    values = g["response_time"].apply(lambda s: sorted(s.tolist()))
    out["values"] = [
        values[(w, a, lvl)] for w, a, lvl in zip(out["window_start"], out["api"], out["log_level"], strict=True)
    ]
    return out.set_index("id")


def rank_interval(sorted_values: list[float], q: float) -> tuple[float, float]:
    """Normalized rank of ``q`` among the values: (share strictly below, share at or below)."""
    below = sum(1 for v in sorted_values if v < q)
    at_or_below = sum(1 for v in sorted_values if v <= q)
    return below / len(sorted_values), at_or_below / len(sorted_values)


def read_file_sink(webhdfs_url: str, path: str) -> pd.DataFrame:
    """The rows a Spark file sink committed under ``path`` (its ``_spark_metadata`` log), read over WebHDFS.

    Files a killed job left half-written are not in the log and are ignored, as Spark readers do.
    Partition columns (``key=value`` directories) come back as strings.
    """
    import io
    from urllib.parse import urlparse

    import hdfs
    import pyarrow.parquet as pq

    client = hdfs.InsecureClient(webhdfs_url, user=os.environ.get("USER", "root"))
    meta = f"{path}/_spark_metadata"
    if client.status(meta, strict=False) is None:
        return pd.DataFrame()
    entries = {name: name.split(".")[0] for name in client.list(meta) if not name.startswith(".")}
    compacts = [int(b) for name, b in entries.items() if name.endswith(".compact")]
    since = max(compacts, default=-1)
    logs = [n for n, b in entries.items() if int(b) > since or (int(b) == since and n.endswith(".compact"))]
    files: list[str] = []
    for name in logs:
        with client.read(f"{meta}/{name}") as r:
            lines = r.read().decode().splitlines()[1:]
        files += [orjson.loads(line)["path"] for line in lines if line and orjson.loads(line)["action"] == "add"]
    frames = []
    for url in sorted(set(files)):
        file_path = urlparse(url).path
        with client.read(file_path) as r:
            frame = pq.read_table(io.BytesIO(r.read())).to_pandas()
        for part in file_path[len(path) :].strip("/").split("/")[:-1]:
            key, _, value = part.partition("=")
            frame[key] = value
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
