"""Field lists of the log event (topic ``logging_info``) and the aggregate (topic ``agg_logging_info``).

A log event is one JSON object per Kafka message, keyed by ``api``. Its fields are
compatible with the original system: ``id`` (uuid), ``timestamp`` (epoch ms, event
time), ``timestamp_human``, ``api``, ``ip_address``, ``response_time`` (ms),
``status_code``, ``response_code``, ``log_level``; optional extras may follow, and
``schema_version`` names the version.

An aggregate is one record per (window_start, window_end, api, log_level), keyed by
``api|log_level|window_start``; its values are full, never deltas.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
ERROR_LEVELS: frozenset[str] = frozenset({"ERROR", "CRITICAL"})


@dataclass(frozen=True)
class Field:
    """One field: its JSON name, logical type (string|long|int|double), and whether it is required."""

    name: str
    type: str
    required: bool = True
    doc: str = ""


EVENT_FIELDS: tuple[Field, ...] = (
    Field("id", "string", doc="uuid of the event; de-duplication key"),
    Field("timestamp", "long", doc="event time, epoch milliseconds"),
    Field("timestamp_human", "string", required=False, doc="event time, ISO 8601 UTC"),
    Field("api", "string", doc="API or route name; the Kafka key"),
    Field("ip_address", "string", required=False, doc="client address"),
    Field("response_time", "double", doc="milliseconds, >= 0"),
    Field("status_code", "int", doc="HTTP status, 100..599"),
    Field("response_code", "string", required=False, doc="status code as text, as in the original system"),
    Field("log_level", "string", doc="one of LOG_LEVELS"),
    Field("schema_version", "int", required=False, doc="SCHEMA_VERSION of the producer"),
    Field("method", "string", required=False),
    Field("path", "string", required=False),
    Field("service", "string", required=False),
    Field("region", "string", required=False),
    Field("message", "string", required=False),
    Field("trace_id", "string", required=False),
)

AGGREGATE_FIELDS: tuple[Field, ...] = (
    Field("id", "string", doc="api|log_level|window_start"),
    Field("window_start", "long", doc="epoch ms, inclusive"),
    Field("window_end", "long", doc="epoch ms, exclusive"),
    Field("api", "string"),
    Field("log_level", "string"),
    Field("log_count", "long"),
    Field("avg_response_time", "double"),
    Field("min_response_time", "double"),
    Field("max_response_time", "double"),
    Field("p50_response_time", "double"),
    Field("p95_response_time", "double"),
    Field("p99_response_time", "double"),
)


def aggregate_id(api: str, log_level: str, window_start_ms: int) -> str:
    return f"{api}|{log_level}|{window_start_ms}"
