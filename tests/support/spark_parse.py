"""The job's parse without its fast path: what the Spark expressions alone make of every record.

``spark_only`` stands in for ``jvm.clean_events`` (the same columns, no record taken), so a test or benchmark can
parse the same records both ways (``without_fast_path``) and compare what comes out, or what each costs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from logpipeline.events import Field
from logpipeline_spark import jvm


def spark_only(raw: DataFrame, fields: tuple[Field, ...], max_ahead_ms: int) -> DataFrame:
    """``raw`` with ``jvm.CLEAN`` false and every typed field null: the Spark expressions parse every record."""
    typed = [F.lit(None).cast(f.type).alias(jvm.CLEAN_PREFIX + f.name) for f in fields]
    return raw.select("*", F.lit(False).alias(jvm.CLEAN), *typed)


@contextmanager
def without_fast_path() -> Iterator[None]:
    """Frames built by ``transformations`` inside the block parse without the fast path."""
    fast = jvm.clean_events
    jvm.clean_events = spark_only
    try:
        yield
    finally:
        jvm.clean_events = fast
