"""The live tail's hub with a stand-in consumer (the real broker is in the integration test): one reader started by
the first tail and ended with the last, started again after an unexpected error; and the HTTP endpoint frees its
slot when the response closes, even when its body never ran (a HEAD request)."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import flask
import pytest

from logpipeline.accounts.roles import Role
from logpipeline.dashboard.auth.session import Principal
from logpipeline.dashboard.tail import filters, stream
from logpipeline.dashboard.tail.hub import Hub


@dataclass
class Message:
    body: bytes | Exception
    at: int

    def offset(self) -> int:
        return self.at

    def error(self) -> None:
        return None

    def value(self) -> bytes:
        if isinstance(self.body, Exception):
            raise self.body
        return self.body

    def partition(self) -> int:
        return 0


@dataclass
class Broker:
    """What the stand-in consumers read: a queue of messages; every consumer made and closed."""

    pending: queue.Queue[Message] = field(default_factory=queue.Queue)
    made: int = 0
    closed: int = 0

    def consumer(self, _: dict[str, Any]) -> Any:
        self.made += 1
        broker = self

        class Meta:
            topics = {"in": type("T", (), {"partitions": {0: None}, "error": None})()}

        class Consumer:
            def list_topics(self, topic: str, timeout: float) -> Any:
                return Meta()

            def get_watermark_offsets(self, tp: Any, timeout: float) -> tuple[int, int]:
                return 0, 0

            def incremental_assign(self, where: Any) -> None:
                pass

            def consume(self, n: int, timeout: float) -> list[Message]:
                try:
                    return [broker.pending.get(timeout=timeout)]
                except queue.Empty:
                    return []

            def close(self) -> None:
                broker.closed += 1

        return Consumer()


def event(text: str) -> bytes:
    return json.dumps({"id": text, "timestamp": 1_767_225_600_000, "api": "/a", "response_time": 1.0,
                       "status_code": 200, "log_level": "INFO", "message": text}).encode()  # fmt: skip


def wait(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def test_the_reader_runs_while_tails_are_open_and_restarts_after_an_error() -> None:
    broker = Broker()
    hub = Hub("in", {}, max_tails=2, per_second=100, make=broker.consumer)
    sub = hub.subscribe(filters.parse({"q": ["wanted"]}))
    assert sub.ready.wait(5)
    broker.pending.put(Message(event("wanted 1"), 0))
    broker.pending.put(Message(RuntimeError("a record that breaks the reader"), 1))
    broker.pending.put(Message(event("wanted 2"), 2))
    wait(lambda: sub.counts().matched == 2)  # the second line came through a new reader
    lines, _ = sub.take(0)
    assert [line["o"] for line in lines] == [0, 2] and broker.made == 2
    hub.unsubscribe(sub)
    wait(lambda: hub.thread is None and broker.closed == 2)


@pytest.fixture()
def app() -> Iterator[tuple[flask.Flask, Hub]]:
    broker = Broker()
    hub = Hub("in", {}, max_tails=1, per_second=100, make=broker.consumer)
    server = flask.Flask("tail-test")

    @server.before_request
    def signed_in() -> None:
        flask.g.principal = Principal("viewer", Role.VIEWER, "local")

    stream.install(server)
    saved = stream._hub
    stream._hub = hub
    try:
        yield server, hub
    finally:
        stream._hub = saved


def test_a_head_request_never_keeps_a_slot(app: tuple[flask.Flask, Hub]) -> None:
    server, hub = app
    client = server.test_client()
    for _ in range(3):  # with one slot: a leak would answer 429 the second time
        head = client.head(stream.PATH)
        assert head.status_code == 200
        head.close()  # what a WSGI server does with every response: the body was never read
        assert hub.tails == ()
    answer = client.get(stream.PATH, query_string={"status": "9xx"})
    assert answer.status_code == 400 and str((answer.json or {})["error"]).startswith("status:")


def test_a_stream_read_to_ready_then_closed_frees_its_slot(app: tuple[flask.Flask, Hub]) -> None:
    server, hub = app
    client = server.test_client()
    answer = client.get(stream.PATH, buffered=False)
    chunks = answer.response  # the body, as the server writes it
    seen = ""
    for chunk in chunks:
        seen += chunk.decode() if isinstance(chunk, bytes) else chunk
        if "event: ready" in seen:
            break
    assert len(hub.tails) == 1
    assert client.get(stream.PATH).status_code == 429
    answer.close()
    assert len(hub.tails) == 0
