"""The streaming job on the real broker and HDFS, crashed twice mid-stream and restarted from its checkpoints.

One scenario (module fixture): generator events (plus re-sent duplicates and malformed records) are
produced while the job runs as a subprocess; the job is SIGKILLed (with its JVM) twice and restarted;
once the aggregates are complete a far-future event closes every window, and SIGTERM stops the job.
The tests then compare every output with an independent pandas reference: nothing lost, nothing twice.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hdfs
import hdfs.util
import orjson
import pytest
import requests

from logpipeline import config, contracts
from logpipeline.events import EVENT_FIELDS
from logpipeline.generator import traffic
from logpipeline.stack.process import free_port
from logpipeline_spark import scratch
from logpipeline_spark import transformations as tr
from support.spark_job import (
    JobProcess,
    LatestAggregates,
    committed_records,
    create_topics,
    job_args,
    produce,
    rank_interval,
    read_archive,
    reference,
)

EVENTS = 2000
START = (int(time.time()) // 3600 - 2) * 3_600_000  # two hours ago, on the hour
FLUSH_API = "/flush"
BAD = [
    b"not json",
    b'{"id": "b1", "timestamp": "soon"}',
    orjson.dumps({"id": "b2", "timestamp": START, "api": "/x", "response_time": 1.0, "status_code": 999}),
    orjson.dumps({"id": "b3", "timestamp": START, "api": "/x", "response_time": 1.0, "log_level": "INFO"}),
    b"[1, 2, 3]",
]


def _flush_event() -> dict[str, Any]:
    return {
        "id": "flush",
        "timestamp": START + 3_600_000,
        "api": FLUSH_API,
        "response_time": 1.0,
        "status_code": 200,
        "log_level": "INFO",
    }


def _feed(bootstrap: str, topic: str, records: list[tuple[str, bytes]], per_second: int) -> None:
    for i in range(0, len(records), per_second // 5):
        produce(bootstrap, topic, records[i : i + per_second // 5])
        time.sleep(0.2)


# Each scenario's mode and its de-dup, ordered by event time unless the first run's ``--dedup`` says Spark's: the
# restarts then keep the de-dup the checkpoint holds state for (an upgrade from a job with Spark's de-dup). In
# real-time mode the first run of ``realtime-upgrade`` aggregates each event alone (``--realtime-emit-ms 0``, as
# earlier versions did), and the restarts aggregate partial totals into the same state.
SCENARIOS = {
    "microbatch": ("microbatch", "ordered"),
    "realtime": ("realtime", "spark"),
    "upgrade": ("microbatch", "spark"),
    "realtime-upgrade": ("realtime", "spark"),
}
FIRST_RUN = {"upgrade": ["--dedup", "spark"], "realtime-upgrade": ["--realtime-emit-ms", "0"]}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(
    stack: config.Settings, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    mode, dedup = SCENARIOS[request.param]
    unique = f"{random.getrandbits(40):010x}"
    names = config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}", pipeline=f"it-{unique}")
    create_topics(stack, names)
    spec = traffic.TrafficSpec(seed=42, start_ms=START, count=EVENTS, rate=15.0, diurnal=False)
    events = list(traffic.events(spec))
    rng = random.Random(1)
    duplicates = rng.sample(events, 60)
    valid = events + duplicates
    rng.shuffle(valid)  # out of order by up to the whole span (2.2 min), within the 10 min watermark
    records = [(str(e["api"]), orjson.dumps(e)) for e in valid]
    for i, bad in enumerate(BAD):
        records.insert(400 * (i + 1), ("bad", bad))
    metrics_port = free_port()
    args = job_args(
        stack,
        names,
        stack.hdfs_url,
        metrics_port,
        trigger="1 second",
        side_trigger="1 second",
        watermark="10 minutes",
        shuffle_partitions="2",
        max_offsets_per_trigger="700",
        mode=mode,
        realtime_batch="10 seconds",
    )
    log = tmp_path_factory.mktemp("job") / "job.log"
    # two thirds before the first crash, the rest after the first restart: each run has records of its own to read (a
    # real-time batch reads everything already on the topic, and a query with no new records starts no batch)
    split = len(records) * 2 // 3
    feeders = [
        threading.Thread(target=_feed, args=(stack.kafka_bootstrap, names.input_topic, part, 250), daemon=True)
        for part in (records[:split], records[split:])
    ]
    aggs = LatestAggregates(stack.kafka_bootstrap, names.aggregates_topic)
    first = [*args, *FIRST_RUN.get(request.param, [])]
    job = JobProcess(first, log).start()
    feeders[0].start()
    try:
        aggs.wait_until(lambda a: a.records > 0, 240, job)
        if request.param == "realtime-upgrade":  # the restarts take over the state the first run committed
            _wait_for_batch(log, 0, job)
        assert job.proc is not None
        killed_scratch = scratch.default_root() / str(job.proc.pid)  # its JVM's state stores, blocks, libraries
        scratch_files = sum(len(files) for _, _, files in os.walk(killed_scratch))
        job.kill()  # crash 1: mid-stream, with records still to be produced
        restarted_ms = time.time() * 1000
        job = JobProcess(args, log).start()
        feeders[1].start()
        # an aggregate the second run wrote (not one of the first run's still unread: real-time mode writes one
        # record per event, so the reader may be behind)
        aggs.wait_until(lambda a: a.newest_update >= restarted_ms, 240, job)
        scratch_left = killed_scratch.exists()
        job.kill()  # crash 2: while the last third may still be produced
        last_run = log.stat().st_size
        job = JobProcess(args, log).start()
        for feeder in feeders:
            feeder.join(120)
        unique_events = {e["id"]: e for e in events}
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) == len(unique_events), 300, job)
        produce(stack.kafka_bootstrap, names.input_topic, [(FLUSH_API, orjson.dumps(_flush_event()))])
        aggs.wait_until(lambda a: any(k.startswith(FLUSH_API) for k in a.latest), 120, job)
        _wait_for_batch(log, last_run, job)  # the last run has committed a batch
        # and the route query has archived every valid record (a real-time aggregates query finishes long before
        # the route query's micro-batches, which share the cores with its long-running tasks)
        archived = {e["id"] for e in valid} | {"flush"}
        deadline = time.monotonic() + 240
        while not archived <= _archived_ids(stack, names):
            assert job.alive() and time.monotonic() < deadline, job.tail()
            time.sleep(2)
        ready = requests.get(f"http://127.0.0.1:{metrics_port}/readyz", timeout=5).status_code
        metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        exit_code = job.terminate()
        client = hdfs.InsecureClient(stack.webhdfs_url, user=os.environ.get("USER", "root"))
        commits = f"/{names.pipeline}/checkpoints/aggregates/commits"
        newest = max(int(name) for name in client.list(commits) if name.isdigit())
        with client.read(f"{commits}/{newest}") as reader:
            commit_version = reader.read().split(b"\n", 1)[0].decode()
        yield {
            "mode": mode,
            "dedup": dedup,
            "commit_version": commit_version,
            "names": names,
            "events": events,
            "valid_records": [*valid, _flush_event()],
            "latest": {k: v for k, v in aggs.latest.items() if not k.startswith(FLUSH_API)},
            "raw": read_archive(stack.webhdfs_url, f"/{names.pipeline}/raw"),
            "ready": ready,
            "metrics": metrics,
            "exit_code": exit_code,
            "log": log.read_text(errors="replace"),
            "stack": stack,
            "killed_scratch": (scratch_files, scratch_left),
        }
    finally:
        aggs.close()
        if job.alive():
            job.kill()


def _wait_for_batch(log: Path, since: int, job: JobProcess) -> None:
    """Until the job's log after offset ``since`` has an aggregates batch line: a batch committed (a real-time batch
    commits at its end, after --realtime-batch)."""
    deadline = time.monotonic() + 120
    while not any(
        x["msg"] == "batch" and x.get("query") == "aggregates"
        for x in (orjson.loads(y) for y in log.read_text(errors="replace")[since:].splitlines() if y[:1] == "{")
    ):
        assert job.alive() and time.monotonic() < deadline, job.tail()
        time.sleep(0.5)


def _archived_ids(stack: config.Settings, names: config.Names) -> set[str]:
    """The ids in the raw archive so far; none while a batch moves its files in under the walk's feet."""
    try:
        return set(read_archive(stack.webhdfs_url, f"/{names.pipeline}/raw").get("id", []))
    except hdfs.util.HdfsError:
        return set()


