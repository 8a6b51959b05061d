"""Pure DataFrame -> DataFrame transformations of the streaming job (no I/O; batch and streaming alike).

Stages, in order: ``parse`` (raw Kafka records -> typed valid events + invalid records with an error
class and a reason), ``with_event_time`` (event-time column and watermark), ``deduplicate`` (repeats of
an event, by id and event time, within the watermark), ``aggregate`` (tumbling windows per (window, api,
log_level), the record contract ``AGGREGATE_FIELDS``), ``api_summary`` (per (window, api) totals, errors,
error rate, status classes), and the record frames for the Kafka sinks (``aggregate_records``,
``dead_letter_records``).

Lateness rule: an event whose event time is older than the watermark (max event time seen so far minus
the allowed delay, as of the previous micro-batch) is dropped by ``deduplicate``; every other event is
counted exactly once per id. A window is closed once the watermark passes its end; the correction job
(``closed_aggregates``) later re-aggregates closed windows from the raw archive, late events included.

Percentiles: ``p50/p95/p99_response_time`` are read from a KLL doubles sketch (Apache DataSketches, via
Spark's ``kll_sketch_agg_double``) built per group with ``KLL_K`` = 200. Its normalized rank error is
about 1.65% (``PERCENTILE_RANK_ERROR``, 99% confidence): the returned p95 lies between the true 93.35th
and 96.65th percentiles. Below about ``KLL_K`` values per group the sketch holds every value and the
percentiles are exact values of the data. The serialized sketch travels with each aggregate
(``response_time_sketch``, base64) so hours and days merge with ``kll_merge_agg_double`` under the same
bound.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from logpipeline import contracts
from logpipeline.events import AGGREGATE_FIELDS, ERROR_LEVELS, EVENT_FIELDS, LOG_LEVELS, Field
from logpipeline.events.coercions import INTEGER_TEXT, LEVEL_ALIASES, NUMERIC_TEXT, RFC3339_TEXT, TIMESTAMP_RULE
from logpipeline.events.schema import DEFAULT_MAX_AHEAD_MS
from logpipeline_spark import jvm

KLL_K = 200
QUANTILE_RANKS: tuple[float, ...] = (0.5, 0.95, 0.99)  # p50, p95, p99
PERCENTILE_RANK_ERROR = 0.0165
STAGE = "spark"
ERROR_BARRIER_CHECKS = 16  # an invalid record's checks per ``inline`` barrier of ``classify``
REPAIR_BARRIER_FIELDS = 6  # repaired fields per ``inline`` barrier of ``_judge`` (its generated method's size)

_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "long": T.LongType(),
    "int": T.IntegerType(),
    "double": T.DoubleType(),
}
_CORRUPT = "_corrupt_record"
JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": _CORRUPT}

# Columns of a raw frame as the Kafka source delivers them (``parse`` needs these), and their types.
RAW_COLUMNS: tuple[str, ...] = ("key", "value", "topic", "partition", "offset", "timestamp")
RAW_SCHEMA = T.StructType(
    [
        T.StructField(name, kind)
        for name, kind in zip(
            RAW_COLUMNS,
            (T.BinaryType(), T.BinaryType(), T.StringType(), T.IntegerType(), T.LongType(), T.TimestampType()),
            strict=True,
        )
    ]
)
# Lineage columns that ``parse`` keeps on every valid event.
LINEAGE_COLUMNS: tuple[str, ...] = ("kafka_partition", "kafka_offset")
EVENT_TIME = "event_time"


class Parsed(NamedTuple):
    valid: DataFrame
    invalid: DataFrame


def struct_type(fields: tuple[Field, ...]) -> T.StructType:
    """The Spark schema of a field list (event or aggregate)."""
    return T.StructType([T.StructField(f.name, _TYPES[f.type], nullable=True) for f in fields])


def event_schema() -> T.StructType:
    return struct_type(EVENT_FIELDS)


def aggregate_schema() -> T.StructType:
    return struct_type(AGGREGATE_FIELDS)


def text_schema() -> T.StructType:
    """Every event field read as its JSON text: tells a mistyped value from an absent one."""
    fields = [T.StructField(f.name, T.StringType()) for f in EVENT_FIELDS]
    return T.StructType([*fields, T.StructField(_CORRUPT, T.StringType())])


def typed_schema() -> T.StructType:
    return T.StructType([*event_schema().fields, T.StructField(_CORRUPT, T.StringType())])


def _error(error_class: str, reason: Column) -> Column:
    return F.struct(F.lit(error_class).alias("error_class"), reason.alias("reason"))


def _shown(value: Column) -> Column:
    """A value as quoted, truncated text for a reason."""
    text = value.cast("string")
    return F.concat(F.lit("'"), F.substring(text, 1, 80), F.lit("'"))


def _type_name(f: Field) -> str:
    if f.repair == "epoch_ms":
        return "an epoch time (s, ms, us or ns) or RFC 3339 time"
    return {"string": "a string", "long": "an integer", "int": "an integer", "double": "a number"}[f.type]


def _bounds(f: Field, value: Column) -> list[tuple[Column, Column]]:
    """Each bound of field ``f`` on a present value: (the condition it must meet, the error when it does not)."""
    rules: list[tuple[Column, Column]] = []
    limits = [value >= F.lit(f.minimum)] if f.minimum is not None else []
    limits += [value <= F.lit(f.maximum)] if f.maximum is not None else []
    if limits:
        if f.minimum is not None and f.maximum is not None:
            span = f"in [{_num(f.minimum)}, {_num(f.maximum)}]"
        else:
            span = f">= {_num(f.minimum)}" if f.minimum is not None else f"<= {_num(f.maximum)}"
        reason = F.concat(F.lit(f"{f.name}: expected {f.type} {span}, got "), value.cast("string"))
        rules.append((functools.reduce(operator.and_, limits), _error("out_of_range", reason)))
    if f.max_length is not None:
        reason = F.concat(
            F.lit(f"{f.name}: expected at most {f.max_length} characters, got "), F.length(value).cast("string")
        )
        # bytes first: a string has no more characters than UTF-8 bytes, and its byte count is at hand, while its
        # characters are counted by reading every byte (3.5% of the aggregation path's CPU in a JFR profile)
        within = (F.octet_length(value) <= f.max_length) | (F.length(value) <= f.max_length)
        rules.append((within, _error("too_long", reason)))
    if f.enum is not None:
        reason = F.concat(F.lit(f"{f.name}: expected one of {', '.join(f.enum)}, got "), _shown(value))
        rules.append((value.isin(*f.enum), _error("not_allowed", reason)))
    if f.required and f.type == "string":
        rules.append((value != "", _error("out_of_range", F.lit(f"{f.name}: expected non-empty string, got ''"))))
    return rules


def _num(value: float | None) -> str:
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def _value_errors(f: Field, value: Column) -> list[Column]:
    """Checks of a typed value: present if required, within bounds."""
    errors = []
    if f.required:
        errors.append(F.when(value.isNull(), _error("missing_field", F.lit(f"{f.name}: required field missing"))))
    errors += [F.when(~within, error) for within, error in _bounds(f, value)]
    return errors


def _accepts(f: Field, value: Column) -> Column:
    """True when a typed value passes every check of ``_value_errors`` (never null): the valid path's condition,
    much smaller than building each error and testing that none was built."""
    within = functools.reduce(operator.and_, [ok for ok, _ in _bounds(f, value)], F.lit(True))
    return value.isNotNull() & within if f.required else value.isNull() | within


def _epoch_ms(n: Column, fractional: bool) -> Column:
    """``coercions.epoch_ms`` as a Spark expression: an epoch number of any unit (by magnitude) as epoch ms, half
    up; exact decimal arithmetic for integers (a long in ns is beyond a double's 53 bits)."""
    conversions: list[tuple[float, Column]] = []
    for below, multiplier, divisor in TIMESTAMP_RULE:
        if fractional:
            ms = F.floor(n * F.lit(float(multiplier)) / F.lit(float(divisor)) + F.lit(0.5))
        elif divisor == 1:
            ms = n * F.lit(multiplier)
        else:
            ms = F.floor((n * F.lit(2) + F.lit(divisor)).cast("decimal(20,0)") / F.lit(2 * divisor))
        conversions.append((below, ms.cast("long")))
    (first_below, first), *rest = conversions
    out = F.when(n < F.lit(first_below), first)
    for below, ms in rest[:-1]:
        out = out.when(n < F.lit(below), ms)
    return out.otherwise(rest[-1][1])


def _repaired_text(f: Field, text: Column) -> Column:
    """A field's JSON text (``text_schema``) repaired to its type as ``coercions`` says; null when it cannot be."""
    if f.repair == "epoch_ms":
        whole = text.rlike(INTEGER_TEXT)
        return (
            F.when(whole, _epoch_ms(text.try_cast("long"), fractional=False))
            .when(text.rlike(NUMERIC_TEXT), _epoch_ms(text.try_cast("double"), fractional=True))
            .when(text.rlike(RFC3339_TEXT), F.unix_millis(F.upper(text).try_cast("timestamp")))
        )
    if f.type == "string":
        return text
    number = F.when(text.rlike(NUMERIC_TEXT), text.try_cast("double"))
    if f.type == "double":
        return number
    return F.when(text.rlike(INTEGER_TEXT), text.try_cast("long")).otherwise(
        F.when(number == F.floor(number), number.try_cast("long"))
    )


def _repaired(f: Field, typed: Column, text: Column, corrupt: Column) -> Column:
    """The field's value: the typed parse's, or for a record the typed parse refused, its repaired text; then the
    field's own repair (the epoch unit of a typed ``timestamp``, level case and aliases)."""
    if f.repair == "epoch_ms":
        return F.when(corrupt.isNull(), _epoch_ms(typed, fractional=False)).otherwise(_repaired_text(f, text))
    value = F.when(corrupt.isNull(), typed).otherwise(_repaired_text(f, text))
    if f.repair == "level":
        aliases = F.create_map(*[F.lit(x) for pair in sorted(LEVEL_ALIASES.items()) for x in pair])
        return F.when(value.isin(*LOG_LEVELS) | value.isNull(), value).otherwise(
            F.coalesce(F.element_at(aliases, F.lower(F.trim(value))), value)
        )
    return value


def stage(raw: DataFrame, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> DataFrame:
    """Raw Kafka records (``RAW_COLUMNS``) with the fast path's verdict (``jvm.clean_events``: ``_clean`` and, for a
    record that is plainly a valid event, its typed fields ``_c_<field>``) and, for every other record, its typed
    JSON parse (``_typed``) and, when that parse refused it, its parse as text (``_text``): each record parsed once,
    a frame that ``split`` judges. A batch writer that needs both sides persists it and splits it."""
    return _parsed(jvm.clean_events(raw.select(*RAW_COLUMNS), EVENT_FIELDS, max_ahead_ms))


def _parsed(checked: DataFrame) -> DataFrame:
    """``stage`` after the fast path's verdict: the typed parse, and the text parse, of every record it left."""
    value = F.col("value").cast("string")
    typed = jvm.read_json(checked.sparkSession, F.when(~F.col(jvm.CLEAN), value), typed_schema(), JSON_OPTIONS)
    # inline() is a barrier: without it the optimizer copies the parse into each expression of ``split``.
    staged = checked.select("*", F.inline(F.array(F.struct(typed.alias("_typed")))))
    # The text parse, only of records the typed parse refused (a CASE is lazy), behind a barrier of its own: the
    # expressions of ``split`` then refer to its column instead of each holding a copy of the parse.
    corrupt = F.col("_typed")[_CORRUPT]
    text = jvm.read_json(checked.sparkSession, F.when(corrupt.isNotNull(), value), text_schema(), JSON_OPTIONS)
    return staged.select("*", F.inline(F.array(F.struct(text.alias("_text")))))


def slow_path(spark: SparkSession, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> DataFrame:
    """What ``parse`` makes of a record the fast path leaves, in the layout of the fast path's verdict: ``jvm.CLEAN``
    (the record is a valid event, once repaired) and each event field typed as ``jvm.CLEAN_PREFIX`` + name, null
    unless valid. A frame over an empty one of ``RAW_SCHEMA``, the parse's own expressions and barriers, from which
    ``jvm.valid_events`` takes them."""
    template = spark.createDataFrame(spark.sparkContext.emptyRDD(), RAW_SCHEMA)
    typed = [F.lit(None).cast(_TYPES[f.type]).alias(jvm.CLEAN_PREFIX + f.name) for f in EVENT_FIELDS]
    j = _judge(_parsed(template.select("*", F.lit(False).alias(jvm.CLEAN), *typed)), max_ahead_ms)
    ok = F.coalesce(j.ok, F.lit(False))
    fields = [
        F.when(ok, column).alias(jvm.CLEAN_PREFIX + f.name)
        for f, column in zip(EVENT_FIELDS, j.event[: len(EVENT_FIELDS)], strict=True)
    ]
    return j.frame.select(ok.alias(jvm.CLEAN), *fields)


def valid_events(raw: DataFrame, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> DataFrame:
    """``parse(raw).valid``, for a query that needs only the valid events: each record judged by one expression, the
    fast path and, for a record it leaves, the parse's Spark expressions as one piece (``jvm.valid_events``). The
    plan stays small: its planning, code generation and task serialization each batch are those of the fast path."""
    checked = jvm.valid_events(
        raw.select(*RAW_COLUMNS), EVENT_FIELDS, max_ahead_ms, slow_path(raw.sparkSession, max_ahead_ms)
    )
    return checked.where(F.col(jvm.CLEAN)).select(
        *[F.col(jvm.CLEAN_PREFIX + f.name).alias(f.name) for f in EVENT_FIELDS],
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
    )


class _Judged(NamedTuple):
    frame: DataFrame  # the staged records with their repaired fields (``_e_<field>``)
    ok: Column  # the record is a valid event
    errors: list[Column]  # an invalid record's problems in order, each struct(error_class, reason) or null
    event: list[Column]  # the valid event's columns: EVENT_FIELDS typed, then LINEAGE_COLUMNS


_E = "_e_"


def _judge(staged: DataFrame, max_ahead_ms: int) -> _Judged:
    t, s, clean = F.col("_typed"), F.col("_text"), F.col(jvm.CLEAN)
    corrupt = t[_CORRUPT]
    repaired = {
        f.name: F.when(clean, F.col(jvm.CLEAN_PREFIX + f.name)).otherwise(_repaired(f, t[f.name], s[f.name], corrupt))
        for f in EVENT_FIELDS
    }
    # The repaired fields behind barriers too: each is computed once per record, and the checks below refer to its
    # column instead of each holding a copy of it. A few fields per barrier: the generated code of each stays below
    # the JIT's 8,000-byte method limit (all in one: 10,465 bytes, run interpreted unless the JVM is told otherwise).
    frame = staged
    names = list(repaired)
    for at in range(0, len(names), REPAIR_BARRIER_FIELDS):
        group = names[at : at + REPAIR_BARRIER_FIELDS]
        frame = frame.select("*", F.inline(F.array(F.struct(*[repaired[n].alias(_E + n) for n in group]))))
    e = {n: F.col(_E + n) for n in repaired}
    arrival = F.unix_millis(F.col("timestamp"))
    ahead = e["timestamp"] - arrival
    parsed = F.col("value").isNotNull() & t.isNotNull() & (corrupt.isNull() | s[_CORRUPT].isNull())
    checks = [_accepts(f, e[f.name]) for f in EVENT_FIELDS]
    ok = clean | functools.reduce(operator.and_, checks, parsed & (ahead <= F.lit(max_ahead_ms)))
    value = F.col("value").cast("string")
    not_json = F.when(
        F.col("value").isNull(), _error("not_json", F.lit("value: expected a JSON object, got an empty record"))
    ).when(
        t.isNull() | (corrupt.isNotNull() & s[_CORRUPT].isNotNull()),
        _error("not_json", F.concat(F.lit("value: expected a JSON object, got "), _shown(value))),
    )
    field_errors = [check for f in EVENT_FIELDS for check in _field_errors(f, e[f.name], s[f.name], corrupt)]
    skew = F.when(
        ahead > F.lit(max_ahead_ms),
        _error(
            "too_far_ahead",
            F.concat(
                F.lit(f"timestamp: expected at most {max_ahead_ms // 1000} s after arrival at "),
                _iso(arrival),
                F.lit(", got "),
                _iso(e["timestamp"]),
                F.lit(" ("),
                F.floor(ahead / 1000).cast("string"),
                F.lit(" s ahead)"),
            ),
        ),
    )
    event = [
        *[e[f.name].cast(_TYPES[f.type]).alias(f.name) for f in EVENT_FIELDS],
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
    ]
    return _Judged(frame, ok, [not_json, *field_errors, skew], event)


def split(staged: DataFrame, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> Parsed:
    """Split ``stage``'s records into typed valid events and invalid records (see ``parse``)."""
    j = _judge(staged, max_ahead_ms)
    invalid = (
        j.frame.where(~j.ok)
        .select(*RAW_COLUMNS, F.coalesce(*j.errors).alias("_error"))
        .select(*RAW_COLUMNS, F.col("_error.error_class").alias("error_class"), F.col("_error.reason").alias("reason"))
    )
    return Parsed(j.frame.where(j.ok).select(*j.event), invalid)


CLASSIFIED = "_invalid"
_RAW = "_raw_"


def classify(raw: DataFrame, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> DataFrame:
    """Each raw record in one row, judged as ``parse`` judges it: the event's columns, ``RAW_COLUMNS`` prefixed
    ``_raw_`` and ``CLASSIFIED`` (an invalid record's problem, struct(error_class, reason); null when valid). A stream
    to hand to a batch writer, which splits each batch with ``split_classified``: its plan is analysed once, when the
    query starts, not for every batch."""
    j = _judge(stage(raw, max_ahead_ms), max_ahead_ms)
    frame = j.frame.select("*", F.inline(F.array(F.struct(j.ok.alias("_ok")))))
    ok, firsts = F.col("_ok"), []
    for at in range(0, len(j.errors), ERROR_BARRIER_CHECKS):
        name = f"_first{at}"
        first = F.when(~ok, F.coalesce(*j.errors[at : at + ERROR_BARRIER_CHECKS]))
        frame = frame.select("*", F.inline(F.array(F.struct(first.alias(name)))))
        firsts.append(F.col(name))
    return frame.select(
        *j.event, *[F.col(n).alias(_RAW + n) for n in RAW_COLUMNS], F.coalesce(*firsts).alias(CLASSIFIED)
    )


def split_classified(classified: DataFrame) -> Parsed:
    """``classify``'s rows as ``parse`` returns them."""
    problem = F.col(CLASSIFIED)
    return Parsed(
        classified.where(problem.isNull()).select(*[f.name for f in EVENT_FIELDS], *LINEAGE_COLUMNS),
        classified.where(problem.isNotNull()).select(
            *[F.col(_RAW + n).alias(n) for n in RAW_COLUMNS],
            problem["error_class"].alias("error_class"),
            problem["reason"].alias("reason"),
        ),
    )


def parse(raw: DataFrame, max_ahead_ms: int = DEFAULT_MAX_AHEAD_MS) -> Parsed:
    """Split raw Kafka records (``RAW_COLUMNS``) into typed valid events and invalid records.

    ``valid`` has the ``EVENT_FIELDS`` columns (typed, repaired as ``logpipeline.events.coercions`` says) plus
    ``LINEAGE_COLUMNS``; ``invalid`` keeps the original ``key``/``value`` bytes with ``topic``, ``partition``,
    ``offset``, ``error_class`` and ``reason`` (the first problem found, in field order). An event stamped more
    than ``max_ahead_ms`` past its record's Kafka timestamp (the broker's append time on the input topic) is
    invalid too (``too_far_ahead``): it never reaches the watermark. A record that is plainly a valid event is read
    once, from its bytes, by the fast path (``jvm.clean_events``); every other one by Spark's JSON reader, once
    typed, and as text only when the typed parse failed (to repair or name a mistyped field).
    """
    return split(stage(raw, max_ahead_ms), max_ahead_ms)


def _field_errors(f: Field, value: Column, raw: Column, corrupt: Column) -> list[Column]:
    wrong = corrupt.isNotNull() & raw.isNotNull() & value.isNull()
    reason = F.concat(F.lit(f"{f.name}: expected {_type_name(f)}, got "), _shown(raw))
    return [F.when(wrong, _error("wrong_type", reason)), *_value_errors(f, value)]


def _iso(ms: Column) -> Column:
    """Epoch ms as ISO 8601 UTC with milliseconds (``codec.iso_ms``)."""
    return F.date_format(F.timestamp_millis(ms), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")


# Every class ``parse`` gives a rejected record (the job's dead-letter counter shows each, from zero).
DEAD_LETTER_CLASSES: tuple[str, ...] = (
    "not_json",
    "missing_field",
    "wrong_type",
    "out_of_range",
    "too_long",
    "not_allowed",
    "too_far_ahead",
)


def dead_letter_record(
    key: Column, value: Column, topic: Column, partition: Column, offset: Column, error_class: Column, reason: Column
) -> Column:
    """An invalid record as a Kafka sink row, struct(key, value, headers): its original key and value, the reason in
    ``dlq.*`` headers."""

    def header(name: str, value: Column) -> Column:
        return F.struct(F.lit(name).alias("key"), value.cast("binary").alias("value"))

    position = F.concat(partition.cast("string"), F.lit(":"), offset.cast("string"))
    headers = F.array(
        header(contracts.DLQ_REASON, reason),
        header(contracts.DLQ_STAGE, F.lit(STAGE)),
        header(contracts.DLQ_SOURCE, topic),
        header(contracts.DLQ_POSITION, position),
        header(contracts.DLQ_ERROR_CLASS, error_class),
    )
    return F.struct(key.alias("key"), value.alias("value"), headers.alias("headers"))


def dead_letter_records(invalid: DataFrame) -> DataFrame:
    """Invalid records (``parse``'s) as Kafka sink rows (``dead_letter_record``)."""
    columns = ("key", "value", "topic", "partition", "offset", "error_class", "reason")
    return invalid.select(dead_letter_record(*[F.col(c) for c in columns]).alias("r")).select("r.*")


def classified_dead_letter() -> Column:
    """A ``classify`` row's dead-letter record (``dead_letter_record``); null for a valid event."""
    problem = F.col(CLASSIFIED)
    key, value, topic, partition, offset = (F.col(_RAW + n) for n in ("key", "value", "topic", "partition", "offset"))
    record = dead_letter_record(key, value, topic, partition, offset, problem["error_class"], problem["reason"])
    return F.when(problem.isNotNull(), record)


# The event columns the aggregates read; ``for_aggregation`` drops the rest before any shuffle.
AGGREGATION_INPUT: tuple[str, ...] = ("id", "timestamp", "api", "log_level", "response_time", "status_code")


def for_aggregation(events: DataFrame) -> DataFrame:
    """Only the columns the aggregates need, so de-duplication and windows shuffle small rows."""
    return events.select(*AGGREGATION_INPUT)


def with_event_time(events: DataFrame, watermark: str) -> DataFrame:
    """Adds ``event_time`` (timestamp from epoch-ms ``timestamp``) and the watermark on it."""
    return events.withColumn(EVENT_TIME, F.timestamp_millis(F.col("timestamp"))).withWatermark(EVENT_TIME, watermark)


def deduplicate(events: DataFrame) -> DataFrame:
    """Drops repeats of an event (same ``id``, same event time) within the watermark; in a stream, also drops events
    older than it.

    A repeat has its original's event time, so a repeat still within the watermark finds its original's id in the
    state, and one older than the watermark is dropped as late: every event counts once. With the event time in the
    key, an id leaves the state as soon as the watermark passes its event time (one watermark span of ids, half of
    what ``dropDuplicatesWithinWatermark`` keeps). A static frame has no watermark: every repeat is dropped.
    """
    return events.dropDuplicates(["id", EVENT_TIME])


# Spark's name of each de-dup's operator (in a query's progress and its state metadata) and the de-dup's name
# (``options.DEDUPS``): ``deduplicate``'s, and ``jvm.ordered_dedup``'s ``transformWithState``.
DEDUP_OPERATORS: dict[str, str] = {"dedupe": "spark", "transformWithStateExec": "ordered"}


# The aggregates' key: one record per window, api and level.
WINDOW_KEY: tuple[str, ...] = ("window", "api", "log_level")


def window_totals(events: DataFrame, window: str) -> DataFrame:
    """Per (tumbling window, api, log_level): counts, response-time extremes and mean, and the KLL sketch
    (``_sketch``, binary); ``finish`` turns them into aggregates."""
    status = F.col("status_code")
    return events.groupBy(F.window(EVENT_TIME, window).alias(WINDOW_KEY[0]), *WINDOW_KEY[1:]).agg(
        F.count(F.lit(1)).cast("long").alias("log_count"),
        F.avg("response_time").alias("avg_response_time"),
        F.min("response_time").alias("min_response_time"),
        F.max("response_time").alias("max_response_time"),
        F.count_if(status < 300).alias("status_2xx"),
        F.count_if((status >= 300) & (status < 400)).alias("status_3xx"),
        F.count_if((status >= 400) & (status < 500)).alias("status_4xx"),
        F.count_if(status >= 500).alias("status_5xx"),
        F.kll_sketch_agg_double("response_time", KLL_K).alias("_sketch"),
    )


def partial_window_totals(events: DataFrame, window: str, interval_ms: int) -> DataFrame:
    """``window_totals`` from partial totals (``jvm.partial_windows``): each task combines a window's events for up to
    ``interval_ms`` before the stateful aggregation merges them, which then reads, merges and writes a window's
    sketch once per partial, not once per event. The event time keeps its watermark."""
    watermark = events.schema[EVENT_TIME].metadata  # the event time's delay, which the mapped rows lose
    partials = jvm.partial_windows(events, F.unix_millis(F.window(EVENT_TIME, window).start), interval_ms, KLL_K)
    timed = partials.withColumn(EVENT_TIME, F.col(EVENT_TIME).alias(EVENT_TIME, metadata=watermark))
    return timed.groupBy(F.window(EVENT_TIME, window).alias(WINDOW_KEY[0]), *WINDOW_KEY[1:]).agg(
        F.sum("log_count").cast("long").alias("log_count"),
        F.try_divide(F.sum("response_time_sum"), F.sum("response_time_count")).alias("avg_response_time"),
        F.min("min_response_time").alias("min_response_time"),
        F.max("max_response_time").alias("max_response_time"),
        *[F.sum(name).alias(name) for name in ("status_2xx", "status_3xx", "status_4xx", "status_5xx")],
        F.kll_merge_agg_double("_sketch").alias("_sketch"),
    )


def finish(totals: DataFrame, binary_sketch: bool = False) -> DataFrame:
    """Aggregates from ``window_totals``: exactly the columns and types of ``AGGREGATE_FIELDS``. With
    ``binary_sketch``, ``response_time_sketch`` holds the sketch's bytes, which ``aggregate_records`` writes as the
    same unbroken base64 (JSON's own encoding of binary), at less than half the cost per record of ``base64`` and
    stripping its line breaks."""
    window_start = F.unix_millis(F.col("window.start"))
    sketch = F.col("_sketch")
    # one reading of the sketch for the three ranks (a call per rank reads and sorts it three times)
    quantiles = F.kll_sketch_get_quantile_double(sketch, F.array(*(F.lit(r) for r in QUANTILE_RANKS)))
    columns: dict[str, Column] = {
        "id": F.concat_ws("|", "api", "log_level", window_start.cast("string")),
        "window_start": window_start,
        "window_end": F.unix_millis(F.col("window.end")),
        **{f"p{round(rank * 100)}_response_time": quantiles[i] for i, rank in enumerate(QUANTILE_RANKS)},
        # Spark's base64 wraps 76-character lines; the contract is one unbroken string.
        "response_time_sketch": F.regexp_replace(F.base64(sketch), r"[\r\n]", ""),
        "updated_at": _now_ms(),
    }
    typed = {f.name: columns.get(f.name, F.col(f.name)).cast(_TYPES[f.type]) for f in AGGREGATE_FIELDS}
    if binary_sketch:
        typed["response_time_sketch"] = sketch
    return totals.select(*[column.alias(name) for name, column in typed.items()])


def aggregate(events: DataFrame, window: str, binary_sketch: bool = False) -> DataFrame:
    """Per (tumbling window, api, log_level) aggregates (``window_totals``, then ``finish``)."""
    return finish(window_totals(events, window), binary_sketch)


def _now_ms() -> Column:
    """The wall clock in epoch ms, read as each row is written. Not ``current_timestamp()``: a stream replaces that by
    a new constant in every micro-batch, so Spark generates and compiles the projection's code again each batch."""
    return F.reflect(F.lit("java.lang.System"), F.lit("currentTimeMillis")).cast("long")


def api_summary(aggregates: DataFrame) -> DataFrame:
    """Per (window, api): total, errors (ERROR + CRITICAL), error rate and status classes, summed over levels."""
    is_error = F.col("log_level").isin(*sorted(ERROR_LEVELS))
    summed = aggregates.groupBy("window_start", "window_end", "api").agg(
        F.sum("log_count").cast("long").alias("total"),
        F.sum(F.when(is_error, F.col("log_count")).otherwise(0)).cast("long").alias("errors"),
        *[F.sum(f"status_{c}").cast("long").alias(f"status_{c}") for c in ("2xx", "3xx", "4xx", "5xx")],
    )
    return summed.select(
        "window_start",
        "window_end",
        "api",
        "total",
        "errors",
        F.try_divide(F.col("errors"), F.col("total")).alias("error_rate"),
        "status_2xx",
        "status_3xx",
        "status_4xx",
        "status_5xx",
    )


def aggregate_records(aggregates: DataFrame) -> DataFrame:
    """Aggregates as Kafka sink rows: key = aggregate id, value = the JSON object of ``AGGREGATE_FIELDS`` (a binary
    ``response_time_sketch`` is written as unbroken base64, like the string form)."""
    value = F.to_json(F.struct(*[F.col(f.name) for f in AGGREGATE_FIELDS]))
    return aggregates.select(F.col("id").alias("key"), value.alias("value"))


def _date_hour(frame: DataFrame, epoch_ms: str) -> DataFrame:
    """Adds the archives' ``date`` (YYYY-MM-DD) and ``hour`` (HH) partition columns from an epoch-ms column (UTC)."""
    ts = F.timestamp_millis(F.col(epoch_ms))
    return frame.withColumn("date", F.date_format(ts, "yyyy-MM-dd")).withColumn("hour", F.date_format(ts, "HH"))


def archive_partitions(events: DataFrame) -> DataFrame:
    """Adds the raw archive's ``date`` and ``hour`` partition columns, from event time."""
    return _date_hour(events, "timestamp")


def in_hours(events: DataFrame, hours: Sequence[int]) -> DataFrame:
    """Archived events of the given hours (epoch ms of each hour's start), selected by their ``date``/``hour``
    partition columns read as strings, so only those partitions are read."""
    wanted = sorted({(_utc(h, "%Y-%m-%d"), _utc(h, "%H")) for h in hours})
    condition = functools.reduce(
        operator.or_, [(F.col("date") == d) & (F.col("hour") == h) for d, h in wanted], F.lit(False)
    )
    return events.where(condition)


def _utc(ms: int, fmt: str) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime(fmt)


def closed_aggregates(events: DataFrame, window: str, closed_before_ms: int) -> DataFrame:
    """The streaming job's aggregates, recomputed in batch from archived events: every repeat (same id, same event
    time) counted once, only windows that end at or before ``closed_before_ms``."""
    deduplicated = deduplicate(with_event_time(for_aggregation(events), "0 seconds"))
    return aggregate(deduplicated, window).where(F.col("window_end") <= F.lit(closed_before_ms))


def closed_window_partitions(aggregates: DataFrame) -> DataFrame:
    """Adds the closed-window archive's ``date`` and ``hour`` partition columns, from the window start."""
    return _date_hour(aggregates, "window_start")


def api_minutes(aggregates: DataFrame) -> DataFrame:
    """Closed windows (any levels) to one row per API and minute: ``api, minute, events, errors, p95``.

    ``errors`` counts the ``ERROR`` and ``CRITICAL`` levels (the dashboard's error rate); ``p95`` is read from the
    levels' merged response-time sketches, as the store's readers merge them. What anomaly training learns from."""
    sketch = F.kll_merge_agg_double(F.unbase64("response_time_sketch"))
    grouped = aggregates.groupBy("api", F.col("window_start").alias("minute")).agg(
        F.sum("log_count").cast("long").alias("events"),
        F.sum(F.when(F.col("log_level").isin(*sorted(ERROR_LEVELS)), F.col("log_count")).otherwise(0))
        .cast("long")
        .alias("errors"),
        sketch.alias("_sketch"),
    )
    p95 = F.when(F.col("events") > 0, F.kll_sketch_get_quantile_double("_sketch", F.lit(0.95)))
    return grouped.select("api", "minute", "events", "errors", p95.alias("p95"))
