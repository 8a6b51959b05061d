"""NetworkPolicies of one pipeline: nothing in or out of its pods but the flows the pipeline needs (pure).

A default-deny policy selects every pod of the pipeline; each further policy opens one flow, by component label
and port. Kafka is reached on the ports of ``spec.kafka.bootstrapServers`` in any namespace of the cluster; AWS
DynamoDB (engine ``aws``) and the Kubernetes API (the Spark driver starts its executors) on 443/6443 anywhere.
The alerts pods (and the anomaly scorer, when it notifies) reach their receivers (SMTP, webhooks, SNS) on those
receivers' ports anywhere.
The dashboard's http port is open to every source (an ingress controller may run in any namespace or on the
host network); metrics ports to every namespace (Prometheus). A CNI that enforces NetworkPolicies is needed for
them to take effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import (
    alerting,
    anomalies,
    correction,
    dashboard,
    dynamodb,
    generator,
    hdfs,
    sink,
    spark,
)
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, name_of, spec_of

COMPONENT = "network"
SPARK, SINK, DASHBOARD = spark.COMPONENT, sink.COMPONENT, dashboard.COMPONENT
# the dashboard reads the input for its live tail; the anomaly scorer writes the anomalies topic
KAFKA_CLIENTS = (SPARK, SINK, generator.COMPONENT, correction.COMPONENT, DASHBOARD, anomalies.COMPONENT)
ANYWHERE: list[Manifest] = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]
IN_CLUSTER: list[Manifest] = [{"namespaceSelector": {}}]
DNS: list[Manifest] = [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]


def _pods(lp: Body, *components: str) -> Manifest:
    """Pods of this pipeline: all of them, or those of ``components``."""
    selector: Manifest = {"matchLabels": {c.LABEL_INSTANCE: name_of(lp), c.LABEL_MANAGED_BY: c.MANAGED_BY}}
    if components:
        selector["matchExpressions"] = [{"key": c.LABEL_COMPONENT, "operator": "In", "values": list(components)}]
    return selector


def _ports(numbers: Iterable[int], protocol: str = "TCP") -> list[Manifest]:
    return [{"protocol": protocol, "port": n} for n in sorted(set(numbers))]


def _policy(
    lp: Body, suffix: str, selector: Manifest, ingress: list[Manifest] | None, egress: list[Manifest] | None
) -> Manifest:
    spec: Manifest = {"podSelector": selector, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(lp, child_name(lp, f"net-{suffix}"), COMPONENT),
        "spec": spec,
    }


def kafka_ports(lp: Body) -> list[int]:
    return sorted({int(address.rsplit(":", 1)[1]) for address in spec_of(lp)["kafka"]["bootstrapServers"].split(",")})


def _between(
    lp: Body, suffix: str, clients: Sequence[str], servers: Sequence[str], ports: Iterable[int]
) -> list[Manifest]:
    """``clients`` may open connections to ``servers`` on ``ports``: egress on one side, ingress on the other."""
    ports = list(ports)
    return [
        _policy(
            lp,
            f"{suffix}-out",
            _pods(lp, *clients),
            None,
            [{"to": [{"podSelector": _pods(lp, *servers)}], "ports": _ports(ports)}],
        ),
        _policy(
            lp,
            f"{suffix}-in",
            _pods(lp, *servers),
            [{"from": [{"podSelector": _pods(lp, *clients)}], "ports": _ports(ports)}],
            None,
        ),
    ]


def aws_port(endpoint: str | None) -> int:
    """The port of the metrics store's API: AWS's 443, or the one ``metricsStore.endpoint`` names (its scheme's
    default when it names none)."""
    if not endpoint:
        return 443
    authority = endpoint.split("://", 1)[1].rstrip("/")
    if ":" in authority:
        return int(authority.rsplit(":", 1)[1])
    return 80 if endpoint.startswith("http://") else 443


def build_network_policies(lp: Body) -> list[Manifest]:
    spec = spec_of(lp)
    store_clients = [SINK, DASHBOARD] + ([correction.COMPONENT] if spec["archive"]["enabled"] else [])
    store_clients += [alerting.COMPONENT] if alerting.enabled(lp) else []
    store_clients += [anomalies.COMPONENT] if anomalies.enabled(lp) else []
    spark_pods = {"podSelector": _pods(lp, SPARK)}
    metrics_ports = [contracts.SINK_HTTP_PORT, contracts.GENERATOR_HTTP_PORT, contracts.DASHBOARD_METRICS_PORT,
                     contracts.ALERTS_HTTP_PORT, contracts.ANOMALIES_HTTP_PORT]  # fmt: skip
    metrics_in = [{"from": IN_CLUSTER, "ports": _ports(metrics_ports)}]
    out = [
        _policy(lp, "default-deny", _pods(lp), [], []),
        _policy(lp, "dns", _pods(lp), None, [{"to": DNS, "ports": _ports([53]) + _ports([53], "UDP")}]),
        _policy(lp, "kafka", _pods(lp, *KAFKA_CLIENTS), None, [{"to": IN_CLUSTER, "ports": _ports(kafka_ports(lp))}]),
        # The Spark driver starts and watches its executors through the Kubernetes API.
        _policy(lp, "kube-api", _pods(lp, SPARK), None, [{"to": ANYWHERE, "ports": _ports([443, 6443])}]),
        # Driver and executors talk to each other on ports Spark chooses (shuffle, block manager, RPC).
        _policy(lp, "spark", _pods(lp, SPARK), [{"from": [spark_pods]}], [{"to": [spark_pods]}]),
        _policy(lp, "dashboard", _pods(lp, DASHBOARD), [{"ports": _ports([c.DASHBOARD_PORT])}], None),
        _policy(
            lp,
            "metrics",
            _pods(lp, SINK, generator.COMPONENT, DASHBOARD, alerting.COMPONENT, anomalies.COMPONENT),
            metrics_in,
            None,
        ),
    ]
    provider = dashboard.oidc_egress_port(lp)
    if provider is not None:  # the OpenID provider, wherever it is
        out.append(
            _policy(lp, "dashboard-sso", _pods(lp, DASHBOARD), None, [{"to": ANYWHERE, "ports": _ports([provider])}])
        )
    if alerting.enabled(lp) and alerting.egress_ports(lp):  # mail servers, webhooks and SNS, wherever they are
        out.append(_policy(lp, "alerts-out", _pods(lp, alerting.COMPONENT), None,
                           [{"to": ANYWHERE, "ports": _ports(alerting.egress_ports(lp))}]))  # fmt: skip
    if anomalies.notifies(lp) and alerting.egress_ports(lp):  # the scorer notifies through the same receivers
        out.append(_policy(lp, "anomalies-out", _pods(lp, anomalies.COMPONENT), None,
                           [{"to": ANYWHERE, "ports": _ports(alerting.egress_ports(lp))}]))  # fmt: skip
    if spec["metricsStore"]["engine"] == "aws":
        port = aws_port(spec["metricsStore"].get("endpoint"))
        out.append(_policy(lp, "aws", _pods(lp, *store_clients), None, [{"to": ANYWHERE, "ports": _ports([port])}]))
    else:
        out += _between(lp, "dynamodb", store_clients, [dynamodb.COMPONENT], [contracts.DYNAMODB_PORT])
    if spec["archive"]["enabled"]:
        hdfs_ports = [*hdfs.NAMENODE_PORTS.values(), *hdfs.DATANODE_PORTS.values()]
        servers = [hdfs.NAMENODE, hdfs.DATANODE]
        out += _between(lp, "hdfs", [SPARK, correction.COMPONENT, anomalies.TRAINING], servers, hdfs_ports)
        # The dashboard reads a minute of the raw archive through WebHDFS (NameNode, then the DataNode it names).
        webhdfs = [hdfs.NAMENODE_PORTS["http"], hdfs.DATANODE_PORTS["http"]]
        out += _between(lp, "dashboard-hdfs", [DASHBOARD], servers, webhdfs)
        if anomalies.enabled(lp):  # the scorer reads the training job's model files the same way
            out += _between(lp, "anomalies-hdfs", [anomalies.COMPONENT], servers, webhdfs)
        # NameNode and DataNodes: registration, heartbeats, block reports, replication between DataNodes.
        out += _between(lp, "hdfs-cluster", servers, servers, hdfs_ports)
    return out
