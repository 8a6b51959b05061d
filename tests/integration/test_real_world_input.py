"""The streaming job on real-world input: the original producer's format, a host with a wrong clock, late data.

One scenario on the real broker (module fixture): live events in the original system's shape (integer
``response_code``, URL api names, levels independent of status, event times as epoch seconds, ms and RFC 3339)
are produced while the job runs; one event stamped two hours ahead arrives mid-stream, then more live traffic;
then 300 events twenty minutes old (a shipper catching up after an outage). Every live event must be counted
exactly, the future event must be dead-lettered as ``too_far_ahead`` (never moving the watermark), and the late
events must be counted by the job's late-event metric, not dropped silently. The sink keeps a private table; one
run of the correction job then brings the late events into the table exactly and writes the closed-window archive.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
import requests

from logpipeline import config, contracts
from logpipeline.events import codec
from logpipeline.metrics import query, store
from logpipeline.stack.process import free_port
from logpipeline_spark import transformations as tr
from support import leftovers
from support.spark_job import (
    JobProcess,
    LatestAggregates,
    committed_records,
    create_topics,
    job_args,
    produce,
    reference,
)

APIS = ["/api/v1/orders", "/api/v1/users", "/checkout", "/search"]
LEVELS = ["INFO", "info", "warn", "ERROR", "Debug", "fatal"]
STATUS = [200, 200, 201, 301, 404, 500, 503]
LATE = 300


def original_event(rng: random.Random, now_ms: int, spread_ms: int) -> dict[str, Any]:
    """An event as the original system's producer writes it, at a time up to ``spread_ms`` before ``now_ms``."""
    ms = now_ms - rng.randrange(spread_ms)
    status = rng.choice(STATUS)
    when: Any = rng.choice(
        [ms, ms / 1000, datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"]
    )
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "timestamp": when,
        "timestamp_human": datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "api": rng.choice(APIS),
        "ip_address": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "response_time": rng.choice([rng.randrange(5, 900), round(rng.uniform(1, 900), 3)]),
        "status_code": status,
        "response_code": status,
        "log_level": rng.choice(LEVELS),
    }


def _records(events: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(str(e["api"]), orjson.dumps(e)) for e in events]


def _late_total(metrics_url: str) -> float:
    text = requests.get(metrics_url, timeout=5).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith('logpipeline_spark_late_events_total{query="aggregates"}')
    )


