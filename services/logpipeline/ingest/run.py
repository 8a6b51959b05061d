"""Replay one file into the input topic: parse, validate, produce valid events, dead-letter the rest.

Pacing: with ``speedup`` set, event ``e`` is sent no earlier than (e.timestamp - first timestamp) /
speedup after the first one (the original pace times the speed-up); without it, as fast as possible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from logpipeline.events import codec
from logpipeline.events.codec import MAX_EVENT_BYTES, Invalid
from logpipeline.events.schema import DEFAULT_MAX_AHEAD_MS
from logpipeline.ingest.formats import parse_line
from logpipeline.ingest.mapping import FieldMap
from logpipeline.ingest.reader import Line
from logpipeline.ingest.telemetry import IngestMetrics
from logpipeline.kafka.deadletters import DeadLetters
from logpipeline.kafka.producer import Sender


@dataclass
class IngestSummary:
    lines: int = 0
    produced: int = 0
    blank: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "produced": self.produced,
            "blank": self.blank,
            "dead_lettered": sum(self.dead_lettered.values()),
            "dead_lettered_by_class": dict(sorted(self.dead_lettered.items())),
            "failed": sum(self.failed.values()),
            "failed_by_error": dict(self.failed),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class _Pace:
    speedup: float | None
    first_event_ms: int | None = None
    first_wall: float = 0.0

    def wait(self, event_ms: int) -> None:
        if self.speedup is None:
            return
        if self.first_event_ms is None:
            self.first_event_ms, self.first_wall = event_ms, time.monotonic()
            return
        due = self.first_wall + (event_ms - self.first_event_ms) / 1000.0 / self.speedup
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def ingest(
    lines: Iterable[Line],
    fmt: str,
    source: str,
    sender: Sender,
    dead: DeadLetters,
    speedup: float | None = None,
    max_bytes: int = MAX_EVENT_BYTES,
    progress: Callable[[IngestSummary], None] = lambda s: None,
    metrics: IngestMetrics | None = None,
    max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS,
    fields: FieldMap | None = None,
) -> IngestSummary:
    """Send every line somewhere (input topic or dead letters) and wait until Kafka has them all.

    An event stamped more than ``max_ahead_ms`` past this machine's clock when it is read (a producer with a wrong
    clock) is dead-lettered as ``too_far_ahead``: it would move the job's watermark past every live event."""
    began = time.monotonic()
    summary = IngestSummary()
    pace = _Pace(speedup)
    metrics = metrics or IngestMetrics()
    for line in lines:
        summary.lines += 1
        metrics.lines.inc()
        problem: Invalid | None = None
        if line.size > max_bytes:
            problem = Invalid("line", f"at most {max_bytes} bytes", f"{line.size} bytes", "too_large")
        elif not line.data.strip():
            summary.blank += 1
            metrics.blank.inc()
        else:
            result = parse_line(fmt, line.data, source, line.lineno, fields)
            if not isinstance(result, Invalid):
                result = codec.too_far_ahead(result, int(time.time() * 1000), max_ahead_ms) or result
            if isinstance(result, Invalid):
                problem = result
            else:
                pace.wait(int(result["timestamp"]))
                sender.send(str(result["api"]), codec.encode(result))
                summary.produced += 1
                metrics.events.inc()
        if problem is not None:
            dead.send(line.data, problem, source, str(line.lineno), original_size=line.size)
            metrics.dead.labels(problem.error_class).inc()
        if summary.lines % 10_000 == 0:
            summary.seconds = time.monotonic() - began
            progress(summary)
    undelivered = sender.flush() + dead.sender.flush()
    summary.dead_lettered = dict(dead.counts)
    summary.failed = dict(sender.failed + dead.sender.failed)
    if undelivered:
        summary.failed["undelivered_at_flush_timeout"] = undelivered
    summary.seconds = time.monotonic() - began
    return summary
