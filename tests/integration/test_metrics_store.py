"""Metrics store on the real DynamoDB-API server: idempotent writes, bulk load, and the query layer
checked against an independent computation from the raw events."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from logpipeline import config
from logpipeline.dashboard import timerange
from logpipeline.dashboard.data import Source
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics import digest, layout, query, records, rollup, store, synthetic
from support import leftovers

# 2026-01-01T23:50Z: the 20 minutes cross midnight, so reads span two days of partitions.
T0 = 1_767_311_400_000
MINUTES = 20
APIS = synthetic.api_names(4)
MIN = 60_000


@dataclass(frozen=True)
class World:
    ddb: Any
    events: list[synthetic.Event]
    versions: list[records.Aggregate]
    final: dict[str, records.Aggregate]
    ordered: str
    shuffled: str
    bulk: str
    shuffled_stale: int
    again: store.WriteResult
    digests_again: int


def scan_table(ddb: Any, table: str) -> dict[str, records.Aggregate]:
    """The whole table (test-only check; the query layer never scans)."""
    out: dict[str, records.Aggregate] = {}
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            agg = layout.from_item(item)
            assert agg.id not in out, f"duplicate item for {agg.id}"
            out[agg.id] = agg
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_digests(ddb: Any, table: str) -> dict[str, records.Aggregate]:
    """Every entry of the minute digests (test-only check)."""
    out: dict[str, records.Aggregate] = {}
    kwargs: dict[str, Any] = {"TableName": digest.table_name(table)}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            for agg in digest.decode(bytes(item["body"]["B"])):
                assert agg.id not in out, f"duplicate digest entry for {agg.id}"
                assert (item["pk"]["S"], item["sk"]["S"]) == digest.key(agg)
                out[agg.id] = agg
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture(scope="module")
def world(stack: config.Settings) -> Iterator[World]:
    suffix = leftovers.suffix()
    ddb = store.client(stack.dynamodb_endpoint)
    events = synthetic.events(T0, MINUTES, APIS, per_minute=14, seed=11)
    versions = synthetic.update_versions(events, steps=2, updated_at=T0)
    final = {a.id: a for a in records.latest(versions)}
    names = [f"metrics_{kind}_{suffix}" for kind in ("ordered", "shuffled", "bulk")]
    for name in names:
        store.init_table(ddb, name)
    ordered = store.ConditionalWriter(ddb, names[0], layout.DEFAULT_SHARDS, 30)
    ordered_digests = store.DigestWriter(ddb, names[0], 30)
    ordered.write(list(final.values()))
    ordered_digests.merge(list(final.values()))
    again = ordered.write(list(final.values()))  # the same aggregates a second time
    digests_again = ordered_digests.merge(list(final.values()))
    shuffled = store.ConditionalWriter(ddb, names[1], layout.DEFAULT_SHARDS, 30)
    shuffled_digests = store.DigestWriter(ddb, names[1], 30)
    rng = random.Random(5)
    stale = 0
    for _ in range(2):  # everything twice, versions in random order, older ones after newer
        mixed = versions[:]
        rng.shuffle(mixed)
        for i in range(0, len(mixed), 250):
            stale += shuffled.write(mixed[i : i + 250]).stale
            shuffled_digests.merge(mixed[i : i + 250])
    for writer in (ordered, shuffled, ordered_digests, shuffled_digests):
        writer.close()
    store.bulk_load(ddb, names[2], final.values())
    yield World(ddb, events, versions, final, names[0], names[1], names[2], stale, again, digests_again)
    for name in names:
        ddb.delete_table(TableName=name)
        ddb.delete_table(TableName=digest.table_name(name))


def test_init_is_idempotent_and_as_designed(world: World) -> None:
    assert store.init_table(world.ddb, world.ordered) == []
    desc = world.ddb.describe_table(TableName=world.ordered)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in desc["GlobalSecondaryIndexes"]] == [layout.BY_API_INDEX]
    minutes = world.ddb.describe_table(TableName=digest.table_name(world.ordered))["Table"]
    assert minutes["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = world.ddb.describe_time_to_live(TableName=world.ordered)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", layout.TTL_ATTRIBUTE)


def test_same_aggregates_twice_or_shuffled_leave_the_same_table(world: World) -> None:
    ordered = scan_table(world.ddb, world.ordered)
    assert ordered == world.final
    assert (world.again.written, world.again.stale) == (0, len(world.final))
    assert scan_table(world.ddb, world.shuffled) == ordered
    assert world.digests_again == 0
    assert scan_digests(world.ddb, world.ordered) == world.final
    assert scan_digests(world.ddb, world.shuffled) == world.final
    # every version was offered twice; all but the newest of each id were refused
    assert world.shuffled_stale >= 2 * len(world.versions) - 2 * len(world.final)


def test_bulk_load_equals_conditional_writes(world: World) -> None:
    assert scan_table(world.ddb, world.bulk) == world.final
    assert scan_digests(world.ddb, world.bulk) == world.final


# --- the query layer against the raw events ---------------------------------------------------------


def _events(world: World, start: int, end: int, apis: list[str] | None) -> list[synthetic.Event]:
    return [e for e in world.events if start <= e.timestamp < end and (not apis or e.api in apis)]


def _quantile_ok(values: list[float], x: float, q: float, eps: float = 0.02) -> bool:
    """x is a q-quantile of values within rank error eps: rank(< x) <= q <= rank(<= x)."""
    below = sum(v < x for v in values) / len(values)
    upto = sum(v <= x for v in values) / len(values)
    return below - eps <= q <= upto + eps


RANGES = [
    (T0, T0 + MINUTES * MIN, None),  # the whole hour, across midnight
    (T0 + 5 * MIN, T0 + 15 * MIN, None),  # 10 minutes around midnight
    (T0 + 7 * MIN, T0 + 8 * MIN, None),  # one minute: stored percentiles
    (T0, T0 + MINUTES * MIN, [APIS[2]]),  # one API: the digests of its shard
    (T0 + 3 * MIN, T0 + 17 * MIN, [APIS[0], APIS[3]]),
]


@pytest.mark.parametrize(("start", "end", "apis"), RANGES)
def test_dashboard_read_path_equals_raw_ground_truth(
    world: World, start: int, end: int, apis: list[str] | None
) -> None:
    """The dashboard's own path (``Source.snapshot``: the table's reader, then the roll-ups) against the events."""
    settings = DashboardSettings(world.ordered, None, layout.DEFAULT_SHARDS, None, settle_s=180, cache_s=0)
    raw = _events(world, start, end, apis)
    now = T0 + MINUTES * MIN + 30_000
    got = Source(settings, world.ddb).snapshot(timerange.Bounds(start, end, "5m"), apis or [], now_ms=now)

    assert got.totals == {lv: sum(e.log_level == lv for e in raw) for lv in LOG_LEVELS}
    errors = sum(e.log_level in ERROR_LEVELS for e in raw)
    assert (got.sla.total, got.sla.errors) == (len(raw), errors)
    assert got.sla.ratio == pytest.approx(1 - errors / len(raw))

    latency = {lat.api: lat for lat in got.latency}
    assert sorted(latency) == sorted({e.api for e in raw})
    for api, lat in latency.items():
        times = sorted(e.response_time for e in raw if e.api == api)
        assert lat.count == len(times)
        assert lat.avg == pytest.approx(sum(times) / len(times))
        assert (lat.min, lat.max) == (times[0], times[-1])
        for q, value in ((0.5, lat.p50), (0.95, lat.p95), (0.99, lat.p99)):
            assert _quantile_ok(times, value, q), (api, q, value)

    expected_top = []
    for api in {e.api for e in raw}:
        mine = [e for e in raw if e.api == api]
        errs = sum(e.log_level in ERROR_LEVELS for e in mine)
        if errs:
            avg = sum(e.response_time for e in mine) / len(mine)
            expected_top.append((-errs, -errs / len(mine), api, avg))
    expected_top.sort()
    assert [(t.api, t.errors) for t in got.top_errors] == [(api, -e) for e, _, api, _ in expected_top[:10]]
    for row, exp in zip(got.top_errors, expected_top, strict=False):
        assert row.error_rate == pytest.approx(-exp[1])
        assert row.avg_response_time == pytest.approx(exp[3])

    for i, point_start in enumerate(got.series_starts):
        inside = [e for e in raw if point_start <= e.timestamp < point_start + 5 * MIN]
        assert {lv: got.series[lv][i] for lv in LOG_LEVELS} == {
            lv: sum(e.log_level == lv for e in inside) for lv in LOG_LEVELS
        }
    assert sum(sum(counts) for counts in got.series.values()) == len(raw)

    # Freshness is the pipeline's: the newest stored window of any API.
    newest = max(world.events, key=lambda e: e.timestamp)
    newest_end = newest.timestamp - newest.timestamp % MIN + MIN
    assert got.newest_window_end == newest_end
    assert got.age_seconds == pytest.approx((now - newest_end) / 1000)


@pytest.mark.parametrize("resolution", ["1m", "1h"])
def test_series_resolutions(world: World, resolution: str) -> None:
    settings = DashboardSettings(world.ordered, None, layout.DEFAULT_SHARDS, None, settle_s=180, cache_s=0)
    bounds = timerange.Bounds(T0, T0 + MINUTES * MIN, resolution)
    got = Source(settings, world.ddb).snapshot(bounds, [], now_ms=T0 + MINUTES * MIN + 30_000)
    for i, start in enumerate(got.series_starts):
        inside = _events(world, start, start + bounds.step_ms, None)
        assert {lv: got.series[lv][i] for lv in LOG_LEVELS} == {
            lv: sum(e.log_level == lv for e in inside) for lv in LOG_LEVELS
        }
    assert sum(sum(counts) for counts in got.series.values()) == len(world.events)


def test_reads_are_queries_on_known_partitions(world: World) -> None:
    reader = query.Reader(world.ddb, world.ordered)
    windows = reader.windows(T0, T0 + MINUTES * MIN)
    assert sorted(windows, key=lambda w: w.id) == sorted(world.final.values(), key=lambda w: w.id)
    assert reader.queries == 2 * digest.DEFAULT_SHARDS  # two days x digest shards, one page each
    # one digest item per (minute, shard) holding windows; nothing outside the range is read
    assert reader.items_read == len({digest.key(a) for a in world.final.values()})
    items = query.Reader(world.ddb, world.ordered)
    assert sorted(items.window_items(T0, T0 + MINUTES * MIN), key=lambda w: w.id) == sorted(windows, key=lambda w: w.id)
    assert items.items_read == len(world.final)
    assert items.queries == 2 * layout.DEFAULT_SHARDS
    one = query.Reader(world.ddb, world.ordered)
    mine = one.windows(T0, T0 + MINUTES * MIN, [APIS[3]])
    assert {w.api for w in mine} == {APIS[3]}
    assert one.queries == 2  # two days x the API's digest shard
    index = query.Reader(world.ddb, world.ordered)
    by_index = index.api_windows(T0, T0 + MINUTES * MIN, [APIS[3]])
    assert sorted(by_index, key=lambda w: w.id) == sorted(mine, key=lambda w: w.id)
    assert index.queries == 1  # the by_api index: one Query per API


def test_bad_arguments_are_named(world: World) -> None:
    reader = query.Reader(world.ddb, world.ordered)
    with pytest.raises(ValueError, match=r"end .* must be after start"):
        reader.windows(T0, T0)


def test_store_commands_init_and_load(world: World, stack: config.Settings, tmp_path: Any, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from logpipeline.cli.main import app

    table = f"{world.ordered}_cli"
    monkeypatch.setenv("LOGPIPELINE_TABLE", table)
    runner = CliRunner()
    first = runner.invoke(app, ["store", "init"])
    again = runner.invoke(app, ["store", "init"])
    assert first.exit_code == 0 and "created table" in first.output
    assert again.exit_code == 0 and "nothing changed" in again.output
    lines = tmp_path / "aggregates.jsonl"
    sample = list(world.final.values())[:60]
    lines.write_bytes(b"\n".join(orjson.dumps(a.to_record()) for a in sample) + b"\n")
    loaded = runner.invoke(app, ["store", "load", str(lines)])
    assert loaded.exit_code == 0 and "loaded 60 items" in loaded.output
    assert scan_table(world.ddb, table) == {a.id: a for a in sample}
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(sample[0].to_record()) + b"\n{oops\n")
    refused = runner.invoke(app, ["store", "load", str(bad)])
    assert refused.exit_code == 2
    assert "bad.jsonl:2: value: not JSON" in " ".join(refused.output.split())
    world.ddb.delete_table(TableName=table)
    world.ddb.delete_table(TableName=digest.table_name(table))


def test_store_init_with_replica_regions_against_the_dynamodb_api_server(world: World, monkeypatch: Any) -> None:
    """The DynamoDB-API server takes global-table requests but keeps no replicas (moto lists none): what can be
    checked here is the stream both tables get, the requests accepted, and a bad region named. The requests' shapes
    are checked against botocore's model in tests/unit/test_replicas.py."""
    from typer.testing import CliRunner

    from logpipeline.cli.main import app

    table = f"{world.ordered}_global"
    monkeypatch.setenv("LOGPIPELINE_TABLE", table)
    runner = CliRunner()
    refused = runner.invoke(app, ["store", "init", "--replica-regions", "eu-west-1,mars"])
    assert refused.exit_code == 2 and "'mars' is not an AWS region name" in " ".join(refused.output.split())
    home = world.ddb.meta.region_name
    done = runner.invoke(app, ["store", "init", "--replica-regions", f"{home},eu-west-1"])
    out = " ".join(done.output.split())
    assert done.exit_code == 0, out
    for name in (table, digest.table_name(table)):
        assert f"{name}: stream enabled (new and old images)" in out
        assert f"{name}: replica in eu-west-1 requested" in out
        stream = world.ddb.describe_table(TableName=name)["Table"]["StreamSpecification"]
        assert stream == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert f"replica in {home}" not in out  # the table's own region is no replica
    again = " ".join(runner.invoke(app, ["store", "init", "--replica-regions", "eu-west-1"]).output.split())
    assert "stream enabled" not in again  # the stream stays as it is
    for name in (table, digest.table_name(table)):
        world.ddb.delete_table(TableName=name)


