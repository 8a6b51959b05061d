"""One open tail (pure but for its lock): its filter, a token bucket of lines per second and exact counts.

Every record offered is ``scanned``; one that matches is either queued for the page (``sent``) or, over the rate or
when the page reads too slowly to keep ``QUEUE`` lines, ``sampled_out``: ``matched == sent + sampled_out`` always.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from logpipeline.dashboard.tail.filters import Filter, Line

QUEUE = 1_000  # lines waiting for the page, at most


@dataclass(frozen=True)
class Counts:
    scanned: int
    matched: int
    sent: int
    sampled_out: int

    def wire(self) -> dict[str, int]:
        return {"scanned": self.scanned, "matched": self.matched, "sent": self.sent, "sampled_out": self.sampled_out}


class Subscription:
    def __init__(self, flt: Filter, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.filter = flt
        self.per_second = per_second
        self.clock = clock
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.pending: deque[dict[str, Any]] = deque()
        self.tokens = per_second  # a second's worth at once, at most
        self.refilled = clock()
        self.scanned = self.matched = self.sent = self.sampled_out = 0
        self.ready = threading.Event()  # set once the hub reads from the newest offsets
        self.problem: str | None = None  # the hub's last error, for the page

    def _refill(self, now: float) -> None:
        self.tokens = min(self.per_second, self.tokens + (now - self.refilled) * self.per_second)
        self.refilled = now

    def offer(self, lines: list[tuple[Line, int, int]]) -> None:
        """A batch of (line, partition, offset) from the hub."""
        matches = self.filter.matches
        found = [(line, p, o) for line, p, o in lines if matches(line)]
        with self.lock:
            self.scanned += len(lines)
            if not found:
                return
            self.matched += len(found)
            self._refill(self.clock())
            room = min(int(self.tokens), QUEUE - len(self.pending), len(found))
            self.tokens -= room
            self.pending.extend(line.wire(p, o) for line, p, o in found[:room])
            self.sent += room
            self.sampled_out += len(found) - room
        if room:
            self.wake.set()

    def counts(self) -> Counts:
        with self.lock:
            return Counts(self.scanned, self.matched, self.sent, self.sampled_out)

    def take(self, timeout: float) -> tuple[list[dict[str, Any]], Counts]:
        """The lines queued since the last call (waiting up to ``timeout`` for one) and the counts so far."""
        if not self.pending:
            self.wake.wait(timeout)
        with self.lock:
            self.wake.clear()
            lines = list(self.pending)
            self.pending.clear()
            return lines, Counts(self.scanned, self.matched, self.sent, self.sampled_out)
