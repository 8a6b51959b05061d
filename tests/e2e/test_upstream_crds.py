"""Every child the builders render is accepted, field for field, by the real API server and the upstream CRDs.

The control plane has the Strimzi KafkaTopic and Kubeflow SparkApplication CRDs as their projects
publish them (:mod:`support.upstream`). Each LogPipeline variant is stored first (so the API server
defaults and validates it and gives it a uid), then every child rendered from the stored object is
server-side applied with strict field validation: a field that a schema does not know is an error,
not a warning or a silent prune. No operator runs here; the test is about the manifests alone.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from logpipeline_operator import constants as c
from logpipeline_operator.builders import plan
from support import crd
from support.cluster import kubectl_json, make_namespace
from support.controlplane.runner import ControlPlane

NS = "upstream-crds"
MANAGER = "upstream-crds-test"

VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "example": crd.example()["spec"],
    "submit-generator": {"spark": {"mode": "submit"}, "generator": {"enabled": True}},
    "operator-no-archive": {
        "spark": {"mode": "operator", "checkpointRoot": "s3a://checkpoints/lp"},
        "archive": {"enabled": False},
        "correction": {"enabled": False},
    },
    "submit-no-archive-aws": {
        "spark": {"mode": "submit", "checkpointRoot": "s3a://checkpoints/lp"},
        "archive": {"enabled": False},
        "correction": {"enabled": False},
        "generator": {"enabled": True},
        "metricsStore": {
            "engine": "aws",
            "credentialsSecret": {"name": "aws-keys"},
            "readOnlyCredentialsSecret": {"name": "ro"},
        },
        "dashboard": {"ingress": {"tlsSecretName": "dashboard-tls"}},
    },
    # A small cluster: less CPU requested than the cores (the SparkApplication's coreRequest; 2 x 3 cores are the
    # task slots of real-time mode, the default), topics kept by the operator, a DynamoDB-compatible endpoint.
    "operator-small-plain-kafka-endpoint": {
        "spark": {
            "mode": "operator",
            "driver": {"requestCores": "250m"},
            "executor": {"cores": 3, "requestCores": "0.5"},
        },
        "kafka": {"topicManagement": "operator", "authentication": "none"},
        "metricsStore": {
            "engine": "aws",
            "endpoint": "http://dynamodb.store:8000",
            "credentialsSecret": {"name": "aws-keys"},
            "readOnlyCredentialsSecret": {"name": "ro"},
        },
    },
    "operator-archive-checkpoint-aws": {
        "spark": {"mode": "operator", "checkpointRoot": "hdfs://shared-namenode:8020/lp"},
        "metricsStore": {
            "engine": "aws",
            "credentialsSecret": {"name": "aws-keys"},
            "readOnlyCredentialsSecret": {"name": "ro"},
        },
        "dashboard": {"autoscaling": {"enabled": False}, "ingress": {"enabled": False}},
    },
}


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane) -> str:
    return make_namespace(control_plane, NS)


def _apply(cp: ControlPlane, objects: list[dict[str, Any]], *extra: str, check: bool = True) -> str:
    """Server-side apply ``objects`` with strict field validation; the output, or kubectl's error if not ``check``."""
    result = cp.kubectl(
        "apply",
        "--server-side",
        f"--field-manager={MANAGER}",
        "--validate=strict",
        *extra,
        "-f",
        "-",
        input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}),
        check=check,
    )
    return result.stdout + result.stderr


