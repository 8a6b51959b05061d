"""What a tail shows (pure): a filter on API, level, status and a substring, and the line made of one record.

A query string such as ``?api=/api/v1/users&level=ERROR&status=5xx&q=timeout`` becomes a ``Filter`` (``parse``,
which names the parameter it cannot read). Every record of the input topic becomes a ``Line`` once
(``line_of``): the event as the pipeline would normalise it (``events.codec.parse``), or, for a record the pipeline
dead-letters, the reason. A record the pipeline refuses matches only a filter without API, level or status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logpipeline.events import codec
from logpipeline.events.schema import LOG_LEVELS

STATUS_CLASS = re.compile(r"^[1-5]xx$")
MAX_TEXT = 200
MAX_VALUES = 50
SHOWN = 4_096  # characters of a record a tail shows (the filter reads all of it)


class FilterError(ValueError):
    """A tail's query cannot be read; the message names the parameter."""


@dataclass(frozen=True)
class Line:
    """One record as a tail shows it: event time (ms, or None), API, level, status, and the record's text."""

    at: int | None
    api: str | None
    level: str | None
    status: int | None
    text: str
    invalid: str | None = None  # why the pipeline refuses the record
    folded: str = field(init=False, repr=False)  # the text in lower case, made once for every tail's filters

    def __post_init__(self) -> None:
        object.__setattr__(self, "folded", self.text.lower())

    def wire(self, partition: int, offset: int) -> dict[str, Any]:
        out: dict[str, Any] = {"t": self.at, "api": self.api, "level": self.level, "status": self.status,
                               "text": self.text[:SHOWN], "p": partition, "o": offset}  # fmt: skip
        if self.invalid is not None:
            out["invalid"] = self.invalid
        return out


@dataclass(frozen=True)
class Filter:
    apis: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    statuses: frozenset[int] = frozenset()  # exact codes
    classes: frozenset[int] = frozenset()  # hundreds: 5 for 5xx
    text: str = ""  # case-insensitive substring of the record

    @property
    def structured(self) -> bool:
        return bool(self.apis or self.levels or self.statuses or self.classes)

    def matches(self, line: Line) -> bool:
        if line.invalid is not None and self.structured:
            return False
        if self.apis and line.api not in self.apis:
            return False
        if self.levels and line.level not in self.levels:
            return False
        if (self.statuses or self.classes) and not (
            line.status in self.statuses or (line.status is not None and line.status // 100 in self.classes)
        ):
            return False
        return not self.text or self.text in line.folded

    def query(self) -> dict[str, list[str]]:
        """The filter as query parameters (``parse`` reads them back)."""
        status = sorted(str(s) for s in self.statuses) + sorted(f"{c}xx" for c in self.classes)
        out = {"api": sorted(self.apis), "level": sorted(self.levels), "status": status}
        if self.text:
            out["q"] = [self.text]
        return {k: v for k, v in out.items() if v}


def _values(args: Mapping[str, Sequence[str]], name: str) -> list[str]:
    found = [v.strip() for raw in args.get(name, ()) for v in raw.split(",") if v.strip()]
    if len(found) > MAX_VALUES:
        raise FilterError(f"{name}: at most {MAX_VALUES} values, got {len(found)}")
    return found


def parse(args: Mapping[str, Sequence[str]]) -> Filter:
    """A filter from query parameters (each may repeat or hold a comma-separated list)."""
    levels = [v.upper() for v in _values(args, "level")]
    unknown = [v for v in levels if v not in LOG_LEVELS]
    if unknown:
        raise FilterError(f"level: expected any of {', '.join(LOG_LEVELS)}, got {', '.join(unknown)}")
    codes, classes = set(), set()
    for value in _values(args, "status"):
        if STATUS_CLASS.match(value.lower()):
            classes.add(int(value[0]))
        elif value.isdigit() and 100 <= int(value) <= 599:
            codes.add(int(value))
        else:
            raise FilterError(f"status: expected a code from 100 to 599 or a class such as 5xx, got {value!r}")
    text = " ".join(v for v in args.get("q", ()) if v).strip()
    if len(text) > MAX_TEXT:
        raise FilterError(f"q: at most {MAX_TEXT} characters, got {len(text)}")
    return Filter(frozenset(_values(args, "api")), frozenset(levels), frozenset(codes), frozenset(classes),
                  text.lower())  # fmt: skip


def line_of(raw: bytes | None) -> Line:
    """The line of one record's value, parsed once for every tail of the process."""
    text = (raw or b"").decode("utf-8", "replace")
    if raw is None:
        return Line(None, None, None, None, text, "the record has no value")
    event = codec.parse(raw)
    if isinstance(event, codec.Invalid):
        return Line(None, None, None, None, text, event.reason)
    return Line(event["timestamp"], event["api"], event["log_level"], event["status_code"], text)
