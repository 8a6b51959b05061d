"""Test and benchmark helpers for the Spark job: run it as a subprocess, feed its topic, read its outputs."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
from confluent_kafka import Consumer, Producer

from logpipeline import config
from logpipeline.generator import traffic
from logpipeline.kafka import topics
from logpipeline.kafka.producer import producer_config
from support import leftovers

REPO = Path(__file__).resolve().parents[2]


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
        # Micro-batches unless a test chooses (the job's default is real-time mode): the tests that leave it out
        # speak of triggers and batches.
        "mode": "microbatch",
        **{k.replace("_", "-"): v for k, v in options.items()},
    }
    return [item for k, v in args.items() for item in (f"--{k}", v)]


class LatestAggregates:
    """Follows the aggregates topic; keeps the latest version of each aggregate id (by log_count, updated_at)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"t-{leftovers.suffix()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        self.consumer.subscribe([topic])
        self.latest: dict[str, dict[str, Any]] = {}
        self.records = 0
        self.newest_update = 0  # the newest updated_at read (epoch ms of the job's wall clock)
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
            self.newest_update = max(self.newest_update, int(value["updated_at"]))
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


def read_archive(webhdfs_url: str, path: str) -> pd.DataFrame:
    """The rows of every Parquet file under ``path``'s ``key=value`` partitions, read over WebHDFS, as Spark reads
    them: paths with a part that starts with ``_`` or ``.`` (staging, retired logs) are skipped. Partition columns
    come back as strings."""
    import io

    import hdfs
    import pyarrow.parquet as pq

    client = hdfs.InsecureClient(webhdfs_url, user=os.environ.get("USER", "root"))
    if client.status(path, strict=False) is None:
        return pd.DataFrame()
    frames = []
    for folder, _, names in client.walk(path):
        relative = folder[len(path) :].strip("/")
        parts = relative.split("/") if relative else []
        if any(p.startswith(("_", ".")) for p in parts):
            continue
        for name in sorted(n for n in names if n.endswith(".parquet") and not n.startswith(("_", "."))):
            with client.read(f"{folder}/{name}") as r:
                frame = pq.read_table(io.BytesIO(r.read())).to_pandas()
            for part in parts:
                key, _, value = part.partition("=")
                frame[key] = value
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def committed_records(
    bootstrap: str, topic: str, at_least: int, timeout_s: float = 60.0, settle_s: float = 5.0
) -> list[tuple[bytes, dict[str, str]]]:
    """Every committed record of ``topic`` (``read_committed``: what a transaction aborted is left out): read until
    ``at_least`` arrived or ``timeout_s`` passed, then ``settle_s`` longer, so a record sent twice shows twice."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{leftovers.suffix()}",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    got: list[tuple[bytes, dict[str, str]]] = []
    deadline = time.monotonic() + timeout_s
    settled: float | None = None
    try:
        while time.monotonic() < (settled or deadline):
            for msg in consumer.consume(100, timeout=0.5):
                if msg.error() is None:
                    headers: list[tuple[str, bytes]] = list(msg.headers() or [])  # type: ignore[arg-type]
                    got.append((msg.value() or b"", {k: (v or b"").decode() for k, v in headers}))
            if settled is None and len(got) >= at_least:
                settled = time.monotonic() + settle_s
    finally:
        consumer.close()
    return got


def pace(
    bootstrap: str,
    topic: str,
    rate: int,
    seconds: float,
    sent: dict[int, tuple[float, int]],
    per_window: dict[int, int],
    seed: int,
) -> None:
    """Produce ``rate`` events/s in real time; ``sent[second]`` = (wall time of its last send, window count so far)."""
    spec = traffic.TrafficSpec(
        seed=seed, start_ms=int(time.time() * 1000), rate=float(rate), duration_s=seconds, diurnal=False
    )
    batch: list[tuple[str, bytes]] = []
    producer = Producer(producer_config(bootstrap, **{"linger.ms": 5}))

    def send(last_ts: int) -> None:
        wait = last_ts / 1000 - time.time()
        if wait > 0:
            time.sleep(wait)
        for k, v in batch:
            producer.produce(topic, v, k)
        producer.flush(5)
        batch.clear()
        sent[last_ts // 1000] = (time.time(), per_window[last_ts // 60_000])

    previous = 0
    for block in traffic.blocks(spec):
        for ts, key, value in zip(block.timestamp.tolist(), block.api_keys(), block.encode(), strict=True):
            if batch and (len(batch) >= rate // 50 or ts // 60_000 != previous // 60_000):
                send(previous)  # a batch never straddles a minute: the minute's last event ends one
            batch.append((key, value))
            per_window[ts // 60_000] += 1
            previous = ts
    if batch:
        send(previous)


@dataclass
class Freshness:
    """Event -> counted-on-the-topic lags of a freshness run, and the aggregates query's batch times."""

    lags: list[float]
    minute_end_lags: list[float]
    batch_ms: list[int]
    seconds: int
    job_tail: str

    def quantile(self, q: int) -> float:
        """The q-th of 20 quantiles (10: p50, 19: p95) of the lags."""
        return statistics.quantiles(self.lags, n=20)[q - 1] if len(self.lags) > 1 else self.lags[0]

    def percentile(self, p: int) -> float:
        """The p-th percentile of the lags."""
        return statistics.quantiles(self.lags, n=100)[p - 1] if len(self.lags) > 1 else self.lags[0]

    def describe(self) -> str:
        text = f"samples {len(self.lags)}/{self.seconds} seconds visible"
        if self.lags:
            text += f"; freshness p50 {self.percentile(50):.2f}s p95 {self.percentile(95):.2f}s"
            text += f" p99 {self.percentile(99):.2f}s"
        text += f"; last event of a minute -> complete: {[round(x, 2) for x in self.minute_end_lags]}"
        if self.batch_ms:
            text += f"; aggregates query {len(self.batch_ms)} batches, median {statistics.median(self.batch_ms):.0f} ms"
        return text


