"""``logpipeline backfill`` of the 2,000-line Apache slice (May 2015), twice, on the real broker and DynamoDB API.

The sink runs against a private table. The first backfill archives every line and publishes every window; the
table then holds exactly the slice's per-(minute, api, level) counts, worked out independently from the file. The
second backfill of the same file archives nothing and publishes nothing. The input topic stays empty: the live
stream never sees a backfill.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition

from logpipeline import config
from logpipeline.ingest import formats
from logpipeline.metrics import query, store
from logpipeline.stack.process import free_port
from support import leftovers
from support.spark_job import create_topics, reference
from support.wait import wait_for

DATA = Path(__file__).resolve().parents[1] / "data" / "apache_access_2015_head2000.log"
SPAN = (1_431_820_800_000, 1_431_993_600_000)  # 2015-05-17 and 18


def _expected() -> Any:
    events = []
    for n, line in enumerate(DATA.read_bytes().splitlines(), start=1):
        event = formats.parse_combined(line, str(DATA), n)
        assert isinstance(event, dict), event
        events.append(event)
    return reference(events)


def _backfill(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    exe = Path(sys.executable).with_name("logpipeline")
    run = subprocess.run([str(exe), "backfill", *args], capture_output=True, text=True, timeout=600, env=env)
    lines = [x for x in run.stdout.splitlines() if x.startswith("{")]
    return run, orjson.loads(lines[-1]) if lines else {}


def _input_records(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{leftovers.suffix()}"})
    total = 0
    for p in range(3):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        total += high - low
    consumer.close()
    return total


@pytest.fixture(scope="module")
def runs(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    unique = leftovers.suffix()
    names = config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}", pipeline=f"bf-{unique}")
    create_topics(stack, names)
    tmp = tmp_path_factory.mktemp("backfill")
    table = f"metrics_{unique}"
    env = {
        **os.environ,
        "LOGPIPELINE_AGGREGATES_TOPIC": names.aggregates_topic,
        "LOGPIPELINE_INPUT_TOPIC": names.input_topic,
        "LOGPIPELINE_TABLE": table,
    }
    with (tmp / "sink.log").open("wb") as out:
        sink = subprocess.Popen(
            [sys.executable, "-m", "logpipeline.cli.main", "sink", "--group", f"sink-{unique}", "--http-port",
             str(free_port())],
            stdout=out, stderr=out, env=env,
        )  # fmt: skip
    args = [str(DATA), "--format", "combined", "--archive-root", f"file://{tmp / 'archive'}"]
    args += ["--pipeline", names.pipeline, "--table", table, "--endpoint", stack.dynamodb_endpoint]
    reader = query.Reader(store.client(stack.dynamodb_endpoint), table)
    expected = _expected()
    try:
        first, first_summary = _backfill(args, env)
        wait_for(
            lambda: sum(w.log_count for w in reader.windows(*SPAN)) >= 2000,
            180,
            "2000 events in the table",
            interval=1,
            fail=False,
        )
        after_first = {w.id: w for w in reader.windows(*SPAN)}
        second, second_summary = _backfill(args, env)
        time.sleep(3)
        yield {
            "first": first,
            "first_summary": first_summary,
            "second": second,
            "second_summary": second_summary,
            "after_first": after_first,
            "after_second": {w.id: w for w in reader.windows(*SPAN)},
            "expected": expected,
            "input_records": _input_records(stack.kafka_bootstrap, names.input_topic),
        }
    finally:
        sink.terminate()
        sink.wait(30)


def test_the_first_backfill_archives_every_line_and_the_table_holds_the_exact_cells(runs: dict[str, Any]) -> None:
    assert runs["first"].returncode == 0, runs["first"].stderr[-3000:]
    summary, expected = runs["first_summary"], runs["expected"]
    assert (summary["lines"], summary["events"], summary["dead_lettered"], summary["archived"]) == (2000, 2000, 0, 2000)
    assert summary["published"] == summary["windows"] == len(expected)
    table = runs["after_first"]
    assert sorted(table) == sorted(expected.index)
    for agg_id, w in table.items():
        want = expected.loc[agg_id]
        got = (w.log_count, w.status_2xx, w.status_3xx, w.status_4xx, w.status_5xx)
        assert got == tuple(int(want[k]) for k in ("log_count", "status_2xx", "status_3xx", "status_4xx", "status_5xx"))


def test_the_same_file_again_changes_nothing(runs: dict[str, Any]) -> None:
    assert runs["second"].returncode == 0, runs["second"].stderr[-3000:]
    assert (runs["second_summary"]["archived"], runs["second_summary"]["published"]) == (0, 0)
    assert runs["after_second"] == runs["after_first"]


def test_the_live_stream_never_sees_a_backfill(runs: dict[str, Any]) -> None:
    assert runs["input_records"] == 0
