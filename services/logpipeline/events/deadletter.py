"""Dead-letter record headers, shared by every stage that rejects input (ingest, Spark job, sink).

A dead-lettered record keeps the original bytes as its value and says why in headers,
so nothing is lost and a record can be replayed once the cause is fixed.
"""

from __future__ import annotations

REASON = "dlq.reason"  # human-readable: "<field>: expected <what>, got <value>"
STAGE = "dlq.stage"  # ingest | generator | spark | sink
SOURCE = "dlq.source"  # file path, or topic the record came from
POSITION = "dlq.position"  # line number, or "partition:offset"
ERROR_CLASS = "dlq.error"  # short machine-readable class: not_json, missing_field, wrong_type, out_of_range, ...
ORIGINAL_SIZE = "dlq.original_size"  # set when the value was truncated to fit the dead-letter topic: bytes before


def headers(reason: str, stage: str, source: str, position: str, error_class: str) -> list[tuple[str, bytes]]:
    return [
        (REASON, reason.encode()),
        (STAGE, stage.encode()),
        (SOURCE, source.encode()),
        (POSITION, position.encode()),
        (ERROR_CLASS, error_class.encode()),
    ]
