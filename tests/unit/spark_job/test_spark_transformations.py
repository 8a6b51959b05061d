"""The job's pure transformations on small static frames: parsing, de-duplication, aggregates, records."""

from __future__ import annotations

import json
import math
import random
import time
from typing import Any

import orjson
import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual
from spark_frames import T0, event, raw_frame

from logpipeline import contracts
from logpipeline.events import AGGREGATE_FIELDS, EVENT_FIELDS
from logpipeline.metrics import records
from logpipeline_spark import transformations as tr


def test_schemas_are_derived_from_the_field_lists() -> None:
    assert [f.name for f in tr.event_schema().fields] == [f.name for f in EVENT_FIELDS]
    assert [f.name for f in tr.aggregate_schema().fields] == [f.name for f in AGGREGATE_FIELDS]
    types = {"string": "string", "long": "bigint", "int": "int", "double": "double"}
    assert [f.dataType.simpleString() for f in tr.aggregate_schema().fields] == [
        types[f.type] for f in AGGREGATE_FIELDS
    ]


def test_a_valid_event_is_typed_and_keeps_its_kafka_position(spark: SparkSession) -> None:
    e = {**event(1, T0 + 5), "method": "GET", "schema_version": 1}
    parsed = tr.parse(raw_frame(spark, [e]))
    assert parsed.invalid.count() == 0
    expected = spark.createDataFrame(
        [Row(id="id-1", timestamp=T0 + 5, response_time=10.0, status_code=200, method="GET", kafka_offset=0)],
        "id string, timestamp bigint, response_time double, status_code int, method string, kafka_offset bigint",
    )
    assertDataFrameEqual(
        parsed.valid.select("id", "timestamp", "response_time", "status_code", "method", "kafka_offset"), expected
    )


BAD: list[tuple[bytes | str | dict[str, object], str, str]] = [
    ("not json at all", "not_json", "value: expected a JSON object, got 'not json at all'"),
    ("[1, 2]", "not_json", "value: expected a JSON object"),
    (b"", "not_json", "value: expected a JSON object"),
    ({k: v for k, v in event(1, T0).items() if k != "api"}, "missing_field", "api: required field missing"),
    ({**event(2, T0), "log_level": None}, "missing_field", "log_level: required field missing"),
    (
        {**event(3, T0), "timestamp": "yesterday"},
        "wrong_type",
        "timestamp: expected an epoch time (s, ms, us or ns) or RFC 3339 time, got 'yesterday'",
    ),
    ({**event(4, T0), "status_code": 200.5}, "wrong_type", "status_code: expected an integer, got '200.5'"),
    ({**event(5, T0), "response_time": "fast"}, "wrong_type", "response_time: expected a number, got 'fast'"),
    ({**event(6, T0), "status_code": 700}, "out_of_range", "status_code: expected int in [100, 599], got 700"),
    ({**event(7, T0), "response_time": -1.0}, "out_of_range", "response_time: expected double in [0, 3600000]"),
    (
        {**event(8, T0), "timestamp": 5},
        "out_of_range",
        "timestamp: expected long in [946684800000, 4102444800000], got 5000",
    ),
    ({**event(9, T0), "api": "x" * 300}, "too_long", "api: expected at most 256 characters, got 300"),
    ({**event(10, T0), "log_level": "LOUD"}, "not_allowed", "log_level: expected one of DEBUG, INFO"),
    ({**event(11, T0), "api": ""}, "out_of_range", "api: expected non-empty string"),
    ({**event(12, T0), "schema_version": 0}, "out_of_range", "schema_version: expected int in [1, 2147483647], got 0"),
]


