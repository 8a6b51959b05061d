"""``logpipeline bench``: the whole pipeline on a fixed workload, measured end to end.

Figures: cold start of the pipeline, ingest events/s (generator → broker), Spark events/s (backlog
→ aggregates visible through the query layer), the CPU of each component on a quiet stream (200 events/s, as
``logpipeline up``'s generator sends, once the job's route query has read the backlog), freshness p50/p95/p99 at
each background rate (1k and 10k events/s): a probe event's send time → the moment the aggregates topic counts it,
and → the moment the query layer counts it,
dashboard refresh p50/p95 (a dashboard worker's snapshot of the last hour, through the dashboard's own data path),
and the peak resident memory of each component and of the whole stack. The Spark job's aggregates query runs in
``BenchConfig.mode`` (the command runs each mode it is given, one after another).

The bench runs on its own topics and table (named after the run), so it never mixes with a
pipeline's data; it starts the stack when none runs and stops what it started.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from confluent_kafka import Consumer
from prometheus_client.parser import text_string_to_metric_families

from logpipeline import config, contracts
from logpipeline.dashboard import data, timerange
from logpipeline.dashboard import settings as dashboard_settings
from logpipeline.events import codec
from logpipeline.kafka.producer import Sender
from logpipeline.metrics import query, records, rollup, store
from logpipeline.pipeline import launcher, processes
from logpipeline.stack import lifecycle, process

Report = Callable[[str], None]
PROBE_API = "bench-probe"


@dataclass(frozen=True)
class BenchConfig:
    events: int = 200_000
    freshness_seconds: float = 60.0
    freshness_rates: tuple[float, ...] = (1_000.0, 10_000.0)
    probe_interval: float = 0.5
    refreshes: int = 30
    quiet_rate: float = 200.0
    quiet_seconds: float = 60.0
    mode: str = contracts.AGGREGATES_MODES[0]
    probe_api: str = PROBE_API  # the probes' api: its windows hold probes only


@dataclass(frozen=True)
class Freshness:
    """The probes' latencies at one background rate: send → counted on the aggregates topic, and → counted by
    the query layer (inf: not within 120 s)."""

    rate: float
    topic: list[float]
    query: list[float]

    def rows(self) -> list[tuple[str, str]]:
        def figures(values: list[float]) -> str:
            p50, p95, p99 = (percentile(values, p) for p in (50, 95, 99))
            return f"{p50:.2f} s / {p95:.2f} s / {p99:.2f} s ({len(values)} probes)"

        at = f"freshness at {self.rate:,.0f} events/s p50/p95/p99"
        return [(f"{at}: → aggregates topic", figures(self.topic)), (f"{at}: → query layer", figures(self.query))]


@dataclass
class BenchResult:
    cold_start_s: float | None = None
    ingest_events_per_s: float = 0.0
    spark_events_per_s: float = 0.0
    freshness: list[Freshness] = field(default_factory=list)
    refresh_p50_ms: float = 0.0
    refresh_p95_ms: float = 0.0
    peak_rss: dict[str, int] = field(default_factory=dict)
    peak_total_rss: int = 0
    quiet_rate: float = 0.0
    cpu_share: dict[str, float] = field(default_factory=dict)

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("cold start (stack + services)", f"{self.cold_start_s:.1f} s" if self.cold_start_s else "stack was up"),
            ("ingest (generator → Kafka)", f"{self.ingest_events_per_s:,.0f} events/s"),
            ("Spark (backlog → query layer)", f"{self.spark_events_per_s:,.0f} events/s"),
        ]  # fmt: skip
        for freshness in self.freshness:
            rows += freshness.rows()
        rows.append(("dashboard refresh p50 / p95", f"{self.refresh_p50_ms:.0f} ms / {self.refresh_p95_ms:.0f} ms"))
        rows += [
            (f"CPU at {self.quiet_rate:.0f} events/s: {name}", f"{share:.1%} of a core")
            for name, share in sorted(self.cpu_share.items())
        ]
        rows += [(f"peak memory: {name}", f"{rss / 2**20:,.0f} MiB") for name, rss in sorted(self.peak_rss.items())]
        rows.append(("peak memory: whole stack", f"{self.peak_total_rss / 2**20:,.0f} MiB"))
        return rows


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class MemorySampler(threading.Thread):
    """Samples the resident memory of every process with a pid file in the state directory."""

    def __init__(self, run_dir: Path, names: list[str], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.run_dir, self.names, self.interval = run_dir, names, interval
        self.peak: dict[str, int] = {}
        self.peak_total = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            total = 0
            for name in self.names:
                pid = process.read_pid(self.run_dir / f"{name}.pid")
                if pid is None:
                    continue
                rss = process.rss_bytes(pid)
                total += rss
                self.peak[name] = max(self.peak.get(name, 0), rss)
            self.peak_total = max(self.peak_total, total)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each watched process that runs (with its children)."""
        pids = {name: process.read_pid(self.run_dir / f"{name}.pid") for name in self.names}
        return {name: process.cpu_seconds(pid) for name, pid in pids.items() if pid is not None}


