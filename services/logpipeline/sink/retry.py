"""The sink's store calls, retried until they succeed or a stop is requested.

``store.Unavailable`` (throttling, an unreachable or restarting server) is retried with exponential backoff and
full jitter (``metrics.backoff``); anything else propagates, ``store.Denied`` included. ``ok`` says whether the
last call succeeded (the sink's readiness), ``recovered`` that a call succeeded after failures (the server may
have come back without the table's data).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import Counter

from logpipeline.metrics import backoff, store

log = logging.getLogger("logpipeline.sink")
T = TypeVar("T")


class Stopped(Exception):
    """A stop was requested while waiting for the store."""


class StoreRetry:
    def __init__(self, stop: threading.Event, max_backoff: float, retried: Counter) -> None:
        self.stop, self.max_backoff, self.retried = stop, max_backoff, retried
        self.ok = False
        self.recovered = False

    def __call__(self, what: str, action: Callable[[], T]) -> T:
        attempt = 0
        while True:
            if self.stop.is_set():
                raise Stopped(what)
            try:
                value = action()
                if attempt:
                    self.recovered = True
                    log.info("store available again", extra={"fields": {"op": what, "attempts": attempt + 1}})
                self.ok = True
                return value
            except store.Unavailable as exc:
                attempt += 1
                self.ok = False
                self.retried.inc()
                pause = backoff.delay(attempt, cap=self.max_backoff)
                log.warning(
                    "store unavailable; retrying",
                    extra={
                        "fields": {"op": what, "attempt": attempt, "sleep_s": round(pause, 3), "error": str(exc)[:300]}
                    },
                )
                self.stop.wait(pause)
