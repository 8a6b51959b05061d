"""Time from ``kubectl apply`` to every child created, for 1 and for 100 LogPipelines on a real control plane.

The single pipeline is the reference: the 100-pipeline figure is printed with its
ratio to 100 times the single one, and as children created per second.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import yaml

from k8s_env import EXAMPLE, LOGPIPELINE_CRD, make_namespace, wait_for
from logpipeline.controlplane.runner import ControlPlane
from logpipeline_operator import constants as c
from logpipeline_operator.builders import plan
from logpipeline_operator.builders.defaults import defaulted

CRD = yaml.safe_load(LOGPIPELINE_CRD.read_text())


def _children_per_pipeline(body: dict[str, Any]) -> int:
    full = defaulted(CRD, {**body, "metadata": {"name": "x", "namespace": "x", "uid": "x"}})
    return len(plan.build_children(full))


def _count(cp: ControlPlane, namespace: str) -> int:
    selector = f"{c.LABEL_MANAGED_BY}={c.MANAGED_BY}"
    total = 0
    for api_version, kind in plan.KINDS:
        path = plan.resource_path(api_version, kind, namespace) + f"?labelSelector={selector}&resourceVersion=0"
        items = cp.get(path).get("items")
        total += len(items) if isinstance(items, list) else 0
    return total


def _apply(cp: ControlPlane, namespace: str, count: int) -> tuple[float, int]:
    base = yaml.safe_load(EXAMPLE.read_text())
    items = []
    for index in range(count):
        body = copy.deepcopy(base)
        body["metadata"] = {"name": f"bench-{index}", "namespace": namespace}
        items.append(body)
    expected = count * _children_per_pipeline(base)
    payload = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    start = time.perf_counter()
    cp.kubectl("apply", "-f", "-", input_text=payload)
    wait_for(lambda: _count(cp, namespace) >= expected, 600, f"{expected} children")
    return time.perf_counter() - start, expected


def test_apply_to_all_children_created(control_plane: ControlPlane, operator: str) -> None:
    one, one_children = _apply(control_plane, make_namespace(control_plane, "bench-one"), 1)
    hundred, hundred_children = _apply(control_plane, make_namespace(control_plane, "bench-hundred"), 100)
    print()
    print(f"1 LogPipeline    : {one:7.2f} s to all {one_children} children   (target <= 2 s)")
    print(
        f"100 LogPipelines : {hundred:7.2f} s to all {hundred_children} children (target <= 60 s); "
        f"{hundred_children / hundred:.0f} children/s; ratio to 100 x single = {hundred / (100 * one):.2f}"
    )
    assert _count(control_plane, "bench-hundred") == hundred_children
