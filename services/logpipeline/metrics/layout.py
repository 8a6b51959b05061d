"""Table design of the metrics store (``agg_system_logs``): keys, index, TTL and item encoding.

Every dashboard question is a ``Query`` on a known key, never a ``Scan``:

===================  ============================================================================
attribute            meaning
===================  ============================================================================
``pk`` (HASH)        ``[<region>#]<YYYY-MM-DD>#<shard>``: UTC day of ``window_start`` and a shard suffix
                     ``crc32(api) % shards`` (default 4). The day bounds a partition's size; the
                     shard spreads one day's writes over several partitions, so write throughput
                     grows with the shard count, not with one hot key.
``sk`` (RANGE)       ``<window_start, 13 digits>|<api>|<log_level>``: time-ordered, so a range of
                     minutes is one ``BETWEEN`` on the sort key.
``api`` / ``api_sk`` GSI ``by_api`` (HASH ``api``, RANGE ``api_sk`` = ``<window_start>|<log_level>``,
                     projection ALL): one API over any time range is one Query.
``expires_at``       TTL attribute (epoch seconds) = ``window_end`` + retention (default 30 days).
===================  ============================================================================

Billing is on demand (``PAY_PER_REQUEST``). The aggregate's own fields are stored as attributes with the
same names; the KLL sketch is a binary attribute ``response_time_sketch``.

Questions and their reads:

- all APIs over ``[start, end)``: one Query per (day touched, shard): ``pk = day#s AND sk BETWEEN``;
- one API over ``[start, end)``: one Query on ``by_api``: ``api = :a AND api_sk BETWEEN``;
- the latest window: per shard of today (then yesterday), ``ScanIndexForward=false, Limit=1``.

The query layer answers the dashboard from the minute digests below, for one API as for all (their
cost does not grow with the table); the reads above are the window table's own.

Writes are conditional upserts: an item is replaced only by a strictly newer version
``(log_count, updated_at)``, so replays and reordering never let an older value win.

Regions. A regional pipeline (``--region``, ``LOGPIPELINE_REGION``) puts its region first in every key it writes:
``pk = <region>#<UTC day>#<shard>``, ``api_sk = <region>#<window_start>|<log_level>`` (and an attribute
``region``); its digests (``<region>#<day>#<shard>``) and hour revisions (``<region>#rev``) likewise. A store
without regions keeps the keys above, unchanged. Why the region belongs in the key:

- DynamoDB global tables replicate each item last-writer-wins, by time, across regions; a conditional write is
  checked only in the region that receives it. If two regions' pipelines wrote one item (the same API, level and
  minute), each would check its condition against its own copy and replication would then keep one region's
  value and silently drop the other's count. With the region in the key, every item has exactly one writer:
  the pipeline of its region. Replication only carries that writer's versions, in the order it wrote them.
- Nothing global is stored: a global figure is computed when it is read (``query.Regions``), by summing the
  regions' counts and merging their KLL sketches as the roll-ups already do across minutes. So no item holds
  a sum that two regions would race to update, and the revision counters (``ADD``) are per region too.
- The sort key stays the same in every region, so a region's view of a time range is the same Query as before
  on its own partitions; the by_api index's range carries the region first, so a region's range never reaches
  another's items, and a store without regions (digits first) never reaches a region's.
- Replays of a region's aggregates topic write the same keys with the same versions: idempotent, as before.

A second table, ``<table>_minutes`` (``logpipeline.metrics.digest``), packs each (minute, shard)'s
aggregates into one item with the same partition key and ``sk = <window_start>``: the all-APIs view of a
range reads one item per minute and shard instead of one per (api, level, minute).
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from logpipeline import contracts
from logpipeline.events.schema import AGGREGATE_FIELDS
from logpipeline.metrics.records import Aggregate

DEFAULT_SHARDS = 4
DEFAULT_RETENTION_DAYS = contracts.TTL_DAYS
BY_API_INDEX = "by_api"
TTL_ATTRIBUTE = "expires_at"
DAY_MS = 86_400_000
SORT_KEY_END = "~"  # sorts after "|" and every digit: closes a range of sort keys

Item = dict[str, dict[str, Any]]

CONDITION = "attribute_not_exists(pk) OR log_count < :c OR (log_count = :c AND updated_at < :u)"


def day_of(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def shard_of(api: str, shards: int) -> int:
    return zlib.crc32(api.encode()) % shards


def scope(region: str) -> str:
    """The key prefix of a region's items: ``<region>#``, or nothing for a single-region store."""
    return f"{contracts.check_region(region)}#" if region else ""


def partition_key(window_start: int, api: str, shards: int, region: str = "") -> str:
    return f"{scope(region)}{day_of(window_start)}#{shard_of(api, shards)}"


