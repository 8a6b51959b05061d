"""Control-plane fixtures for the operator benchmarks: the operator runs with its default 30-second resync."""

from collections.abc import Iterator

import pytest

from support.cluster import control_plane, running_operator
from support.controlplane.runner import ControlPlane

__all__ = ["control_plane", "operator"]


@pytest.fixture(scope="module")
def operator(control_plane: ControlPlane) -> Iterator[str]:
    with running_operator(control_plane, 30) as liveness:
        yield liveness
