"""Minute digests (pure): every aggregate of one minute and shard packed into one item of the digest table.

The window table holds one item per (api, level, minute); a dashboard view of all APIs over the last hour
would read 20 APIs x 6 levels x 60 minutes = 7,200 of them. The digest table ``<table>_minutes`` holds the
same values packed per (minute, shard): ``pk = [<region>#]<UTC day>#<shard>`` (the window table's partition key),
``sk = <window_start, 13 digits>``, ``body`` = zlib-compressed JSON of the minute's aggregates,
``rev`` = optimistic-lock counter, ``expires_at`` = TTL. The same view then reads 60 x shards items.
Digests have their own shard count (default 1: one item per minute holds 20 APIs x 6 levels in ~15 KB;
an item's 400 KB hold about 1,500 entries, so raise it with the number of APIs).

Entries merge by version like window items: an entry is replaced only by a strictly newer
``(log_count, updated_at)``, so merging the same or older aggregates again changes nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import orjson

from logpipeline.metrics import layout
from logpipeline.metrics.records import Aggregate

SUFFIX = "_minutes"
DEFAULT_SHARDS = 1
_FIELDS = (
    "api",
    "log_level",
    "window_start",
    "window_end",
    "log_count",
    "avg_response_time",
    "min_response_time",
    "max_response_time",
    "p50_response_time",
    "p95_response_time",
    "p99_response_time",
    "status_2xx",
    "status_3xx",
    "status_4xx",
    "status_5xx",
    "updated_at",
)


def table_name(table: str) -> str:
    return table + SUFFIX


def key(agg: Aggregate, shards: int = DEFAULT_SHARDS, region: str = "") -> tuple[str, str]:
    return layout.partition_key(agg.window_start, agg.api, shards, region), f"{agg.window_start:013d}"


def encode(entries: Iterable[Aggregate]) -> bytes:
    """zlib of: JSON rows (the fields above, then the sketch's length), a newline, the sketches back to back."""
    ordered = sorted(entries, key=lambda a: (a.api, a.log_level))
    rows = [[*(getattr(a, f) for f in _FIELDS), len(a.sketch)] for a in ordered]
    return zlib.compress(orjson.dumps(rows) + b"\n" + b"".join(a.sketch for a in ordered), 6)


def decode(body: bytes) -> list[Aggregate]:
    raw = zlib.decompress(body)
    split = raw.index(b"\n")  # JSON from orjson holds no raw newline
    out = []
    offset = split + 1
    for row in orjson.loads(raw[:split]):
        size = row[16]
        sketch = raw[offset : offset + size]
        offset += size
        out.append(Aggregate(*row[:15], sketch, row[15]))  # type: ignore[call-arg]
    return out


def merge(held: Iterable[Aggregate], incoming: Iterable[Aggregate]) -> tuple[list[Aggregate], bool]:
    """Entries after merging ``incoming`` into ``held``, and whether anything changed."""
    entries = {a.id: a for a in held}
    changed = False
    for agg in incoming:
        old = entries.get(agg.id)
        if old is None or agg.version > old.version:
            entries[agg.id] = agg
            changed = True
    return list(entries.values()), changed


def item(pk: str, sk: str, entries: list[Aggregate], rev: int, retention_days: int) -> layout.Item:
    window_end = max(a.window_end for a in entries)
    return {
        "pk": {"S": pk},
        "sk": {"S": sk},
        "rev": {"N": str(rev)},
        "body": {"B": encode(entries)},
        layout.TTL_ATTRIBUTE: {"N": str(window_end // 1000 + retention_days * 86_400)},
    }


def projection() -> dict[str, object]:
    """Query arguments that read only a digest's ``body``: keys, ``rev`` and TTL are not sent back."""
    return {"ProjectionExpression": "#b", "ExpressionAttributeNames": {"#b": "body"}}


def table_definition(table: str) -> dict[str, object]:
    return layout.keyed_table(table_name(table))