def measure_freshness(
    stack: config.Settings,
    tmp_path: Path,
    rate: int,
    seconds: float,
    beside: Callable[[], None] | None = None,
    mode: str = "microbatch",
) -> Freshness:
    """The real job (aggregates in ``mode``: 1 s micro-batches, or real-time) as a subprocess while ``rate`` events/s are produced in real time for ``seconds``,
    after a 10 s warm-up it has caught up with; ``beside`` runs on a thread once the measured traffic starts.
    For each second of production: the lag from sending its last event to the first moment the aggregates on the
    topic count every event of that window sent so far. Checkpoints and the raw archive are on the stack's HDFS, as
    the job keeps them (under the run's own pipeline name); ``tmp_path`` holds the job's log."""
    run = leftovers.suffix()
    names = config.Names(input_topic=f"bench_fr_{run}", aggregates_topic=f"bench_agg_{run}", pipeline=run)
    create_topics(stack, names, partitions=3)
    tmp_path.mkdir(parents=True, exist_ok=True)
    job = JobProcess(
        job_args(stack, names, stack.hdfs_url, trigger="1 second", mode=mode),
        tmp_path / "job.log",
    ).start()
    aggs = LatestAggregates(stack.kafka_bootstrap, names.aggregates_topic)
    totals: dict[int, int] = defaultdict(int)
    seen_at: list[tuple[float, int, int]] = []  # (wall time, window minute, total of that window)

    def on_record(value: dict[str, Any], now: float) -> None:
        minute = int(value["window_start"]) // 60_000
        totals[minute] = sum(v["log_count"] for k, v in aggs.latest.items() if v["window_start"] // 60_000 == minute)
        seen_at.append((now, minute, totals[minute]))

    sent: dict[int, tuple[float, int]] = {}
    side: threading.Thread | None = None
    try:
        deadline = time.monotonic() + 240
        while "query started" not in (job.log.read_text(errors="replace") if job.log.exists() else ""):
            assert job.alive() and time.monotonic() < deadline, job.tail()
            time.sleep(1)
        per_window: dict[int, int] = defaultdict(int)
        # warm-up, not measured: 10 s of traffic, until the job has caught up with it
        pace(stack.kafka_bootstrap, names.input_topic, rate, 10, {}, per_window, 6)
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) >= sum(per_window.values()), 300, job)
        feeder = threading.Thread(
            target=pace, args=(stack.kafka_bootstrap, names.input_topic, rate, seconds, sent, per_window, 5)
        )
        feeder.start()
        if beside is not None:
            side = threading.Thread(target=beside)
            side.start()
        while feeder.is_alive():
            aggs.poll(0.2, on_record)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            aggs.poll(0.2, on_record)
        batch_lines = [
            orjson.loads(x) for x in job.log.read_text().splitlines() if x.startswith('{"') and '"batch"' in x
        ]
    finally:
        aggs.close()
        if job.alive():
            job.terminate()
        if side is not None:
            side.join()
    lags, minute_end_lags = [], []
    by_minute: dict[int, list[int]] = defaultdict(list)
    for second in sorted(sent):
        by_minute[second // 60].append(second)
    last_of_minute = {max(seconds_) for seconds_ in by_minute.values()}
    for second, (sent_at, count) in sorted(sent.items()):
        minute = second // 60
        visible = next((t for t, m, total in seen_at if m == minute and total >= count and t >= sent_at), None)
        if visible is None:
            continue
        lags.append(visible - sent_at)
        if second in last_of_minute and second % 60 == 59:
            minute_end_lags.append(visible - sent_at)
    batch_ms = [int(x["batch_ms"]) for x in batch_lines if x.get("query") == "aggregates"]
    return Freshness(lags, minute_end_lags, batch_ms, len(sent), job.tail())
