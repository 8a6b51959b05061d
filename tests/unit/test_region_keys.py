"""The region in the metrics store's keys (pure): a regional pipeline's items, digests and revisions are its own,
and a store without regions keeps the keys it always had."""

from __future__ import annotations

import pytest

from logpipeline.metrics import digest, layout, revisions, rollup
from logpipeline.metrics.records import Aggregate

T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z


def agg(api: str = "/api/pay", level: str = "INFO", start: int = T0) -> Aggregate:
    return Aggregate(api, level, start, start + 60_000, 3, 10.0, 5.0, 20.0, 9.0, 19.0, 20.0, 3, 0, 0, 0, b"k", 7)


def test_a_store_without_regions_keeps_its_keys() -> None:
    item = layout.to_item(agg(), 4, 30)
    shard = layout.shard_of("/api/pay", 4)
    assert item["pk"]["S"] == f"2025-12-01#{shard}" and item["api_sk"]["S"] == f"{T0:013d}|INFO"
    assert "region" not in item
    assert digest.key(agg()) == ("2025-12-01#0", f"{T0:013d}")
    assert revisions.partition() == "rev"


def test_a_regional_pipelines_keys_carry_its_region() -> None:
    item = layout.to_item(agg(), 4, 30, "eu-west-1")
    shard = layout.shard_of("/api/pay", 4)
    assert item["pk"]["S"] == f"eu-west-1#2025-12-01#{shard}"
    assert item["sk"]["S"] == f"{T0:013d}|/api/pay|INFO"  # the sort key is the same in every region
    assert item["api_sk"]["S"] == f"eu-west-1#{T0:013d}|INFO"
    assert item["region"] == {"S": "eu-west-1"}
    assert digest.key(agg(), region="eu-west-1") == ("eu-west-1#2025-12-01#0", f"{T0:013d}")
    assert layout.partitions(T0, T0 + 60_000, 2, "us-east-1") == ["us-east-1#2025-12-01#0", "us-east-1#2025-12-01#1"]
    bump = revisions.bump_request("t_minutes", T0, T0, 30, "us-east-1")
    assert bump["Key"]["pk"] == {"S": "us-east-1#rev"}
    assert revisions.range_request("t_minutes", T0, T0 + 1, "us-east-1")["ExpressionAttributeValues"][":p"] == {
        "S": "us-east-1#rev"
    }


def test_two_regions_never_share_an_item() -> None:
    """The same API, level and minute in two regions: distinct keys in the window table, its index and the digest
    table, so each item has one writer and last-writer-wins replication has nothing to choose between."""
    keys = {
        region: (
            layout.to_item(agg(), 4, 30, region)["pk"]["S"],
            layout.to_item(agg(), 4, 30, region)["api_sk"]["S"],
            digest.key(agg(), region=region),
            revisions.partition(region),
        )
        for region in ("", "eu-west-1", "us-east-1")
    }
    for part in range(4):
        assert len({k[part] for k in keys.values()}) == 3


def test_a_regions_index_range_holds_only_its_items() -> None:
    """A single-region reader's by_api range (digits) never reaches a region's prefixed sort keys, and back."""
    lo, hi = layout.sort_key_range(T0, T0 + 3_600_000)
    regional = layout.api_sort_key(T0 + 60_000, "INFO", "eu-west-1")
    assert not lo <= regional <= hi
    assert "eu-west-1#" + lo <= regional <= "eu-west-1#" + hi
    assert not "us-east-1#" + lo <= regional <= "us-east-1#" + hi


def test_a_region_that_is_no_region_is_named() -> None:
    with pytest.raises(ValueError, match="'eu#west' is not an AWS region name"):
        layout.partition_key(T0, "/a", 4, "eu#west")


def test_a_region_without_a_recent_window_is_stale_and_the_others_are_not() -> None:
    now = T0 + 10 * 60_000
    newest = {
        "eu-west-1": agg(start=now - 2 * 60_000).window_end,  # a minute ago
        "us-east-1": agg(start=now - 9 * 60_000).window_end,  # 8 minutes ago
        "ap-south-1": None,  # nothing in the lookback
    }
    assert rollup.stale_regions(newest, now, after_s=5 * 60) == ["ap-south-1", "us-east-1"]
    assert rollup.stale_regions(newest, now, after_s=10 * 60) == ["ap-south-1"]
