"""History for anomaly tests: the minute traffic model written as the closed-window archive the training job reads.

Each API's minute becomes two windows, ``SUCCESS`` (events without errors) and ``ERROR`` (errors), whose
response-time sketches come from a pool of real KLL sketches of log-normal latencies, one per p95 on a 1% grid:
14 days of 20 APIs (800k windows) are written in seconds, and the sketches' merged p95 is the minute's within 1%.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasketches import kll_doubles_sketch

from logpipeline.events.schema import AGGREGATE_FIELDS
from logpipeline.generator.minutes import P95_Z, Minutes
from logpipeline.metrics import digest
from logpipeline.metrics.records import Aggregate

MINUTE_MS = 60_000
GRID = 0.01  # relative step of the pool's p95s
SIGMA = 0.5
SAMPLES = 400
_TYPES = {"string": pa.string(), "long": pa.int64(), "double": pa.float64()}


class SketchPool:
    """KLL sketches of log-normal latencies (sigma ``SIGMA``) whose p95 is on a 1% grid; one per grid step."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.by_step: dict[int, tuple[str, float]] = {}
        quantiles = (np.arange(SAMPLES) + 0.5) / SAMPLES
        from statistics import NormalDist

        self.unit = np.exp(SIGMA * np.array([NormalDist().inv_cdf(float(q)) for q in quantiles]))

    def sketch(self, p95: float) -> tuple[str, float]:
        """(base64 sketch, its p95) for a p95 within 1% of ``p95``."""
        step = round(math.log(max(p95, 0.01)) / math.log1p(GRID))
        if step not in self.by_step:
            target = math.exp(step * math.log1p(GRID))
            median = target / math.exp(SIGMA * P95_Z)
            sketch = kll_doubles_sketch(200)
            for v in (median * self.unit).tolist():
                sketch.update(v)
            self.by_step[step] = (base64.b64encode(sketch.serialize()).decode(), float(sketch.get_quantile(0.95)))
        return self.by_step[step]


def rows(
    data: Minutes, start: int = 0, end: int | None = None, pool: SketchPool | None = None
) -> Iterator[dict[str, Any]]:
    """The closed windows of minutes ``[start, end)`` of every API, as the archive's columns plus date and hour."""
    pool = pool or SketchPool()
    end = data.minutes if end is None else end
    for api_index, api in enumerate(data.apis):
        events = data.events[api_index, start:end].tolist()
        errors = data.errors[api_index, start:end].tolist()
        p95s = data.p95[api_index, start:end].tolist()
        for i, (n, e, p95) in enumerate(zip(events, errors, p95s, strict=True)):
            window = data.start_ms + (start + i) * MINUTE_MS
            sketch, real = pool.sketch(p95)
            day = np.datetime64(window, "ms").astype("datetime64[s]").item()
            for level, count in (("SUCCESS", n - e), ("ERROR", e)):
                if count <= 0:
                    continue
                yield {
                    "id": f"{api}|{level}|{window}", "window_start": window, "window_end": window + MINUTE_MS,
                    "api": api, "log_level": level, "log_count": count, "avg_response_time": real / 2,
                    "min_response_time": real / 10, "max_response_time": real * 2, "p50_response_time": real / 2,
                    "p95_response_time": real, "p99_response_time": real * 1.3,
                    "status_2xx": count if level == "SUCCESS" else 0, "status_3xx": 0, "status_4xx": 0,
                    "status_5xx": count if level == "ERROR" else 0, "response_time_sketch": sketch,
                    "updated_at": window + MINUTE_MS, "date": day.strftime("%Y-%m-%d"), "hour": day.strftime("%H"),
                }  # fmt: skip


def table(data: Minutes, start: int = 0, end: int | None = None) -> pa.Table:
    columns: dict[str, list[object]] = {f.name: [] for f in AGGREGATE_FIELDS}
    columns["date"], columns["hour"] = [], []
    for row in rows(data, start, end):
        for k, v in row.items():
            columns[k].append(v)
    fields = [(f.name, _TYPES[f.type]) for f in AGGREGATE_FIELDS] + [("date", pa.string()), ("hour", pa.string())]
    return pa.table(columns, schema=pa.schema(fields))


def aggregates(data: Minutes, start: int, end: int) -> list[Aggregate]:
    """The same windows as the store holds them (what the sink writes)."""
    out = []
    for row in rows(data, start, end):
        values = {f.name: row[f.name] for f in AGGREGATE_FIELDS if f.name not in ("id", "response_time_sketch")}
        out.append(Aggregate(**values, sketch=base64.b64decode(row["response_time_sketch"])))
    return out


def write_minutes(ddb: Any, table_name: str, aggs: list[Aggregate]) -> None:
    """The windows as the sink's minute digests (what the scorer reads), 25 items to a request."""
    grouped: dict[tuple[str, str], list[Aggregate]] = {}
    for agg in aggs:
        grouped.setdefault(digest.key(agg), []).append(agg)
    items = [{"PutRequest": {"Item": digest.item(pk, sk, entries, 1, 30)}} for (pk, sk), entries in grouped.items()]
    name = digest.table_name(table_name)
    for i in range(0, len(items), 25):
        pending: list[dict[str, Any]] | None = items[i : i + 25]
        while pending:
            pending = ddb.batch_write_item(RequestItems={name: pending}).get("UnprocessedItems", {}).get(name)


def write_archive(root: Path, pipeline: str, data: Minutes, start: int = 0, end: int | None = None) -> Path:
    """Write minutes ``[start, end)`` as ``<root>/<pipeline>/agg/date=…/hour=…/`` Parquet; returns that directory."""
    target = root / pipeline / "agg"
    pq.write_to_dataset(table(data, start, end), str(target), partition_cols=["date", "hour"])
    return target
