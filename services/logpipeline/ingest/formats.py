"""Line formats of ``logpipeline ingest`` turned into log events (pure, no I/O).

- ``json``: one event per line, the event schema with the coercion table's repairs (``codec.parse``); with a
  user mapping (``logpipeline.ingest.mapping``), any JSON object whose fields the mapping names.
- ``ecs``: Elastic Common Schema documents as Filebeat and Elastic agents write them (``mapping.ECS``).
- ``combined``: Apache/Nginx combined access log. An optional trailing number after the user agent
  (Nginx ``$request_time`` in seconds, as many deployments append it) becomes ``response_time`` in ms;
  without it ``response_time`` is 0.0, meaning *not measured* (the combined format has no latency).
- ``nginx-json``: Nginx ``escape=json`` access logs with the usual variable names: ``time_iso8601``
  or ``msec`` or ``time_local``, ``remote_addr``, ``request`` (or ``request_method`` + ``request_uri``),
  ``status``, ``request_time`` (seconds); numbers may be strings, as Nginx writes them.

Rules for all access logs: ``api`` is the first path segment with a leading slash, query string dropped
(``/blog/2013/x.html?a=1`` -> ``/blog``; ``/`` stays ``/``); level from status by
``catalogue.level_for_status`` (5xx ERROR, 503/504 CRITICAL, 4xx WARNING, 3xx/1xx INFO, 2xx SUCCESS);
``id`` is a uuid5 of (source name, line number, line), so replaying a file yields the same ids.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import orjson

from logpipeline.events import codec
from logpipeline.events.codec import Invalid
from logpipeline.events.schema import SCHEMA_VERSION
from logpipeline.generator.catalogue import level_for_status
from logpipeline.ingest import mapping

FORMATS = ("json", "combined", "nginx-json", "ecs")
_Q = r'"((?:[^"\\]|\\.)*)"'
COMBINED = re.compile(
    r"^(\S+) \S+ \S+ \[([^\]]+)\] " + _Q + r" (\d{3}) (\d+|-)(?: " + _Q + " " + _Q + r")?(?: (\d+(?:\.\d+)?))?\s*$"
)
_NAMESPACE = uuid.UUID("6f1c2a4e-9b7d-4c1e-8a53-2d0f6b9e7c41")


def api_of(path: str) -> str:
    """First path segment with a leading slash; query and fragment dropped."""
    clean = path.split("?", 1)[0].split("#", 1)[0]
    for segment in clean.split("/"):
        if segment:
            return "/" + segment
    return "/"


def event_id(source: str, lineno: int, line: bytes) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{source}\n{lineno}\n{line.hex()}"))


def _access_event(
    ident: str, ms: int, ip: str, method: str, path: str, status: int, response_time: float
) -> dict[str, Any] | Invalid:
    return codec.validate(
        {
            "id": ident,
            "timestamp": ms,
            "timestamp_human": codec.iso_ms(ms),
            "api": api_of(path),
            "ip_address": ip,
            "response_time": response_time,
            "status_code": status,
            "response_code": str(status),
            "log_level": level_for_status(status),
            "schema_version": SCHEMA_VERSION,
            "method": method,
            "path": path[:2048],
        }
    )


def _text(line: bytes) -> str | Invalid:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Invalid("line", "UTF-8 text", f"byte 0x{line[bad.start]:02x} at offset {bad.start}", "not_utf8")


def _request(request: str) -> tuple[str, str] | Invalid:
    parts = request.split(" ")
    if len(parts) != 3 or not parts[1].startswith("/"):
        return Invalid("request", '"METHOD /path PROTOCOL"', orjson.dumps(request[:60]).decode(), "bad_request")
    return parts[0], parts[1]


def parse_combined(line: bytes, source: str, lineno: int) -> dict[str, Any] | Invalid:
    text = _text(line)
    if isinstance(text, Invalid):
        return text
    m = COMBINED.match(text)
    if m is None:
        return Invalid("line", "Apache/Nginx combined log format", orjson.dumps(text[:80]).decode(), "bad_format")
    ip, when, request, status, _bytes, _ref, _agent, seconds = m.groups()
    try:
        ms = int(datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z").timestamp() * 1000)
    except ValueError:
        return Invalid("time", "dd/Mon/yyyy:HH:MM:SS +zzzz", when, "bad_time")
    req = _request(request)
    if isinstance(req, Invalid):
        return req
    rt = float(seconds) * 1000.0 if seconds else 0.0
    return _access_event(event_id(source, lineno, line), ms, ip, req[0], req[1], int(status), rt)


def _nginx_time(obj: dict[str, Any]) -> int | Invalid:
    try:
        if "msec" in obj:
            return round(float(obj["msec"]) * 1000)
        if "time_iso8601" in obj:
            return int(datetime.fromisoformat(str(obj["time_iso8601"])).timestamp() * 1000)
        if "time_local" in obj:
            return int(datetime.strptime(str(obj["time_local"]), "%d/%b/%Y:%H:%M:%S %z").timestamp() * 1000)
    except (TypeError, ValueError):
        return Invalid("time", "msec, time_iso8601 or time_local", "an unparsable time", "bad_time")
    return Invalid("time", "msec, time_iso8601 or time_local", "nothing", "missing_field")


def _number(obj: dict[str, Any], key: str) -> float | Invalid:
    value = obj.get(key)
    try:
        if isinstance(value, bool) or value is None:
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        return Invalid(key, "number", "nothing" if value is None else orjson.dumps(value).decode()[:60], "wrong_type")


def _object(line: bytes) -> dict[str, Any] | Invalid:
    """A line that must be one JSON object (UTF-8), or why it is not."""
    text = _text(line)
    if isinstance(text, Invalid):
        return text
    try:
        return codec.decode(line)
    except (ValueError, TypeError) as exc:
        return Invalid("line", "a JSON object", str(exc)[:80], "not_json")


def parse_nginx_json(line: bytes, source: str, lineno: int) -> dict[str, Any] | Invalid:
    obj = _object(line)
    if isinstance(obj, Invalid):
        return obj
    ms = _nginx_time(obj)
    status = _number(obj, "status")
    if isinstance(ms, Invalid) or isinstance(status, Invalid):
        return ms if isinstance(ms, Invalid) else status  # type: ignore[return-value]
    rt = _number(obj, "request_time") if "request_time" in obj else 0.0
    if isinstance(rt, Invalid):
        return rt
    if "request" in obj:
        req = _request(str(obj["request"]))
    else:
        req = (str(obj.get("request_method", "GET")), str(obj.get("request_uri", obj.get("uri", "/"))))
    if isinstance(req, Invalid):
        return req
    ident = event_id(source, lineno, line)
    ip = str(obj.get("remote_addr", ""))
    return _access_event(ident, ms, ip, req[0], req[1], int(status), rt * 1000.0)


def parse_mapped(line: bytes, source: str, lineno: int, fields: mapping.FieldMap) -> dict[str, Any] | Invalid:
    """A JSON object with other field names (ECS, a user mapping) to a valid event, or why not."""
    obj = _object(line)
    if isinstance(obj, Invalid):
        return obj
    return codec.validate(mapping.apply(fields, obj, event_id(source, lineno, line), api_of))


def parse_line(
    fmt: str, line: bytes, source: str, lineno: int, fields: mapping.FieldMap | None = None
) -> dict[str, Any] | Invalid:
    """One line (without its newline) of the given format to a valid event, or why not. ``fields``: a user mapping
    (for ``json``, instead of the event's own names; for ``ecs``, over the ECS mapping)."""
    if fmt == "ecs":
        return parse_mapped(line, source, lineno, {**mapping.ECS, **(fields or {})})
    if fmt == "json":
        return codec.parse(line) if fields is None else parse_mapped(line, source, lineno, fields)
    if fmt == "combined":
        return parse_combined(line, source, lineno)
    if fmt == "nginx-json":
        return parse_nginx_json(line, source, lineno)
    raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