def test_each_kind_of_bad_record_is_rejected_with_its_class_and_reason(spark: SparkSession) -> None:
    values = [v for v, _, _ in BAD] + [event(100, T0)]
    parsed = tr.parse(raw_frame(spark, values))
    invalid = {r["offset"]: r for r in parsed.invalid.collect()}
    assert parsed.valid.count() == 1 and len(invalid) == len(BAD), "every record is either valid or invalid"
    for offset, (value, error_class, reason) in enumerate(BAD):
        row = invalid[offset]
        assert (row["error_class"], row["reason"][: len(reason)]) == (error_class, reason), value
        original = (
            orjson.dumps(value) if isinstance(value, dict) else value.encode() if isinstance(value, str) else value
        )
        assert bytes(row["value"]) == original, "the original bytes are kept"


def test_a_persisted_stage_and_a_classified_frame_split_as_parse_does(spark: SparkSession) -> None:
    """The route query judges each record once (``classify``), persists a batch and splits it: as ``parse`` does."""
    raw = raw_frame(spark, [v for v, _, _ in BAD] + [event(100, T0), {**event(101, T0), "log_level": "warn"}])
    direct = tr.parse(raw)
    for frame, split in ((tr.stage(raw), tr.split), (tr.classify(raw), tr.split_classified)):
        persisted = frame.persist()
        parsed = split(persisted)
        assertDataFrameEqual(parsed.valid, direct.valid)
        assertDataFrameEqual(parsed.invalid, direct.invalid)
        assert parsed.valid.count() == 2 and parsed.invalid.count() == len(BAD)
        persisted.unpersist()


def test_values_at_each_bound_are_valid_and_just_past_it_invalid(spark: SparkSession) -> None:
    """The valid path's condition and the reasons agree at every bound: a record is valid or has a reason."""
    cases: list[tuple[dict[str, Any], bool]] = [
        ({"response_time": 0.0}, True),
        ({"response_time": 3_600_000.0}, True),
        ({"response_time": -0.5}, False),
        ({"response_time": 3_600_000.5}, False),
        ({"status_code": 100}, True),
        ({"status_code": 599}, True),
        ({"status_code": 99}, False),
        ({"status_code": 600}, False),
        ({"schema_version": None}, True),
        ({"schema_version": 1}, True),
        ({"schema_version": 0}, False),
        ({"message": "m" * 8192}, True),
        ({"message": "m" * 8193}, False),
        ({"method": ""}, True),
        ({"id": ""}, False),
        ({"log_level": "WARNING"}, True),
        ({"log_level": "warning"}, True),
        ({"log_level": "loud"}, False),
        ({"id": "x" * 64, "api": "a" * 256}, True),
        ({"api": "a" * 257}, False),
        ({"message": "é" * 8192}, True),  # bounds count characters: 16,384 UTF-8 bytes
        ({"message": "é" * 8193}, False),
        ({"api": "日" * 256}, True),
    ]
    values = [{**event(n, T0), **change} for n, (change, _) in enumerate(cases)]
    parsed = tr.parse(raw_frame(spark, values))
    valid = {r["kafka_offset"] for r in parsed.valid.collect()}
    invalid = {r["offset"]: r["error_class"] for r in parsed.invalid.collect()}
    assert valid == {n for n, (_, ok) in enumerate(cases) if ok}
    assert set(invalid) == {n for n, (_, ok) in enumerate(cases) if not ok}
    assert all(invalid.values()), invalid


def test_dead_letter_records_carry_the_reason_in_headers(spark: SparkSession) -> None:
    parsed = tr.parse(raw_frame(spark, [event(1, T0), "oops"]))
    [record] = tr.dead_letter_records(parsed.invalid).collect()
    headers = {h["key"]: bytes(h["value"]).decode() for h in record["headers"]}
    assert headers == {
        contracts.DLQ_REASON: "value: expected a JSON object, got 'oops'",
        contracts.DLQ_STAGE: "spark",
        contracts.DLQ_SOURCE: "in",
        contracts.DLQ_POSITION: "0:1",
        contracts.DLQ_ERROR_CLASS: "not_json",
    }
    assert (bytes(record["key"]), bytes(record["value"])) == (b"k", b"oops")


