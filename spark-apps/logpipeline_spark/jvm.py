"""The job's JVM part (``spark-apps/jvm``): ``io.logpipeline.spark.CleanEvents``, the events' fast path (a Spark
expression: a record that is plainly a valid event read once from its bytes, by the rule of ``EventRules``),
``io.logpipeline.spark.SlowPath``, the parse's Spark expressions for every other record as one piece of that
expression (``valid_events``), ``io.logpipeline.spark.ReadJson``, Spark's JSON reader in an expression that stays in
the generated code, ``io.logpipeline.spark.OrderedDedup``, micro-batch mode's de-dup with state ordered by event time,
and ``io.logpipeline.spark.PartialWindows``, the real-time aggregates query's partial window totals: each window's
events in a task combined at most once per interval (``IntervalPerKey``) before the stateful aggregation.

The app image compiles it into Spark's jars (``spark-apps/Dockerfile``). A local-mode job compiles it once per
source and Spark release into the cache, with the JDK's ``javac`` against pyspark's own jars (nothing is fetched),
whose path the job gives the session as ``spark.jars`` (``jar``)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import orjson
import pyspark
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.classic.column import Column as ClassicColumn
from pyspark.sql.classic.dataframe import DataFrame as ClassicFrame

from logpipeline.events import Field

SOURCES = Path(__file__).resolve().parent.parent / "jvm"
PARTIAL_WINDOWS = "io.logpipeline.spark.PartialWindows"
CLEAN_EVENTS = "io.logpipeline.spark.CleanEvents"
EVENT_RULES = "io.logpipeline.spark.EventRules"  # the rule of the fast path, which tests hold to its reference
READ_JSON = "io.logpipeline.spark.ReadJson"
SLOW_PATH = "io.logpipeline.spark.SlowPath"
ORDERED_DEDUP = "io.logpipeline.spark.OrderedDedup"
# The ordered de-dup's groups: a second of event time, in 8 slices of ids (about 12.5k pairs a group at 100k events/s)
DEDUP_BUCKET_MS = 1000
DEDUP_SLICES = 8
WINDOW_COLUMN = "_window"  # ``partial_windows``' key column beside api and level
# The columns ``PartialWindows`` reads of each event
PARTIAL_INPUT: tuple[str, ...] = ("timestamp", "api", "log_level", "response_time", "status_code")
CLEAN = "_clean"  # ``clean_events``' flag column (``CleanEvents`` names it alike)
CLEAN_PREFIX = "_c_"  # of its typed field columns
_DEAD_LETTER_ONLY = ("key", "value", "topic")  # a clean record's columns that only a dead letter needs
# The class-file level: Spark 4 runs on Java 17 or newer.
RELEASE = "17"


class JvmBuildError(RuntimeError):
    """The job's JVM part could not be compiled; says why and what to do."""


def _sources() -> list[Path]:
    return sorted(SOURCES.rglob("*.java"))


def _fingerprint(sources: list[Path]) -> str:
    digest = hashlib.sha256(f"{pyspark.__version__}:{RELEASE}".encode())
    for src in sources:
        digest.update(str(src.relative_to(SOURCES)).encode() + b"\0" + src.read_bytes())
    return digest.hexdigest()[:16]


def _javac() -> str:
    home = os.environ.get("JAVA_HOME")
    found = shutil.which("javac", path=str(Path(home) / "bin")) if home else None
    found = found or shutil.which("javac")
    if found is None:
        raise JvmBuildError(
            "a local job needs the JDK's javac once, to compile spark-apps/jvm into the cache; install a JDK "
            "(JAVA_HOME or javac on PATH)"
        )
    return found


