"""The dead-letter producer: a rejected record keeps its bytes and gets reason, stage, source, position headers.

Records larger than the dead-letter topic accepts are kept truncated to MAX_DLQ_VALUE_BYTES, and the
``dlq.original_size`` header says how large they were, so even then the reason and position survive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from logpipeline import contracts
from logpipeline.events.codec import Invalid
from logpipeline.kafka.producer import MAX_DLQ_MESSAGE_BYTES, Sender

MAX_DLQ_VALUE_BYTES = MAX_DLQ_MESSAGE_BYTES - (64 << 10)


def dlq_headers(reason: str, stage: str, source: str, position: str, error_class: str) -> list[tuple[str, bytes]]:
    """The ``dlq.*`` headers of one rejected record (names in ``contracts``)."""
    return [
        (contracts.DLQ_REASON, reason.encode()),
        (contracts.DLQ_STAGE, stage.encode()),
        (contracts.DLQ_SOURCE, source.encode()),
        (contracts.DLQ_POSITION, position.encode()),
        (contracts.DLQ_ERROR_CLASS, error_class.encode()),
    ]


@dataclass
class DeadLetters:
    """Sends rejected records of one stage to the dead-letter topic and counts them by error class."""

    sender: Sender
    stage: str
    counts: Counter[str] = field(default_factory=Counter)

    def send(self, raw: bytes, problem: Invalid, source: str, position: str, original_size: int | None = None) -> None:
        self.send_reason(raw, problem.reason, problem.error_class, source, position, original_size)

    def send_reason(
        self, raw: bytes, reason: str, error_class: str, source: str, position: str, original_size: int | None = None
    ) -> None:
        """Queue one dead letter; ``flush`` and ``failed`` of the sender say whether it arrived."""
        headers: list[tuple[str, str | bytes | None]] = list(
            dlq_headers(reason, self.stage, source, position, error_class)
        )
        size = original_size if original_size is not None else len(raw)
        if size > len(raw) or len(raw) > MAX_DLQ_VALUE_BYTES:
            raw = raw[:MAX_DLQ_VALUE_BYTES]
            headers.append((contracts.DLQ_ORIGINAL_SIZE, str(size).encode()))
        self.sender.send(f"{source}:{position}", raw, headers)
        self.counts[error_class] += 1

    def undelivered(self) -> int:
        """Dead letters queued but not delivered so far: failed in the broker or refused by the client."""
        return sum(self.sender.failed.values())

    @property
    def total(self) -> int:
        return sum(self.counts.values())