def test_two_regions_in_one_store_each_its_own_and_the_global_view_their_sum(stack: config.Settings) -> None:
    """Two regional pipelines' writers (the same APIs and minutes) into one table, as a global table's replica
    holds them: each region's reader equals its own ground truth, the global view (``query.Regions``) equals the
    exact sum of both, a store reader without a region sees neither, and replaying a region changes nothing."""
    ddb = store.client(stack.dynamodb_endpoint)
    table = f"metrics_regions_{leftovers.suffix()}"
    store.init_table(ddb, table)
    truth: dict[str, list[synthetic.Event]] = {}
    try:
        for seed, region in enumerate(("eu-west-1", "us-east-1")):
            truth[region] = synthetic.events(T0, MINUTES, APIS, per_minute=9, seed=40 + seed)
            final = records.latest(synthetic.update_versions(truth[region], steps=2, updated_at=T0))
            for _ in range(2):  # the second pass is a replay of the region's topic
                writer = store.ConditionalWriter(ddb, table, layout.DEFAULT_SHARDS, 30, region=region)
                digests = store.DigestWriter(ddb, table, 30, region=region)
                writer.write(final)
                digests.merge(final)
                writer.close()
                digests.close()
        end = T0 + MINUTES * MIN
        readers = [query.Reader(ddb, table, region=r) for r in truth]
        regions = query.Regions(readers)
        seen = regions.by_region(T0, end)

        def levels(events: list[synthetic.Event]) -> dict[str, int]:
            out: dict[str, int] = {}
            for e in events:
                out[e.log_level] = out.get(e.log_level, 0) + 1
            return out

        for region, events in truth.items():
            assert rollup.totals_by_level(seen[region]) == {**dict.fromkeys(LOG_LEVELS, 0), **levels(events)}
        both = truth["eu-west-1"] + truth["us-east-1"]
        assert rollup.totals_by_level(regions.windows(T0, end)) == {**dict.fromkeys(LOG_LEVELS, 0), **levels(both)}
        merged = rollup.merged_sketch(regions.windows(T0, end))
        assert merged.n == len(both)  # every event of both regions in the global percentiles
        assert query.Reader(ddb, table).windows(T0, end) == []  # a store reader without a region sees neither
        assert all(len(r.window_items(T0, end)) == len(seen[r.region]) for r in readers)
        assert set(regions.newest(end)) == set(truth) and all(regions.newest(end).values())
    finally:
        ddb.delete_table(TableName=table)
        ddb.delete_table(TableName=digest.table_name(table))