def _assert_matches_reference(rows: dict[str, dict[str, Any]], events: list[dict[str, Any]]) -> None:
    ref = reference(events)
    assert sorted(rows) == sorted(ref.index), "one aggregate per (window, api, level), none missing or extra"
    for agg_id, row in rows.items():
        want = ref.loc[agg_id]
        exact = ["window_start", "window_end", "log_count", "min_response_time", "max_response_time"]
        exact += ["status_2xx", "status_3xx", "status_4xx", "status_5xx"]
        assert {k: row[k] for k in exact} == {k: want[k] for k in exact}, agg_id
        assert row["avg_response_time"] == pytest.approx(want["avg_response_time"], rel=1e-12), agg_id
        for p in (50, 95, 99):
            low, high = rank_interval(want["values"], row[f"p{p}_response_time"])
            bound = tr.PERCENTILE_RANK_ERROR
            assert low - bound <= p / 100 <= high + bound, (agg_id, p, low, high)


def test_aggregates_on_the_topic_equal_the_reference_after_two_crashes(scenario: dict[str, Any]) -> None:
    _assert_matches_reference(scenario["latest"], scenario["events"])


def test_a_killed_jobs_scratch_files_are_removed_by_the_next_start(scenario: dict[str, Any]) -> None:
    files, left = scenario["killed_scratch"]
    assert files > 0, "the killed job's JVM wrote its scratch files in its process's directory"
    assert not left, "the restarted job removed the killed one's scratch directory"


