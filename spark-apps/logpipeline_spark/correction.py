"""What the correction job re-aggregates and what it publishes (pure: no Spark, no I/O).

The streaming job counts an event only while its window is open; an event older than the watermark (a shipper
catching up, a replay, a backfill) is archived raw but not counted. The correction job re-aggregates closed
windows from the raw archive (the source of truth) with the streaming job's own transformations and publishes
every window whose stored value differs, so late events end up in the table exactly once.

Which hours a run reads (``plan``):

- every hour partition of the archive changed since the previous run began (minus ``TOUCH_SLACK_MS``: a file
  is created in its partition a little before its batch commits it), within the look-back;
- every hour that holds windows which closed since the previous run (``settled_until``): the first run after
  a window closes reads it once, late data or not;
- on the first run, every hour of the look-back (default 24 hours).

Of those hours only closed windows count: a window is closed once it ended ``settle_ms`` ago (the streaming
job's watermark, its archive trigger and a margin). A window is published when the table does not hold it or
holds another count (``changed``); a correction never lowers a count the stream published (the sink's
conditional write keeps the larger ``log_count``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from logpipeline.metrics.records import Aggregate

HOUR_MS = 3_600_000
TOUCH_SLACK_MS = 120_000
DEFAULT_LOOKBACK_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class State:
    """What the previous run did: when it began and up to when every window was closed and corrected."""

    began_ms: int
    settled_until_ms: int

    def as_dict(self) -> dict[str, int]:
        return {"began_ms": self.began_ms, "settled_until_ms": self.settled_until_ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> State:
        return cls(int(str(data["began_ms"])), int(str(data["settled_until_ms"])))


@dataclass(frozen=True)
class Plan:
    hours: tuple[int, ...]  # hour starts (epoch ms) to read and re-aggregate
    closed_before_ms: int  # windows ending at or before this are closed
    state: State  # to save once the run has published


def hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


def settled_until(now_ms: int, settle_ms: int, window_ms: int) -> int:
    """The end of the newest closed window: windows ending at or before it are closed."""
    edge = now_ms - settle_ms
    return edge - edge % window_ms


def plan(
    now_ms: int,
    touched: Mapping[int, int],
    previous: State | None,
    settle_ms: int,
    window_ms: int,
    lookback_ms: int = DEFAULT_LOOKBACK_MS,
) -> Plan:
    """The hours of a scheduled run. ``touched`` maps each archived hour to its partition's modification time."""
    closed = settled_until(now_ms, settle_ms, window_ms)
    oldest = hour_of(now_ms - lookback_ms)
    if previous is None:
        hours = set(range(oldest, hour_of(closed - 1) + 1, HOUR_MS)) & set(touched)
    else:
        since = previous.began_ms - TOUCH_SLACK_MS
        hours = {h for h, mtime in touched.items() if mtime >= since and h >= oldest}
        newly_closed = range(hour_of(previous.settled_until_ms), closed, HOUR_MS)
        hours |= {h for h in newly_closed if h >= oldest and h in touched}
    hours = {h for h in hours if h < closed}
    return Plan(tuple(sorted(hours)), closed, State(now_ms, closed))


def on_demand(since_ms: int, until_ms: int, now_ms: int, settle_ms: int, window_ms: int) -> Plan:
    """The hours of ``logpipeline correct --since … [--until …]``: every hour in the range, closed windows only."""
    closed = min(settled_until(now_ms, settle_ms, window_ms), until_ms)
    hours = tuple(range(hour_of(since_ms), closed, HOUR_MS))
    return Plan(hours, closed, State(now_ms, closed))


def changed(recomputed: Iterable[Aggregate], stored: Iterable[Aggregate]) -> list[Aggregate]:
    """The re-aggregated windows to publish: those the table lacks, counts it holds lower, or the same count with
    other status classes. A window the archive holds fewer events of than the table is never published (the sink
    would refuse the lower count anyway): ``short`` names those."""
    held = {a.id: a for a in stored}
    out = []
    for agg in recomputed:
        old = held.get(agg.id)
        if (
            old is None
            or agg.log_count > old.log_count
            or (agg.log_count == old.log_count and _figures(old) != _figures(agg))
        ):
            out.append(agg)
    return out


def short(recomputed: Iterable[Aggregate], stored: Iterable[Aggregate]) -> list[str]:
    """Ids of windows the table counts more events of than the archive holds (a raw archive missing files)."""
    counts = {a.id: a.log_count for a in recomputed}
    return sorted(a.id for a in stored if a.id in counts and counts[a.id] < a.log_count)


def _figures(a: Aggregate) -> tuple[int, int, int, int, int]:
    return (a.log_count, a.status_2xx, a.status_3xx, a.status_4xx, a.status_5xx)
