"""Polling with a deadline for the tests and their helpers: ``wait_for`` a predicate, ``http_ok`` a URL."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from logpipeline.stack import process

T = TypeVar("T")


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200 now (a refused connection or an error status: no)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    log: Path | None = None,
    *,
    interval: float = 0.25,
    fail: bool = True,
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something true, and return that.

    After ``timeout`` seconds, an AssertionError naming ``what`` (with the tail of ``log``, if given); with
    ``fail=False`` the last, false result instead, for a caller that records it and asserts later.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if result or not fail:
        return result
    tail = f"\n{process.tail(log, 30)}" if log else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
