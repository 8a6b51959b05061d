"""A pipeline's NetworkPolicies let through exactly the flows it needs (evaluated with Kubernetes' semantics)."""

from __future__ import annotations

from typing import Any

import pytest

from logpipeline import contracts
from logpipeline_operator.builders import config, network, plan, sink
from support import crd
from support.k8s.netpol import Endpoint, connects

NS = "ns1"


def pod(component: str, instance: str = "lp1", namespace: str = NS) -> Endpoint:
    labels = {"app.kubernetes.io/instance": instance, "app.kubernetes.io/managed-by": "logpipeline-operator",
              "app.kubernetes.io/component": component}  # fmt: skip
    return Endpoint(namespace, labels, {"kubernetes.io/metadata.name": namespace})


KAFKA = Endpoint("kafka", {"strimzi.io/name": "logpipeline-kafka-kafka"}, {"kubernetes.io/metadata.name": "kafka"})
DNS = Endpoint("kube-system", {"k8s-app": "kube-dns"}, {"kubernetes.io/metadata.name": "kube-system"})
INTERNET = Endpoint(external=True)
PROMETHEUS = Endpoint("monitoring", {"app": "prometheus"}, {"kubernetes.io/metadata.name": "monitoring"})
INGRESS_CONTROLLER = Endpoint(
    "ingress-nginx", {"app": "ingress-nginx"}, {"kubernetes.io/metadata.name": "ingress-nginx"}
)


def policies(**spec: Any) -> list[dict[str, Any]]:
    return network.build_network_policies(crd.logpipeline(spec))


ALLOWED = [
    ("spark", KAFKA, 9094), ("sink", KAFKA, 9094), ("generator", KAFKA, 9094), ("correction", KAFKA, 9094),
    ("sink", pod("dynamodb"), 8000), ("dashboard", pod("dynamodb"), 8000), ("correction", pod("dynamodb"), 8000),
    ("spark", pod("hdfs-namenode"), 8020), ("spark", pod("hdfs-datanode"), 9866),
    ("correction", pod("hdfs-namenode"), 8020), ("hdfs-datanode", pod("hdfs-namenode"), 8020),
    ("spark", pod("spark"), 41234), ("spark", INTERNET, 443), ("sink", DNS, 53),
    # the live tail reads the input; "logs of this minute" reads the archive through WebHDFS
    ("dashboard", KAFKA, 9094), ("dashboard", pod("hdfs-namenode"), 9870), ("dashboard", pod("hdfs-datanode"), 9864),
]  # fmt: skip
REFUSED = [
    ("dashboard", pod("hdfs-namenode"), 8020), ("dynamodb", KAFKA, 9094), ("sink", KAFKA, 9092),
    ("sink", pod("hdfs-namenode"), 8020), ("dashboard", KAFKA, 9092),
    ("dashboard", pod("hdfs-datanode"), 9866), ("generator", pod("dynamodb"), 8000), ("sink", INTERNET, 443),
    ("dashboard", INTERNET, 80), ("sink", pod("spark"), 7078), ("dynamodb", pod("sink"), 9108),
    ("spark", KAFKA, 22), ("hdfs-namenode", INTERNET, 443), ("sink", pod("dynamodb", instance="other"), 8000),
]  # fmt: skip


@pytest.mark.parametrize(("component", "dst", "port"), ALLOWED)
def test_the_flows_the_pipeline_needs_pass(component: str, dst: Endpoint, port: int) -> None:
    assert connects(policies(), pod(component), dst, port)


@pytest.mark.parametrize(("component", "dst", "port"), REFUSED)
def test_everything_else_is_refused(component: str, dst: Endpoint, port: int) -> None:
    assert not connects(policies(), pod(component), dst, port)


def test_who_may_reach_the_pipeline_from_outside() -> None:
    rules = policies()
    assert connects(rules, INGRESS_CONTROLLER, pod("dashboard"), 8050)
    assert connects(rules, INTERNET, pod("dashboard"), 8050)  # an ingress controller on the host network
    assert not connects(rules, INTERNET, pod("dashboard"), 9112)  # metrics: from inside the cluster only
    assert connects(rules, PROMETHEUS, pod("dashboard"), 9112) and connects(rules, PROMETHEUS, pod("sink"), 9108)
    assert not connects(rules, INTERNET, pod("sink"), 9108)
    for component, port in (("dynamodb", 8000), ("hdfs-namenode", 8020), ("spark", 7078)):
        assert not connects(rules, KAFKA, pod(component), port), component


def test_aws_store_and_no_archive() -> None:
    rules = policies(archive={"enabled": False}, spark={"checkpointRoot": "s3a://b/p"},
                     metricsStore={"engine": "aws", "credentialsSecret": {"name": "aws"}})  # fmt: skip
    assert connects(rules, pod("sink"), INTERNET, 443) and connects(rules, pod("dashboard"), INTERNET, 443)
    assert not connects(rules, pod("generator"), INTERNET, 443)
    assert not any(p["metadata"]["name"].startswith("lp1-net-hdfs") for p in rules)
    assert not any(p["metadata"]["name"].startswith("lp1-net-dynamodb") for p in rules)


def test_an_aws_compatible_endpoint_opens_its_own_port_instead_of_443() -> None:
    store = {"engine": "aws", "credentialsSecret": {"name": "aws"}, "endpoint": "http://dynamo.store:8000"}
    rules = policies(metricsStore=store)
    assert connects(rules, pod("sink"), INTERNET, 8000) and not connects(rules, pod("sink"), INTERNET, 443)
    assert (network.aws_port(None), network.aws_port("http://h"), network.aws_port("https://h/")) == (443, 80, 443)
    lp = crd.logpipeline({"metricsStore": store})
    assert config.endpoints(lp)[contracts.ENV_DYNAMODB_ENDPOINT] == "http://dynamo.store:8000"
    command = sink.build_sink_deployment(lp)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "--aws" not in command  # the sink uses the configured endpoint, not AWS's
    aws = crd.logpipeline({"metricsStore": {k: v for k, v in store.items() if k != "endpoint"}})
    assert "--aws" in sink.build_sink_deployment(aws)["spec"]["template"]["spec"]["containers"][0]["command"]


def test_kafka_ports_follow_the_bootstrap_servers() -> None:
    rules = policies(kafka={"bootstrapServers": "a.kafka:9093,b.kafka:9094"})
    assert connects(rules, pod("sink"), KAFKA, 9094) and not connects(rules, pod("sink"), KAFKA, 9092)


def test_every_pod_of_the_pipeline_is_selected_by_the_default_deny() -> None:
    lp = crd.logpipeline({"spark": {"mode": "submit"}, "generator": {"enabled": True}})
    (deny,) = [p for p in network.build_network_policies(lp) if p["metadata"]["name"] == "lp1-net-default-deny"]
    assert deny["spec"] == {**deny["spec"], "ingress": [], "egress": [], "policyTypes": ["Ingress", "Egress"]}
    from support.k8s.netpol import selects

    for child in plan.build_children(lp):
        template = (child.get("spec") or {}).get("template") or (
            ((child.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get("template")
        )
        if template:
            assert selects(deny["spec"]["podSelector"], template["metadata"]["labels"]), child["metadata"]["name"]
