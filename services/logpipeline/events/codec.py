"""Fast JSON encode/decode of log events and their validation against EVENT_FIELDS (pure, no I/O).

``validate`` returns either the normalized event or an ``Invalid`` naming the field, what was
expected and what was found; ``parse`` does the whole path from raw bytes (size, UTF-8, JSON,
object, fields) and is what every entry point (ingest, Spark job, sink) calls on a record.
Normalization: integral floats in integer fields become ints, ints in double fields become
floats, a missing ``schema_version`` becomes ``SCHEMA_VERSION``; unknown fields pass through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

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
    """The value in the field's logical type, or why it is not of that type."""
    if f.type == "string":
        if isinstance(value, str):
            return value
        return Invalid(f.name, "string", f"{_json_name(value)} {_show(value)}", "wrong_type")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Invalid(f.name, "number" if f.type == "double" else "integer", _describe(value), "wrong_type")
    if _nonfinite(value):
        return Invalid(f.name, "finite number", repr(value), "out_of_range")
    if f.type == "double":
        return float(value)
    if isinstance(value, float):
        if not value.is_integer():
            return Invalid(f.name, "integer", _show(value), "wrong_type")
        return int(value)
    return value


def _describe(value: object) -> str:
    return f"{_json_name(value)} {_show(value)}"


def _bounds(f: Field, value: object) -> Invalid | None:
    if isinstance(value, str):
        if f.max_length is not None and len(value) > f.max_length:
            return Invalid(f.name, f"at most {f.max_length} characters", f"{len(value)} characters", "too_long")
        if f.enum is not None and value not in f.enum:
            return Invalid(f.name, "one of " + "|".join(f.enum), _show(value), "not_allowed")
        if not value and f.required:
            return Invalid(f.name, "non-empty string", '""', "out_of_range")
        return None
    assert isinstance(value, int | float)
    if f.minimum is not None and value < f.minimum:
        return Invalid(f.name, f">= {_num(f.minimum)}", _show(value), "out_of_range")
    if f.maximum is not None and value > f.maximum:
        return Invalid(f.name, f"<= {_num(f.maximum)}", _show(value), "out_of_range")
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
        problem = _bounds(f, coerced)
        if problem is not None:
            return problem
        out[f.name] = coerced
    out.setdefault("schema_version", SCHEMA_VERSION)
    return out


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
