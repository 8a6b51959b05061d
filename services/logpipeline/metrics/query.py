"""The read side of the metrics store: ``Reader`` fetches minute windows with Query calls, never a Scan.

The dashboard (``dashboard.data``), the correction job and the bench read through it; the figures are the pure
roll-ups of ``rollup`` over what it returns. Each read takes a time range ``[start_ms, end_ms)`` in epoch ms and
an optional list of APIs. The reader queries each (day, digest shard) partition of the range in the
minute-digest table (``digest``: one item per minute and shard); with APIs, only the shards that hold
them, keeping their entries. A view of one API thus costs what the all-APIs view costs, whatever the
table's size. ``Reader.api_windows`` reads the same from the ``by_api`` index of the window table
(one Query per API). Nothing here scans a table (see ``layout``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from logpipeline.metrics import digest, layout
from logpipeline.metrics.records import Aggregate

DEFAULT_LOOKBACK_DAYS = 7


def _check_range(start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise ValueError(f"time range: end {end_ms} must be after start {start_ms}")


class Reader:
    """Reads aggregates of one table; counts the Query calls and items read (for cost reports)."""

    def __init__(
        self,
        ddb: Any,
        table: str,
        shards: int = layout.DEFAULT_SHARDS,
        parallelism: int = 8,
        digest_shards: int = digest.DEFAULT_SHARDS,
        region: str = "",
    ) -> None:
        self.ddb, self.table, self.shards, self.parallelism = ddb, table, shards, parallelism
        self.digest_shards = digest_shards
        self.region, self.scope = region, layout.scope(region)  # one region's items ("": a single-region store)
        self.queries = 0
        self.items_read = 0
        self._lock = threading.Lock()

    def _pages(self, args: dict[str, Any]) -> Iterator[list[Aggregate]]:
        """The windows of each page of a Query, in order; a page is read only when the previous one is used."""
        packed = args.pop("digest", False)
        if packed:
            args = {"TableName": digest.table_name(self.table), **digest.projection(), **args}
        else:
            args = {"TableName": self.table, **layout.projection(), **args}
        while True:
            page = self.ddb.query(**args)
            with self._lock:
                self.queries += 1
                self.items_read += int(page.get("ScannedCount", len(page.get("Items", []))))
            items = page.get("Items", [])
            if packed:
                yield [w for item in items for w in digest.decode(bytes(item["body"]["B"]))]
            else:
                yield [layout.from_item(item) for item in items]
            if "LastEvaluatedKey" not in page:
                return
            args["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(self, args: dict[str, Any]) -> list[Aggregate]:
        """Every page of a Query (with ``Limit``: the first page only)."""
        pages = self._pages(args)
        if args.get("Limit"):
            return next(pages, [])
        return [w for page in pages for w in page]

    def _all(self, requests: list[dict[str, Any]]) -> list[list[Aggregate]]:
        if len(requests) <= 1:
            return [self._query(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(self.parallelism, len(requests))) as pool:
            return list(pool.map(self._query, requests))

    def _partition_request(self, pk: str, lo: str, hi: str, **extra: Any) -> dict[str, Any]:
        return {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":p": {"S": pk}, ":lo": {"S": lo}, ":hi": {"S": hi}},
            **extra,
        }

    def _api_request(self, api: str, lo: str, hi: str, **extra: Any) -> dict[str, Any]:
        return {
            "IndexName": layout.BY_API_INDEX,
            "KeyConditionExpression": "api = :a AND api_sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":a": {"S": api}, ":lo": {"S": lo}, ":hi": {"S": hi}},
            **extra,
        }

    def _digest_partitions(self, days: Sequence[str], apis: Sequence[str] | None) -> list[str]:
        shards = sorted({layout.shard_of(a, self.digest_shards) for a in apis}) if apis else range(self.digest_shards)
        return [f"{self.scope}{day}#{s}" for day in days for s in shards]

    def windows(self, start_ms: int, end_ms: int, apis: Sequence[str] | None = None) -> list[Aggregate]:
        """Every stored window starting in ``[start_ms, end_ms)``, optionally of some APIs only (minute digests)."""
        _check_range(start_ms, end_ms)
        lo, hi = layout.sort_key_range(start_ms, end_ms)
        pks = self._digest_partitions(layout.days_between(start_ms, end_ms), apis)
        found = [
            w for part in self._all([self._partition_request(pk, lo, hi, digest=True) for pk in pks]) for w in part
        ]
        if not apis:
            return found
        wanted = set(apis)
        return [w for w in found if w.api in wanted]

    def api_windows(self, start_ms: int, end_ms: int, apis: Sequence[str]) -> list[Aggregate]:
        """The same as ``windows`` for some APIs, read from the window table's ``by_api`` index."""
        _check_range(start_ms, end_ms)
        lo, hi = (self.scope + bound for bound in layout.sort_key_range(start_ms, end_ms))
        return [w for part in self._all([self._api_request(a, lo, hi) for a in dict.fromkeys(apis)]) for w in part]

    def window_items(self, start_ms: int, end_ms: int) -> list[Aggregate]:
        """The same as ``windows`` for all APIs, read from the window items instead of the digests."""
        _check_range(start_ms, end_ms)
        lo, hi = layout.sort_key_range(start_ms, end_ms)
        pks = layout.partitions(start_ms, end_ms, self.shards, self.region)
        return [w for part in self._all([self._partition_request(pk, lo, hi) for pk in pks]) for w in part]

    def newest(
        self, now_ms: int, apis: Sequence[str] | None = None, lookback_days: int = DEFAULT_LOOKBACK_DAYS
    ) -> Aggregate | None:
        """The stored window with the latest start, looking from the day of ``now_ms`` back ``lookback_days`` days."""
        lo, hi = layout.sort_key_range(0, now_ms + layout.DAY_MS)
        wanted = set(apis) if apis else None
        day = now_ms // layout.DAY_MS
        for d in range(day, day - lookback_days - 1, -1):
            pks = self._digest_partitions([layout.day_of(d * layout.DAY_MS)], apis)
            found = [w for pk in pks for w in self._newest_in(pk, lo, hi, wanted)]
            if found:
                return max(found, key=lambda w: w.window_start)
        return None

    def _newest_in(self, pk: str, lo: str, hi: str, wanted: set[str] | None) -> list[Aggregate]:
        """The windows of the newest digest of a partition that holds any wanted API (any API: the newest)."""
        request = self._partition_request(pk, lo, hi, digest=True, ScanIndexForward=False, Limit=1 if not wanted else 8)
        for page in self._pages(request):
            windows = [w for w in page if wanted is None or w.api in wanted]
            if windows:
                newest = max(w.window_start for w in windows)
                return [w for w in windows if w.window_start == newest]
        return []


