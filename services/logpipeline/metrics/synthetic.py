"""Synthetic aggregates with real KLL sketches: for seeding a table and for tests (pure, seeded, no I/O).

``aggregate_events`` turns raw events into per-minute aggregates the way the streaming job does
(one per api, log_level, minute; exact count, average, min, max and status classes; a KLL sketch of
response times and percentiles read from it). ``history`` makes many windows quickly from a pool of
pre-built sketches, for bulk seeding (days of minutes for many APIs).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from datasketches import kll_doubles_sketch

from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics.records import Aggregate

MINUTE_MS = 60_000
SKETCH_K = 200


@dataclass(frozen=True)
class Event:
    api: str
    log_level: str
    timestamp: int
    response_time: float
    status_code: int


def api_names(n: int) -> list[str]:
    return [f"/api/v1/service-{i:02d}" for i in range(n)]


def window_aggregate(
    api: str, log_level: str, window_start: int, times: Sequence[float], statuses: Sequence[int], updated_at: int
) -> Aggregate:
    sketch = kll_doubles_sketch(SKETCH_K)
    for t in times:
        sketch.update(t)
    classes = [0, 0, 0, 0]
    for s in statuses:
        classes[max(0, min(3, s // 100 - 2))] += 1
    return Aggregate(
        api=api,
        log_level=log_level,
        window_start=window_start,
        window_end=window_start + MINUTE_MS,
        log_count=len(times),
        avg_response_time=sum(times) / len(times),
        min_response_time=min(times),
        max_response_time=max(times),
        p50_response_time=float(sketch.get_quantile(0.5)),
        p95_response_time=float(sketch.get_quantile(0.95)),
        p99_response_time=float(sketch.get_quantile(0.99)),
        status_2xx=classes[0],
        status_3xx=classes[1],
        status_4xx=classes[2],
        status_5xx=classes[3],
        sketch=sketch.serialize(),
        updated_at=updated_at,
    )


def aggregate_events(events: Sequence[Event], updated_at: int) -> list[Aggregate]:
    groups: dict[tuple[str, str, int], list[Event]] = defaultdict(list)
    for e in events:
        groups[(e.api, e.log_level, e.timestamp - e.timestamp % MINUTE_MS)].append(e)
    return [
        window_aggregate(api, level, start, [e.response_time for e in g], [e.status_code for e in g], updated_at)
        for (api, level, start), g in sorted(groups.items())
    ]


def update_versions(events: Sequence[Event], steps: int, updated_at: int) -> list[Aggregate]:
    """Every window as a stream of growing versions (as in update mode): ``steps`` prefixes, the last complete."""
    groups: dict[tuple[str, str, int], list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.timestamp):
        groups[(e.api, e.log_level, e.timestamp - e.timestamp % MINUTE_MS)].append(e)
    out = []
    for (api, level, start), group in sorted(groups.items()):
        for k in range(1, steps + 1):
            part = group[: max(1, -(-len(group) * k // steps))]
            times, statuses = [e.response_time for e in part], [e.status_code for e in part]
            out.append(window_aggregate(api, level, start, times, statuses, updated_at + k))
    return out


_LEVEL_WEIGHTS = (10, 40, 25, 12, 9, 4)
_STATUS = {"DEBUG": 200, "INFO": 200, "SUCCESS": 201, "WARNING": 404, "ERROR": 500, "CRITICAL": 503}


def events(start_ms: int, minutes: int, apis: Sequence[str], per_minute: int, seed: int) -> list[Event]:
    """Random events: ``per_minute`` per API per minute on average, levels and latencies skewed per API."""
    rng = random.Random(seed)
    out = []
    for m in range(minutes):
        for i, api in enumerate(apis):
            for _ in range(rng.randint(per_minute // 2, per_minute * 3 // 2)):
                level = rng.choices(LOG_LEVELS, weights=_LEVEL_WEIGHTS)[0]
                base = 20.0 + 15 * i + (400 if level in ("ERROR", "CRITICAL") else 0)
                out.append(
                    Event(
                        api,
                        level,
                        start_ms + m * MINUTE_MS + rng.randrange(MINUTE_MS),
                        round(rng.lognormvariate(0, 0.6) * base, 3),
                        _STATUS[level],
                    )
                )
    return out


def history(
    start_ms: int, minutes: int, apis: Sequence[str], seed: int = 1, max_count: int = 20
) -> Iterator[Aggregate]:
    """One aggregate per (minute, api, level) for ``minutes`` minutes; sketches drawn from a pre-built pool."""
    rng = random.Random(seed)
    pool: dict[int, list[Aggregate]] = {}
    for count in range(1, max_count + 1):
        pool[count] = []
        for _ in range(4):
            times = [round(rng.lognormvariate(3.5, 0.7), 3) for _ in range(count)]
            pool[count].append(window_aggregate("", "", 0, times, [200] * count, 0))
    for m in range(minutes):
        window_start = start_ms + m * MINUTE_MS
        for api in apis:
            for level in LOG_LEVELS:
                t = rng.choice(pool[rng.randint(1, max_count)])
                status = 500 if level in ("ERROR", "CRITICAL") else 200
                yield Aggregate(
                    api=api,
                    log_level=level,
                    window_start=window_start,
                    window_end=window_start + MINUTE_MS,
                    log_count=t.log_count,
                    avg_response_time=t.avg_response_time,
                    min_response_time=t.min_response_time,
                    max_response_time=t.max_response_time,
                    p50_response_time=t.p50_response_time,
                    p95_response_time=t.p95_response_time,
                    p99_response_time=t.p99_response_time,
                    status_2xx=t.log_count if status == 200 else 0,
                    status_3xx=0,
                    status_4xx=0,
                    status_5xx=t.log_count if status == 500 else 0,
                    sketch=t.sketch,
                    updated_at=window_start + MINUTE_MS + 5_000,
                )
