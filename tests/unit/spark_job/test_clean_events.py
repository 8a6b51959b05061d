"""The events' fast path (``jvm.clean_events``, the JVM part ``CleanEvents``) never changes what the parse says.

Every record of a corpus (generated traffic, and records at each edge of the fast path's rule: some it takes, some
that the Spark expressions repair or refuse) is parsed twice: as the job parses it, and by the Spark expressions alone
(``support.spark_parse.without_fast_path``). Both must give the same valid events, column for column, and the same
invalid records with the same class and reason; and the fast path must take the plain records and leave the others.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pyspark
import pytest
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from spark_frames import T0, event, raw_frame

from logpipeline.events import EVENT_FIELDS
from logpipeline.generator import traffic
from logpipeline_spark import jvm
from logpipeline_spark import transformations as tr
from support.spark_parse import without_fast_path

ARRIVAL = T0 + 10_000
PLAIN = {**event(0, T0 + 1234, api="/api/v1/orders", rt=12.5, status=503, level="ERROR"), "ip_address": "10.0.0.1"}


def _json(change: dict[str, Any]) -> bytes:
    return orjson.dumps({**PLAIN, **change})


# (record, whether the fast path takes it)
EDGES: list[tuple[bytes | None, bool]] = [
    (_json({}), True),
    (_json({"schema_version": 1, "message": "m" * 8192, "region": "eu", "extra": {"nested": [1, {"a": None}]}}), True),
    (_json({"id": "x" * 64}), True),
    (_json({"id": "x" * 65}), False),  # too long
    (_json({"id": ""}), False),
    (_json({"ip_address": None, "trace_id": None}), True),  # null optional fields are absent
    (_json({"api": None}), False),
    (_json({"response_time": 0}), True),  # an integer in a number field
    (_json({"response_time": 3_600_000.0}), True),
    (_json({"response_time": 3_600_000.0001}), False),
    (_json({"response_time": -0.0}), True),
    (_json({"response_time": 1e400}), False),
    (_json({"response_time": "12.5"}), False),  # repaired by the Spark path
    (_json({"status_code": 599}), True),
    (_json({"status_code": 600}), False),
    (_json({"status_code": 200.0}), False),
    (_json({"status_code": "200"}), False),
    (_json({"status_code": 2**40}), False),
    (_json({"schema_version": 2**31}), False),
    (_json({"timestamp": (T0 + 1234) // 1000}), False),  # seconds: converted by the Spark path
    (_json({"timestamp": (T0 + 1234) * 1000}), False),
    (_json({"timestamp": "2026-01-01T00:00:01.234Z"}), False),
    (_json({"timestamp": float(T0 + 1234)}), False),
    (_json({"timestamp": ARRIVAL + 300_000}), True),
    (_json({"timestamp": ARRIVAL + 300_001}), False),  # too far ahead
    (_json({"timestamp": 5}), False),
    (_json({"log_level": "warn"}), False),  # an alias
    (_json({"log_level": "WARNING"}), True),
    (_json({"log_level": "LOUD"}), False),
    (_json({"response_code": 503}), True),  # the original producer's integer code: its text
    (_json({"response_code": -7, "method": 2**40}), True),
    (b'{"response_code":1180591620717411303424,' + _json({})[1:], False),  # beyond a long
    (b'{"response_code":-0,' + _json({})[1:], False),
    (_json({"response_code": 12.5}), False),
    (_json({"id": 12345}), True),
    (_json({"log_level": 1}), False),
    (_json({"api": True}), False),
    (_json({"message": "caf\u00e9"}), False),  # non-ASCII bytes
    (
        b'{"id":"caf\\u00e9","timestamp":%d,"api":"/a","response_time":1,"status_code":200,"log_level":"INFO"}' % T0,
        True,
    ),
    (
        b'{"id":"\\ud83d\\ude00","timestamp":%d,"api":"/a","response_time":1,"status_code":200,"log_level":"INFO"}'
        % T0,
        True,
    ),
    (b'{"id":"\\ud800","timestamp":%d,"api":"/a","response_time":1,"status_code":200,"log_level":"INFO"}' % T0, True),
    (b"\xef\xbb\xbf" + _json({}), False),  # a byte-order mark
    (_json({}).decode().encode("utf-16-le"), False),
    (_json({})[:-1] + b',"m":"\xff"}', False),  # not UTF-8
    (_json({}) + b" trailing", False),
    (_json({"message": "a\x01b"}), True),  # a control character escaped, as JSON writes it
    (_json({})[:-1] + b',"message":"a\x01b"}', False),  # unescaped
    (b"{\x00" + _json({})[1:], False),
    (_json({}) + b"\n", True),
    (b"  \t" + _json({}), True),
    (_json({})[:-1] + b',"api":"/b"}', False),  # a field twice
    (_json({})[:-1] + b',"API":"/b"}', False),  # a field's name in another case
    (_json({})[:-1] + b',"_corrupt_record":"x"}', False),
    (_json({}).replace(b'"', b"'"), False),  # single quotes: Spark's reader takes them
    (_json({})[:-1] + b',"x":NaN}', False),
    (b"[" + _json({}) + b"]", False),
    (b"42", False),
    (b"{}", False),
    (b"", False),
    (b"   ", False),
    (b'{"id":', False),
    (None, False),
]


def _corpus() -> list[bytes | None]:
    spec = traffic.TrafficSpec(seed=11, start_ms=T0, count=400, rate=1000.0, diurnal=False)
    generated = [record for block in traffic.blocks(spec) for record in block.encode()]
    return [*generated, *(record for record, _ in EDGES)]


def _outcome(parsed: tr.Parsed) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    valid = [tuple(r) for r in sorted(parsed.valid.collect(), key=lambda r: r["kafka_offset"])]
    invalid = sorted((r["offset"], r["error_class"], r["reason"], r["value"]) for r in parsed.invalid.collect())
    return valid, invalid


@pytest.fixture(scope="module")
def corpus_frame(spark: SparkSession) -> DataFrame:
    return raw_frame(spark, _corpus(), arrival_ms=ARRIVAL)


def test_the_fast_path_takes_the_plain_records_and_leaves_the_others(corpus_frame: DataFrame) -> None:
    checked = jvm.clean_events(corpus_frame, EVENT_FIELDS, 300_000).orderBy("offset").collect()
    generated = len(checked) - len(EDGES)
    assert all(row[jvm.CLEAN] for row in checked[:generated])
    taken = {row["offset"] - generated: row[jvm.CLEAN] for row in checked[generated:]}
    assert taken == {n: clean for n, (_, clean) in enumerate(EDGES)}
    first = checked[generated]
    assert (first["_c_id"], first["_c_timestamp"], first["_c_response_time"], first["_c_status_code"]) == (
        "id-0",
        T0 + 1234,
        12.5,
        503,
    )
    assert first["_c_trace_id"] is None
    # a clean record goes on without what only a dead letter needs; the others keep all of it
    assert all(row["value"] is None and row["key"] is None for row in checked if row[jvm.CLEAN])
    assert all(row["key"] == b"k" for row in checked if not row[jvm.CLEAN])


@pytest.mark.parametrize("path", ["parse", "classify"])
def test_the_parse_is_the_same_with_and_without_the_fast_path(corpus_frame: DataFrame, path: str) -> None:
    def judged() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        if path == "parse":
            return _outcome(tr.parse(corpus_frame, 300_000))
        return _outcome(tr.split_classified(tr.classify(corpus_frame, 300_000)))

    fast = judged()
    with without_fast_path():
        slow = judged()
    assert len(fast[0]) > 400 and len(fast[1]) >= 20  # both sides of the corpus are there, every record once
    assert len(fast[0]) + len(fast[1]) == corpus_frame.count()
    assert fast == slow


def test_the_aggregates_valid_events_are_the_parse_s(corpus_frame: DataFrame) -> None:
    """``valid_events`` (the fast path with the parse's expressions as its one-piece slow path, ``SlowPath``) gives
    exactly the valid events of ``parse``, repaired ones included, in a plan without the parse's expressions."""
    ours = tr.valid_events(corpus_frame, 300_000)
    valid = [tuple(r) for r in sorted(ours.collect(), key=lambda r: r["kafka_offset"])]
    assert valid == _outcome(tr.parse(corpus_frame, 300_000))[0]
    generated = len(_corpus()) - len(EDGES)
    assert len(valid) > generated + 10  # the edges' valid records: plain, and repaired by the slow path
    plan = ours._jdf.queryExecution().executedPlan().toString()
    assert "clean_events" in plan and "slow_path(" in plan
    assert "from_json" not in plan and "read_json" not in plan and "rlike" not in plan.lower()


def test_the_slow_path_names_what_it_cannot_evaluate(spark: SparkSession, corpus_frame: DataFrame) -> None:
    def slow(frame: DataFrame) -> DataFrame:
        return jvm.valid_events(corpus_frame, EVENT_FIELDS, 300_000, frame)

    template = spark.createDataFrame(spark.sparkContext.emptyRDD(), tr.RAW_SCHEMA)
    verdict = tr.slow_path(spark, 300_000)
    with pytest.raises(Exception, match="slow path: column key is not an input of its stage"):
        typed = [F.lit(None).cast(f.dataType).alias(f.name) for f in verdict.schema.fields[1:]]
        slow(template.select(F.col("key").isNotNull().alias("_clean"), *typed))
    with pytest.raises(Exception, match="slow path: a plan node it cannot evaluate"):
        slow(verdict.where(F.col("_clean")))
    with pytest.raises(Exception, match="slow path: a nondeterministic expression"):
        slow(verdict.select((F.rand() > 0.5).alias("_clean"), *verdict.columns[1:]))
    with pytest.raises(Exception, match=r"slow path: its struct .* is not the verdict's"):
        slow(verdict.select("_clean"))


@pytest.mark.parametrize("schema", ["typed", "text"])
def test_the_job_reads_json_as_spark_s_from_json_does(
    spark: SparkSession, corpus_frame: DataFrame, schema: str
) -> None:
    """``jvm.read_json`` (``ReadJson``) keeps Spark's JSON reader in the generated code; what it reads is the same."""
    shape = tr.typed_schema if schema == "typed" else tr.text_schema
    text = F.col("value").cast("string")

    def read(parsed: Column) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in corpus_frame.select("offset", parsed.alias("j")).orderBy("offset").collect()]

    ours = read(jvm.read_json(spark, text, shape(), tr.JSON_OPTIONS))
    assert ours == read(F.from_json(text, shape(), tr.JSON_OPTIONS))
    assert sum(1 for _, j in ours if j is not None and j[-1] is not None) >= 3  # records Spark's reader refused


