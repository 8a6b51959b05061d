"""Shared fixtures: the real local stack, brought up once per test session.

Integration tests reuse a stack the user already started (``logpipeline stack up``);
otherwise the session starts one and stops it at the end. A stack that stays up loses at the end what the session
named with its suffixes (``unique``, ``support.leftovers.suffix``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

from logpipeline import config
from logpipeline.stack import lifecycle
from support import leftovers

# py4j logs "Closing down clientserver connection" at INFO from a finalizer at interpreter exit, after pytest has
# closed the streams its handlers write to; that record would only print a logging error.
logging.getLogger("py4j").setLevel(logging.WARNING)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "/unit/" in path:
            item.add_marker(pytest.mark.unit)
        elif "/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/benchmarks/" in path:
            item.add_marker(pytest.mark.benchmark)
        elif "/e2e/" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def stack() -> Iterator[config.Settings]:
    settings = config.load()
    if lifecycle.is_up(settings):
        yield settings
        leftovers.remove_session_leftovers(settings)
        return
    lifecycle.up(settings, lambda component, message: None)
    try:
        yield settings
    finally:
        if os.environ.get("LOGPIPELINE_KEEP_STACK"):
            leftovers.remove_session_leftovers(settings)
        else:
            lifecycle.down(settings, lambda component, message: None)


@pytest.fixture()
def unique() -> str:
    """A short unique suffix for topic, table and path names, so tests never share state."""
    return leftovers.suffix()


def pytest_configure(config: pytest.Config) -> None:
    """Every Spark JVM this process starts carries the streaming job's jar: pyspark starts one JVM per process, at
    the first session, and a later session's ``spark.jars`` does not reach the driver's classpath."""
    from logpipeline import config as settings
    from logpipeline_spark import jvm

    if "PYSPARK_SUBMIT_ARGS" not in os.environ:
        os.environ["PYSPARK_SUBMIT_ARGS"] = f"--jars {jvm.jar(settings.load().cache)} pyspark-shell"
