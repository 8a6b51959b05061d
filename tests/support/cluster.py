"""Fixtures shared by the operator's control-plane tests and benchmarks: a real control plane and the operator.

Imported by ``tests/e2e/conftest.py`` and ``tests/benchmarks/conftest.py``.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from logpipeline.config import Settings
from logpipeline.stack import process
from support import crd
from support.controlplane import runner
from support.wait import http_ok, wait_for


def _persistent_volume(index: int) -> dict[str, Any]:
    """Statically provisioned volumes (as an admin would create them) so the pipeline's claims bind."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"pv-{index}"},
        "spec": {
            "capacity": {"storage": "100Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": f"/tmp/pv-{index}"},
        },
    }


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[runner.ControlPlane]:
    root = tmp_path_factory.mktemp("controlplane")
    cp = runner.up(root, Settings().cache, lambda msg: print(f"controlplane: {msg}", file=sys.stderr))
    try:
        files = [crd.CRD_FILE, *crd.third_party_crd_files()]
        cp.kubectl("apply", "--server-side", *(f"-f={path}" for path in files))
        established = ("wait", "--for=condition=Established", "--timeout=20s", "crd", "--all")
        wait_for(lambda: cp.kubectl(*established, check=False).returncode == 0, 60, "CRDs established")
        for index in range(8):
            cp.kubectl("apply", "-f", "-", input_text=json.dumps(_persistent_volume(index)))
        yield cp
    finally:
        runner.down(cp)


@contextlib.contextmanager
def running_operator(cp: runner.ControlPlane, resync_seconds: float) -> Iterator[str]:
    """The operator as its own process (``python -m logpipeline_operator``); yields its liveness URL."""
    liveness = f"http://127.0.0.1:{process.free_port()}/healthz"
    pidfile = cp.root / "run" / "operator.pid"
    log = cp.root / "logs" / "operator.log"
    env = {
        "KUBECONFIG": str(cp.kubeconfig),
        "LOGPIPELINE_OPERATOR_RESYNC_SECONDS": str(resync_seconds),
        "LOGPIPELINE_OPERATOR_WORKERS": "8",
        # as the chart's operator.allowedSecrets: the Secret the alerting test's webhook references
        "LOGPIPELINE_OPERATOR_ALLOWED_SECRETS": "hook-key",
    }
    cmd = [sys.executable, "-m", "logpipeline_operator", "--all-namespaces", f"--liveness={liveness}"]
    process.spawn(cmd, pidfile, log, env=env)
    try:
        wait_for(lambda: http_ok(liveness), 60, "operator liveness", log)
        yield liveness
    finally:
        process.stop(pidfile)


@pytest.fixture(scope="module")
def operator(control_plane: runner.ControlPlane) -> Iterator[str]:
    """The operator with a 2-second resync, so drift correction is seen quickly."""
    with running_operator(control_plane, 2) as liveness:
        yield liveness


def kubectl_json(cp: runner.ControlPlane, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(cp.kubectl(*args, "-o", "json").stdout)
    return data


def make_namespace(cp: runner.ControlPlane, name: str) -> str:
    """A namespace that enforces the Pod Security "restricted" level: pods that break it are refused."""
    ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
    }
    cp.kubectl("apply", "-f", "-", input_text=json.dumps(ns))
    wait_for(lambda: cp.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode == 0, 60, "SA")
    return name
