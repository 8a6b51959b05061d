"""Access-log and JSON-line parsing: documented api and level rules, original event time, precise rejections."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from logpipeline.events.codec import Invalid
from logpipeline.ingest import formats, mapping

DATA = Path(__file__).resolve().parents[1] / "data" / "apache_access_2015_head2000.log"
LINE = (
    b'83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash/images/kibana.png?x=1 HTTP/1.1" '
    b'200 203023 "http://semicomplete.com/" "Mozilla/5.0"'
)


def test_combined_line_becomes_an_event() -> None:
    event = formats.parse_combined(LINE, "access.log", 1)
    assert not isinstance(event, Invalid)
    assert event["timestamp"] == 1_431_857_103_000  # 2015-05-17T10:05:03Z
    assert event["timestamp_human"] == "2015-05-17T10:05:03.000Z"
    assert (event["api"], event["method"], event["status_code"]) == ("/presentations", "GET", 200)
    assert (event["log_level"], event["response_time"], event["ip_address"]) == ("SUCCESS", 0.0, "83.149.9.216")
    assert event["id"] == formats.parse_combined(LINE, "access.log", 1)["id"]  # type: ignore[index]
    assert event["id"] != formats.parse_combined(LINE, "access.log", 2)["id"]  # type: ignore[index]


def test_combined_with_request_time_and_error_levels() -> None:
    line = b'10.0.0.1 - bob [01/Jan/2024:00:00:00 +0100] "POST /api/pay HTTP/2.0" 503 12 "-" "curl/8" 0.250'
    event = formats.parse_combined(line, "x", 1)
    assert not isinstance(event, Invalid)
    assert (event["response_time"], event["log_level"], event["timestamp"]) == (250.0, "CRITICAL", 1_704_063_600_000)


@pytest.mark.parametrize(
    ("path", "api"), [("/", "/"), ("/favicon.ico", "/favicon.ico"), ("//blog//x?y", "/blog"), ("/?q=1", "/")]
)
def test_api_rule(path: str, api: str) -> None:
    assert formats.api_of(path) == api


@pytest.mark.parametrize(
    ("line", "error_class", "field"),
    [
        (b"hello world", "bad_format", "line"),
        (LINE.replace(b"17/May/2015", b"17/Foo/2015"), "bad_time", "time"),
        (LINE.replace(b"GET /presentations", b"GARBAGE"), "bad_request", "request"),
        (LINE.replace(b"Mozilla", b"Moz\xe9lla"), "not_utf8", "line"),
        (LINE.replace(b"[17/May/2015", b"[17/May/1990"), "out_of_range", "timestamp"),
    ],
)
def test_combined_rejections(line: bytes, error_class: str, field: str) -> None:
    problem = formats.parse_combined(line, "x", 1)
    assert isinstance(problem, Invalid)
    assert (problem.error_class, problem.field) == (error_class, field)


def test_nginx_json() -> None:
    line = orjson.dumps(
        {
            "time_iso8601": "2024-05-01T12:00:00+00:00",
            "remote_addr": "1.2.3.4",
            "request": "GET /api/users/7 HTTP/1.1",
            "status": "404",
            "request_time": "0.012",
        }
    )
    event = formats.parse_nginx_json(line, "n", 3)
    assert not isinstance(event, Invalid)
    assert (event["api"], event["status_code"], event["log_level"]) == ("/api", 404, "WARNING")
    assert event["timestamp"] == 1_714_564_800_000 and event["response_time"] == 12.0
    msec = formats.parse_nginx_json(b'{"msec": "1714564800.123", "status": 200, "request_uri": "/x"}', "n", 4)
    assert not isinstance(msec, Invalid) and msec["timestamp"] == 1_714_564_800_123
    bad = formats.parse_nginx_json(b'{"msec": "1714564800.1", "status": "abc"}', "n", 5)
    assert isinstance(bad, Invalid) and bad.reason == 'status: expected number, got "abc"'


def test_the_apache_slice_parses_completely() -> None:
    events = [formats.parse_combined(line.rstrip(b"\n"), "slice", i) for i, line in enumerate(DATA.open("rb"), 1)]
    assert not [e for e in events if isinstance(e, Invalid)]
    statuses = Counter(e["status_code"] for e in events if not isinstance(e, Invalid))
    assert statuses == {200: 1845, 206: 21, 301: 62, 304: 37, 404: 35}


ECS_LINE = {
    "@timestamp": "2026-11-30T08:00:01.250Z",
    "log": {"level": "warn"},
    "http": {"request": {"method": "POST"}, "response": {"status_code": 404}},
    "url": {"path": "/api/orders/17", "original": "/api/orders/17?x=1"},
    "event": {"duration": 12_500_000, "id": "e-1"},
    "client.ip": "10.1.2.3",
    "service": {"name": "shop"},
    "message": "not found",
}


def test_ecs_documents_become_events_nested_or_dotted() -> None:
    line = orjson.dumps(ECS_LINE)
    event = formats.parse_line("ecs", line, "f", 1)
    assert isinstance(event, dict), event
    assert (event["id"], event["timestamp"], event["api"], event["path"]) == (
        "e-1",
        1_796_025_601_250,
        "/api",
        "/api/orders/17",
    )
    assert (event["log_level"], event["status_code"], event["response_code"]) == ("WARNING", 404, "404")
    assert (event["response_time"], event["method"], event["ip_address"]) == (12.5, "POST", "10.1.2.3")
    assert (event["service"], event["message"]) == ("shop", "not found")
    dotted = {"@timestamp": "2026-11-30T08:00:01Z", "http.response.status_code": 503, "url.path": "/x"}
    filled = formats.parse_line("ecs", orjson.dumps(dotted), "f", 2)
    assert isinstance(filled, dict)
    assert (filled["log_level"], filled["response_time"], filled["api"]) == ("CRITICAL", 0.0, "/x")
    assert filled["id"] == formats.event_id("f", 2, orjson.dumps(dotted)), "replays give the same id"
    missing = formats.parse_line("ecs", orjson.dumps({"url.path": "/x", "http.response.status_code": 200}), "f", 3)
    assert isinstance(missing, Invalid) and missing.field == "timestamp" and missing.error_class == "missing_field"


def test_a_user_mapping_names_other_fields_and_units() -> None:
    fields = mapping.parse(
        {
            "fields": {
                "timestamp": "ts",
                "api": "route",
                "status_code": ["http_status", "status"],
                "response_time": {"from": "latency_us", "scale": 0.001},
                "log_level": "severity",
            }
        }
    )
    line = orjson.dumps({"ts": 1_796_025_601, "route": "/pay", "status": "200", "latency_us": 2500, "severity": "E"})
    event = formats.parse_line("json", line, "f", 1, fields)
    assert isinstance(event, Invalid) and event.field == "log_level", "an unknown level is refused, not guessed"
    line = line.replace(b'"E"', b'"err"')
    event = formats.parse_line("json", line, "f", 1, fields)
    assert isinstance(event, dict), event
    assert (event["timestamp"], event["api"], event["status_code"], event["response_time"], event["log_level"]) == (
        1_796_025_601_000,
        "/pay",
        200,
        2.5,
        "ERROR",
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, "expected an object with a non-empty 'fields' object"),
        ({"fields": {"latency": "x"}}, "fields.latency: not an event field"),
        ({"fields": {"api": 3}}, "fields.api: expected a path"),
        (
            {"fields": {"response_time": {"from": "x", "scale": "fast"}}},
            "fields.response_time.scale: expected a number",
        ),
    ],
)
def test_a_bad_mapping_is_named(data: object, problem: str) -> None:
    with pytest.raises(mapping.MappingError, match=re.escape(problem)):
        mapping.parse(data)