def _events(spark: SparkSession, events: list[dict[str, object]]) -> tr.DataFrame:
    return tr.with_event_time(tr.parse(raw_frame(spark, events)).valid, "30 seconds")


def test_aggregates_per_window_api_and_level_match_the_record_contract(spark: SparkSession) -> None:
    events = [
        event(1, T0 + 1_000, rt=10.0, status=200),
        event(2, T0 + 59_999, rt=30.0, status=302),  # last ms of the first window
        event(3, T0 + 30_000, rt=20.0, status=404),  # out of order
        event(4, T0 + 60_000, rt=5.0, status=200),  # first ms of the next window
        event(5, T0 + 2_000, level="ERROR", rt=100.0, status=503),
        event(1, T0 + 1_000, rt=10.0, status=200),  # duplicate id: counted once
    ]
    aggregates = tr.aggregate(tr.deduplicate(_events(spark, events)), "1 minute")
    assert [(f.name, f.dataType) for f in aggregates.schema.fields] == [
        (f.name, f.dataType) for f in tr.aggregate_schema().fields
    ]
    T1 = T0 + 60_000
    numbers = [f.name for f in AGGREGATE_FIELDS if f.name not in ("response_time_sketch", "updated_at")]
    expected = spark.createDataFrame(
        [
            (f"/a|INFO|{T0}", T0, T0 + 60_000, "/a", "INFO", 3, 20.0, 10.0, 30.0, 20.0, 30.0, 30.0, 1, 1, 1, 0),
            (f"/a|ERROR|{T0}", T0, T0 + 60_000, "/a", "ERROR", 1, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 0, 0, 0, 1),
            (f"/a|INFO|{T1}", T1, T1 + 60_000, "/a", "INFO", 1, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 1, 0, 0, 0),
        ],
        tr.aggregate_schema().simpleString().replace(",response_time_sketch:string,updated_at:bigint", ""),
    )
    assertDataFrameEqual(aggregates.select(*numbers), expected)
    before = int(time.time() * 1000)
    stamps = aggregates.select("updated_at", "response_time_sketch").collect()
    after = int(time.time() * 1000)
    assert all(before <= r["updated_at"] <= after and r["response_time_sketch"] for r in stamps)  # the wall clock


def test_a_repeat_has_the_same_id_and_the_same_event_time(spark: SparkSession) -> None:
    events = [event(1, T0 + 1_000), event(1, T0 + 1_000), event(2, T0 + 1_000), event(1, T0 + 2_000)]
    kept = tr.deduplicate(_events(spark, events)).select("id", "timestamp").collect()
    assert sorted((r["id"], r["timestamp"]) for r in kept) == [
        ("id-1", T0 + 1_000),
        ("id-1", T0 + 2_000),
        ("id-2", T0 + 1_000),
    ]


def test_api_summary_sums_levels_with_errors_and_status_classes(spark: SparkSession) -> None:
    events = [event(i, T0 + i, status=200) for i in range(6)] + [
        event(10, T0 + 10, level="ERROR", status=500),
        event(11, T0 + 11, level="CRITICAL", status=503),
        event(12, T0 + 12, level="WARNING", status=404),
        event(13, T0 + 13, api="/b", status=301),
    ]
    summary = tr.api_summary(tr.aggregate(_events(spark, events), "1 minute"))
    expected = spark.createDataFrame(
        [(T0, T0 + 60_000, "/a", 9, 2, 2 / 9, 6, 0, 1, 2), (T0, T0 + 60_000, "/b", 1, 0, 0.0, 0, 1, 0, 0)],
        "window_start bigint, window_end bigint, api string, total bigint, errors bigint, error_rate double, "
        "status_2xx bigint, status_3xx bigint, status_4xx bigint, status_5xx bigint",
    )
    assertDataFrameEqual(summary, expected)


