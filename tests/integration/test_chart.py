"""The Helm chart, rendered by the real helm and validated by the real kubeconform (both built from their modules).

Every values file under charts/logpipeline/ci/ is linted (--strict) and rendered; kubeconform checks each
rendered object strictly against the Kubernetes 1.36 schemas and the CRD's own schema. The rendered objects
and the builders' children also pass the Pod Security "restricted" check, the chart's RBAC holds no
wildcard, and its rules are exactly what the operator needs (derived from the builders' kinds).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from logpipeline.config import Settings
from logpipeline_operator import constants as c
from logpipeline_operator.builders import plan
from support import charttools, crd
from support.crd import CRD
from support.k8s import podsecurity, rbac

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/logpipeline"
EXAMPLE = crd.example()
VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
KUBE_VERSION = "1.36.3"
NAMESPACE = "logpipeline-system"

# The operator's rights, written out here (not derived from the chart): what kopf does with the custom resource
# (watch it, patch finalizers/annotations and status; "update" on logpipelines/finalizers, which children's
# blockOwnerDeletion needs under OwnerReferencesPermissionEnforcement), Events, and the RoleBindings it creates.
PIPELINE_NEEDS = {
    ("logpipeline.io", "logpipelines", "list"),
    ("logpipeline.io", "logpipelines", "watch"),
    ("logpipeline.io", "logpipelines", "patch"),
    ("logpipeline.io", "logpipelines/status", "patch"),
    ("logpipeline.io", "logpipelines/finalizers", "update"),
    ("", "events", "create"),
    ("rbac.authorization.k8s.io", "rolebindings", "list"),
    ("rbac.authorization.k8s.io", "rolebindings", "create"),
    ("rbac.authorization.k8s.io", "rolebindings", "patch"),
    ("rbac.authorization.k8s.io", "rolebindings", "delete"),
    ("rbac.authorization.k8s.io", "clusterroles", "bind"),
}
CHILD_VERBS = ("list", "create", "patch", "delete")
CHILD_KINDS = {
    ("", "configmaps"), ("", "services"), ("", "persistentvolumeclaims"), ("", "serviceaccounts"),
    ("apps", "deployments"), ("apps", "statefulsets"), ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"), ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies"),
    ("kafka.strimzi.io", "kafkatopics"), ("kafka.strimzi.io", "kafkausers"),
    ("sparkoperator.k8s.io", "sparkapplications"), ("batch", "cronjobs"),
}  # fmt: skip
# What a client-mode Spark driver does with its executors (Spark's Kubernetes guide): pods, their services,
# configmaps and claims.
SPARK_DRIVER_NEEDS = {
    ("", resource, verb)
    for resource in ("pods", "services", "configmaps", "persistentvolumeclaims")
    for verb in ("create", "get", "list", "watch", "delete", "deletecollection", "patch")
}
CRD_NEEDS = {("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("list", "watch")}
# Watching listed namespaces, kopf lists and watches namespaces (else it retries, then assumes they exist).
NAMESPACE_NEEDS = {("", "namespaces", v) for v in ("list", "watch")}


def _docs(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def children(**spec: Any) -> list[dict[str, Any]]:
    return plan.build_children(crd.logpipeline({**EXAMPLE["spec"], **spec}))


ALL_CHILDREN = [
    *children(),
    *children(spark={"mode": "submit"}, generator={"enabled": True}),
    *children(
        metricsStore={
            "engine": "aws",
            "credentialsSecret": {"name": "aws"},
            "readOnlyCredentialsSecret": {"name": "ro"},
        },
        archive={"enabled": False},
        spark={"checkpointRoot": "s3a://bucket/lp"},
    ),
]


@pytest.fixture(scope="module")
def tools() -> charttools.ChartTools:
    return charttools.ensure(Settings().cache)


@pytest.fixture(scope="module")
def helm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helm")


def render(tools: charttools.ChartTools, home: Path, *args: str) -> str:
    result = charttools.helm(
        tools.helm, "template", "rel", str(CHART), "-n", NAMESPACE, f"--kube-version={KUBE_VERSION}", *args, home=home
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def rendered(tools: charttools.ChartTools, helm_home: Path) -> dict[str, list[dict[str, Any]]]:
    out = {"defaults": _docs(render(tools, helm_home))}
    for path in VALUES:
        out[path.name] = _docs(render(tools, helm_home, "-f", str(path)))
    return out


@pytest.fixture(scope="module")
def schema_dir(tmp_path_factory: pytest.TempPathFactory, rendered: dict[str, list[dict[str, Any]]]) -> Path:
    kinds = {(d["kind"], d["apiVersion"]) for docs in rendered.values() for d in docs}
    kinds |= {(d["kind"], d["apiVersion"]) for d in ALL_CHILDREN}
    return charttools.write_schemas(tmp_path_factory.mktemp("schemas"), kinds, [CRD, *crd.third_party_crds()])


@pytest.mark.parametrize("values", [None, *VALUES], ids=lambda p: p.name if p else "defaults")
def test_lint_strict(tools: charttools.ChartTools, helm_home: Path, values: Path | None) -> None:
    args = ["-f", str(values)] if values else []
    result = charttools.helm(tools.helm, "lint", "--strict", str(CHART), *args, home=helm_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def _assert_valid(tools: charttools.ChartTools, schema_dir: Path, docs: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(docs)
    results = charttools.kubeconform(tools.kubeconform, text, schema_dir)
    bad = [r for r in results if r.get("status") != "statusValid"]
    assert not bad, bad
    assert len(results) == len(docs)


@pytest.mark.parametrize("name", ["defaults", *(p.name for p in VALUES)])
def test_rendered_manifests_pass_kubeconform_strict(
    tools: charttools.ChartTools, schema_dir: Path, rendered: dict[str, list[dict[str, Any]]], name: str
) -> None:
    _assert_valid(tools, schema_dir, rendered[name])


def test_builders_children_pass_kubeconform_strict(tools: charttools.ChartTools, schema_dir: Path) -> None:
    _assert_valid(tools, schema_dir, ALL_CHILDREN)


def test_kubeconform_rejects_a_spec_the_crd_forbids(tools: charttools.ChartTools, schema_dir: Path) -> None:
    bad = copy.deepcopy(EXAMPLE)
    bad["spec"]["dashboard"]["replicaz"] = 2
    bad["spec"]["spark"]["mode"] = "yarn"
    results = charttools.kubeconform(tools.kubeconform, yaml.safe_dump(bad), schema_dir)
    assert [r["status"] for r in results] == ["statusInvalid"]
    assert "replicaz" in results[0]["msg"] and "/spec/spark/mode" in results[0]["msg"]


def test_every_container_of_chart_and_builders_is_pod_security_restricted(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    objects = [d for docs in rendered.values() for d in docs] + ALL_CHILDREN
    with_pods = [d for d in objects if podsecurity.produces_pods(d)]
    assert {d["kind"] for d in with_pods} >= {"Deployment", "StatefulSet", "SparkApplication"}
    assert [v for d in with_pods for v in podsecurity.violations(d)] == []


def test_rbac_has_no_wildcards(rendered: dict[str, list[dict[str, Any]]]) -> None:
    roles = [d for docs in rendered.values() for d in docs if d["kind"] in ("ClusterRole", "Role")]
    assert roles
    assert [v for d in roles + ALL_CHILDREN for v in rbac.wildcard_violations(d)] == []


def test_child_kinds_are_those_the_builders_make() -> None:
    made = {(api_version.rsplit("/", 1)[0] if "/" in api_version else "", plural)
            for (api_version, _kind), plural in plan.KINDS.items()}  # fmt: skip
    assert made == CHILD_KINDS | {("rbac.authorization.k8s.io", "rolebindings")}


@pytest.mark.parametrize("name", ["defaults", "one-namespace-values.yaml", "all-namespaces-values.yaml"])
def test_rbac_rules_are_exactly_what_the_operator_uses(rendered: dict[str, list[dict[str, Any]]], name: str) -> None:
    roles = {d["metadata"]["name"]: d for d in rendered[name] if d["kind"] in ("ClusterRole", "Role")}
    assert set(roles) == {"rel-logpipeline", "rel-logpipeline-children", "rel-logpipeline-discovery",
                          "logpipeline-spark-driver"}  # fmt: skip
    assert rbac.granted(roles["rel-logpipeline"]["rules"]) == PIPELINE_NEEDS
    (bind,) = [rule for rule in roles["rel-logpipeline"]["rules"] if rule["verbs"] == ["bind"]]
    cluster_wide = name == "all-namespaces-values.yaml"
    assert bind["resourceNames"] == [
        "logpipeline-spark-driver",
        *(["rel-logpipeline-children"] if cluster_wide else []),
    ]
    children = {(group, resource, verb) for group, resource in CHILD_KINDS for verb in CHILD_VERBS}
    assert rbac.granted(roles["rel-logpipeline-children"]["rules"]) == children
    assert rbac.granted(roles["logpipeline-spark-driver"]["rules"]) == SPARK_DRIVER_NEEDS
    scan = CRD_NEEDS if cluster_wide else CRD_NEEDS | NAMESPACE_NEEDS
    assert rbac.granted(roles["rel-logpipeline-discovery"]["rules"]) == scan
    # No rights over pods or roles for the operator, nor over Secrets for anyone.
    operator_rules = roles["rel-logpipeline"]["rules"] + roles["rel-logpipeline-children"]["rules"]
    assert not any(rbac.allows(operator_rules, "", "pods", verb) for verb in ("create", "get", "list"))
    assert not any(rbac.allows(operator_rules, "rbac.authorization.k8s.io", "roles", v) for v in ("create", "patch"))
    assert not any(rbac.allows(r["rules"], "", "secrets", "get") for r in roles.values())


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


def _bindings(docs: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """(kind/namespace/name) of each binding -> (roleRef kind, roleRef name)."""
    return {
        f"{d['kind']}/{d['metadata'].get('namespace', '')}/{d['metadata']['name']}": (
            d["roleRef"]["kind"],
            d["roleRef"]["name"],
        )
        for d in docs
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
    }


def test_namespaces_get_bindings_and_every_namespace_is_opt_in(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for name, namespace in (("defaults", NAMESPACE), ("one-namespace-values.yaml", "pipelines")):
        assert _bindings(rendered[name]) == {
            "ClusterRoleBinding//rel-logpipeline-discovery": ("ClusterRole", "rel-logpipeline-discovery"),
            f"RoleBinding/{namespace}/rel-logpipeline": ("ClusterRole", "rel-logpipeline"),
            f"RoleBinding/{namespace}/rel-logpipeline-children": ("ClusterRole", "rel-logpipeline-children"),
        }, name
        container = _by_kind(rendered[name])["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
        assert f"--namespace={namespace}" in container["args"] and "--all-namespaces" not in container["args"]
        assert not any(e["name"] == "LOGPIPELINE_OPERATOR_CHILDREN_CLUSTERROLE" for e in container["env"])
    every = rendered["all-namespaces-values.yaml"]
    # Every namespace: the pipeline rules cluster-wide, the children's rights bound by the operator where needed.
    assert _bindings(every) == {
        "ClusterRoleBinding//rel-logpipeline-discovery": ("ClusterRole", "rel-logpipeline-discovery"),
        "ClusterRoleBinding//rel-logpipeline": ("ClusterRole", "rel-logpipeline"),
    }
    container = _by_kind(every)["Deployment"][0]["spec"]["template"]["spec"]["containers"][0]
    assert "--all-namespaces" in container["args"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["LOGPIPELINE_OPERATOR_CHILDREN_CLUSTERROLE"] == "rel-logpipeline-children"
    assert env["LOGPIPELINE_OPERATOR_SERVICE_ACCOUNT"] == f"{NAMESPACE}/rel-logpipeline"
    (sample,) = _by_kind(rendered["one-namespace-values.yaml"])["LogPipeline"]
    assert sample["metadata"] == {**sample["metadata"], "name": "demo", "namespace": "pipelines"}


def test_operator_deployment_shape(rendered: dict[str, list[dict[str, Any]]]) -> None:
    (deploy,) = _by_kind(rendered["defaults"])["Deployment"]
    spec = deploy["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "rel-logpipeline"
    (container,) = pod["containers"]
    assert container["image"] == c.OPERATOR_IMAGE
    assert container["command"] == ["python", "-m", "logpipeline_operator"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["ports"] == [{"name": "health", "containerPort": 8080, "protocol": "TCP"}]
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert set(container["resources"]) == {"requests", "limits"}
    # By default the operator's own allow-list of images, and no Secret; every variable set is one the operator reads.
    assert container["env"] == [{"name": "LOGPIPELINE_OPERATOR_ALLOWED_SECRETS", "value": ""}]
    assert f"--namespace={NAMESPACE}" in container["args"]  # the release's own namespace by default


def test_custom_values_reach_the_objects(rendered: dict[str, list[dict[str, Any]]]) -> None:
    kinds = _by_kind(rendered["custom-values.yaml"])
    (deploy,) = kinds["Deployment"]
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deploy["metadata"]["name"] == "logs-operator"
    assert container["image"] == "team/logpipeline-operator:0.1.0-rc1"
    assert container["imagePullPolicy"] == "Always"
    assert "--liveness=http://0.0.0.0:9090/healthz" in container["args"] and "--verbose" in container["args"]
    assert {"name": "LOGPIPELINE_OPERATOR_RESYNC_SECONDS", "value": "60"} in container["env"]
    allowed = {"name": "LOGPIPELINE_OPERATOR_ALLOWED_IMAGES", "value": "registry.example.com/logs/,apache/hadoop:"}
    assert allowed in container["env"]
    assert {"name": "LOGPIPELINE_OPERATOR_ALLOWED_SECRETS", "value": "aws-keys,dashboard-tls"} in container["env"]
    assert pod["serviceAccountName"] == "logs-operator-sa"
    assert kinds["ServiceAccount"][0]["metadata"]["name"] == "logs-operator-sa"
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"} and pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert deploy["spec"]["template"]["metadata"]["labels"]["team"] == "observability"
    norbac = _by_kind(rendered["no-rbac-values.yaml"])
    assert set(norbac) == {"Deployment"}
    assert norbac["Deployment"][0]["spec"]["template"]["spec"]["serviceAccountName"] == "logpipeline-operator"


def test_every_object_carries_the_recommended_labels(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for docs in rendered.values():
        for d in docs:
            labels = d["metadata"]["labels"]
            assert labels["app.kubernetes.io/managed-by"] == "Helm"
            assert labels["helm.sh/chart"] == "logpipeline-0.1.0"
            if d["kind"] != "LogPipeline":
                assert labels["app.kubernetes.io/instance"] in ("rel",)
                assert labels["app.kubernetes.io/name"] == "logpipeline"
                assert labels["app.kubernetes.io/version"] == "0.1.0"


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("operator.healthPort=80", "healthPort"),
        ("securityContext.allowPrivilegeEscalation=true", "allowPrivilegeEscalation"),
        ("podSecurityContext.runAsNonRoot=false", "runAsNonRoot"),
        ("operator.watchNamespaces={Not_A_Namespace}", "watchNamespaces"),
        ("image.pullPolicy=Sometimes", "pullPolicy"),
        ("operatorr.verbose=true", "operatorr"),
    ],
)
def test_values_schema_refuses_bad_values(
    tools: charttools.ChartTools, helm_home: Path, setting: str, field: str
) -> None:
    result = charttools.helm(tools.helm, "template", "rel", str(CHART), "--set", setting, home=helm_home)
    assert result.returncode != 0
    assert field in result.stderr


def test_a_sample_outside_the_watched_namespace_is_refused(tools: charttools.ChartTools, helm_home: Path) -> None:
    args = ["--set", "operator.watchNamespaces={pipelines}", "--set", "sample.enabled=true"]
    result = charttools.helm(tools.helm, "template", "rel", str(CHART), "-n", NAMESPACE, *args, home=helm_home)
    assert result.returncode != 0
    assert 'sample.namespace "logpipeline-system" is not a watched namespace (pipelines)' in result.stderr
