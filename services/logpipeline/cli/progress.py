"""Structured progress and summary lines of long-running commands: one JSON object per line."""

from __future__ import annotations

import sys
import time
from typing import Any

import orjson


def log(event: str, **fields: Any) -> None:
    """One JSON line on stderr: ``{"ts": ..., "event": ..., **fields}``."""
    record = {"ts": round(time.time(), 3), "event": event, **fields}
    sys.stderr.write(orjson.dumps(record).decode() + "\n")
    sys.stderr.flush()


def result(**fields: Any) -> None:
    """The final summary, as one JSON line on stdout (what scripts and tests read)."""
    sys.stdout.write(orjson.dumps(fields).decode() + "\n")
    sys.stdout.flush()