def test_raw_archive_holds_every_valid_record_exactly_once(scenario: dict[str, Any]) -> None:
    raw = scenario["raw"]
    assert Counter(raw["id"]) == Counter(e["id"] for e in scenario["valid_records"])
    assert not raw.duplicated(["kafka_partition", "kafka_offset"]).any(), "each Kafka record archived once"
    events = raw[raw["id"] != "flush"]
    assert set(events["date"] + "/" + events["hour"]) == {time.strftime("%Y-%m-%d/%H", time.gmtime(START / 1000))}
    columns = {f.name for f in EVENT_FIELDS} | {"kafka_partition", "kafka_offset", "date", "hour"}
    assert set(raw.columns) == columns


def test_malformed_records_reach_the_dead_letter_topic_once_with_reasons(scenario: dict[str, Any]) -> None:
    names: config.Names = scenario["names"]
    got = committed_records(scenario["stack"].kafka_bootstrap, names.dlq_topic, len(BAD))
    assert sorted(value for value, _ in got) == sorted(BAD), "every malformed record once, with its original bytes"
    assert {h[contracts.DLQ_ERROR_CLASS] for _, h in got} == {"not_json", "wrong_type", "out_of_range", "missing_field"}
    assert all(h[contracts.DLQ_STAGE] == "spark" and h[contracts.DLQ_REASON] for _, h in got)


def test_sigterm_stops_gracefully_and_health_and_metrics_were_served(scenario: dict[str, Any]) -> None:
    assert scenario["exit_code"] == 0, scenario["log"][-3000:]
    assert scenario["ready"] == 200
    assert 'logpipeline_spark_input_rows_total{query="aggregates"}' in scenario["metrics"]
    lines = [orjson.loads(line) for line in scenario["log"].splitlines() if line.startswith("{")]
    assert {"job starting", "session ready", "query started", "batch", "stop requested", "job stopped"} <= {
        x["msg"] for x in lines
    }
    started = [x for x in lines if x["msg"] == "query started" and x["query"] == "aggregates"]
    assert {x["mode"] for x in started} == {scenario["mode"]}, "each of the three starts in the mode asked for"
    assert [x["dedup"] for x in started] == [scenario["dedup"]] * 3, "the restarts keep the first run's de-dup"
    # real-time mode writes its state in checkpoint format 2, which its commit log's version line says
    assert scenario["commit_version"] == ("v2" if scenario["mode"] == "realtime" else "v1")
    batches = [x for x in lines if x["msg"] == "batch" and x["query"] == "aggregates"]
    assert batches and all(x["run_ms"] > 0 and x["batch_ms"] >= x["run_ms"] for x in batches)
    operators = {op["operator"] for x in batches for op in x["state"]}
    windows = "StatefulStreamlineAggregate" if scenario["mode"] == "realtime" else "stateStoreSave"
    dedup = next(name for name, kind in tr.DEDUP_OPERATORS.items() if kind == scenario["dedup"])
    assert operators == {dedup, windows}, "the de-dup and the windows report their state"
    assert all(x["state_rows"] == sum(op["rows"] for op in x["state"]) for x in batches)
