"""Event validation names the field, what was expected and what came; encode/decode round-trip."""

from __future__ import annotations

from typing import Any

import pytest

from logpipeline.events import codec
from logpipeline.events.codec import Invalid
from logpipeline.events.schema import SCHEMA_VERSION

GOOD: dict[str, Any] = {
    "id": "2f1a7c7e-8f0b-4a53-9d2e-1b3c4d5e6f70",
    "timestamp": 1_700_000_000_000,
    "timestamp_human": "2023-11-14T22:13:20.000Z",
    "api": "/api/v1/orders",
    "ip_address": "10.0.0.7",
    "response_time": 12.5,
    "status_code": 200,
    "response_code": "200",
    "log_level": "SUCCESS",
}


def test_valid_event_round_trips_and_is_normalized() -> None:
    event = codec.validate(codec.decode(codec.encode(GOOD)))
    assert not isinstance(event, Invalid)
    assert event == {**GOOD, "schema_version": SCHEMA_VERSION}
    as_int = codec.validate({**GOOD, "response_time": 12, "timestamp": 1.7e12, "status_code": "200"})
    assert not isinstance(as_int, Invalid)
    assert as_int["response_time"] == 12.0 and isinstance(as_int["response_time"], float)
    assert as_int["timestamp"] == 1_700_000_000_000 and isinstance(as_int["timestamp"], int)
    assert as_int["status_code"] == 200 and isinstance(as_int["status_code"], int)
    original = codec.validate({**GOOD, "response_code": 200, "log_level": "warn", "timestamp": 1.7e9})
    assert not isinstance(original, Invalid)
    assert (original["response_code"], original["log_level"], original["timestamp"]) == ("200", "WARNING", 1.7e12)


@pytest.mark.parametrize(
    ("change", "field", "error_class", "reason"),
    [
        ({"api": None}, "api", "missing_field", "api: expected required string, got null"),
        ({"status_code": "2OO"}, "status_code", "wrong_type", 'status_code: expected integer, got string "2OO"'),
        ({"status_code": True}, "status_code", "wrong_type", "status_code: expected integer, got boolean true"),
        ({"response_time": -1.0}, "response_time", "out_of_range", "response_time: expected >= 0, got -1.0"),
        (
            {"response_time": float("inf")},
            "response_time",
            "out_of_range",
            "response_time: expected finite number, got inf",
        ),
        ({"status_code": 700}, "status_code", "out_of_range", "status_code: expected <= 599, got 700"),
        ({"timestamp": 1}, "timestamp", "out_of_range", "timestamp: expected >= 946684800000, got 1 (1000)"),
        (
            {"timestamp": "soon"},
            "timestamp",
            "wrong_type",
            'timestamp: expected epoch time (s, ms, us or ns) or RFC 3339 time, got string "soon"',
        ),
        (
            {"log_level": "LOUD"},
            "log_level",
            "not_allowed",
            'log_level: expected one of DEBUG|INFO|SUCCESS|WARNING|ERROR|CRITICAL, got "LOUD"',
        ),
        ({"api": "x" * 300}, "api", "too_long", "api: expected at most 256 characters, got 300 characters"),
        ({"id": ""}, "id", "out_of_range", 'id: expected non-empty string, got ""'),
    ],
)
def test_invalid_fields_give_precise_reasons(change: dict[str, Any], field: str, error_class: str, reason: str) -> None:
    problem = codec.validate({**GOOD, **change})
    assert isinstance(problem, Invalid)
    assert (problem.field, problem.error_class, problem.reason) == (field, error_class, reason)


def test_missing_field_and_non_objects() -> None:
    event = dict(GOOD)
    del event["timestamp"]
    problem = codec.validate(event)
    assert isinstance(problem, Invalid) and problem.reason == "timestamp: expected required long, got nothing"
    not_object = codec.validate([1, 2])
    assert isinstance(not_object, Invalid) and not_object.error_class == "not_object"


@pytest.mark.parametrize(
    ("raw", "error_class"),
    [
        (b"not json at all", "not_json"),
        (b'{"id": "a", "timestamp": 17', "not_json"),
        ('{"api": "caf\xe9"}'.encode("latin-1"), "not_utf8"),
        (b"\xff\xfe{}", "not_utf8"),
        (b"[1,2,3]", "not_object"),
        (b" " * (codec.MAX_EVENT_BYTES + 1), "too_large"),
    ],
)
def test_parse_classifies_bad_bytes(raw: bytes, error_class: str) -> None:
    problem = codec.parse(raw)
    assert isinstance(problem, Invalid)
    assert problem.error_class == error_class
    assert problem.reason.startswith(f"{problem.field}: expected ")


def test_parse_accepts_valid_bytes() -> None:
    assert codec.parse(codec.encode(GOOD)) == {**GOOD, "schema_version": SCHEMA_VERSION}
