"""One small local SparkSession shared by the Spark transformation tests (JVM start-up is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from logpipeline_spark.session import build_session


@pytest.fixture(scope="package")
def spark() -> Iterator[SparkSession]:
    session = build_session(
        "unit-transformations",
        master="local[1]",
        with_kafka=False,
        extra={"spark.sql.shuffle.partitions": "1", "spark.ui.enabled": "false", "spark.driver.memory": "512m"},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
