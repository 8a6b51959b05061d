"""The Kubeflow Spark operator on the node, as its users install it: its binary, its image and its own Helm chart.

- The binary is built from the operator's Go module at the version whose SparkApplication CRD the tests already use
  (:mod:`support.upstream`), with its go.mod's ``replace`` lines (a wrapper module does not inherit them).
- Its image follows the operator's own Dockerfile on the local Spark base: the binary, ``tini`` and the module's
  ``entrypoint.sh`` on top of Spark (the controller runs ``spark-submit`` to start each driver).
- :func:`install` runs ``helm install`` of the chart shipped in the module (controller and webhook, one pod each),
  watching the given namespaces.
"""

from __future__ import annotations

import json
from pathlib import Path

from support import charttools, gobuild, upstream
from support.node import images, runner, spark
from support.wait import wait_for

RELEASE = "spark-operator"
NAMESPACE = "spark-operator"
CHART = "charts/spark-operator-chart"
# The Kubernetes modules the operator's go.mod pins with replace lines, all to one release.
KUBERNETES_REPLACED = (
    "api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime", "client-go", "cloud-provider",
    "cluster-bootstrap", "code-generator", "component-base", "component-helpers", "controller-manager", "cri-api",
    "csi-translation-lib", "kube-aggregator", "kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl",
    "kubelet", "metrics", "mount-utils", "sample-apiserver", "sample-cli-plugin", "sample-controller",
)  # fmt: skip
KUBERNETES_RELEASE = "v0.32.5"


def tool() -> gobuild.GoTool:
    module = upstream.SPARK_OPERATOR_MODULE
    return gobuild.GoTool(
        name="spark-operator",
        module=module,
        version=upstream.SPARK_OPERATOR_VERSION,
        package=f"{module}/cmd/operator",
        replace=tuple((f"k8s.io/{name}", f"k8s.io/{name} {KUBERNETES_RELEASE}") for name in KUBERNETES_REPLACED),
        ldflags=f"-s -w -X k8s.io/component-base/version.gitVersion={upstream.SPARK_OPERATOR_VERSION}",
    )


def image(cache: Path, progress: images.Progress) -> str:
    """The operator's image as its Dockerfile makes it, on the local Spark base (the chart's image repository)."""
    binary = gobuild.build(cache, tool(), progress)
    source = upstream.spark_operator_source(cache)
    base = spark.spark_base(cache, progress)
    containerfile = (
        f"FROM {base}\n"
        "USER root\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*\n"
        "RUN mkdir -p /etc/k8s-webhook-server/serving-certs /home/spark"
        " && chmod -R g+rw /etc/k8s-webhook-server/serving-certs"
        " && chown -R spark /etc/k8s-webhook-server/serving-certs /home/spark\n"
        "USER 185:185\n"
        "COPY spark-operator /usr/bin/spark-operator\n"
        "COPY --chmod=0755 entrypoint.sh /usr/bin/\n"  # the module cache keeps files read-only
        'ENTRYPOINT ["/usr/bin/entrypoint.sh"]\n'
    )
    recipe = images.recipe_hash(containerfile, tool().key)
    tag = f"localhost/logpipeline-bases/spark-operator:{upstream.SPARK_OPERATOR_VERSION.lstrip('v')}-{recipe}"
    files: dict[str, Path | str] = {"spark-operator": binary, "entrypoint.sh": source / "entrypoint.sh"}
    return images.build_context(cache, tag, containerfile, files, progress, network=True)


def install(node: runner.Node, cache: Path, home: Path, operator_image: str, namespaces: list[str]) -> None:
    """``helm install`` of the operator's own chart: controller and webhook, Spark jobs in ``namespaces``."""
    tools = charttools.ensure(cache)
    repository, tag = operator_image.rsplit(":", 1)
    registry, repository = repository.split("/", 1)
    values = {
        "image.registry": registry,
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "spark.jobNamespaces": "{" + ",".join(namespaces) + "}",
    }
    args = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    chart = upstream.spark_operator_source(cache) / CHART
    result = charttools.helm(
        tools.helm, "install", RELEASE, str(chart), "-n", NAMESPACE, "--create-namespace", *args,
        "--wait", "--timeout=180s", home=home, kubeconfig=node.cp.kubeconfig, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + _diagnose(node)


def webhook_ready(node: runner.Node) -> bool:
    """The webhook has written its serving certificate into its configurations (its pods may be Ready before)."""
    got = node.cp.kubectl("get", "mutatingwebhookconfigurations", "-o", "json", check=False)
    if got.returncode != 0:
        return False
    hooks = [
        hook
        for item in json.loads(got.stdout)["items"]
        if item["metadata"]["name"].startswith(RELEASE)
        for hook in item.get("webhooks", [])
    ]
    return bool(hooks) and all(hook["clientConfig"].get("caBundle") for hook in hooks)


def wait_ready(node: runner.Node) -> None:
    wait_for(lambda: webhook_ready(node), 120, "the Spark operator's webhook has its certificate")


def _diagnose(node: runner.Node) -> str:
    pods = node.cp.kubectl("get", "pods", "-n", NAMESPACE, "-o", "name", check=False).stdout.split()
    text = node.cp.kubectl("get", "pods", "-n", NAMESPACE, "-o", "wide", check=False).stdout
    for pod in pods:
        for previous in ("--previous=false", "--previous=true"):
            logs = node.cp.kubectl("logs", "-n", NAMESPACE, pod, "--tail=30", previous, check=False)
            text += f"\n--- {pod} {previous}\n{logs.stdout}{logs.stderr}"
    return text
