"""Aggregate records: parsing with clear reasons, newest version per id, item encoding and key layout."""

from __future__ import annotations

import base64

import orjson
import pytest

from logpipeline.metrics import backoff, layout, records, synthetic

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _agg(count: int = 3, updated_at: int = 1, api: str = "/a", level: str = "INFO") -> records.Aggregate:
    times = [10.0 * (i + 1) for i in range(count)]
    return synthetic.window_aggregate(api, level, T0, times, [200] * count, updated_at)


def test_parse_round_trips_a_valid_record() -> None:
    agg = _agg()
    assert records.parse(orjson.dumps(agg.to_record())) == agg


@pytest.mark.parametrize(
    ("change", "error_class", "words"),
    [
        ({"log_count": "3"}, "wrong_type", "log_count: expected integer"),
        ({"log_level": "FATAL"}, "out_of_range", "log_level: expected one of"),
        ({"id": "x|INFO|1"}, "inconsistent_id", "id: expected"),
        ({"window_end": T0}, "out_of_range", "window_end: expected >"),
        ({"avg_response_time": -1.0}, "out_of_range", "avg_response_time"),
        ({"response_time_sketch": "not base64!"}, "bad_sketch", "not base64"),
        ({"response_time_sketch": base64.b64encode(b"garbage-bytes").decode()}, "bad_sketch", "not a KLL"),
        ({"api": None}, "missing_field", "missing field(s): api"),
    ],
)
def test_parse_rejects_with_reason(change: dict[str, object], error_class: str, words: str) -> None:
    record = {**_agg().to_record(), **change}
    with pytest.raises(records.InvalidAggregate) as info:
        records.parse(orjson.dumps(record))
    assert info.value.error_class == error_class
    assert words in info.value.reason


def test_parse_rejects_non_json_and_tombstones() -> None:
    with pytest.raises(records.InvalidAggregate, match="not JSON"):
        records.parse(b"{nope")
    with pytest.raises(records.InvalidAggregate, match="tombstone"):
        records.parse(None)
    with pytest.raises(records.InvalidAggregate, match="JSON object"):
        records.parse(b"[1]")


def test_latest_keeps_highest_version_per_id() -> None:
    old, new, newer_stamp = _agg(2, 5), _agg(3, 1), _agg(3, 9)
    other = _agg(1, 1, api="/b")
    kept = records.latest([newer_stamp, old, new, other])
    assert sorted(kept, key=lambda a: a.api) == [newer_stamp, other]


def test_item_round_trip_and_keys() -> None:
    agg = _agg()
    item = layout.to_item(agg, shards=4, retention_days=30)
    assert layout.from_item(item) == agg
    assert item["pk"]["S"] == f"2026-01-01#{layout.shard_of('/a', 4)}"
    assert item["sk"]["S"] == f"{T0:013d}|/a|INFO"
    assert int(item[layout.TTL_ATTRIBUTE]["N"]) == (T0 + 60_000) // 1000 + 30 * 86_400


def test_partitions_and_sort_key_range_cover_the_range() -> None:
    day = layout.DAY_MS
    assert layout.partitions(T0 - 60_000, T0 + 60_000, 2) == [
        "2025-12-31#0",
        "2025-12-31#1",
        "2026-01-01#0",
        "2026-01-01#1",
    ]
    assert layout.partitions(T0, T0 + day, 1) == ["2026-01-01#0"]
    lo, hi = layout.sort_key_range(T0, T0 + 120_000)
    inside = [layout.sort_key(T0, "/zzz", "WARNING"), layout.sort_key(T0 + 60_000, "/a", "DEBUG")]
    outside = [layout.sort_key(T0 - 60_000, "/zzz", "WARNING"), layout.sort_key(T0 + 120_000, "/a", "DEBUG")]
    assert all(lo <= k <= hi for k in inside)
    assert not any(lo <= k <= hi for k in outside)


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    samples = [backoff.delay(a, base=0.1, cap=2.0, rng=rng) for a in range(1, 30)]
    assert all(0 <= s <= 2.0 for s in samples)
    assert max(backoff.delay(1, base=0.1, cap=2.0, rng=rng) for _ in range(200)) <= 0.1
    assert max(samples[10:]) > 0.2


def test_digest_round_trip_and_merge_by_version() -> None:
    from logpipeline.metrics import digest

    a1, a2, b = _agg(2, 1), _agg(3, 1), _agg(1, 1, api="/b")
    assert sorted(digest.decode(digest.encode([a1, b])), key=lambda a: a.api) == [a1, b]
    merged, changed = digest.merge([a1, b], [a2])
    assert changed and sorted(merged, key=lambda a: a.api) == [a2, b]
    assert digest.merge(merged, [a1, a2, b]) == (merged, False)  # older or equal versions change nothing
    item = digest.item(*digest.key(a2, 4), merged, rev=3, retention_days=30)
    assert item["pk"]["S"] == layout.partition_key(T0, "/a", 4) and item["sk"]["S"] == f"{T0:013d}"
    assert item["rev"]["N"] == "3"