class Regions:
    """The global view over regional pipelines' items: one ``Reader`` per region, read side by side.

    No region's windows are merged into another's: the same (API, level, minute) of two regions stays two
    aggregates, so the roll-ups sum their counts and merge their sketches exactly as they do across minutes."""

    def __init__(self, readers: Sequence[Reader]) -> None:
        if not readers or len({r.region for r in readers}) != len(readers):
            raise ValueError("a global view needs one reader per region, each region once")
        self.readers = list(readers)

    @property
    def queries(self) -> int:
        return sum(r.queries for r in self.readers)

    @property
    def items_read(self) -> int:
        return sum(r.items_read for r in self.readers)

    def by_region(self, start_ms: int, end_ms: int, apis: Sequence[str] | None = None) -> dict[str, list[Aggregate]]:
        """Each region's windows starting in ``[start_ms, end_ms)``."""
        _check_range(start_ms, end_ms)
        with ThreadPoolExecutor(max_workers=len(self.readers)) as pool:
            found = list(pool.map(lambda r: r.windows(start_ms, end_ms, apis), self.readers))
        return {r.region: windows for r, windows in zip(self.readers, found, strict=True)}

    def windows(self, start_ms: int, end_ms: int, apis: Sequence[str] | None = None) -> list[Aggregate]:
        """Every region's windows, side by side (the global view's input)."""
        return [w for windows in self.by_region(start_ms, end_ms, apis).values() for w in windows]

    def newest(self, now_ms: int, apis: Sequence[str] | None = None) -> dict[str, Aggregate | None]:
        """Each region's newest window (None: nothing in the lookback): how stale each region is."""
        return {r.region: r.newest(now_ms, apis) for r in self.readers}
