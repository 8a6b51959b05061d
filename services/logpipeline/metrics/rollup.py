"""The dashboard's figures computed from stored minute windows: pure functions, no I/O.

Input is a sequence of ``Aggregate`` (one per api, log_level, minute); outputs are small frozen
dataclasses. Averages are weighted by ``log_count``; percentiles over more than one window come from
merging the windows' KLL sketches (rank error about 1.65% at k=200, exact while a merged sketch holds
fewer than k values).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from datasketches import kll_doubles_sketch

from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics.records import Aggregate

MINUTE_MS = 60_000
RESOLUTIONS_MS: dict[str, int] = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "1h": 60 * MINUTE_MS}
SKETCH_K = 200


@dataclass(frozen=True)
class Sla:
    """Share of events that are not ERROR/CRITICAL; ``ratio`` is None when there were no events."""

    total: int
    errors: int
    ratio: float | None


@dataclass(frozen=True)
class Latency:
    """Response-time figures of one API over a range (milliseconds)."""

    api: str
    count: int
    avg: float
    min: float
    max: float
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class ApiErrors:
    api: str
    errors: int
    total: int
    error_rate: float
    avg_response_time: float


@dataclass(frozen=True)
class Point:
    """One bucket of a time series: event counts per log level."""

    start: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Freshness:
    """The newest stored window and its age (``now`` minus its ``window_end``, never negative)."""

    newest_window_start: int | None
    newest_updated_at: int | None
    age_seconds: float | None


def filter_apis(windows: Iterable[Aggregate], apis: Sequence[str] | None) -> list[Aggregate]:
    if not apis:
        return list(windows)
    wanted = set(apis)
    return [w for w in windows if w.api in wanted]


def totals_by_level(windows: Iterable[Aggregate]) -> dict[str, int]:
    totals = dict.fromkeys(LOG_LEVELS, 0)
    for w in windows:
        totals[w.log_level] = totals.get(w.log_level, 0) + w.log_count
    return totals


def sla(windows: Iterable[Aggregate]) -> Sla:
    total = errors = 0
    for w in windows:
        total += w.log_count
        if w.log_level in ERROR_LEVELS:
            errors += w.log_count
    return Sla(total, errors, (total - errors) / total if total else None)


def merged_sketch(windows: Iterable[Aggregate]) -> kll_doubles_sketch:
    merged = kll_doubles_sketch(SKETCH_K)
    for w in windows:
        if w.log_count:
            merged.merge(kll_doubles_sketch.deserialize(w.sketch))
    return merged


def latency(api: str, windows: Sequence[Aggregate]) -> Latency:
    """Count-weighted average, min, max and percentiles of one API's windows."""
    counted = [w for w in windows if w.log_count]
    count = sum(w.log_count for w in counted)
    if not count:
        return Latency(api, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    avg = sum(w.avg_response_time * w.log_count for w in counted) / count
    low, high = min(w.min_response_time for w in counted), max(w.max_response_time for w in counted)
    if len(counted) == 1:
        w = counted[0]
        return Latency(api, count, avg, low, high, w.p50_response_time, w.p95_response_time, w.p99_response_time)
    sketch = merged_sketch(counted)
    p50, p95, p99 = (float(sketch.get_quantile(q)) for q in (0.5, 0.95, 0.99))
    return Latency(api, count, avg, low, high, p50, p95, p99)


def by_api(windows: Iterable[Aggregate]) -> dict[str, list[Aggregate]]:
    groups: dict[str, list[Aggregate]] = defaultdict(list)
    for w in windows:
        groups[w.api].append(w)
    return dict(groups)


def latency_by_api(windows: Iterable[Aggregate]) -> dict[str, Latency]:
    return {api: latency(api, group) for api, group in sorted(by_api(windows).items())}


def top_apis_by_errors(windows: Iterable[Aggregate], n: int) -> list[ApiErrors]:
    """APIs with the most ERROR/CRITICAL events (ties: higher rate, then name); APIs without errors omitted."""
    rows = []
    for api, group in by_api(windows).items():
        total = sum(w.log_count for w in group)
        errors = sum(w.log_count for w in group if w.log_level in ERROR_LEVELS)
        if not errors:
            continue
        avg = sum(w.avg_response_time * w.log_count for w in group) / total
        rows.append(ApiErrors(api, errors, total, errors / total, avg))
    rows.sort(key=lambda r: (-r.errors, -r.error_rate, r.api))
    return rows[:n]


def bucket_start(ms: int, resolution_ms: int) -> int:
    return ms - ms % resolution_ms


def series_by_level(windows: Iterable[Aggregate], start_ms: int, end_ms: int, resolution_ms: int) -> list[Point]:
    """Dense series of counts per level in buckets of ``resolution_ms`` covering ``[start_ms, end_ms)``."""
    first = bucket_start(start_ms, resolution_ms)
    buckets = {b: dict.fromkeys(LOG_LEVELS, 0) for b in range(first, end_ms, resolution_ms)}
    for w in windows:
        counts = buckets.get(bucket_start(w.window_start, resolution_ms))
        if counts is not None:
            counts[w.log_level] = counts.get(w.log_level, 0) + w.log_count
    return [Point(b, counts) for b, counts in sorted(buckets.items())]


def freshness(newest: Aggregate | None, now_ms: int) -> Freshness:
    if newest is None:
        return Freshness(None, None, None)
    return Freshness(newest.window_start, newest.updated_at, max(0.0, (now_ms - newest.window_end) / 1000))


def stale_regions(newest_end: dict[str, int | None], now_ms: int, after_s: float) -> list[str]:
    """The regions whose newest window (its end, epoch ms) ended more than ``after_s`` seconds before ``now_ms``,
    or that have none: their pipelines stopped writing, so the global view is missing them (the other regions are
    unaffected)."""
    return sorted(region for region, end in newest_end.items() if end is None or now_ms - end > after_s * 1000)
