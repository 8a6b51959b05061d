"""Minute windows merged into coarser buckets (5 min, 1 h) with the same figures as the windows (pure).

A bucket aggregate keeps the exact count, count-weighted average, min, max and status classes of its
windows; its KLL sketch is the merge of theirs and its percentiles are read from that sketch. The roll-ups
of ``logpipeline.metrics.rollup`` give the same totals, SLA, averages and error figures on bucket
aggregates as on the minute windows, and percentiles within the sketch's rank error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from datasketches import kll_doubles_sketch

from logpipeline.metrics.records import Aggregate

SKETCH_K = 200


def merge(windows: Sequence[Aggregate], start_ms: int, end_ms: int) -> Aggregate:
    """One aggregate of windows of one (api, log_level) falling in ``[start_ms, end_ms)``."""
    first = windows[0]
    if len(windows) == 1 and first.window_start == start_ms and first.window_end == end_ms:
        return first
    counted = [w for w in windows if w.log_count]
    count = sum(w.log_count for w in counted)
    sketch = kll_doubles_sketch(SKETCH_K)
    for w in counted:
        sketch.merge(kll_doubles_sketch.deserialize(w.sketch))
    p50, p95, p99 = (float(sketch.get_quantile(q)) for q in (0.5, 0.95, 0.99)) if count else (0.0, 0.0, 0.0)
    return Aggregate(
        api=first.api,
        log_level=first.log_level,
        window_start=start_ms,
        window_end=end_ms,
        log_count=count,
        avg_response_time=sum(w.avg_response_time * w.log_count for w in counted) / count if count else 0.0,
        min_response_time=min((w.min_response_time for w in counted), default=0.0),
        max_response_time=max((w.max_response_time for w in counted), default=0.0),
        p50_response_time=p50,
        p95_response_time=p95,
        p99_response_time=p99,
        status_2xx=sum(w.status_2xx for w in windows),
        status_3xx=sum(w.status_3xx for w in windows),
        status_4xx=sum(w.status_4xx for w in windows),
        status_5xx=sum(w.status_5xx for w in windows),
        sketch=sketch.serialize(),
        updated_at=max(w.updated_at for w in windows),
    )


def coarsen(windows: Iterable[Aggregate], step_ms: int) -> dict[int, list[Aggregate]]:
    """Bucket start -> one aggregate per (api, log_level) of the windows starting in that bucket."""
    groups: dict[tuple[int, str, str], list[Aggregate]] = defaultdict(list)
    for w in windows:
        groups[(w.window_start - w.window_start % step_ms, w.api, w.log_level)].append(w)
    out: dict[int, list[Aggregate]] = defaultdict(list)
    for (start, _, _), group in sorted(groups.items(), key=lambda kv: kv[0]):
        out[start].append(merge(group, start, start + step_ms))
    return dict(out)


def flatten(by_bucket: dict[int, list[Aggregate]]) -> list[Aggregate]:
    return [w for start in sorted(by_bucket) for w in by_bucket[start]]
