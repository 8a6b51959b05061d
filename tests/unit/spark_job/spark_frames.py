"""Helpers of the Spark transformation tests: events and raw Kafka-shaped frames."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from pyspark.sql import DataFrame, SparkSession

from logpipeline_spark import transformations as tr

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a window boundary
LATE_ARRIVAL = 4_102_444_800_000  # the records' Kafka timestamp unless given: no event is too far ahead of it


def event(n: int, ts: int, api: str = "/a", level: str = "INFO", rt: float = 10.0, status: int = 200) -> dict[str, Any]:
    return {
        "id": f"id-{n}",
        "timestamp": ts,
        "api": api,
        "response_time": rt,
        "status_code": status,
        "log_level": level,
    }


def raw_frame(
    spark: SparkSession, values: list[bytes | str | dict[str, Any]], arrival_ms: int = LATE_ARRIVAL
) -> DataFrame:
    """Records as the Kafka source delivers them: dicts are JSON-encoded, str taken as text; every record's Kafka
    timestamp (its arrival) is ``arrival_ms``."""
    arrival = datetime.fromtimestamp(arrival_ms / 1000, UTC)
    rows = []
    for offset, v in enumerate(values):
        data = orjson.dumps(v) if isinstance(v, dict) else v.encode() if isinstance(v, str) else v
        rows.append((b"k", data, "in", 0, offset, arrival))
    return spark.createDataFrame(rows, tr.RAW_SCHEMA)
