"""The whole product on the real node, as its users install it: images, ``helm install``, then a LogPipeline.

:func:`images` builds every image from the project's Dockerfiles (and the harness's own servers) and loads them into
the node; :func:`install_operator` runs ``helm install`` of the chart; :func:`prepare_namespace` starts what a user
brings (a plain Kafka broker, a DynamoDB-API server, the metrics store's keys); :func:`spec` is a LogPipeline spec
that uses them and fits a 2-core node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logpipeline_operator import constants
from support import charttools
from support.cluster import make_namespace
from support.node import dynamodb, hadoop, images, ingress, kafka, runner, spark
from support.wait import wait_for

CHART = images.ROOT / "charts/logpipeline"
RELEASE = "lp"
SYSTEM = "logpipeline-system"
SECRETS = ("store-writer", "store-reader")
ADMIN_SECRET, ADMIN_PASSWORD = "dashboard-admin", "first-admin-password"  # the dashboard's first user
DASHBOARD_HOST = "logs.pipeline.test"  # the Ingress's host; Chromium maps it to the ingress controller's port


@dataclass(frozen=True)
class Images:
    operator: str
    services: str
    spark_app: str
    hadoop: str
    kafka: str
    dynamodb: str


def build_images(cache: Path, node: runner.Node, progress: images.Progress) -> Images:
    """Every image the pipeline runs, built (layers cached) and loaded into the node."""
    images.python_base(cache, progress)
    built = Images(
        operator=images.build(cache, images.OPERATOR, constants.RELEASE, progress),
        services=images.build(cache, images.SERVICES, constants.RELEASE, progress),
        spark_app=images.build(cache, images.SPARK_APP, constants.RELEASE, progress, spark.build_args(cache, progress)),
        hadoop=hadoop.image(cache, progress),
        kafka=kafka.image(cache, progress),
        dynamodb=dynamodb.image(cache, progress),
    )
    images.load(cache, node.layout, list(vars(built).values()), progress)
    return built


def install_operator(node: runner.Node, cache: Path, home: Path, operator_image: str) -> None:
    """``helm install`` of the chart, the operator watching every namespace, the images built here allowed."""
    tools = charttools.ensure(cache)
    make_namespace(node.cp, SYSTEM)
    repository, tag = operator_image.rsplit(":", 1)
    values = {
        "image.repository": repository,
        "image.tag": tag,
        "image.pullPolicy": "Never",
        "operator.clusterWide": "true",
        "operator.allowedImages": "{localhost/}",
        "operator.allowedSecrets": "{" + ",".join([*SECRETS, ADMIN_SECRET]) + "}",
    }
    args = [arg for key, value in values.items() for arg in ("--set", f"{key}={value}")]
    result = charttools.helm(
        tools.helm, "install", RELEASE, str(CHART), "-n", SYSTEM, *args, "--wait", "--timeout=180s",
        home=home, kubeconfig=node.cp.kubeconfig, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


ALERTING_API = "/api/v1/payments"


def prepare_namespace(node: runner.Node, namespace: str, built: Images) -> None:
    """What the user brings: a Kafka broker, a DynamoDB-API server, the store's keys (any value works there) and the
    dashboard's first password."""
    make_namespace(node.cp, namespace)
    for manifest in [*kafka.manifests(namespace, built.kafka), *dynamodb.manifests(namespace, built.dynamodb)]:
        node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    for name in SECRETS:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace},
            "stringData": {"AWS_ACCESS_KEY_ID": f"{name}-id", "AWS_SECRET_ACCESS_KEY": f"{name}-key"},
        }
        node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(secret))
    admin = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": ADMIN_SECRET, "namespace": namespace},
        "stringData": {"password": ADMIN_PASSWORD},
    }
    node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(admin))
    broker = f"{kafka.NAME}-0"
    wait_for(lambda: pod_ready(node, namespace, broker), 180, f"{broker} Ready")


