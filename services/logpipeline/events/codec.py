"""Fast JSON encode/decode of log events and their validation against EVENT_FIELDS (pure, no I/O).

``validate`` returns either the normalized event or an ``Invalid`` naming the field, what was
expected and what was found; ``parse`` does the whole path from raw bytes (size, UTF-8, JSON,
object, fields) and is what every entry point (ingest, Spark job, sink) calls on a record.
Normalization: the repairs of ``logpipeline.events.coercions`` (numeric strings, any epoch unit or RFC 3339
for ``timestamp``, level aliases), a missing ``schema_version`` becomes ``SCHEMA_VERSION``; unknown fields
pass through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from logpipeline.events import coercions
from logpipeline.events.schema import EVENT_FIELDS, SCHEMA_VERSION, Field

MAX_EVENT_BYTES = 1 << 20  # a record (line or message) larger than 1 MiB is dead-lettered as too_large

_JSON_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}


@dataclass(frozen=True)
class Invalid:
    """Why a record was rejected; ``reason`` is the text of the dead-letter reason header."""

    field: str
    expected: str
    got: str
    error_class: str

    @property
    def reason(self) -> str:
        return f"{self.field}: expected {self.expected}, got {self.got}"


def encode(event: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event)


def decode(raw: bytes) -> dict[str, Any]:
    """Parse one JSON object; raises ``ValueError`` (``orjson.JSONDecodeError``) or ``TypeError`` if not one."""
    obj = orjson.loads(raw)
    if not isinstance(obj, dict):
        raise TypeError(f"expected a JSON object, got {_json_name(obj)}")
    return obj


def _json_name(value: object) -> str:
    return "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)


def _show(value: object, limit: int = 60) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _nonfinite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _coerce(f: Field, value: object) -> object | Invalid:
    """The value in the field's logical type after the repairs of ``coercions``, or why it cannot be."""
    if f.repair == "epoch_ms":
        ms = coercions.timestamp_ms(value)
        if ms is None:
            return Invalid(f.name, "epoch time (s, ms, us or ns) or RFC 3339 time", _describe(value), "wrong_type")
        return ms
    if f.type == "string":
        if isinstance(value, str):
            return (coercions.level(value) or value) if f.repair == "level" else value
        if isinstance(value, int | float) and not isinstance(value, bool) and not _nonfinite(value):
            return orjson.dumps(value).decode()
        return Invalid(f.name, "string", _describe(value), "wrong_type")
    n = coercions.number(value)
    if n is None:
        return Invalid(f.name, "number" if f.type == "double" else "integer", _describe(value), "wrong_type")
    if _nonfinite(n):
        return Invalid(f.name, "finite number", repr(n), "out_of_range")
    if f.type == "double":
        return float(n)
    if isinstance(n, float):
        if not n.is_integer():
            return Invalid(f.name, "integer", _show(value), "wrong_type")
        return int(n)
    return n


def _describe(value: object) -> str:
    return f"{_json_name(value)} {_show(value)}"


def _bounds(f: Field, value: object, original: object) -> Invalid | None:
    """Why a repaired value is outside the field's bounds (the reason shows what came, and its repair), or None."""
    if isinstance(value, str):
        if f.max_length is not None and len(value) > f.max_length:
            return Invalid(f.name, f"at most {f.max_length} characters", f"{len(value)} characters", "too_long")
        if f.enum is not None and value not in f.enum:
            return Invalid(f.name, "one of " + "|".join(f.enum), _show(value), "not_allowed")
        if not value and f.required:
            return Invalid(f.name, "non-empty string", '""', "out_of_range")
        return None
    assert isinstance(value, int | float)
    got = _show(original) if original == value else f"{_show(original)} ({_show(value)})"
    if f.minimum is not None and value < f.minimum:
        return Invalid(f.name, f">= {_num(f.minimum)}", got, "out_of_range")
    if f.maximum is not None and value > f.maximum:
        return Invalid(f.name, f"<= {_num(f.maximum)}", got, "out_of_range")
    return None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def validate(obj: object) -> dict[str, Any] | Invalid:
    """The normalized event, or the first problem found (fields checked in schema order)."""
    if not isinstance(obj, dict):
        return Invalid("event", "JSON object", _json_name(obj), "not_object")
    out: dict[str, Any] = dict(obj)
    for f in EVENT_FIELDS:
        value = obj.get(f.name)
        if value is None:
            if f.required:
                return Invalid(f.name, f"required {f.type}", "null" if f.name in obj else "nothing", "missing_field")
            out.pop(f.name, None)
            continue
        coerced = _coerce(f, value)
        if isinstance(coerced, Invalid):
            return coerced
        problem = _bounds(f, coerced, value)
        if problem is not None:
            return problem
        out[f.name] = coerced
    out.setdefault("schema_version", SCHEMA_VERSION)
    return out


def too_far_ahead(event: Mapping[str, Any], arrival_ms: int, max_ahead_ms: int) -> Invalid | None:
    """Why a valid event's time lies more than ``max_ahead_ms`` past its arrival (a wrong clock), or None."""
    ahead = int(event["timestamp"]) - arrival_ms
    if ahead <= max_ahead_ms:
        return None
    return Invalid(
        "timestamp",
        f"at most {max_ahead_ms // 1000} s after arrival at {iso_ms(arrival_ms)}",
        f"{iso_ms(int(event['timestamp']))} ({ahead // 1000} s ahead)",
        "too_far_ahead",
    )


def iso_ms(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse(raw: bytes, max_bytes: int = MAX_EVENT_BYTES) -> dict[str, Any] | Invalid:
    """Raw record bytes to a normalized event, or why not (too_large, not_utf8, not_json, ... )."""
    if len(raw) > max_bytes:
        return Invalid("record", f"at most {max_bytes} bytes", f"{len(raw)} bytes", "too_large")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return Invalid("record", "UTF-8 text", f"byte 0x{raw[bad.start]:02x} at offset {bad.start}", "not_utf8")
        return Invalid("record", "JSON", _show(str(exc), 120), "not_json")
    return validate(obj)