def test_the_expressions_name_a_column_of_the_wrong_type(corpus_frame: DataFrame) -> None:
    as_text = corpus_frame.withColumn("value", F.col("value").cast("string"))
    with pytest.raises(Exception, match="clean_events expects a binary value and a timestamp, got string"):
        jvm.clean_events(as_text, EVENT_FIELDS, 300_000)
    with pytest.raises(Exception, match="read_json expects a string, got binary"):
        corpus_frame.select(jvm.read_json(corpus_frame.sparkSession, F.col("value"), tr.text_schema(), {}))


def test_a_field_table_without_an_event_time_is_refused(spark: SparkSession) -> None:
    fields = tuple(f for f in EVENT_FIELDS if f.repair != "epoch_ms")
    with pytest.raises(Exception, match="the field table has no event time"):
        jvm.clean_events(raw_frame(spark, [PLAIN]), fields, 300_000)


def _jdks() -> list[Path]:
    """Every JDK's ``javac`` on the machine: the app image compiles the JVM part with its base's (JDK 21 by default,
    ``spark-apps/Dockerfile``), whose lint warns of more than JDK 17's."""
    return sorted(p for p in Path("/usr/lib/jvm").glob("*/bin/javac") if not p.parent.parent.is_symlink())


@pytest.mark.parametrize("javac", _jdks(), ids=lambda p: p.parent.parent.name)
def test_the_jvm_part_compiles_without_warnings_under_each_jdk(javac: Path, tmp_path: Path) -> None:
    classpath = str(Path(pyspark.__file__).parent / "jars" / "*")
    command = [str(javac), "--release", jvm.RELEASE, "-Xlint:all,-path", "-Werror", "-cp", classpath]
    done = subprocess.run([*command, "-d", str(tmp_path), *map(str, jvm.SOURCES.rglob("*.java"))], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
