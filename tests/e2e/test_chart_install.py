"""The Helm chart on a real control plane: install, reconcile with the chart's identity, upgrade, uninstall.

No image can be pulled here, so the chart's operator pod is one of KWOK's simulated pods (it is admitted by
Pod Security "restricted" and becomes Available like any other). The operator itself runs as a local process
started from the installed Deployment's own command line (``python -m logpipeline_operator`` with the
Deployment's args and env), authenticated with a token of the chart's ServiceAccount: it can do exactly what
the chart's RBAC grants, so a missing permission shows up as a Forbidden error and a stuck pipeline.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from logpipeline.config import Settings
from logpipeline.stack import process
from support import charttools
from support.cluster import kubectl_json, make_namespace
from support.controlplane import runner
from support.crd import EXAMPLE_FILE
from support.wait import http_ok, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/logpipeline"
RELEASE = "lp"
SYSTEM = "logpipeline-system"
TEAM = "team-a"
WATCHED = "pipelines"
SA = f"system:serviceaccount:{SYSTEM}:{RELEASE}-logpipeline"
# Kinds a pipeline or the release may leave in a namespace.
NAMESPACED_KINDS = (
    "deployments,statefulsets,replicasets,pods,services,configmaps,serviceaccounts,persistentvolumeclaims,"
    "roles,rolebindings,horizontalpodautoscalers,poddisruptionbudgets,ingresses,networkpolicies,kafkatopics,kafkausers,"
    "sparkapplications,"
    "logpipelines"
)


@dataclass
class Release:
    cp: runner.ControlPlane
    tools: charttools.ChartTools
    home: Path
    operator_pid: Path
    operator_log: Path
    liveness: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    def helm(self, *args: str) -> str:
        result = charttools.helm(self.tools.helm, *args, home=self.home, kubeconfig=self.cp.kubeconfig, timeout=240)
        assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr}"
        return result.stdout

    def json(self, *args: str) -> dict[str, Any]:
        return kubectl_json(self.cp, *args)

    def names(self, kinds: str, namespace: str, *selector: str) -> list[str]:
        out = self.cp.kubectl("get", kinds, "-n", namespace, "-o", "name", *selector).stdout
        return sorted(out.split())


def _sa_kubeconfig(cp: runner.ControlPlane, path: Path) -> Path:
    """A kubeconfig that authenticates as the chart's ServiceAccount (a TokenRequest token)."""
    token = cp.kubectl("create", "token", f"{RELEASE}-logpipeline", "-n", SYSTEM, "--duration=2h").stdout.strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "cp", "cluster": {"server": cp.server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "cp", "user": "operator"}}],
        "current-context": "operator",
    }
    path.write_text(json.dumps(config))
    return path


def _start_operator(rel: Release) -> None:
    """Run the installed Deployment's container command locally, as the chart's ServiceAccount."""
    process.stop(rel.operator_pid)
    deploy = rel.json("get", "deployment", f"{RELEASE}-logpipeline", "-n", SYSTEM)
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    port = process.free_port()
    rel.liveness = f"http://127.0.0.1:{port}/healthz"
    # The same arguments, but the liveness endpoint on a free loopback port instead of the pod's 0.0.0.0:8080.
    assert any(a.startswith("--liveness=http://0.0.0.0:") for a in container["args"])
    args = [f"--liveness={rel.liveness}" if a.startswith("--liveness=") else a for a in container["args"]]
    env = {e["name"]: e.get("value", "") for e in container.get("env", []) if "value" in e}
    env["KUBECONFIG"] = str(_sa_kubeconfig(rel.cp, rel.home / "operator.kubeconfig"))
    env["LOGPIPELINE_OPERATOR_RESYNC_SECONDS"] = "2"
    assert container["command"][:1] == ["python"]
    rel.operator_log.write_text("")
    process.spawn([sys.executable, *container["command"][1:], *args], rel.operator_pid, rel.operator_log, env=env)
    wait_for(lambda: http_ok(rel.liveness), 60, "operator liveness", rel.operator_log)


def _forbidden(rel: Release) -> list[str]:
    return [line for line in rel.operator_log.read_text().splitlines() if "forbidden" in line.lower()]


