"""The live tail through a real gunicorn on a real Kafka broker, with 5,000 events/s of background traffic from the
generator: lines arrive within 1.5 s at p95, the counts of what was sampled out are exact, the worker's limit of
tails answers 429 with a message, and the page streams, pauses and resumes in Chromium."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from logpipeline import config
from support.dashboard import chromium, session, sign_in
from support.tail import Served, Tail, marked, producer, sent_at, served

RATE = 5_000
TAILS = 3


@pytest.fixture(scope="module")
def world(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(stack, tmp_path_factory.mktemp("tail-moto"), RATE, TAILS) as made:
        yield made


def test_without_a_session_the_tail_is_refused_and_a_bad_filter_is_named(world: Served) -> None:
    anonymous = requests.get(f"{world.base}/api/v1/tail", stream=True, timeout=10)
    assert anonymous.status_code == 401
    http = session(world.base, "viewer")
    bad = http.get(f"{world.base}/api/v1/tail", params={"status": "7xx"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"].startswith("status:")


def test_lines_arrive_within_a_second_and_a_half_at_p95_under_background_traffic(world: Served) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    tail = Tail(session(world.base, "viewer"), world.base, {"q": marker})
    try:
        tail.wait_ready()
        out = producer(world.bootstrap)
        began = time.time()
        for _ in range(200):  # 20 a second for 10 s, among the 5,000 a second of the generator
            out.produce(world.topic, marked(marker, time.time()))
            out.poll(0)
            time.sleep(0.05)
        out.flush(10)
        counts = tail.wait_counts(lambda c: c["matched"] >= 200)
        took = time.time() - began
    finally:
        tail.close()
    assert counts["matched"] == counts["sent"] == 200 and counts["sampled_out"] == 0
    assert len(tail.lines) == 200
    delays = sorted(arrived - sent_at(line) for arrived, line in tail.lines)
    p95 = statistics.quantiles(delays, n=20)[18]
    print(f"\nlive tail: p50 {statistics.median(delays):.3f} s, p95 {p95:.3f} s, max {delays[-1]:.3f} s; "
          f"scanned {counts['scanned']} records in {took:.1f} s")  # fmt: skip
    assert p95 <= 1.5, f"p95 {p95:.3f} s"
    assert counts["scanned"] >= 0.7 * RATE * 10, f"background traffic: {counts['scanned']} records in {took:.1f} s"


def test_lines_over_the_limit_are_counted_exactly(world: Served) -> None:
    marker, burst = f"b{uuid.uuid4().hex[:10]}", 5_000
    tail = Tail(session(world.base, "viewer"), world.base, {"q": marker, "level": "ERROR"})
    try:
        tail.wait_ready()
        out = producer(world.bootstrap)
        began = time.time()
        for i in range(burst):
            out.produce(world.topic, marked(marker, time.time(), level="ERROR"))
            if i % 10 == 0:  # the same marker at another level: scanned, never matched
                out.produce(world.topic, marked(marker, time.time(), level="INFO"))
            out.poll(0)
        out.flush(10)
        counts = tail.wait_counts(lambda c: c["matched"] >= burst)
        took = time.time() - began
    finally:
        tail.close()
    assert counts["matched"] == burst == counts["sent"] + counts["sampled_out"]
    assert len(tail.lines) == counts["sent"] and counts["sampled_out"] > 0
    assert counts["sent"] <= 500 * (took + 1)  # the bucket holds one second's worth
    assert {line["level"] for _, line in tail.lines} == {"ERROR"}
    offsets = [(line["p"], line["o"]) for _, line in tail.lines]
    assert len(set(offsets)) == len(offsets)  # nothing sent twice


def opened(http: requests.Session, base: str, params: dict[str, str]) -> Tail:
    """A tail, once the worker has a free slot: a closed stream frees its slot at the server's next write (a
    second at most, the next counts)."""
    deadline = time.monotonic() + 10
    tail = Tail(http, base, params)
    while tail.status == 429 and time.monotonic() < deadline:
        time.sleep(0.5)
        tail = Tail(http, base, params)
    tail.wait_ready()
    return tail


def test_the_limit_of_tails_answers_429_with_a_message(world: Served) -> None:
    http = session(world.base, "viewer")
    open_: list[Tail] = []
    try:
        for _ in range(TAILS):
            open_.append(opened(http, world.base, {"q": "x"}))
        refused = http.get(f"{world.base}/api/v1/tail", timeout=10)
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
        assert f"already serves {TAILS} live tails" in refused.json()["error"]
        open_.pop().close()
        open_.append(opened(http, world.base, {}))
    finally:
        for t in open_:
            t.close()


def test_the_page_streams_pauses_and_resumes(world: Served) -> None:
    marker = f"p{uuid.uuid4().hex[:10]}"
    out = producer(world.bootstrap)

    def send(n: int) -> None:
        for _ in range(n):
            out.produce(world.topic, marked(marker, time.time()))
        out.flush(10)

    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, world.base, "viewer", path="/tail")
        page.fill("#tail-q", marker)
        page.click("#tail-start")
        page.wait_for_selector("#tail-state:has-text('live')", timeout=30_000)
        send(5)
        page.wait_for_function("document.querySelectorAll('#tail-lines .tail-line').length === 5", timeout=15_000)
        assert marker in page.inner_text("#tail-lines")
        page.click("#tail-pause")
        send(7)
        page.wait_for_selector("#tail-counts:has-text('7 new while paused')", timeout=15_000)
        assert page.locator("#tail-lines .tail-line").count() == 5  # the view holds still
        page.click("#tail-pause")
        page.wait_for_function("document.querySelectorAll('#tail-lines .tail-line').length === 12", timeout=15_000)
        assert "matched 12" in page.inner_text("#tail-counts")
        # every other tail of the worker taken: the page says so
        http = session(world.base, "viewer")
        others: list[Tail] = []
        try:
            for _ in range(TAILS - 1):
                others.append(opened(http, world.base, {"q": "y"}))
            second = browser.new_page()
            second.goto(f"{world.base}/tail")
            second.click("#tail-start")
            second.wait_for_selector("#tail-problem:has-text('live tails')", timeout=15_000)
            assert "refused" in second.inner_text("#tail-state")
        finally:
            for t in others:
                t.close()