def _rank_bounds(values: list[float], q: float) -> tuple[float, float]:
    """Normalized ranks of ``q`` among ``values``: share strictly below and share at or below."""
    below = sum(1 for v in values if v < q)
    at_or_below = sum(1 for v in values if v <= q)
    return below / len(values), at_or_below / len(values)


def test_percentiles_are_within_the_stated_rank_error_and_sketches_merge(spark: SparkSession) -> None:
    rng = random.Random(7)
    values = [round(rng.lognormvariate(math.log(80.0), 0.8), 3) for _ in range(20_000)]
    events = [event(i, T0 + (i % 2) * 60_000 + i % 60_000, rt=v) for i, v in enumerate(values)]
    aggregates = tr.aggregate(_events(spark, events), "1 minute").cache()
    per_window = {r["window_start"]: r for r in aggregates.collect()}
    assert len(per_window) == 2
    for start, row in per_window.items():
        window_values = [v for i, v in enumerate(values) if i % 2 == (start - T0) // 60_000]
        for p in (0.5, 0.95, 0.99):
            low, high = _rank_bounds(window_values, row[f"p{round(p * 100)}_response_time"])
            assert low - tr.PERCENTILE_RANK_ERROR <= p <= high + tr.PERCENTILE_RANK_ERROR, (start, p, low, high)
    merged = aggregates.agg(F.kll_merge_agg_double(F.unbase64("response_time_sketch")).alias("s")).select(
        *[F.kll_sketch_get_quantile_double("s", F.lit(p)).alias(str(p)) for p in (0.5, 0.95, 0.99)],
        F.kll_sketch_get_n_double("s").alias("n"),
    )
    row = merged.first()
    assert row is not None and row["n"] == len(values)
    for p in (0.5, 0.95, 0.99):
        low, high = _rank_bounds(values, row[str(p)])
        assert low - tr.PERCENTILE_RANK_ERROR <= p <= high + tr.PERCENTILE_RANK_ERROR, (p, low, high)
    # The sink decodes the sketch strictly: one unbroken base64 string, as the contract says.
    for window in per_window.values():
        parsed = records.parse(json.dumps(window.asDict()).encode())
        assert len(window["response_time_sketch"]) > 76 and parsed.sketch
    aggregates.unpersist()


def test_aggregate_records_are_keyed_by_id_with_the_full_json_value(spark: SparkSession) -> None:
    aggregates = tr.aggregate(_events(spark, [event(1, T0 + 7, rt=12.5)]), "1 minute")
    [record] = tr.aggregate_records(aggregates).collect()
    value = orjson.loads(record["value"])
    assert record["key"] == f"/a|INFO|{T0}" == value["id"]
    assert list(value) == [f.name for f in AGGREGATE_FIELDS]
    assert (value["log_count"], value["p99_response_time"], value["status_2xx"]) == (1, 12.5, 1)


def test_records_from_the_binary_sketch_equal_those_from_the_base64_column(spark: SparkSession) -> None:
    """The streaming job keeps the sketch binary up to the JSON writer (``binary_sketch``): the records are the
    same bytes as from the string column, one unbroken base64 string the sink decodes to the same sketch."""
    rng = random.Random(3)
    # below KLL_K values per group the sketch holds them all: no random compaction, the same bytes each time
    events = [
        event(i, T0 + (i % 2) * 60_000 + i, rt=round(rng.uniform(1, 900), 2), api=f"/a{i % 3}") for i in range(1_000)
    ]
    frame = _events(spark, events).cache()
    same_clock = F.lit(1).cast("long")  # the write time is the only column that may differ
    as_text = tr.aggregate(frame, "1 minute").withColumn("updated_at", same_clock)
    as_bytes = tr.aggregate(frame, "1 minute", binary_sketch=True).withColumn("updated_at", same_clock)
    assert dict(as_bytes.dtypes)["response_time_sketch"] == "binary"
    text_records = {r["key"]: r["value"] for r in tr.aggregate_records(as_text).collect()}
    byte_records = {r["key"]: r["value"] for r in tr.aggregate_records(as_bytes).collect()}
    assert len(text_records) == 6 and byte_records == text_records
    for value in byte_records.values():
        sketch = orjson.loads(value)["response_time_sketch"]
        assert len(sketch) > 76 and "\n" not in sketch and "\r" not in sketch
        parsed = records.parse(value.encode())
        assert parsed.sketch and parsed.p95_response_time == orjson.loads(value)["p95_response_time"]
    frame.unpersist()


@pytest.mark.parametrize(("ts", "date", "hour"), [(T0, "2026-01-01", "00"), (T0 - 1, "2025-12-31", "23")])
def test_archive_partitions_come_from_event_time_in_utc(spark: SparkSession, ts: int, date: str, hour: str) -> None:
    valid = tr.parse(raw_frame(spark, [event(1, ts)])).valid
    row = tr.archive_partitions(valid).select("date", "hour").first()
    assert row is not None and (row["date"], row["hour"]) == (date, hour)
    aggregates = tr.closed_window_partitions(tr.aggregate(tr.with_event_time(valid, "1 minute"), "1 minute"))
    agg_row = aggregates.select("date", "hour").first()
    assert agg_row is not None and (agg_row["date"], agg_row["hour"]) == (date, hour)


JIT_HUGE_METHOD_BYTES = 8_000  # HotSpot does not compile a larger method (-XX:+DontCompileHugeMethods, its default)


def _largest_generated_methods(spark: SparkSession, frame: DataFrame) -> list[int]:
    """Bytecode size of the largest method of each whole-stage generated class of ``frame``'s plan, compiled as the
    query would compile it (``org.apache.spark.sql.execution.debug.codegenStringSeq``)."""
    debug = getattr(getattr(spark._jvm.org.apache.spark.sql.execution.debug, "package$"), "MODULE$")  # type: ignore[union-attr]
    stages = debug.codegenStringSeq(frame._jdf.queryExecution().executedPlan())
    return [int(stages.apply(i)._3().maxMethodCodeSize()) for i in range(stages.size())]


@pytest.mark.parametrize("query", ["parse", "slow path", "aggregates", "route"])
def test_the_parse_compiles_within_the_jits_method_limit(spark: SparkSession, query: str) -> None:
    """No parse generates a method the JIT would leave interpreted under HotSpot's defaults: ``parse(...).valid``
    (every field repaired, checked and typed), the template whose expressions the aggregates query's slow path holds
    (``slow_path``, compiled there a stage at a time), the aggregates query's (``valid_events``) and the route query's
    (``classify``: the same and each invalid record's first problem). The repaired fields sit behind barriers of
    ``REPAIR_BARRIER_FIELDS`` (all 17 behind one: 10,833 bytes for ``parse``, 30,072 for the route query), the
    route query's 42 checks behind barriers of ``ERROR_BARRIER_CHECKS`` (all 42 behind one: 14,556 bytes)."""
    raw = raw_frame(spark, [event(1, T0), "not json"])
    frames = {
        "parse": lambda: tr.parse(raw).valid,
        "slow path": lambda: tr.slow_path(spark),
        "aggregates": lambda: tr.valid_events(raw),
        "route": lambda: tr.classify(raw),
    }
    frame = frames[query]()
    sizes = _largest_generated_methods(spark, frame)
    assert sizes and max(sizes) < JIT_HUGE_METHOD_BYTES, sizes


def test_the_jvm_may_compile_huge_generated_methods(spark: SparkSession) -> None:
    """Other generated code may still hold a method over HotSpot's 8,000-byte limit (a wider schema, Spark's own
    operators): the session's JVM compiles such methods anyway (``contracts.SPARK_JAVA_OPTIONS``)."""
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()  # type: ignore[union-attr]
    assert "-XX:-DontCompileHugeMethods" in list(runtime.getInputArguments())
    assert spark.conf.get("spark.executor.extraJavaOptions") == "-XX:-DontCompileHugeMethods"
