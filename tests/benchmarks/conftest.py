"""Benchmark fixtures: the operator benchmarks' control plane (the operator with its default 30-second resync), and
the removal of what a benchmark on the local stack leaves there."""

from collections.abc import Iterator
from dataclasses import replace

import pytest

from logpipeline import config
from support import leftovers
from support.cluster import control_plane, running_operator
from support.controlplane.runner import ControlPlane

__all__ = ["control_plane", "operator"]

SCRATCH_PREFIX = "bench"  # every benchmark's topics, groups, tables and HDFS directories begin with it


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane) -> Iterator[str]:
    with running_operator(control_plane, 30) as liveness:
        yield liveness


def _scratch(name: str) -> bool:
    """A benchmark's topic, group or table (``bench…``), or HDFS directory (``/bench…``, a pipeline's under it)."""
    return name.lstrip("/").startswith(SCRATCH_PREFIX)


@pytest.fixture(autouse=True)
def scratch_removed(request: pytest.FixtureRequest) -> Iterator[None]:
    """A benchmark on the stack deletes the topics, groups, HDFS directories and tables it made, passed or failed: a
    full-state run's backlog is gigabytes, and a developer's stack serves run after run. What was there before it
    stays, ``/bench`` itself included."""
    if "stack" not in request.fixturenames:
        yield
        return
    settings: config.Settings = request.getfixturevalue("stack")
    before = leftovers.find(settings, _scratch)
    yield
    made = leftovers.find(settings, _scratch) - before
    made = replace(made, dirs=made.dirs - {"/bench"})
    failures = leftovers.remove(settings, made)
    print(f"\nremoved {made.summary()} this benchmark made", flush=True)
    assert not failures, f"could not remove: {'; '.join(failures)}"
