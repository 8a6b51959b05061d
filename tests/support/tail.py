"""The live tail's test harness: a dashboard tailing a topic with background traffic (``served``); a reader that
opens ``/api/v1/tail`` with a signed-in session, reads its server-sent events in a thread and keeps every line with
the moment it arrived (``Tail``); events marked with a text and the moment they were sent (``marked``)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from confluent_kafka import Producer

from logpipeline import config
from logpipeline.events import codec
from logpipeline.kafka import topics
from logpipeline.metrics import store
from support import leftovers
from support.dashboard import gunicorn
from support.moto import MotoServer


class Tail:
    def __init__(self, http: requests.Session, base: str, params: Mapping[str, str | Sequence[str]]) -> None:
        self.response = http.get(f"{base}/api/v1/tail", params=params, stream=True, timeout=(10, 30))
        self.status = self.response.status_code
        self.lines: list[tuple[float, dict[str, Any]]] = []
        self.counts: dict[str, int] = {}
        self.problems: list[str] = []
        self.ready = threading.Event()
        self.closed = threading.Event()
        self.lock = threading.Lock()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        text = ""
        try:
            for chunk in self.response.iter_content(chunk_size=None, decode_unicode=True):
                now = time.time()
                text += chunk
                while "\n\n" in text:
                    block, text = text.split("\n\n", 1)
                    kind, data = "message", ""
                    for line in block.split("\n"):
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("data: "):
                            data += line[6:]
                    if data:
                        self._handle(kind, json.loads(data), now)
        except Exception:  # the test closed the stream
            pass
        finally:
            self.closed.set()

    def _handle(self, kind: str, data: Any, now: float) -> None:
        with self.lock:
            if kind == "lines":
                self.lines += [(now, line) for line in data]
            elif kind == "counts":
                self.counts = data
            elif kind == "ready":
                self.ready.set()
            elif kind == "problem" and data.get("message"):
                self.problems.append(data["message"])

    def wait_ready(self, timeout: float = 30) -> None:
        assert self.status == 200, f"HTTP {self.status}: {self.response.text[:300]}"
        assert self.ready.wait(timeout), f"the tail was not ready within {timeout} s: {self.problems}"

    def wait_counts(self, done: Any, timeout: float = 30) -> dict[str, int]:
        """Waits until ``done(counts)``; returns the counts (a snapshot consistent with the lines received)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                counts = dict(self.counts)
            if counts and done(counts):
                return counts
            time.sleep(0.1)
        raise AssertionError(f"counts never reached the condition: {self.counts}, problems {self.problems}")

    def close(self) -> None:
        self.response.close()


def marked(
    marker: str, sent_at: float, api: str = "/api/v1/tail-test", level: str = "INFO", at_ms: int | None = None
) -> bytes:
    """A valid event whose message holds the marker and the moment it was sent; stamped then, or at ``at_ms``."""
    stamp = int(sent_at * 1000) if at_ms is None else at_ms
    return codec.encode({"id": uuid.uuid4().hex, "timestamp": stamp, "api": api, "response_time": 3.0,
                         "status_code": 200, "log_level": level, "message": f"{marker} sent={sent_at:.6f}"})  # fmt: skip


def producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})


def sent_at(line: Mapping[str, Any]) -> float:
    return float(str(line["text"]).split("sent=", 1)[1].split('"', 1)[0])


@dataclass(frozen=True)
class Served:
    base: str  # the dashboard's URL
    topic: str  # its input topic, with the generator's traffic on it
    bootstrap: str


@contextmanager
def served(stack: config.Settings, work: Path, rate: float, tails: int) -> Iterator[Served]:
    """One gunicorn worker tailing a fresh 3-partition topic that the generator fills at ``rate`` events/s, with
    ``tails`` live tails allowed, its accounts on a private DynamoDB-API server."""
    moto = MotoServer(work)
    moto.start()
    topic = f"tail_{leftovers.suffix()}"
    topics.create_missing(topics.admin_client(stack.kafka_bootstrap), [topics.TopicSpec(topic, 3)])
    cli = Path(sys.executable).with_name("logpipeline")
    traffic = subprocess.Popen(
        [str(cli), "generate", "--rate", str(rate), "--no-diurnal", "--topic", topic, "--seed", "5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    table = f"tail_{leftovers.suffix()}"
    store.init_table(store.client(moto.endpoint), table)
    try:
        with gunicorn(table, moto.endpoint, workers=1, LOGPIPELINE_INPUT_TOPIC=topic,
                      LOGPIPELINE_DASHBOARD_LIVE_TAILS=str(tails)) as base:  # fmt: skip
            yield Served(base, topic, stack.kafka_bootstrap)
    finally:
        traffic.terminate()
        traffic.wait(30)
        moto.stop()
