"""Time from ``kubectl apply`` to every child created, for 1 and for 100 LogPipelines on a real control plane.

The single pipeline is the reference: the 100-pipeline figure is printed with its
ratio to 100 times the single one, and as children created per second.
"""

from __future__ import annotations

import copy
import json
import os
import time
from typing import Any

from logpipeline_operator import constants as c
from logpipeline_operator.builders import plan
from support import crd
from support.cluster import make_namespace
from support.controlplane.runner import ControlPlane
from support.wait import wait_for


def _children_per_pipeline(body: dict[str, Any]) -> int:
    return len(plan.build_children(crd.logpipeline(body["spec"], name="x", namespace="x", uid="x")))


def _count(cp: ControlPlane, namespace: str) -> int:
    """Children in the namespace, by kubectl listing names only (one request per kind)."""
    kinds = ",".join(
        f"{plural}.{api.split('/')[0] if '/' in api else ''}".rstrip(".") for (api, _), plural in plan.KINDS.items()
    )
    out = cp.kubectl("get", kinds, "-n", namespace, "-l", f"{c.LABEL_MANAGED_BY}={c.MANAGED_BY}", "-o", "name")
    return len(out.stdout.split())


def _apply(cp: ControlPlane, namespace: str, count: int) -> tuple[float, int]:
    base = crd.example()
    items = []
    for index in range(count):
        body = copy.deepcopy(base)
        body["metadata"] = {"name": f"bench-{index}", "namespace": namespace}
        items.append(body)
    expected = count * _children_per_pipeline(base)
    payload = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    start = time.perf_counter()
    cp.kubectl("apply", "-f", "-", input_text=payload)
    wait_for(lambda: _count(cp, namespace) >= expected, 600, f"all {expected} children", interval=0.5)
    return time.perf_counter() - start, expected


def _direct_apply(cp: ControlPlane, namespace: str) -> tuple[float, int]:
    """Reference: the same children of one pipeline, server-side-applied by kubectl itself (no operator)."""
    full = crd.logpipeline(crd.example()["spec"], name="direct", namespace=namespace, uid="none")
    children = plan.build_children(full)
    for child in children:
        child["metadata"].pop("ownerReferences")
    payload = json.dumps({"apiVersion": "v1", "kind": "List", "items": children})
    start = time.perf_counter()
    cp.kubectl("apply", "--server-side", "--field-manager=bench", "-f", "-", input_text=payload)
    return time.perf_counter() - start, len(children)


def test_apply_to_all_children_created(control_plane: ControlPlane, operator: str) -> None:
    direct, direct_children = _direct_apply(control_plane, make_namespace(control_plane, "bench-direct"))
    one, one_children = _apply(control_plane, make_namespace(control_plane, "bench-one"), 1)
    hundred, hundred_children = _apply(control_plane, make_namespace(control_plane, "bench-hundred"), 100)
    load = os.getloadavg()[0]
    print()
    print(
        f"reference        : {direct:7.2f} s for kubectl itself to apply the {direct_children} children of one pipeline"
    )
    print(
        f"1 LogPipeline    : {one:7.2f} s to all {one_children} children   (target <= 2 s; {one / direct:.1f}x the reference)"
    )
    print(
        f"100 LogPipelines : {hundred:7.2f} s to all {hundred_children} children (target <= 60 s); "
        f"{hundred_children / hundred:.0f} children/s; ratio to 100 x single = {hundred / (100 * one):.2f}"
    )
    print(f"load average (1 min) at the end: {load:.1f} on {os.cpu_count()} cores")
    assert _count(control_plane, "bench-hundred") == hundred_children
