"""The data contracts: log event and aggregate schemas (pure, no I/O).

This package is the one definition of both schemas; the Spark job, the sink and
the dashboard derive their types from it.
"""

from logpipeline.events.schema import (
    AGGREGATE_FIELDS,
    ERROR_LEVELS,
    EVENT_FIELDS,
    LOG_LEVELS,
    SCHEMA_VERSION,
    Field,
    aggregate_id,
)

__all__ = [
    "AGGREGATE_FIELDS",
    "ERROR_LEVELS",
    "EVENT_FIELDS",
    "LOG_LEVELS",
    "SCHEMA_VERSION",
    "Field",
    "aggregate_id",
]
