"""The project on a real node: containerd runs the images built from the project's Dockerfiles as real pods.

The node (:mod:`support.node`) has no way out: its guard is checked here, and a pod finds no route and no name
outside the cluster. The chart's operator runs as a real pod under Pod Security "restricted" and answers its
kubelet's liveness probe.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from logpipeline.config import Settings
from logpipeline_operator import constants
from support import charttools
from support.cluster import make_namespace
from support.node import images, kafka, network, pipeline, runner, spark
from support.node.fixtures import progress
from support.wait import wait_for

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts/logpipeline"
SYSTEM = "logpipeline-system"
PIPELINES = "pipelines"

# Run in a pod of the services image: the routes the pod has, then what connecting and resolving outside gives.
NO_WAY_OUT = """
import errno, json, socket
routes = [line.split()[1:3] for line in open("/proc/net/route").read().splitlines()[1:]]
try:
    socket.create_connection(("192.0.2.1", 9), timeout=3)
    connect = "connected"
except OSError as exc:
    connect = errno.errorcode.get(exc.errno, str(exc))
try:
    socket.gethostbyname("outside.example")
    resolve = "resolved"
except socket.gaierror as exc:
    resolve = "unresolved"
print(json.dumps({"routes": routes, "connect": connect, "resolve": resolve,
                  "api": socket.gethostbyname("kubernetes.default.svc.cluster.local")}))
"""


def _json(node: runner.Node, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(node.cp.kubectl(*args, "-o", "json").stdout)
    return data


def _pod(name: str, image: str, command: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": name, "image": image, "imagePullPolicy": "Never", "command": command}],
        },
    }


def _route_hex(address: str) -> str:
    """An IPv4 address as /proc/net/route writes it (the bytes in host order, little-endian here)."""
    return socket.inet_aton(address)[::-1].hex().upper()


def _phase(node: runner.Node, name: str, namespace: str = "default") -> str:
    phase: str = _json(node, "get", "pod", name, "-n", namespace)["status"].get("phase", "")
    return phase


def test_an_image_build_leaves_no_working_container_behind() -> None:
    """spark-app's stage that only serves ``COPY --from`` kept a working container (a whole image's layers) per
    build, until a machine's disk filled up; the build removes what it left."""
    cache = Settings().cache
    before = images.containers(cache)
    images.build(cache, images.SPARK_APP, constants.RELEASE, progress, spark.build_args(cache, progress))
    assert images.containers(cache) == before


def test_the_guard_holds_and_a_pod_has_no_way_out(real_node: runner.Node) -> None:
    assert network.missing(real_node.external) == []
    image = images.SERVICES.tag(constants.RELEASE)
    pod = _pod("no-way-out", image, ["python", "-c", NO_WAY_OUT])
    real_node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    wait_for(lambda: _phase(real_node, "no-way-out") in ("Succeeded", "Failed"), 120, "the probe pod to finish")
    assert _phase(real_node, "no-way-out") == "Succeeded"
    report = json.loads(real_node.cp.kubectl("logs", "no-way-out").stdout)
    # Little-endian hex in /proc/net/route: the only destinations are the pod subnet and the cluster's block.
    destinations = {dest for dest, _gateway in report["routes"]}
    assert destinations == {_route_hex("198.18.64.0"), _route_hex("198.18.0.0")}, report
    assert report["connect"] == "ENETUNREACH"
    assert report["resolve"] == "unresolved"
    assert report["api"] == network.API_SERVICE_IP