def jar(cache: Path) -> Path:
    """The compiled jar in ``cache/jvm`` (built when absent; concurrent builds each write their own and the last
    rename wins, with the same content)."""
    sources = _sources()
    target = cache / "jvm" / f"logpipeline-spark-{_fingerprint(sources)}.jar"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    spark_jars = Path(pyspark.__file__).parent / "jars"
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        classes = Path(tmp) / "classes"
        command = [_javac(), "--release", RELEASE, "-Xlint:all,-path", "-Werror", "-d", str(classes)]
        command += ["-cp", str(spark_jars / "*"), *map(str, sources)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise JvmBuildError(f"javac failed on spark-apps/jvm ({done.returncode}): {done.stderr.strip()[-2000:]}")
        built = Path(tmp) / target.name
        with zipfile.ZipFile(built, "w", zipfile.ZIP_DEFLATED) as out:
            for path in sorted(classes.rglob("*.class")):
                out.write(path, path.relative_to(classes).as_posix())
        os.replace(built, target)
    return target


def ordered_dedup(events: DataFrame, id_column: str, millis: str, event_time: str) -> DataFrame:
    """``events`` without repeats of (``id_column``, ``millis``) within the watermark on ``event_time`` (from
    ``millis``), as ``dropDuplicates`` drops them, with state grouped by event-time bucket (``OrderedDedup``: a batch
    costs what its events touch, not the whole state); in a stream, events older than the watermark are dropped.
    Its state needs the RocksDB store. Same schema."""
    spark = events.sparkSession
    make = getattr(spark._jvm, ORDERED_DEDUP).apply
    return ClassicFrame(make(events._jdf, id_column, millis, event_time, DEDUP_SLICES, DEDUP_BUCKET_MS), spark)


def partial_windows(events: DataFrame, window: Column, interval_ms: int, k: int) -> DataFrame:
    """The partial window totals of ``events`` (the aggregation's input: ``timestamp`` in epoch ms, ``api``,
    ``log_level``, ``response_time``, ``status_code``): per ``window`` (a column that tells each event's window),
    api and level, at most one row per ``interval_ms`` in each task, a held row passed when its interval is over and
    at the end of the task's input (``PartialWindows``); its columns are ``PartialWindows.SCHEMA``, with the newest
    event's time as ``event_time`` and a KLL sketch of ``k``. Each event becomes a JVM ``Row`` of ``PARTIAL_INPUT``
    and the window (best a number): no other column costs a conversion per event."""
    spark = events.sparkSession
    keyed = events.select(*PARTIAL_INPUT, window.alias(WINDOW_COLUMN))
    partial = getattr(spark._jvm, PARTIAL_WINDOWS).apply(keyed._jdf, WINDOW_COLUMN, interval_ms, k)
    return ClassicFrame(partial, spark)


def field_table(fields: tuple[Field, ...]) -> str:
    """The field table as the JVM part reads it (``EventRules``): a JSON array of the fields' entries."""
    return orjson.dumps([dataclasses.asdict(field) for field in fields]).decode()


def clean_events(raw: DataFrame, fields: tuple[Field, ...], max_ahead_ms: int) -> DataFrame:
    """``raw`` (Kafka's columns) with ``CLEAN`` (the record is plainly a valid event of ``fields``: ASCII, one
    standard JSON object, each field of its exact JSON type and within its bounds, the event time in epoch ms at most
    ``max_ahead_ms`` past the record's timestamp) and, for such a record, its typed fields as ``CLEAN_PREFIX`` + name
    and no ``key``, ``value`` or ``topic`` (only a dead letter carries them). The verdict is one Spark expression
    (``CleanEvents``) behind an ``inline`` barrier, so each record is read once. Every other record is left as it
    came to the Spark expressions of ``transformations.parse``."""
    checked = _verdict(raw, fields, max_ahead_ms, None)
    clean = F.col(CLEAN)
    kept = [F.when(~clean, F.col(c)).alias(c) if c in _DEAD_LETTER_ONLY else F.col(c) for c in raw.columns]
    return checked.select(*kept, clean, *[F.col(CLEAN_PREFIX + f.name) for f in fields])


def valid_events(raw: DataFrame, fields: tuple[Field, ...], max_ahead_ms: int, slow_path: DataFrame) -> DataFrame:
    """``raw`` (Kafka's columns) with ``clean_events``' verdict, where every record the fast path leaves is judged by
    ``slow_path`` (``transformations.slow_path``: the parse's expressions, bound and compiled as one piece by
    ``SlowPath``): ``CLEAN`` then says the record is a valid event, plainly or once repaired, and its typed fields are
    there either way. One expression behind an ``inline`` barrier, as in ``clean_events``."""
    return _verdict(raw, fields, max_ahead_ms, getattr(raw.sparkSession._jvm, SLOW_PATH).of(slow_path._jdf))


def _verdict(raw: DataFrame, fields: tuple[Field, ...], max_ahead_ms: int, slow: object) -> DataFrame:
    """``raw`` with ``CleanEvents``' verdict columns behind an ``inline`` barrier (``slow``: a ``SlowPath`` or None)."""
    make = getattr(raw.sparkSession._jvm, CLEAN_EVENTS).column
    verdict = make(F.col("value")._jc, F.col("timestamp")._jc, field_table(fields), max_ahead_ms, slow)
    return raw.select("*", F.inline(F.array(ClassicColumn(verdict))))


def read_json(spark: SparkSession, text: Column, schema: T.StructType, options: dict[str, str]) -> Column:
    """``F.from_json(text, schema, options)``, Spark's own JSON reader, in an expression that stays in its stage's
    generated code (``ReadJson``; a null text is not read). ``from_json`` itself is interpreted, and Spark runs a plan
    node holding it row by row, every row of it, outside the stage's generated code."""
    zone = spark.conf.get("spark.sql.session.timeZone")
    make = getattr(spark._jvm, READ_JSON).column
    return ClassicColumn(make(text._jc, schema.json(), orjson.dumps(options).decode(), zone))
