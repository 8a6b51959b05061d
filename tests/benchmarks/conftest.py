"""Benchmark fixtures: the operator benchmarks' control plane (the operator with its default 30-second resync), and
the removal of what a benchmark on the local stack leaves there."""

import os
from collections.abc import Iterator

import hdfs
import pytest

from logpipeline import config
from logpipeline.kafka import topics
from support.cluster import control_plane, running_operator
from support.controlplane.runner import ControlPlane

__all__ = ["control_plane", "operator"]

SCRATCH_PREFIX = "bench"  # every benchmark's topics and HDFS directories begin with it


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane) -> Iterator[str]:
    with running_operator(control_plane, 30) as liveness:
        yield liveness


def _hdfs_scratch(client: hdfs.InsecureClient) -> set[str]:
    """The benchmarks' HDFS directories: top-level ones named for them, and each pipeline's under ``/bench``."""
    found = {f"/{name}" for name in client.list("/") if name.startswith(SCRATCH_PREFIX)}
    if "/bench" in found:
        found |= {f"/bench/{name}" for name in client.list("/bench")}
    return found


@pytest.fixture(autouse=True)
def scratch_removed(request: pytest.FixtureRequest) -> Iterator[None]:
    """A benchmark on the stack deletes the topics and HDFS directories it made, passed or failed: a full-state run's
    backlog is gigabytes, and a developer's stack serves run after run. What was there before it stays."""
    if "stack" not in request.fixturenames:
        yield
        return
    settings: config.Settings = request.getfixturevalue("stack")
    admin = topics.admin_client(settings.kafka_bootstrap)
    client = hdfs.InsecureClient(settings.webhdfs_url, user=os.environ.get("USER", "root"))
    topics_before = set(admin.list_topics(timeout=15).topics)
    dirs_before = _hdfs_scratch(client)
    yield
    made = sorted(
        t for t in admin.list_topics(timeout=15).topics if t.startswith(SCRATCH_PREFIX) and t not in topics_before
    )
    if made:
        for future in admin.delete_topics(made, operation_timeout=30).values():
            future.result(60)
    made_dirs = sorted(_hdfs_scratch(client) - dirs_before - {"/bench"}, reverse=True)
    for path in made_dirs:
        client.delete(path, recursive=True)
    print(f"\nremoved {len(made)} topics and {len(made_dirs)} HDFS directories this benchmark made", flush=True)