def _stored(cp: ControlPlane, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = {"apiVersion": c.API_VERSION, "kind": c.KIND, "metadata": {"name": name, "namespace": NS}, "spec": spec}
    _apply(cp, [body])
    return kubectl_json(cp, "get", "logpipeline", name, "-n", NS)


def test_the_upstream_crds_are_installed_with_the_versions_the_builders_use(control_plane: ControlPlane) -> None:
    for name, version in [
        ("kafkatopics.kafka.strimzi.io", "v1"),
        ("kafkausers.kafka.strimzi.io", "v1"),
        ("sparkapplications.sparkoperator.k8s.io", "v1beta2"),
    ]:
        found = kubectl_json(control_plane, "get", "crd", name)
        served = {v["name"] for v in found["spec"]["versions"] if v["served"]}
        assert version in served, (name, served)
        schema = next(v for v in found["spec"]["versions"] if v["name"] == version)["schema"]["openAPIV3Schema"]
        assert not schema["properties"]["spec"].get("x-kubernetes-preserve-unknown-fields"), name
    kinds = {(obj["apiVersion"], obj["kind"]) for obj in plan.build_children(crd.logpipeline())}
    assert ("kafka.strimzi.io/v1", "KafkaTopic") in kinds
    assert ("sparkoperator.k8s.io/v1beta2", "SparkApplication") in kinds


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_child_is_accepted_with_strict_field_validation(
    control_plane: ControlPlane, namespace: str, variant: str
) -> None:
    lp = _stored(control_plane, variant, VARIANTS[variant])
    children = plan.build_children(lp)
    out = _apply(control_plane, children, check=False)
    # kubectl prints one "<kind>[.<group>]/<name> serverside-applied" line per object it applied.
    applied = {
        (resource.split("/")[0].split(".")[0], resource.split("/")[1])
        for resource, *rest in (line.split() for line in out.splitlines())
        if rest == ["serverside-applied"]
    }
    wanted = {(obj["kind"].lower(), obj["metadata"]["name"]) for obj in children}
    assert applied == wanted, out
    for obj in children:
        stored = kubectl_json(control_plane, "get", obj["kind"].lower(), obj["metadata"]["name"], "-n", NS)
        owners = [ref["uid"] for ref in stored["metadata"]["ownerReferences"]]
        assert owners == [lp["metadata"]["uid"]], obj["metadata"]["name"]


@pytest.mark.parametrize(
    ("kind", "path"),
    [("SparkApplication", ("spec", "driver")), ("KafkaTopic", ("spec",))],
)
def test_a_field_the_upstream_schema_does_not_have_is_refused(
    control_plane: ControlPlane, namespace: str, kind: str, path: tuple[str, ...]
) -> None:
    lp = crd.logpipeline(name="refused", namespace=NS)
    obj = next(o for o in plan.build_children(lp) if o["kind"] == kind)
    obj["metadata"].pop("ownerReferences", None)
    node = obj
    for key in path:
        node = node[key]
    node["noSuchField"] = 1
    out = _apply(control_plane, [obj], "--dry-run=server", check=False)
    assert "noSuchField" in out and "unknown field" in out, out


def _spark_pods(lp: dict[str, Any]) -> list[dict[str, Any]]:
    """The pods the Spark children lead to: the spark-submit driver's own pod and its executors' (from the pod
    template the driver mounts), or those the Spark operator makes of a SparkApplication's driver and executor."""
    children = plan.build_children(lp)
    pods = []
    for obj in children:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].endswith("-spark-templates"):
            executor = json.loads(obj["data"]["executor.json"])
            executor["metadata"] = {"name": "executor"}
            executor["spec"]["containers"][0]["image"] = lp["spec"]["spark"]["image"]
            pods.append(executor)
        if obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-spark-driver"):
            spec = {k: v for k, v in obj["spec"]["template"]["spec"].items() if k != "serviceAccountName"}
            pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "driver"}, "spec": spec})
        if obj["kind"] == "SparkApplication":
            for role in ("driver", "executor"):
                part = obj["spec"][role]
                container = {"name": f"spark-kubernetes-{role}", "image": obj["spec"]["image"],
                             "securityContext": part["securityContext"]}  # fmt: skip
                pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": role},
                             "spec": {"securityContext": part["podSecurityContext"], "containers": [container]}})  # fmt: skip
    return pods


@pytest.mark.parametrize("mode", ["submit", "operator"])
def test_the_spark_pods_pass_the_api_servers_restricted_admission(
    control_plane: ControlPlane, namespace: str, mode: str
) -> None:
    """Pod Security admission of the real API server (the namespace enforces "restricted"), not the project's own
    reading of the profile; a dry run, so nothing is scheduled."""
    lp = crd.logpipeline({"spark": {"mode": mode}}, name=f"psa-{mode}", namespace=NS)
    pods = _spark_pods(lp)
    assert len(pods) == 2
    for pod in pods:
        out = control_plane.kubectl("create", "--dry-run=server", "-n", NS, "-f", "-", input_text=json.dumps(pod),
                                    check=False)  # fmt: skip
        assert out.returncode == 0, out.stderr
    unsafe = json.loads(json.dumps(pods[0]))
    unsafe["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    out = control_plane.kubectl("create", "--dry-run=server", "-n", NS, "-f", "-", input_text=json.dumps(unsafe),
                                check=False)  # fmt: skip
    assert out.returncode != 0 and "allowPrivilegeEscalation" in out.stderr, out.stderr