ON_DEMAND = "0 0 1 1 *"  # a schedule a test run never meets: its CronJob runs when a test creates a Job of it


def spec(namespace: str, built: Images, events_per_second: int, spark_mode: str = "submit") -> dict[str, Any]:
    """A LogPipeline spec on the harness's Kafka and DynamoDB-API server, sized for a 2-core node; ``spark_mode``
    ``operator`` needs the Kubeflow Spark operator (:mod:`support.node.sparkoperator`)."""
    keys = {"accessKeyIdKey": "AWS_ACCESS_KEY_ID", "secretAccessKeyKey": "AWS_SECRET_ACCESS_KEY"}
    return {
        "image": built.services,
        "imagePullPolicy": "Never",
        "kafka": {
            "topicManagement": "operator",
            "authentication": "none",
            "bootstrapServers": kafka.bootstrap(namespace),
        },
        "spark": {
            "mode": spark_mode,
            "image": built.spark_app,
            "driver": {"memory": "1g", "requestCores": "250m"},
            # real-time mode, the default: a task slot per input partition (3) and per stateful stage (2), and one
            # for the route query
            "executor": {"instances": 1, "cores": 6, "memory": "1g", "requestCores": "250m"},
        },
        "metricsStore": {
            "engine": "aws",
            "endpoint": dynamodb.endpoint(namespace),
            "credentialsSecret": {"name": SECRETS[0], **keys},
            "readOnlyCredentialsSecret": {"name": SECRETS[1], **keys},
        },
        "archive": {
            "image": built.hadoop,
            "namenode": {"storage": "1Gi"},
            "datanode": {"replicas": 1, "storage": "2Gi"},
        },
        # the batch jobs run when a test starts them (kubectl create job --from=cronjob/…), asking little CPU
        "correction": {"schedule": ON_DEMAND, "settleSeconds": 90, "requestCores": "100m"},
        "anomalies": {"settleSeconds": 15, "training": {"schedule": ON_DEMAND, "days": 8, "requestCores": "100m"}},
        "dashboard": {
            "replicas": 2,
            "gunicorn": {"workers": 1, "threads": 4},
            "ingress": {"enabled": True, "host": DASHBOARD_HOST, "className": ingress.CLASS},
            "auth": {"adminPasswordSecretRef": {"name": ADMIN_SECRET, "key": "password"}},
        },
        "generator": {"enabled": True, "eventsPerSecond": events_per_second},
        "alerting": alerting(namespace),
    }


def alerting(namespace: str) -> dict[str, Any]:
    """An SLO the generator's traffic breaks (1% 5xx on payments against a 99.99% target: a burn rate of 100), paging
    by SMS through the DynamoDB-API server's SNS; and a ticket-only webhook whose signing key is a Secret's key (never
    sent here: its mount is what the pod's start proves), which anomalies notify too."""
    return {
        "enabled": True,
        "snsEndpoint": dynamodb.endpoint(namespace),
        "slos": [{"name": "payments", "objective": "availability", "target": 0.9999, "api": ALERTING_API,
                  "receivers": ["oncall", "tickets"]}],
        "receivers": [
            {"name": "oncall", "severities": ["page"], "sms": {"phoneNumbers": ["+15555550100"]}},
            {"name": "tickets", "severities": ["ticket"],
             "webhook": {"url": "http://tickets.invalid/hook", "secretRef": {"name": SECRETS[0], "key": "AWS_SECRET_ACCESS_KEY"}}},
        ],
        "anomalies": {"receivers": ["tickets"], "severity": "ticket"},
    }  # fmt: skip


def pod_ready(node: runner.Node, namespace: str, pod: str) -> bool:
    got = node.cp.kubectl("get", "pod", pod, "-n", namespace, "-o", "json", check=False)
    if got.returncode != 0:
        return False
    conditions = json.loads(got.stdout)["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
