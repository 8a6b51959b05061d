"""Scoring a per-minute series from CSV text, as ``logpipeline anomalies score`` does (pure, no I/O).

Input rows are ``timestamp,value`` (epoch milliseconds, minute starts, strictly increasing), with an optional
third column ``n``: the minute's events, for a ratio series. A first row that is not numbers is a header. Output
rows are ``timestamp,value,expected,lower,upper,score,anomaly``, one per input row, scored before the row is learnt
(no look-ahead); the fields a row cannot have (a ratio minute without events) are empty.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from logpipeline.anomalies.detector import Detector, Scored, Settings

HEADER = ("timestamp", "value", "expected", "lower", "upper", "score", "anomaly")
_EPOCH_MS_MIN = 100_000_000_000  # 1973 in ms; a smaller stamp is seconds


class BadInput(ValueError):
    """A row that cannot be scored; the message names its line."""


@dataclass(frozen=True)
class Row:
    line: int
    ts_ms: int
    value: float
    n: float | None


def rows(lines: Iterable[str]) -> Iterator[Row]:
    """The input rows, checked: numbers, epoch ms, time order."""
    last: int | None = None
    for index, fields in enumerate(csv.reader(lines)):
        line = index + 1
        if not fields or not "".join(fields).strip():
            continue
        if len(fields) not in (2, 3):
            raise BadInput(f"line {line}: expected timestamp,value[,n], got {len(fields)} fields")
        try:
            ts = int(fields[0])
            value = float(fields[1])
            n = float(fields[2]) if len(fields) == 3 and fields[2].strip() else None
        except ValueError:
            if index == 0:
                continue  # a header
            raise BadInput(f"line {line}: not numbers: {','.join(fields)!r}") from None
        if ts < _EPOCH_MS_MIN:
            raise BadInput(f"line {line}: timestamp {ts} looks like seconds; expected epoch milliseconds")
        if last is not None and ts <= last:
            raise BadInput(f"line {line}: timestamp {ts} is not after the previous one ({last}); sort the file")
        last = ts
        yield Row(line, ts, value, n)


def _text(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def score(lines: Iterable[str], settings: Settings) -> Iterator[tuple[str, ...]]:
    """Output rows (as text fields) for the input lines, header first."""
    detector = Detector(settings)
    yield HEADER
    for row in rows(lines):
        try:
            scored: Scored = detector.step(row.ts_ms, row.value, row.n)
        except ValueError as exc:
            raise BadInput(f"line {row.line}: {exc}") from None
        yield (
            str(row.ts_ms),
            f"{row.value:.6g}",
            _text(scored.expected),
            _text(scored.lower),
            _text(scored.upper),
            _text(None if scored.score is None else round(scored.score, 3)),
            "1" if scored.anomaly else "0",
        )