def sort_key(window_start: int, api: str, log_level: str) -> str:
    return f"{window_start:013d}|{api}|{log_level}"


def api_sort_key(window_start: int, log_level: str, region: str = "") -> str:
    return f"{scope(region)}{window_start:013d}|{log_level}"


def sort_key_range(start_ms: int, end_ms: int) -> tuple[str, str]:
    """Inclusive sort-key bounds covering windows that start in ``[start_ms, end_ms)``."""
    return f"{start_ms:013d}", f"{end_ms - 1:013d}{SORT_KEY_END}"


def days_between(start_ms: int, end_ms: int) -> list[str]:
    """UTC days touched by ``[start_ms, end_ms)``, oldest first."""
    first, last = start_ms // DAY_MS, (end_ms - 1) // DAY_MS
    return [day_of(d * DAY_MS) for d in range(first, last + 1)] if end_ms > start_ms else []


def partitions(start_ms: int, end_ms: int, shards: int, region: str = "") -> list[str]:
    return [f"{scope(region)}{day}#{s}" for day in days_between(start_ms, end_ms) for s in range(shards)]


def keyed_table(name: str) -> dict[str, Any]:
    """Arguments of ``CreateTable`` for an on-demand table keyed by string ``pk`` (HASH) and ``sk`` (RANGE): the
    metrics table's base, and the whole of the digest and alerts tables."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    }


def table_definition(name: str) -> dict[str, Any]:
    """Arguments of ``CreateTable`` for the metrics table."""
    out = keyed_table(name)
    out["AttributeDefinitions"] += [
        {"AttributeName": "api", "AttributeType": "S"},
        {"AttributeName": "api_sk", "AttributeType": "S"},
    ]
    out["GlobalSecondaryIndexes"] = [api_index_definition()]
    return out


def api_index_definition() -> dict[str, Any]:
    return {
        "IndexName": BY_API_INDEX,
        "KeySchema": [{"AttributeName": "api", "KeyType": "HASH"}, {"AttributeName": "api_sk", "KeyType": "RANGE"}],
        "Projection": {"ProjectionType": "ALL"},
    }


# Numeric attributes of an item, by type, from the one aggregate contract.
_INTS = tuple(f.name for f in AGGREGATE_FIELDS if f.type == "long")
_FLOATS = tuple(f.name for f in AGGREGATE_FIELDS if f.type == "double")


READ_ATTRIBUTES = ("api", "log_level", "response_time_sketch", *_INTS, *_FLOATS)


def projection() -> dict[str, Any]:
    """Query arguments that read only the aggregate's own fields (not keys, id or TTL)."""
    names = {f"#a{i}": name for i, name in enumerate(READ_ATTRIBUTES)}
    return {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}


def to_item(agg: Aggregate, shards: int, retention_days: int, region: str = "") -> Item:
    item: Item = {
        "pk": {"S": partition_key(agg.window_start, agg.api, shards, region)},
        "sk": {"S": sort_key(agg.window_start, agg.api, agg.log_level)},
        "api_sk": {"S": api_sort_key(agg.window_start, agg.log_level, region)},
        "id": {"S": agg.id},
        "api": {"S": agg.api},
        "log_level": {"S": agg.log_level},
        "response_time_sketch": {"B": agg.sketch},
        TTL_ATTRIBUTE: {"N": str(agg.window_end // 1000 + retention_days * 86_400)},
    }
    if region:
        item["region"] = {"S": region}
    for name in _INTS:
        item[name] = {"N": str(getattr(agg, name))}
    for name in _FLOATS:
        item[name] = {"N": repr(float(getattr(agg, name)))}
    return item


def condition_values(agg: Aggregate) -> dict[str, dict[str, str]]:
    """Values of ``CONDITION``: the incoming version."""
    return {":c": {"N": str(agg.log_count)}, ":u": {"N": str(agg.updated_at)}}


def from_item(item: Item) -> Aggregate:
    n = {name: item[name]["N"] for name in (*_INTS, *_FLOATS)}
    return Aggregate(
        api=item["api"]["S"],
        log_level=item["log_level"]["S"],
        window_start=int(n["window_start"]),
        window_end=int(n["window_end"]),
        log_count=int(n["log_count"]),
        avg_response_time=float(n["avg_response_time"]),
        min_response_time=float(n["min_response_time"]),
        max_response_time=float(n["max_response_time"]),
        p50_response_time=float(n["p50_response_time"]),
        p95_response_time=float(n["p95_response_time"]),
        p99_response_time=float(n["p99_response_time"]),
        status_2xx=int(n["status_2xx"]),
        status_3xx=int(n["status_3xx"]),
        status_4xx=int(n["status_4xx"]),
        status_5xx=int(n["status_5xx"]),
        sketch=bytes(item["response_time_sketch"]["B"]),
        updated_at=int(n["updated_at"]),
    )
