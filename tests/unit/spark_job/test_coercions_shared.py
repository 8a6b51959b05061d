"""The coercion table (``logpipeline.events.coercions``) holds alike in the Python codec and the Spark job's parse.

Every case runs through both ``codec.parse`` (ingest) and ``transformations.parse`` (the Spark job); each must
repair it to the same event, or refuse it with the same field and class.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pyspark.sql import SparkSession
from spark_frames import T0, raw_frame

from logpipeline.events import codec
from logpipeline.events.codec import Invalid
from logpipeline.events.schema import EVENT_FIELDS
from logpipeline_spark import transformations as tr

ORIGINAL: dict[str, Any] = {  # the original system's producer: integer codes, level independent of status
    "id": "9b2e3c1a-0d4f-4e5a-8b6c-7d8e9f0a1b2c",
    "timestamp": T0 + 1234,
    "timestamp_human": "2026-01-01 00:00:01",
    "api": "/api/v1/orders",
    "ip_address": "192.168.1.20",
    "response_time": 250,
    "status_code": 500,
    "response_code": 500,
    "log_level": "INFO",
}

# (change to ORIGINAL, the repaired fields, or the refused field and class)
CASES: list[tuple[dict[str, Any], dict[str, Any] | tuple[str, str]]] = [
    ({}, {"response_code": "500", "response_time": 250.0, "status_code": 500, "timestamp": T0 + 1234}),
    ({"status_code": "404"}, {"status_code": 404}),
    ({"status_code": " 404 "}, {"status_code": 404}),
    ({"status_code": 404.0}, {"status_code": 404}),
    ({"status_code": "4.04e2"}, {"status_code": 404}),
    ({"response_code": "404"}, {"response_code": "404"}),
    ({"response_time": "12.5"}, {"response_time": 12.5}),
    ({"response_time": 12}, {"response_time": 12.0}),
    ({"timestamp": (T0 + 1234) / 1000}, {"timestamp": T0 + 1234}),
    ({"timestamp": (T0 + 1000) // 1000}, {"timestamp": T0 + 1000}),
    ({"timestamp": str(T0 + 1234)}, {"timestamp": T0 + 1234}),
    ({"timestamp": f"{(T0 + 1234) / 1000:.3f}"}, {"timestamp": T0 + 1234}),
    ({"timestamp": (T0 + 1234) * 1000 + 499}, {"timestamp": T0 + 1234}),
    ({"timestamp": (T0 + 1234) * 1000 + 500}, {"timestamp": T0 + 1235}),
    ({"timestamp": (T0 + 1234) * 1_000_000 + 499_999}, {"timestamp": T0 + 1234}),
    ({"timestamp": (T0 + 1234) * 1_000_000 + 500_000}, {"timestamp": T0 + 1235}),
    ({"timestamp": "2026-01-01T00:00:01.234Z"}, {"timestamp": T0 + 1234}),
    ({"timestamp": "2026-01-01T00:00:01.2349Z"}, {"timestamp": T0 + 1234}),
    ({"timestamp": "2026-01-01 01:00:01.234+01:00"}, {"timestamp": T0 + 1234}),
    ({"timestamp": "2026-01-01T00:00:01.234"}, {"timestamp": T0 + 1234}),
    ({"timestamp": "2026-01-01t00:00:01z"}, {"timestamp": T0 + 1000}),
    ({"log_level": "warn"}, {"log_level": "WARNING"}),
    ({"log_level": " Error "}, {"log_level": "ERROR"}),
    ({"log_level": "fatal"}, {"log_level": "CRITICAL"}),
    ({"log_level": "TRACE"}, {"log_level": "DEBUG"}),
    ({"log_level": "info"}, {"log_level": "INFO"}),
    ({"id": 12345}, {"id": "12345"}),
    ({"status_code": "20x"}, ("status_code", "wrong_type")),
    ({"status_code": 200.5}, ("status_code", "wrong_type")),
    ({"status_code": "700"}, ("status_code", "out_of_range")),
    ({"response_time": "fast"}, ("response_time", "wrong_type")),
    ({"response_time": "0x10"}, ("response_time", "wrong_type")),
    ({"timestamp": "yesterday"}, ("timestamp", "wrong_type")),
    ({"timestamp": "2026-01-01"}, ("timestamp", "wrong_type")),
    ({"timestamp": "2026-13-01T00:00:00Z"}, ("timestamp", "wrong_type")),
    ({"timestamp": 5}, ("timestamp", "out_of_range")),
    ({"log_level": "loud"}, ("log_level", "not_allowed")),
    ({"api": None}, ("api", "missing_field")),
]


def _python(event: dict[str, Any]) -> dict[str, Any] | tuple[str, str]:
    result = codec.parse(orjson.dumps(event))
    return (result.field, result.error_class) if isinstance(result, Invalid) else result


@pytest.fixture(scope="module")
def spark_results(spark: SparkSession) -> dict[int, dict[str, Any] | tuple[str, str]]:
    parsed = tr.parse(raw_frame(spark, [{**ORIGINAL, **change} for change, _ in CASES]))
    out: dict[int, dict[str, Any] | tuple[str, str]] = {
        r["kafka_offset"]: {k: v for k, v in r.asDict().items() if v is not None} for r in parsed.valid.collect()
    }
    for r in parsed.invalid.collect():
        out[r["offset"]] = (r["reason"].split(":", 1)[0], r["error_class"])
    return out


@pytest.mark.parametrize(("n", "change", "expected"), [(n, c, e) for n, (c, e) in enumerate(CASES)])
def test_both_parsers_apply_the_same_table(
    spark_results: dict[int, dict[str, Any] | tuple[str, str]],
    n: int,
    change: dict[str, Any],
    expected: dict[str, Any] | tuple[str, str],
) -> None:
    python, spark = _python({**ORIGINAL, **change}), spark_results[n]
    if isinstance(expected, tuple):
        assert python == expected and spark == expected
        return
    assert isinstance(python, dict) and isinstance(spark, dict), (python, spark)
    for name, value in expected.items():
        assert python[name] == value and type(python[name]) is type(value), (name, python[name])
        assert spark[name] == value, (name, spark[name])
    fields = {f.name for f in EVENT_FIELDS}
    assert {k: v for k, v in python.items() if k in fields and k != "schema_version"} == {
        k: v for k, v in spark.items() if k in fields and k != "schema_version"
    }


def test_an_event_too_far_ahead_of_its_arrival_is_refused_by_both(spark: SparkSession) -> None:
    arrival = T0 + 1234
    ahead = {**ORIGINAL, "timestamp": arrival + 2 * 3_600_000}
    within = {**ORIGINAL, "timestamp": arrival + 300_000}
    parsed = tr.parse(raw_frame(spark, [ahead, within], arrival_ms=arrival), max_ahead_ms=300_000)
    [refused] = parsed.invalid.collect()
    assert (refused["offset"], refused["error_class"]) == (0, "too_far_ahead")
    assert refused["reason"] == (
        "timestamp: expected at most 300 s after arrival at 2026-01-01T00:00:01.234Z, "
        "got 2026-01-01T02:00:01.234Z (7200 s ahead)"
    )
    assert [r["kafka_offset"] for r in parsed.valid.collect()] == [1]
    python = codec.validate(ahead)
    assert isinstance(python, dict)
    problem = codec.too_far_ahead(python, arrival, 300_000)
    assert problem is not None and (problem.error_class, problem.reason) == ("too_far_ahead", refused["reason"])
    assert codec.too_far_ahead(within, arrival, 300_000) is None