def _bench_settings(settings: config.Settings) -> config.Settings:
    """Private names and service ports, exported so the spawned services see them too."""
    run = f"bench{uuid.uuid4().hex[:8]}"
    names = config.Names(input_topic=f"{run}_logging_info", aggregates_topic=f"{run}_agg_logging_info",
                         table=f"{run}_agg_system_logs", pipeline=run)  # fmt: skip
    for key in names.__dataclass_fields__:
        os.environ[f"LOGPIPELINE_{key.upper()}"] = getattr(names, key)
    services = {name: process.free_port() for name in processes.SERVICE_PORTS}
    for name, port in services.items():
        os.environ[f"LOGPIPELINE_{name.upper()}_PORT"] = str(port)
    return replace(settings, names=names, ports=replace(settings.ports, **services))


def _total(reader: query.Reader, start_ms: int, end_ms: int, apis: list[str] | None = None) -> int:
    return sum(rollup.totals_by_level(reader.windows(start_ms, end_ms, apis)).values())


def _generate(cli: str, count: int, seed: int, start_ms: int) -> dict[str, float]:
    out = subprocess.run(
        [cli, "generate", "--count", str(count), "--seed", str(seed), "--start-ms", str(start_ms), "--no-diurnal"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return summary


def topic_latencies(timeline: list[tuple[float, int, int]], sent: list[tuple[int, float, int]]) -> list[float]:
    """For each probe (window, wall send time, expected count of its window): send → the first time the topic's
    count of that window reached it (``timeline``: (wall time, window, count) in arrival order; inf: never)."""
    out = []
    for window, sent_at, expected in sent:
        arrivals = (t for t, w, total in timeline if w == window and total >= expected and t >= sent_at)
        out.append(next(arrivals, float("inf")) - sent_at)
    return out


class TopicWatch(threading.Thread):
    """Follows the aggregates topic for the probe API's records: when (wall time) each window's count grew to what."""

    def __init__(self, bootstrap: str, topic: str, api: str) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
        self.consumer.subscribe([topic])
        self.timeline: list[tuple[float, int, int]] = []  # (wall time, window start, that window's count)
        self._counts: dict[int, dict[str, int]] = {}  # window start -> aggregate id -> its newest log_count
        self._stop_event = threading.Event()

    def run(self) -> None:
        prefix = f"{self.api}|".encode()
        while not self._stop_event.is_set():
            for msg in self.consumer.consume(10_000, timeout=0.2):
                if msg.error() is not None or not (msg.key() or b"").startswith(prefix):
                    continue
                now = time.time()
                agg = records.parse(msg.value())
                window = self._counts.setdefault(agg.window_start, {})
                window[agg.id] = max(window.get(agg.id, 0), agg.log_count)
                self.timeline.append((now, agg.window_start, sum(window.values())))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)
        self.consumer.close()


def _probe_freshness(settings: config.Settings, reader: query.Reader, cfg: BenchConfig, rate: float) -> Freshness:
    """Send one probe event every interval; each one's latency is send → counted on the aggregates topic, and
    send → counted by the query layer. The probes of each rate have an api of their own, so no run's probes count
    toward another's."""
    cfg = replace(cfg, probe_api=f"{PROBE_API}-{rate:.0f}")
    sender = Sender.connect(settings.kafka_bootstrap, settings.names.input_topic)
    watch = TopicWatch(settings.kafka_bootstrap, settings.names.aggregates_topic, cfg.probe_api)
    watch.start()
    sent: list[tuple[int, float, int]] = []
    try:
        through_query = probe_loop(sender, reader, cfg, sent)
        # the query layer counted them all (or gave up), so the topic holds them: give the watch time to read them
        deadline = time.monotonic() + 15
        while math.inf in topic_latencies(watch.timeline, sent) and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        sender.close()  # no reconnect attempts once the stack is stopped
        watch.stop()
    return Freshness(rate, topic_latencies(watch.timeline, sent), through_query)


def probe_loop(
    sender: Sender, reader: query.Reader, cfg: BenchConfig, sent: list[tuple[int, float, int]] | None = None
) -> list[float]:
    """Freshness probes for ``cfg.freshness_seconds``: one event every ``cfg.probe_interval`` seconds through
    ``sender``; each latency is send → counted by ``reader`` (inf after 120 s); ``sent`` collects each probe's
    (window, wall send time, expected count of its window). The real-pod benchmark runs it in a pod of the
    services image."""
    latencies: list[float] = []
    pending: list[tuple[int, float, int]] = []  # (window_start, send time, expected count in that window)
    sent_in: dict[int, int] = {}
    deadline = time.monotonic() + cfg.freshness_seconds
    next_probe = time.monotonic()
    while time.monotonic() < deadline or pending:
        now = time.monotonic()
        if now >= next_probe and now < deadline:
            sent_wall = time.time()
            ts = int(sent_wall * 1000)
            window = ts - ts % 60_000
            sent_in[window] = sent_in.get(window, 0) + 1
            event = {"id": str(uuid.uuid4()), "timestamp": ts, "api": cfg.probe_api, "response_time": 1.0,
                     "status_code": 200, "log_level": "INFO", "schema_version": 1}  # fmt: skip
            sender.send(cfg.probe_api, codec.encode(event))
            sender.producer.flush(5)
            pending.append((window, now, sent_in[window]))
            if sent is not None:
                sent.append((window, sent_wall, sent_in[window]))
            next_probe += cfg.probe_interval
        if pending:
            seen: dict[int, int] = {}
            for window in {w for w, _, _ in pending}:
                seen[window] = _total(reader, window, window + 60_000, [cfg.probe_api])
            arrived = time.monotonic()
            still = []
            for window, sent_at, expected in pending:
                if seen[window] >= expected:
                    latencies.append(arrived - sent_at)
                elif arrived - sent_at > 120:
                    latencies.append(float("inf"))
                else:
                    still.append((window, sent_at, expected))
            pending = still
        time.sleep(0.1)
    return latencies


# How long the quiet phase waits for the job's route query to read the throughput backlog: it runs each minute.
ROUTE_CATCH_UP_S = 300.0


def query_rows(metrics: str, name: str) -> float:
    """The rows the job's query ``name`` has read, from the job's ``/metrics`` text (0 before its first batch)."""
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "logpipeline_spark_input_rows_total" and sample.labels.get("query") == name:
                return sample.value
    return 0.0


def _route_caught_up(url: str, rows: int) -> None:
    """Wait until the job's route query has read ``rows`` records: its batch of the throughput backlog (parse and
    Parquet write of every event, up to a minute later) is not the quiet stream's cost."""
    deadline = time.monotonic() + ROUTE_CATCH_UP_S
    while True:
        with urllib.request.urlopen(url, timeout=5) as resp:
            read = query_rows(resp.read().decode(), "route")
        if read >= rows:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the job's route query read {read:.0f} of {rows} records within {ROUTE_CATCH_UP_S} s")
        time.sleep(1.0)


def _quiet_cpu(cli: str, sampler: MemorySampler, cfg: BenchConfig) -> dict[str, float]:
    """Each component's share of one core while the generator sends ``quiet_rate`` events/s."""
    load = subprocess.Popen(
        [cli, "generate", "--rate", str(cfg.quiet_rate), "--duration", str(cfg.quiet_seconds + 30)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(20)  # the backlog of the earlier phases is read, the rate steady
        before, began = sampler.cpu(), time.monotonic()
        time.sleep(cfg.quiet_seconds)
        after, elapsed = sampler.cpu(), time.monotonic() - began
    finally:
        load.terminate()
        load.wait(30)
    return {name: (after[name] - before[name]) / elapsed for name in after if name in before}


def run(settings: config.Settings, cfg: BenchConfig, report: Report) -> BenchResult:
    result = BenchResult()
    settings = _bench_settings(settings)
    # figures comparable run to run
    options = processes.Options(generator=False, dashboard=False, anomalies=False, mode=cfg.mode)
    stack_was_up = lifecycle.is_up(settings)
    watched = [spec.name for c in lifecycle.all_components(settings) for spec in c.processes()]
    services = {launcher.pid_file(settings, name).stem: name for name in launcher.SERVICE_NAMES}
    sampler = MemorySampler(settings.run, watched + list(services))
    sampler.start()
    cli = launcher.planned(settings, options)[0].argv[0]
    reader = query.Reader(store.client(settings.dynamodb_endpoint), settings.names.table)
    try:
        began = time.monotonic()
        report("starting the stack and services (sink, Spark job)")
        launcher.up(settings, options, lambda c, m: report(f"{c}: {m}"))
        if not stack_was_up:
            result.cold_start_s = time.monotonic() - began

        report(f"ingest: generating {cfg.events:,} events as fast as possible")
        start_ms = int(time.time() * 1000) - 50 * 60_000
        t0 = time.monotonic()
        summary = _generate(cli, cfg.events, seed=1, start_ms=start_ms)
        result.ingest_events_per_s = float(summary.get("events_per_s", cfg.events / (time.monotonic() - t0)))

        report("Spark: waiting until the query layer counts every event")
        end_ms = int(time.time() * 1000) + 60_000
        while _total(reader, start_ms - 60_000, end_ms) < cfg.events:
            if time.monotonic() - t0 > 900:
                raise TimeoutError("the pipeline did not count every benchmark event within 15 minutes")
            time.sleep(0.5)
        result.spark_events_per_s = cfg.events / (time.monotonic() - t0)

        report("waiting until the route query has read the backlog (raw archive and dead letters, each minute)")
        _route_caught_up(f"http://{settings.host}:{settings.ports.spark_http}/metrics", cfg.events)
        report(f"CPU: {cfg.quiet_rate:.0f} events/s for {cfg.quiet_seconds:.0f} s after 20 s of it")
        result.quiet_rate = cfg.quiet_rate
        result.cpu_share = {services.get(k, k): v for k, v in _quiet_cpu(cli, sampler, cfg).items()}

        for rate in cfg.freshness_rates:
            report(f"freshness: background load {rate:,.0f} events/s, probes every {cfg.probe_interval}s")
            load = subprocess.Popen(
                [cli, "generate", "--rate", str(rate), "--duration", str(cfg.freshness_seconds + 30)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                result.freshness.append(_probe_freshness(settings, reader, cfg, rate))
            finally:
                load.terminate()
                load.wait(30)

        report(f"dashboard refresh: {cfg.refreshes} refreshes of the last hour, as a dashboard worker computes them")
        # The dashboard's own path (``Source.snapshot``: bucket cache, shared tail, revisions, roll-ups), with a
        # worker's settings read from the environment like the dashboard's, on the bench's table.
        source = data.Source(dashboard_settings.load())
        times = []
        for _ in range(cfg.refreshes):
            now = int(time.time() * 1000)
            t = time.perf_counter()
            source.snapshot(timerange.bounds("1h", now), [], now_ms=now)
            times.append((time.perf_counter() - t) * 1000)
        result.refresh_p50_ms = statistics.median(times)
        result.refresh_p95_ms = percentile(times, 95)
    finally:
        sampler.stop()
        result.peak_rss = {services.get(k, k): v for k, v in sampler.peak.items()}
        result.peak_total_rss = sampler.peak_total
        report("stopping")
        launcher.down(settings, lambda c, m: None, stack=not stack_was_up)
    return result
