"""Field lists of the log event (topic ``logging_info``) and the aggregate (topic ``agg_logging_info``).

A log event is one JSON object per Kafka message, keyed by ``api``. Its fields are
compatible with the original system: ``id`` (uuid), ``timestamp`` (epoch ms, event
time), ``timestamp_human``, ``api``, ``ip_address``, ``response_time`` (ms),
``status_code``, ``response_code``, ``log_level``; optional extras may follow, and
``schema_version`` names the version.

An aggregate is one record per (window_start, window_end, api, log_level), keyed by
``api|log_level|window_start``; its values are full, never deltas. Within one id,
``log_count`` never decreases (events are de-duplicated by id), so (``log_count``,
``updated_at``) orders versions: a store keeps the larger and ignores the rest. Per-API
figures (total, errors, error rate, status classes) are sums over an API's levels.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1

LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
ERROR_LEVELS: frozenset[str] = frozenset({"ERROR", "CRITICAL"})


@dataclass(frozen=True)
class Field:
    """One field: JSON name, logical type (string|long|int|double), whether required, and its bounds.

    ``minimum``/``maximum`` bound numbers (inclusive), ``max_length`` bounds strings, ``enum``
    lists the allowed values. A value outside them is "absurd" and the event is dead-lettered.
    ``repair`` names a field's own repair (``logpipeline.events.coercions``), applied before the bounds.
    """

    name: str
    type: str
    required: bool = True
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    repair: str = ""  # beyond the type's repairs: "epoch_ms" (any epoch unit, RFC 3339) or "level" (aliases)


# 2000-01-01T00:00:00Z .. 2100-01-01T00:00:00Z in epoch milliseconds.
MIN_TIMESTAMP_MS = 946_684_800_000
MAX_TIMESTAMP_MS = 4_102_444_800_000
MAX_RESPONSE_TIME_MS = 3_600_000.0
# Clock skew: an event stamped more than this past its arrival is dead-lettered (too_far_ahead) and never moves
# the watermark. Ingest compares with its own clock, the Spark job with the record's Kafka timestamp (capped by
# the job's clock). Overridden by LOGPIPELINE_MAX_AHEAD_SECONDS.
DEFAULT_MAX_AHEAD_MS = 300_000

EVENT_FIELDS: tuple[Field, ...] = (
    Field("id", "string", doc="uuid of the event; de-duplication key", max_length=64),
    Field(
        "timestamp",
        "long",
        doc="event time, epoch milliseconds",
        minimum=MIN_TIMESTAMP_MS,
        maximum=MAX_TIMESTAMP_MS,
        repair="epoch_ms",
    ),
    Field("timestamp_human", "string", required=False, doc="event time, ISO 8601 UTC", max_length=64),
    Field("api", "string", doc="API or route name; the Kafka key", max_length=256),
    Field("ip_address", "string", required=False, doc="client address", max_length=64),
    Field("response_time", "double", doc="milliseconds", minimum=0.0, maximum=MAX_RESPONSE_TIME_MS),
    Field("status_code", "int", doc="HTTP status", minimum=100, maximum=599),
    Field("response_code", "string", required=False, doc="status code as text, as in the original system"),
    Field("log_level", "string", doc="severity", enum=LOG_LEVELS, repair="level"),
    Field("schema_version", "int", required=False, doc="SCHEMA_VERSION of the producer", minimum=1, maximum=2**31 - 1),
    Field("method", "string", required=False, max_length=16),
    Field("path", "string", required=False, max_length=2048),
    Field("service", "string", required=False, max_length=256),
    Field("region", "string", required=False, max_length=64),
    Field("message", "string", required=False, max_length=8192),
    Field("trace_id", "string", required=False, max_length=128),
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
    Field("status_2xx", "long", doc="events with a 2xx status in this group (1xx counts here too)"),
    Field("status_3xx", "long"),
    Field("status_4xx", "long"),
    Field("status_5xx", "long"),
    Field(
        "response_time_sketch",
        "string",
        doc="base64 of a serialized KLL doubles sketch (Apache DataSketches format, as Spark's "
        "kll_sketch_agg_double writes it) of response_time; merge sketches for longer ranges",
    ),
    Field("updated_at", "long", doc="epoch ms when this value was computed; with log_count, the record version"),
)


def aggregate_id(api: str, log_level: str, window_start_ms: int) -> str:
    return f"{api}|{log_level}|{window_start_ms}"
