"""Change signal for settled windows (pure): a per-hour revision that writers bump and readers check cheaply.

The dashboard caches minutes older than its settle margin as final. Late data (a correction run, a backfill, a
sink catching up after an outage) can still change them; the writer of such a change bumps the revision of the
window's hour, and every dashboard worker reads all revisions of its cached range in one Query every few
seconds, dropping the cached buckets of the hours whose revision moved.

Items live in the digest table (``<table>_minutes``): ``pk = [<region>#]rev``, ``sk = <hour start, 13 digits>``, ``rev``
(a counter, ``ADD``), ``changed_at`` (epoch ms of the last bump), ``expires_at`` (TTL). One partition holds them
all, so one Query with ``sk BETWEEN`` reads a week's 168 hours; writes are rare (only changes to windows that
ended ``BUMP_AFTER_MS`` ago or more). Every bump also bumps the item ``sk = "latest"``: a reader gets that one item
every few seconds and reads the hours only when it moved.

The rule that keeps readers right: a writer bumps for every write of a window that ended ``BUMP_AFTER_MS`` or
more before the write, and a reader caches only minutes that ended at least ``BUMP_AFTER_MS`` before it reads
them (``MIN_SETTLE_MS``), so any later write to a cached minute bumps its hour.

Each region's writers bump their own region's items (``region``): a counter that two regions' writers bumped
would lose increments to global tables' last-writer-wins replication.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logpipeline.metrics import layout
from logpipeline.metrics.records import Aggregate

PARTITION = "rev"
LATEST = "latest"  # one more item, bumped with every hour: readers read it alone until it moves (sorts after hours)
HOUR_MS = 3_600_000
BUMP_AFTER_MS = 90_000  # the stream's own updates (watermark 1 minute, 1 s trigger) end before this
MIN_SETTLE_MS = BUMP_AFTER_MS


@dataclass(frozen=True)
class Revision:
    hour: int  # epoch ms of the hour's start
    rev: int
    changed_at: int  # epoch ms


def hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


def sort_key(hour: int) -> str:
    return f"{hour:013d}"


def hours_to_bump(windows: Iterable[Aggregate], now_ms: int) -> list[int]:
    """The hours of the written windows that ended ``BUMP_AFTER_MS`` or more before ``now_ms``."""
    return sorted({hour_of(w.window_start) for w in windows if w.window_end <= now_ms - BUMP_AFTER_MS})


def partition(region: str = "") -> str:
    return layout.scope(region) + PARTITION


def bump_request(table: str, hour: int | None, now_ms: int, retention_days: int, region: str = "") -> dict[str, Any]:
    """The UpdateItem arguments that bump one hour's revision, or with ``hour=None`` the ``latest`` item
    (``table`` is the digest table)."""
    expires = ((hour if hour is not None else now_ms) + HOUR_MS) // 1000 + retention_days * 86_400
    return {
        "TableName": table,
        "Key": {"pk": {"S": partition(region)}, "sk": {"S": LATEST if hour is None else sort_key(hour)}},
        "UpdateExpression": "ADD rev :one SET changed_at = :now, expires_at = :exp",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"N": str(now_ms)}, ":exp": {"N": str(expires)}},
    }


def latest_request(table: str, region: str = "") -> dict[str, Any]:
    """The GetItem arguments that read the ``latest`` item."""
    return {"TableName": table, "Key": {"pk": {"S": partition(region)}, "sk": {"S": LATEST}}, "ConsistentRead": True}


def range_request(table: str, start_ms: int, end_ms: int, region: str = "") -> dict[str, Any]:
    """The Query arguments that read the revisions of every hour overlapping ``[start_ms, end_ms)``."""
    return {
        "TableName": table,
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": {"S": partition(region)},
            ":lo": {"S": sort_key(hour_of(start_ms))},
            ":hi": {"S": sort_key(hour_of(max(start_ms, end_ms - 1)))},
        },
    }


def from_item(item: dict[str, Any]) -> Revision:
    return Revision(int(item["sk"]["S"]), int(item["rev"]["N"]), int(item.get("changed_at", {"N": "0"})["N"]))


def moved(before: dict[int, Revision], now: dict[int, Revision]) -> list[int]:
    """Hours whose revision differs from the one seen before (a new hour counts as moved)."""
    return sorted(h for h, r in now.items() if h not in before or before[h].rev != r.rev)