def _phase(rel: Release, name: str, namespace: str) -> str | None:
    lp = rel.json("get", "logpipeline", name, "-n", namespace)
    phase: str | None = lp.get("status", {}).get("phase")
    return phase


def _can(rel: Release, verb: str, resource: str, namespace: str, who: str = SA) -> bool:
    result = rel.cp.kubectl("auth", "can-i", verb, resource, "-n", namespace, f"--as={who}", check=False)
    return result.stdout.strip() == "yes"


@pytest.fixture(scope="module")
def release(control_plane: runner.ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    tools = charttools.ensure(Settings().cache)
    # New nodes carry the not-ready taint until the node lifecycle controller sees them Ready; take it off
    # here so that scheduling does not wait for that controller's next pass (no-op once it has).
    control_plane.kubectl("taint", "nodes", "--all", "node.kubernetes.io/not-ready:NoSchedule-", check=False)
    for ns in (SYSTEM, TEAM, WATCHED):
        make_namespace(control_plane, ns)
    root = tmp_path_factory.mktemp("release")
    rel = Release(control_plane, tools, root, root / "operator.pid", root / "operator.log")
    try:
        yield rel
    finally:
        process.stop(rel.operator_pid)


def test_install_in_a_restricted_namespace(release: Release) -> None:
    args = ("--set", "operator.clusterWide=true", "--wait", "--timeout=120s")
    out = release.helm("install", RELEASE, str(CHART), "-n", SYSTEM, *args)
    notes = out.split("NOTES:", 1)[1]
    assert "watches all namespaces" in notes and "operator/examples/logpipeline.yaml" in notes
    deploy = release.json("get", "deployment", f"{RELEASE}-logpipeline", "-n", SYSTEM)
    assert deploy["status"]["availableReplicas"] == 1
    (pod,) = release.json("get", "pods", "-n", SYSTEM)["items"]
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["serviceAccountName"] == f"{RELEASE}-logpipeline"
    crd = release.json("get", "crd", "logpipelines.logpipeline.io")
    assert any(c["type"] == "Established" and c["status"] == "True" for c in crd["status"]["conditions"])


# What the operator may never do, whatever it watches (asked of the API server as the chart's ServiceAccount).
NEVER = (("get", "secrets"), ("create", "pods"), ("create", "roles"), ("update", "deployments.apps"),
         ("delete", "namespaces"), ("create", "clusterrolebindings"))  # fmt: skip


def test_watching_every_namespace_the_operator_holds_child_rights_only_where_a_pipeline_is(release: Release) -> None:
    for namespace in (TEAM, WATCHED, "kube-system"):
        assert not _can(release, "patch", "deployments.apps", namespace), namespace
        assert [verb for verb, what in NEVER if _can(release, verb, what, namespace)] == [], namespace
    _start_operator(release)
    out = release.cp.kubectl("apply", "-n", TEAM, "-f", str(EXAMPLE_FILE))
    assert "logpipeline.logpipeline.io/example created" in out.stdout
    wait_for(lambda: _phase(release, "example", TEAM) == "Running", 180, "example Running", release.operator_log)
    owned = release.names(NAMESPACED_KINDS, TEAM, "-l", "app.kubernetes.io/instance=example")
    assert any(n.startswith("kafkatopic") for n in owned) and any(n.startswith("sparkapplication") for n in owned)
    # It bound itself to its children's rights in this namespace, and nowhere else; the rest stays refused.
    binding = release.json("get", "rolebinding", f"{RELEASE}-logpipeline-children", "-n", TEAM)
    assert [ref["name"] for ref in binding["metadata"]["ownerReferences"]] == ["example"]
    assert _can(release, "patch", "deployments.apps", TEAM)
    assert not _can(release, "patch", "deployments.apps", WATCHED)
    assert [verb for verb, what in NEVER if _can(release, verb, what, TEAM)] == []
    # The driver's rights come from the pre-created ClusterRole, bound in the pipeline's namespace only.
    driver = f"system:serviceaccount:{TEAM}:example-spark"
    assert _can(release, "create", "pods", TEAM, driver) and not _can(release, "create", "pods", WATCHED, driver)
    assert _forbidden(release) == []


def test_deleting_the_pipeline_leaves_nothing_in_its_namespace(release: Release) -> None:
    release.cp.kubectl("delete", "logpipeline", "example", "-n", TEAM, "--wait=true", "--timeout=60s")

    def leftovers() -> list[str]:
        names = release.names(NAMESPACED_KINDS, TEAM)
        return [n for n in names if n not in ("serviceaccount/default", "configmap/kube-root-ca.crt")]

    wait_for(lambda: leftovers() == [], 90, f"garbage collection in {TEAM}")
    assert not _can(release, "patch", "deployments.apps", TEAM)  # its binding went with the last pipeline


def test_upgrade_to_one_namespace_moves_the_rights_and_restarts_the_operator(release: Release) -> None:
    before = release.json("get", "deployment", f"{RELEASE}-logpipeline", "-n", SYSTEM)
    process.stop(release.operator_pid)  # as the Recreate strategy does: the old operator goes first
    out = release.helm(
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        SYSTEM,
        "-f",
        str(CHART / "ci/one-namespace-values.yaml"),
        "--set",
        "operator.verbose=true",
        "--wait",
        "--timeout=120s",
    )
    assert 'namespace(s) "pipelines" only' in out
    after = release.json("get", "deployment", f"{RELEASE}-logpipeline", "-n", SYSTEM)
    checksum = [d["spec"]["template"]["metadata"]["annotations"]["checksum/args"] for d in (before, after)]
    assert checksum[0] != checksum[1]
    args = after["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--namespace={WATCHED}" in args and "--verbose" in args
    assert after["spec"]["strategy"] == {"type": "Recreate"}
    assert release.names("clusterrolebinding", "default", "-l", f"app.kubernetes.io/instance={RELEASE}") == [
        f"clusterrolebinding.rbac.authorization.k8s.io/{RELEASE}-logpipeline-discovery"
    ]
    assert release.names("rolebinding", WATCHED, "-l", f"app.kubernetes.io/instance={RELEASE}") == [
        f"rolebinding.rbac.authorization.k8s.io/{RELEASE}-logpipeline",
        f"rolebinding.rbac.authorization.k8s.io/{RELEASE}-logpipeline-children",
    ]
    assert _can(release, "patch", "deployments.apps", WATCHED)
    assert not _can(release, "patch", "deployments.apps", TEAM)
    _start_operator(release)
    wait_for(lambda: _phase(release, "demo", WATCHED) == "Running", 180, "sample Running", release.operator_log)
    owned = release.names(NAMESPACED_KINDS, WATCHED, "-l", "app.kubernetes.io/instance=demo")
    assert "deployment.apps/demo-spark-driver" in owned or any("spark" in n for n in owned)
    assert _forbidden(release) == []


def _leftovers(rel: Release) -> list[str]:
    names = [n for ns in (SYSTEM, WATCHED, TEAM) for n in rel.names(NAMESPACED_KINDS, ns)]
    names += rel.names("clusterroles,clusterrolebindings", "default", "-l", f"app.kubernetes.io/instance={RELEASE}")
    return [n for n in names if n not in ("serviceaccount/default", "configmap/kube-root-ca.crt")]


def test_upgrade_without_the_sample_deletes_it_and_its_children(release: Release) -> None:
    release.helm("upgrade", RELEASE, str(CHART), "-n", SYSTEM, "--reuse-values", "--set", "sample.enabled=false")

    def demo_gone() -> bool:
        return release.names(NAMESPACED_KINDS, WATCHED, "-l", "app.kubernetes.io/instance=demo") == []

    wait_for(demo_gone, 90, "the sample and its children deleted", release.operator_log)
    assert release.names("logpipelines", WATCHED) == []


def test_uninstall_leaves_nothing_behind_but_the_crd(release: Release) -> None:
    out = release.helm("uninstall", RELEASE, "-n", SYSTEM, "--wait", "--timeout=120s")
    assert f'release "{RELEASE}" uninstalled' in out
    wait_for(lambda: _leftovers(release) == [], 60, "nothing left after uninstall", release.operator_log)
    assert release.cp.kubectl("get", "secrets", "-n", SYSTEM, "-o", "name").stdout.strip() == ""
    # Helm never deletes what it installed from crds/ (that would delete every user's pipelines).
    assert release.json("get", "crd", "logpipelines.logpipeline.io")["metadata"]["name"]
    assert _forbidden(release) == []
