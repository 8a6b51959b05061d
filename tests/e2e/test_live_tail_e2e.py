"""The live tail beside the whole pipeline, as ``logpipeline up`` runs it, with 2,000 events/s from the generator:
tails never slow the streaming job nor join a consumer group, and a minute clicked on the overview's chart opens
that minute's logs, read back from the raw archive on HDFS.

The rate is four times a tail's lines per second (the unfiltered tail samples) and leaves the two cores some room:
at 5,000 events/s the generator, three tails each scanning every event, the broker and the job saturate them, and the
job's read rate then measures its share of the CPU, not whether a tail disturbed the broker or its partitions."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from logpipeline import config
from logpipeline.kafka import topics
from logpipeline.pipeline import processes
from support import local_pipeline
from support.dashboard import ARTIFACTS, chromium, session, sign_in
from support.tail import Tail, marked, producer, sent_at

RATE = 2_000


@pytest.fixture(scope="module")
def pipeline(stack: config.Settings) -> Iterator[config.Settings]:
    # Micro-batches: the job's read rate is read from its input counter, which moves at each batch's end (a
    # real-time batch lasts a minute).
    options = processes.Options(generator=False, correct_every=0, anomalies=False, mode="microbatch")
    with local_pipeline.running("tail", options) as settings:
        cli = Path(sys.executable).with_name("logpipeline")
        traffic = subprocess.Popen(
            [str(cli), "generate", "--rate", str(RATE), "--no-diurnal", "--seed", "11"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield settings
        finally:
            traffic.terminate()
            traffic.wait(30)


def base_of(settings: config.Settings) -> str:
    return f"http://{settings.host}:{settings.ports.dashboard}"


def admin(settings: config.Settings) -> requests.Session:
    made: requests.Session = session(
        base_of(settings), "admin", processes.admin_password_file(settings).read_text().strip()
    )
    return made


def rows_read(settings: config.Settings) -> int:
    """Input rows the streaming job's aggregates query has read (its counter on the job's ``/metrics``)."""
    text = requests.get(f"http://{settings.host}:{settings.ports.spark_http}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "logpipeline_spark_input_rows":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels["query"] == "aggregates":
                    return int(sample.value)
    return 0


def groups(settings: config.Settings) -> dict[str, int]:
    """Consumer groups on the broker with their members."""
    admin_client = topics.admin_client(settings.kafka_bootstrap)
    listed = admin_client.list_consumer_groups().result(timeout=10)
    ids = [g.group_id for g in listed.valid]
    if not ids:
        return {}
    described = admin_client.describe_consumer_groups(ids)
    return {gid: len(f.result(timeout=10).members) for gid, f in described.items()}


def read_rate(settings: config.Settings, seconds: float, step: Callable[[], None] = lambda: time.sleep(1)) -> float:
    """The job's read rate (rows/s) over ``seconds``: between the first and the last micro-batch that ended in them.

    The counter moves once a batch, so the rate is taken from one change of it to the last, not from the ends of the
    interval; it holds whether the job keeps up with the traffic (the traffic's rate) or not (the job's own)."""
    changes: list[tuple[float, int]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        n = rows_read(settings)
        if not changes or n != changes[-1][1]:
            changes.append((time.monotonic(), n))
        step()
    assert len(changes) >= 3, f"the job ended fewer than two micro-batches in {seconds} s: {changes}"
    (t0, n0), (t1, n1) = changes[1], changes[-1]  # the first sample is no batch's end
    return (n1 - n0) / (t1 - t0)


def test_tails_leave_the_pipeline_undisturbed(pipeline: config.Settings) -> None:
    base = base_of(pipeline)
    deadline = time.monotonic() + 240  # the job starts and reads its first batches
    while time.monotonic() < deadline and rows_read(pipeline) < 10 * RATE:
        time.sleep(2)
    before_groups = groups(pipeline)
    before = read_rate(pipeline, 30)
    http = admin(pipeline)
    marker = f"e{uuid.uuid4().hex[:10]}"
    tails = [Tail(http, base, {}), Tail(http, base, {"level": "ERROR"}), Tail(http, base, {"q": marker})]
    try:
        for t in tails:
            t.wait_ready()
        out = producer(pipeline.kafka_bootstrap)
        sent = 0

        def mark() -> None:  # ten marked events a second while the rate is measured
            nonlocal sent
            for _ in range(10):
                out.produce(pipeline.names.input_topic, marked(marker, time.time()))
                out.poll(0)
                time.sleep(0.1)
            sent += 10

        during = read_rate(pipeline, 30, mark)
        out.flush(10)
        counts = [t.wait_counts(lambda c: c["scanned"] > 0) for t in tails]
        marks = tails[2].wait_counts(lambda c: c["matched"] >= sent)
        during_groups = groups(pipeline)
    finally:
        for t in tails:
            t.close()
    delays = sorted(arrived - sent_at(line) for arrived, line in tails[2].lines)
    p95 = statistics.quantiles(delays, n=20)[18]
    print(f"\njob read rate before tails: {before:.0f} rows/s; with three tails: {during:.0f} rows/s"
          f" (traffic {RATE}/s); marked lines p95 {p95:.3f} s; unfiltered tail: {counts[0]}")  # fmt: skip
    assert marks["matched"] == marks["sent"] == sent and p95 <= 1.5
    assert counts[0]["sampled_out"] > 0 and counts[0]["matched"] == counts[0]["sent"] + counts[0]["sampled_out"]
    # The job reads as fast with three tails open as without them: the traffic's rate where it keeps up, its own
    # where it does not (a busy CI machine); a tail that slowed the broker or took the job's partitions would show.
    # A job still catching up on the backlog of its start reads faster than the traffic before the tails open; once
    # caught up it reads at the traffic's rate, which is all it needs: the bar is the lower of the two.
    assert during >= 0.85 * min(before, RATE), (before, during)
    assert during_groups == before_groups  # no group joined, no member added or lost


def test_a_minute_clicked_on_the_chart_shows_its_logs_from_the_archive(pipeline: config.Settings) -> None:
    base = base_of(pipeline)
    marker = f"a{uuid.uuid4().hex[:10]}"
    minute = (int(time.time() * 1000) // 60_000 - 1) * 60_000  # the last whole minute
    out = producer(pipeline.kafka_bootstrap)
    for i in range(40):  # stamped inside that minute, sent now: late for the chart, archived all the same
        out.produce(pipeline.names.input_topic, marked(marker, time.time(), at_ms=minute + 1_000 * i))
    out.flush(10)
    password = processes.admin_password_file(pipeline).read_text().strip()
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, "admin", password, path="/?range=1h")
        drawn = "() => (document.querySelector('#ov-series .js-plotly-plot')?.data?.[0]?.x?.length ?? 0) > 0"
        page.wait_for_function(drawn, timeout=60_000)
        box = page.locator("#ov-series .nsewdrag").bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] * 0.98, box["y"] + box["height"] / 2
        page.mouse.move(x - 5, y)
        page.mouse.move(x, y)  # Plotly picks the points under the pointer as it moves, then reports the click
        page.mouse.click(x, y)
        page.wait_for_selector("#ov-series-minute:has-text('Logs of')", timeout=30_000)
        href = page.get_attribute("#ov-series-minute", "href") or ""
        assert href.startswith("/tail?minute=")
        # the route query writes the archive every micro-batch (every ``local_pipeline.SIDE_TRIGGER`` here)
        deadline = time.monotonic() + 180
        while True:
            page.goto(f"{base}/tail?minute={minute}&q={marker}")
            page.wait_for_selector("#tail-minute-summary", timeout=60_000)
            summary = page.inner_text("#tail-minute-summary")
            if summary.startswith("40 matching") or time.monotonic() > deadline:
                break
            page.wait_for_timeout(3_000)
        lines = page.locator("#tail-minute .minute-line").all_inner_texts()
        page.screenshot(path=str(ARTIFACTS / "e2e-minute-logs.png"), full_page=True)
    assert summary.startswith("40 matching events"), summary
    assert len(lines) == 40 and all(marker in line for line in lines)
    stamps = [line.split()[0] for line in lines]
    assert stamps == sorted(stamps) and stamps[0] == time.strftime("%H:%M:00.000", time.gmtime(minute / 1000))
