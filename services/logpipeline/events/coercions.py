"""The one table of repairs applied to a log event's fields before validation (pure, no I/O).

Real producers do not all write the event exactly as the schema types it; the original system's producer sends
``response_code`` as an integer, others send numbers as strings, epoch seconds, RFC 3339 times or lower-case
levels. Every repair below is made, in the same way, by the Python codec (``logpipeline ingest``, the sink's
checks) and by the Spark job (``logpipeline_spark.transformations.parse``, Spark expressions built from the
constants of this module); a shared table of cases (``tests/unit/coercion_cases.py``) runs through both.

| field type | accepted | becomes |
| --- | --- | --- |
| string | a JSON string; a JSON number | the string; the number's JSON text (``200`` -> ``"200"``) |
| integer (``status_code``, ``schema_version``) | integer; float with no fraction; numeric string | the integer |
| number (``response_time``) | integer; float; numeric string | the float |
| ``timestamp`` | epoch number (or numeric string) in s, ms, us or ns; RFC 3339 string | epoch ms (``TIMESTAMP_RULE``) |
| ``log_level`` | any case, surrounding blanks, the aliases of ``LEVEL_ALIASES`` | one of ``LOG_LEVELS`` |

- A numeric string matches ``NUMERIC_TEXT`` (blanks around it allowed; no ``NaN``, ``Infinity`` or hex).
- Epoch numbers: below ``1e11`` are seconds (2000-01-01 is 9.5e8 s), below ``1e14`` milliseconds, below ``1e17``
  microseconds, otherwise nanoseconds; converted to ms rounding half up, with integer arithmetic for integers.
- RFC 3339 (``RFC3339_TEXT``): ``2026-11-30T08:00:00Z``, a space instead of ``T``, 0-9 fraction digits, ``Z`` or
  ``+hh:mm``; without an offset the time is UTC. Fractions finer than a millisecond are cut (floor).
- Refused (dead-lettered with a reason naming the field): anything else of the wrong type (``status_code:
  "abc"``, ``true``, objects), a fraction in an integer field, values outside the schema's bounds after repair.
  The Spark job's JSON reader cannot tell a boolean, object or array from a string in a string field: there it
  keeps their JSON text, where the Python codec refuses them (``wrong_type``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from logpipeline.events.schema import LOG_LEVELS

LEVEL_ALIASES: dict[str, str] = {
    **{level.lower(): level for level in LOG_LEVELS},
    "trace": "DEBUG",
    "dbg": "DEBUG",
    "verbose": "DEBUG",
    "fine": "DEBUG",
    "finer": "DEBUG",
    "finest": "DEBUG",
    "information": "INFO",
    "informational": "INFO",
    "notice": "INFO",
    "ok": "SUCCESS",
    "warn": "WARNING",
    "err": "ERROR",
    "severe": "ERROR",
    "crit": "CRITICAL",
    "fatal": "CRITICAL",
    "alert": "CRITICAL",
    "emerg": "CRITICAL",
    "emergency": "CRITICAL",
    "panic": "CRITICAL",
}

NUMERIC_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
INTEGER_TEXT = r"^\s*[+-]?\d+\s*$"
RFC3339_TEXT = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?$"

# (an epoch number below this, its unit in ms per unit as a (multiplier, divisor) pair); the last bound is open.
TIMESTAMP_RULE: tuple[tuple[float, int, int], ...] = (
    (1e11, 1000, 1),  # seconds
    (1e14, 1, 1),  # milliseconds
    (1e17, 1, 1000),  # microseconds
    (math.inf, 1, 1_000_000),  # nanoseconds
)

_NUMERIC = re.compile(NUMERIC_TEXT)
_INTEGER = re.compile(INTEGER_TEXT)
_RFC3339 = re.compile(RFC3339_TEXT)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def level(value: str) -> str | None:
    """The canonical level of ``value`` (case and blanks ignored, aliases mapped), None when unknown."""
    return LEVEL_ALIASES.get(value.strip().lower())


def number(value: object) -> int | float | None:
    """A JSON number, or a numeric string as int (integer text) or float; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC.match(value):
        return int(value) if _INTEGER.match(value) else float(value)
    return None


def epoch_ms(value: int | float) -> int:
    """An epoch number in s, ms, us or ns (by magnitude, ``TIMESTAMP_RULE``) as epoch ms, half up."""
    for below, multiplier, divisor in TIMESTAMP_RULE:
        if value < below:
            if isinstance(value, int):
                return (value * multiplier * 2 + divisor) // (2 * divisor)
            return math.floor(value * multiplier / divisor + 0.5)
    raise AssertionError("the last bound is open")


def rfc3339_ms(text: str) -> int | None:
    """An RFC 3339 time (UTC when it has no offset) as epoch ms (floor), None when ``text`` is not one."""
    if not _RFC3339.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // timedelta(milliseconds=1)


def timestamp_ms(value: object) -> int | None:
    """Event time as epoch ms from an epoch number or numeric string (any unit) or an RFC 3339 string."""
    n = number(value)
    if n is not None:
        return epoch_ms(n) if math.isfinite(n) else None
    return rfc3339_ms(value) if isinstance(value, str) else None
