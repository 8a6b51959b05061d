"""Exact per-minute aggregates of a set of events, and the ground-truth file tests compare against.

Percentiles are exact *nearest-rank*: p-th percentile = the ceil(p/100 * n)-th smallest value
(1-based), so every percentile is an observed response time. Windows are [start, start + 60 s)
on event time. Status 1xx counts with 2xx, as in AGGREGATE_FIELDS.

Ground-truth file: JSON lines; the first line is a header ``{"kind": "header", "events": n,
"aggregates": m}``, then one ``{"kind": "event", "event": {...}}`` per event in generation order,
then one ``{"kind": "aggregate", "aggregate": {...}}`` per aggregate sorted by id.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from logpipeline.events.schema import aggregate_id

WINDOW_MS = 60_000


def nearest_rank(sorted_values: list[float], p: float) -> float:
    """The nearest-rank p-th percentile (0 < p <= 100) of an ascending, non-empty list."""
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def _status_class(status: int) -> str:
    return f"status_{max(2, min(5, status // 100))}xx"


def minute_aggregates(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One exact aggregate per (1-minute window, api, log_level), sorted by (window_start, api, log_level)."""
    times: dict[tuple[int, str, str], list[float]] = defaultdict(list)
    statuses: dict[tuple[int, str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(("status_2xx", "status_3xx", "status_4xx", "status_5xx"), 0)
    )
    for e in events:
        key = (int(e["timestamp"]) // WINDOW_MS * WINDOW_MS, str(e["api"]), str(e["log_level"]))
        times[key].append(float(e["response_time"]))
        statuses[key][_status_class(int(e["status_code"]))] += 1
    out = []
    for key in sorted(times):
        start, api, level = key
        values = sorted(times[key])
        out.append(
            {
                "id": aggregate_id(api, level, start),
                "window_start": start,
                "window_end": start + WINDOW_MS,
                "api": api,
                "log_level": level,
                "log_count": len(values),
                "avg_response_time": math.fsum(values) / len(values),
                "min_response_time": values[0],
                "max_response_time": values[-1],
                "p50_response_time": nearest_rank(values, 50),
                "p95_response_time": nearest_rank(values, 95),
                "p99_response_time": nearest_rank(values, 99),
                **statuses[key],
            }
        )
    return out


def write_ground_truth(path: Path, events: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Write the events and their aggregates to ``path``; returns (events, aggregates) written."""
    kept = list(events)
    aggregates = sorted(minute_aggregates(kept), key=lambda a: str(a["id"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(orjson.dumps({"kind": "header", "events": len(kept), "aggregates": len(aggregates)}) + b"\n")
        for e in kept:
            out.write(orjson.dumps({"kind": "event", "event": e}) + b"\n")
        for a in aggregates:
            out.write(orjson.dumps({"kind": "aggregate", "aggregate": a}) + b"\n")
    return len(kept), len(aggregates)


def read_ground_truth(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (events, aggregates) of a ground-truth file; raises ValueError if it is incomplete."""
    events: list[dict[str, Any]] = []
    aggregates: list[dict[str, Any]] = []
    header: dict[str, Any] = {}
    with path.open("rb") as f:
        for lineno, line in enumerate(f, 1):
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: ground truth incomplete or corrupt: {exc}") from None
            if row["kind"] == "header":
                header = row
            elif row["kind"] == "event":
                events.append(row["event"])
            else:
                aggregates.append(row["aggregate"])
    if header.get("events") != len(events) or header.get("aggregates") != len(aggregates):
        raise ValueError(f"{path}: ground truth incomplete: header {header}, read {len(events)}/{len(aggregates)}")
    return events, aggregates