def test_helm_install_runs_the_operator_as_a_real_pod(real_node: runner.Node, tmp_path: Path) -> None:
    tools = charttools.ensure(Settings().cache)
    make_namespace(real_node.cp, SYSTEM)
    repository, tag = images.OPERATOR.tag(constants.RELEASE).rsplit(":", 1)
    values = ("--set", f"image.repository={repository}", "--set", f"image.tag={tag}", "--set", "image.pullPolicy=Never")
    # Every namespace; the images built here (named localhost/...) allowed besides the default ones.
    values += (
        "--set",
        "operator.clusterWide=true",
        "--set",
        "operator.allowedImages={localhost/,log-realtime-analysis/,apache/hadoop:,amazon/dynamodb-local:}",
    )
    result = charttools.helm(
        tools.helm,
        "install",
        "lp",
        str(CHART),
        "-n",
        SYSTEM,
        *values,
        "--wait",
        "--timeout=180s",
        home=tmp_path,
        kubeconfig=real_node.cp.kubeconfig,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    (pod,) = _json(real_node, "get", "pods", "-n", SYSTEM)["items"]
    name = pod["metadata"]["name"]
    status = pod["status"]
    assert status["phase"] == "Running" and status["podIP"].startswith("198.18."), status
    # The kubelet ran the image's own user (the restricted profile forbids root) and its liveness probe passes.
    assert pod["spec"]["containers"][0]["image"] == images.OPERATOR.tag(constants.RELEASE)
    healthz = ("get", "--raw", f"/api/v1/namespaces/{SYSTEM}/pods/{name}:8080/proxy/healthz")
    wait_for(lambda: real_node.cp.kubectl(*healthz, check=False).returncode == 0, 60, "the operator pod's /healthz")
    uid = real_node.cp.kubectl("exec", "-n", SYSTEM, name, "--", "id", "-u").stdout.strip()
    assert uid == "10001"
    log = real_node.cp.kubectl("logs", "-n", SYSTEM, name).stdout.splitlines()
    assert log and all(line.startswith("{") for line in log), log[:5]
    restarts = _json(real_node, "get", "pod", name, "-n", SYSTEM)["status"]["containerStatuses"][0]["restartCount"]
    assert restarts == 0


def test_the_operator_pod_keeps_the_topics_on_a_kafka_pod(real_node: runner.Node) -> None:
    """A plain KRaft broker in a pod (no Strimzi): the operator, itself a pod, creates the pipeline's topics on it
    through Kafka's Admin API, reaching it by its cluster DNS name, and reports them in the status."""
    images.load(Settings().cache, real_node.layout, [kafka.image(Settings().cache, progress)], progress)
    make_namespace(real_node.cp, PIPELINES)
    for manifest in kafka.manifests(PIPELINES, kafka.image(Settings().cache, progress)):
        real_node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    wait_for(lambda: pipeline.pod_ready(real_node, PIPELINES, "kafka-0"), 180, "the Kafka pod Ready")
    spec = {
        "image": images.SERVICES.tag(constants.RELEASE),
        "imagePullPolicy": "Never",
        "kafka": {
            "topicManagement": "operator",
            "authentication": "none",
            "bootstrapServers": kafka.bootstrap(PIPELINES),
        },
        "generator": {"enabled": False},
    }
    body = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "metadata": {"name": "real"}, "spec": spec}
    real_node.cp.kubectl("apply", "-n", PIPELINES, "-f", "-", input_text=json.dumps(body))
    # This cluster has no Spark operator (nor its CRD): the status says so and what to do instead.
    hint = "SparkApplication (sparkoperator.k8s.io/v1beta2) is not served by this cluster: install the Spark operator"
    wait_for(lambda: hint in _reconciled(real_node, PIPELINES, "real"), 120, "the not-served hint in the status")
    real_node.cp.kubectl(
        "patch", "lp", "real", "-n", PIPELINES, "--type=merge", "-p", '{"spec":{"spark":{"mode":"submit"}}}'
    )

    def reported() -> list[dict[str, Any]]:
        status = _json(real_node, "get", "logpipeline", "real", "-n", PIPELINES).get("status", {})
        entry = status.get("components", {}).get("kafka-topics", {})
        return list(status.get("topics") or []) if entry.get("ready") == "True" else []

    topics = wait_for(reported, 180, "status.topics from the Kafka pod", fail=False)
    assert topics, _diagnose(real_node, PIPELINES, "real")
    assert {t["role"] for t in topics} == {"input", "aggregates", "deadLetter", "anomalies"}
    # Created at the first reconcile (which then stopped at the SparkApplication), unchanged since.
    assert {t["name"]: t["partitions"] for t in topics} == {
        "logging_info": 3,
        "agg_logging_info": 3,
        "logging_info.dlq": 1,
        "anomalies_logging_info": 1,
    }
    assert {t["lastChange"].split(" ")[0] for t in topics} <= {"created", "unchanged"}, topics
    # No Strimzi anywhere: this cluster does not even serve the KafkaTopic kind.
    strimzi = real_node.cp.kubectl("get", "kafkatopics", "-n", PIPELINES, check=False)
    assert strimzi.returncode != 0 and 'resource type "kafkatopics"' in strimzi.stderr


def _diagnose(node: runner.Node, namespace: str, name: str) -> str:
    """The pipeline's status, its pods and the operator's last log lines, for a failure message."""
    status = _json(node, "get", "logpipeline", name, "-n", namespace).get("status", {})
    pods = node.cp.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout
    log = node.cp.kubectl("logs", "-n", SYSTEM, "deployment/lp-logpipeline", "--tail=30", check=False).stdout
    return f"status: {json.dumps(status, indent=1)}\npods:\n{pods}\noperator log:\n{log}"


def _reconciled(node: runner.Node, namespace: str, name: str) -> str:
    """The message of the pipeline's ``Reconciled`` condition ('' before there is one)."""
    status = _json(node, "get", "logpipeline", name, "-n", namespace).get("status", {})
    return next((c.get("message", "") for c in status.get("conditions") or [] if c["type"] == "Reconciled"), "")


def test_teardown_leaves_the_host_as_it_was(real_node: runner.Node) -> None:
    """Last in this module: the node comes down (the fixture's own teardown then finds nothing to do)."""
    assert runner.leftovers(real_node) != {}  # while it runs: bridges, rules, mounts, sysctls
    runner.down(real_node)
    assert runner.leftovers(real_node) == {}
    assert not real_node.root.exists()
    assert [pid for pid in Path("/proc").iterdir() if _is_node_process(pid)] == []


def _is_node_process(proc: Path) -> bool:
    try:
        argv0 = (proc / "cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return Path(argv0.decode(errors="replace")).name in ("kubelet", "kube-proxy", "containerd", "coredns", "etcd")