def _wait_table(reader: query.Reader, span: tuple[int, int], done: Any, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        rows = {w.id: w for w in reader.windows(*span)}
        if done(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(1)


@pytest.fixture(scope="module")
def scenario(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    unique = leftovers.suffix()
    names = config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}", pipeline=f"rw-{unique}")
    create_topics(stack, names)
    tmp = tmp_path_factory.mktemp("real-world")
    metrics_port = free_port()
    args = job_args(
        stack,
        names,
        f"file://{tmp / 'archive'}",
        metrics_port,
        trigger="1 second",
        side_trigger="1 second",
        queries="aggregates,dead_letters,raw_archive",
    )
    rng = random.Random(16)
    aggs = LatestAggregates(stack.kafka_bootstrap, names.aggregates_topic)
    table = f"metrics_{unique}"
    env = {
        **os.environ,
        "LOGPIPELINE_AGGREGATES_TOPIC": names.aggregates_topic,
        "LOGPIPELINE_INPUT_TOPIC": names.input_topic,
        "LOGPIPELINE_TABLE": table,
    }
    sink_cmd = [sys.executable, "-m", "logpipeline.cli.main", "sink", "--group", f"sink-{unique}"]
    with (tmp / "sink.log").open("wb") as out:
        sink = subprocess.Popen([*sink_cmd, "--http-port", str(free_port())], stdout=out, stderr=out, env=env)
    reader = query.Reader(store.client(stack.dynamodb_endpoint), table)
    job = JobProcess(args, Path(tmp / "job.log")).start()
    try:
        now = int(time.time() * 1000)
        before = [original_event(rng, now, 20_000) for _ in range(600)]
        produce(stack.kafka_bootstrap, names.input_topic, _records(before))
        expected = [codec.validate(e) for e in before]
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) == len(before), 300, job)

        future = {**original_event(rng, now, 1), "timestamp": int(time.time() * 1000) + 2 * 3_600_000}
        produce(stack.kafka_bootstrap, names.input_topic, _records([future]))
        time.sleep(3)  # a few batches with the future event in them
        now = int(time.time() * 1000)
        after = [original_event(rng, now, 5_000) for _ in range(600)]
        produce(stack.kafka_bootstrap, names.input_topic, _records(after))
        expected += [codec.validate(e) for e in after]
        live = len(before) + len(after)
        aggs.wait_until(lambda a: sum(v["log_count"] for v in a.latest.values()) == live, 120, job)

        late_at = int(time.time() * 1000) - 20 * 60_000
        late = [original_event(rng, late_at, 30_000) for _ in range(LATE)]
        produce(stack.kafka_bootstrap, names.input_topic, _records(late))
        deadline = time.monotonic() + 90
        while _late_total(f"http://127.0.0.1:{metrics_port}/metrics") < LATE and time.monotonic() < deadline:
            aggs.poll(1.0)
        aggs.poll(2.0)
        late_total = _late_total(f"http://127.0.0.1:{metrics_port}/metrics")
        dead = committed_records(stack.kafka_bootstrap, names.dlq_topic, 1)
        job_metrics = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        exit_code = job.terminate()

        truth = reference([*expected, *(codec.validate(e) for e in late)])
        span = (int(truth["window_start"].min()), int(truth["window_end"].max()))
        stored_live = _wait_table(reader, span, lambda rows: sum(r.log_count for r in rows.values()) >= live)
        correct = subprocess.run(
            [
                sys.executable, "-m", "logpipeline_spark.correct",
                "--archive-root", f"file://{tmp / 'archive'}", "--pipeline", names.pipeline,
                "--aggregates-topic", names.aggregates_topic, "--table", table,
                "--endpoint", stack.dynamodb_endpoint, "--settle", "15",
            ],
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
        stored = _wait_table(reader, span, lambda rows: sum(r.log_count for r in rows.values()) >= live + LATE)
        yield {
            "expected": [e for e in expected if isinstance(e, dict)],
            "live": live,
            "latest": aggs.latest,
            "dead": dead,
            "future": future,
            "late_total": late_total,
            "job_metrics": job_metrics,
            "exit_code": exit_code,
            "log": (tmp / "job.log").read_text(errors="replace"),
            "truth": truth,
            "stored_before": stored_live,
            "stored": stored,
            "correct": correct,
            "closed_archive": tmp / "archive" / names.pipeline / "agg",
        }
    finally:
        aggs.close()
        if job.alive():
            job.kill()
        sink.terminate()
        sink.wait(30)


def test_every_original_format_event_is_accepted_and_each_cell_is_exact(scenario: dict[str, Any]) -> None:
    assert len(scenario["expected"]) == scenario["live"], "the codec repairs every original-format event"
    ref = reference(scenario["expected"])
    rows = scenario["latest"]
    assert sorted(rows) == sorted(ref.index), "one aggregate per (minute, api, level), none missing or extra"
    for agg_id, row in rows.items():
        want = ref.loc[agg_id]
        exact = ["window_start", "log_count", "min_response_time", "max_response_time", "status_2xx", "status_5xx"]
        assert {k: row[k] for k in exact} == {k: want[k] for k in exact}, agg_id
    levels = {agg_id.split("|")[1] for agg_id in rows}
    assert levels <= {"INFO", "WARNING", "ERROR", "DEBUG", "CRITICAL"} and "CRITICAL" in levels


def test_the_event_from_a_wrong_clock_is_dead_lettered_and_counts_nothing(scenario: dict[str, Any]) -> None:
    [(value, headers)] = scenario["dead"]
    assert orjson.loads(value) == scenario["future"], "the original bytes are kept"
    assert headers[contracts.DLQ_ERROR_CLASS] == "too_far_ahead"
    assert headers[contracts.DLQ_REASON].startswith("timestamp: expected at most 300 s after arrival at ")
    assert headers[contracts.DLQ_REASON].endswith(" s ahead)")


def test_the_job_counts_its_dead_letters_by_class(scenario: dict[str, Any]) -> None:
    counts = {
        line.split('"')[1]: float(line.split()[-1])
        for line in scenario["job_metrics"].splitlines()
        if line.startswith("logpipeline_spark_dead_letters_total{")
    }
    assert set(counts) == set(tr.DEAD_LETTER_CLASSES), "every class is shown, from zero"
    assert {k: v for k, v in counts.items() if v} == {"too_far_ahead": 1.0}


def test_late_events_are_counted_by_the_job_not_dropped_silently(scenario: dict[str, Any]) -> None:
    assert scenario["late_total"] == LATE
    lines = [orjson.loads(line) for line in scenario["log"].splitlines() if line.startswith("{")]
    logged = sum(
        x["late_events"] for x in lines if x["msg"] == "late events not counted" and x["query"] == "aggregates"
    )
    assert logged == LATE
    assert sum(v["log_count"] for v in scenario["latest"].values()) == scenario["live"], (
        "late events not in the live counts"
    )
    assert scenario["exit_code"] == 0


def test_one_correction_run_brings_the_late_events_into_the_table_exactly(scenario: dict[str, Any]) -> None:
    assert scenario["correct"].returncode == 0, scenario["correct"].stderr[-3000:]
    truth, stored = scenario["truth"], scenario["stored"]
    assert sum(w.log_count for w in scenario["stored_before"].values()) == scenario["live"], "before: live only"
    assert sorted(stored) == sorted(truth.index)
    for agg_id, w in stored.items():
        assert (w.log_count, w.status_5xx, w.min_response_time) == (
            truth.loc[agg_id, "log_count"],
            truth.loc[agg_id, "status_5xx"],
            truth.loc[agg_id, "min_response_time"],
        ), agg_id
    lines = [orjson.loads(x) for x in scenario["correct"].stderr.splitlines() if x.startswith("{")]
    [run] = [x for x in lines if x["msg"] == "correction run"]
    assert run["added"] == LATE, "the published windows add exactly the late events"


def test_the_correction_writes_the_closed_windows_archive(scenario: dict[str, Any]) -> None:
    archived = pq.read_table(scenario["closed_archive"]).to_pandas()
    assert not archived["id"].duplicated().any()
    truth = scenario["truth"]
    for row in archived.itertuples():
        assert row.log_count == truth.loc[row.id, "log_count"], row.id
    late_windows = {i for i in truth.index if int(truth.loc[i, "window_start"]) < time.time() * 1000 - 15 * 60_000}
    assert late_windows <= set(archived["id"]), "every closed window of the late events is archived"
