"""Every child of one LogPipeline in apply order, and where each kind lives in the API (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from logpipeline_operator.builders import (
    alerting,
    anomalies,
    config,
    correction,
    dashboard,
    dynamodb,
    generator,
    hdfs,
    kafka,
    network,
    sink,
    spark,
)
from logpipeline_operator.builders.common import Body, Manifest

# (apiVersion, kind) -> plural; every kind the operator may create, so it can find and prune its children.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "ServiceAccount"): "serviceaccounts",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "rolebindings",
    ("v1", "PersistentVolumeClaim"): "persistentvolumeclaims",
    ("v1", "Service"): "services",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopics",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafkausers",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("apps/v1", "Deployment"): "deployments",
    ("sparkoperator.k8s.io/v1beta2", "SparkApplication"): "sparkapplications",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "horizontalpodautoscalers",
    ("policy/v1", "PodDisruptionBudget"): "poddisruptionbudgets",
    ("networking.k8s.io/v1", "Ingress"): "ingresses",
    ("batch/v1", "CronJob"): "cronjobs",
    ("networking.k8s.io/v1", "NetworkPolicy"): "networkpolicies",
}


def build_children(lp: Body) -> list[Manifest]:
    """All manifests for a defaulted LogPipeline: configuration first, workloads after what they need."""
    return [
        *network.build_network_policies(lp),
        config.build_config_map(lp),
        config.build_identity_config_map(lp),
        *kafka.build_kafka_topics(lp),
        *kafka.build_kafka_users(lp),
        *dynamodb.build_dynamodb(lp),
        *hdfs.build_hdfs(lp),
        *spark.build_spark(lp),
        *correction.build_correction(lp),
        sink.build_sink_deployment(lp),
        *dashboard.build_dashboard(lp),
        *alerting.build_alerting(lp),
        *anomalies.build_anomalies(lp),
        *generator.build_generator(lp),
    ]


def key(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    """(apiVersion, kind, name): how a child is identified across apply, list and prune."""
    return (str(obj["apiVersion"]), str(obj["kind"]), str(obj["metadata"]["name"]))


def resource_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    plural = KINDS[(api_version, kind)]
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}"
    return f"{path}/{name}" if name else path


def to_prune(desired: Iterable[Mapping[str, Any]], observed: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Observed children that the current spec no longer wants (e.g. the Ingress after ingress.enabled=false)."""
    wanted = {key(obj) for obj in desired}
    return [obj for obj in observed if key(obj) not in wanted]
