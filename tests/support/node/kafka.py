"""A Kafka broker in the cluster for the real-pod tests: KRaft, one StatefulSet pod, from Apache Kafka's own jars.

Strimzi's operator cannot be had here, and many users run Kafka that Strimzi does not manage; the pipeline then keeps
its topics itself (``kafka.topicManagement: operator``). The image is the Java base plus the same Maven bundle the
local stack runs (:data:`logpipeline.stack.artifacts.KAFKA`) and a start script: it writes the broker's settings
(advertised under the pod's own DNS name through a headless Service), formats the storage once and runs the broker.
Plain listener, no authentication (``kafka.authentication: none``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logpipeline import versions
from logpipeline.stack import artifacts
from support.node import config, images

NAME = "kafka"
PORT = 9092
START = """#!/bin/sh
# Start one KRaft broker+controller: settings from the pod's name and namespace, storage formatted once.
set -eu
fqdn="$(hostname).${KAFKA_SERVICE}.${POD_NAMESPACE}.svc.cluster.local"
mkdir -p /data/kafka
cat > /tmp/server.properties <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://localhost:9093
advertised.listeners=PLAINTEXT://${fqdn}:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=/data/kafka
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
cat > /tmp/log4j2.properties <<EOF
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{ISO8601} %p [%c{1}] %m%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
EOF
jvm="-Xms128m -Xmx${KAFKA_HEAP:-384m} -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=/tmp/log4j2.properties"
if [ ! -f /data/kafka/meta.properties ]; then
  java $jvm -cp '/opt/kafka/libs/*' kafka.tools.StorageTool format -t "${KAFKA_CLUSTER_ID}" \\
    -c /tmp/server.properties --standalone --ignore-formatted
fi
exec java $jvm -cp '/opt/kafka/libs/*' kafka.Kafka /tmp/server.properties
"""


def image(cache: Path, progress: images.Progress) -> str:
    """Build (once) the broker image; its tag carries the Kafka version and a hash of the recipe."""
    base = images.java_base(cache, progress)
    libs = artifacts.resolve(cache, artifacts.KAFKA, progress)
    containerfile = (
        f"FROM {base}\n"
        "COPY libs/ /opt/kafka/libs/\n"
        "COPY start.sh /opt/kafka/start.sh\n"
        "RUN chmod 0755 /opt/kafka/start.sh\n"
        "USER 10001:10001\n"
        'ENTRYPOINT ["/opt/kafka/start.sh"]\n'
    )
    tag = f"localhost/logpipeline-node/kafka:{versions.KAFKA_VERSION}-{images.recipe_hash(containerfile, START, libs.name)}"
    return images.build_context(cache, tag, containerfile, {"libs": libs, "start.sh": START}, progress)


def manifests(namespace: str, image_tag: str) -> list[dict[str, Any]]:
    """A headless Service (the broker's per-pod name, published before it is ready) and the one-pod StatefulSet."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "logpipeline-tests"}
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": labels,
            "ports": [{"name": "kafka", "port": PORT, "targetPort": PORT}],
        },
    }
    container = {
        "name": NAME,
        "image": image_tag,
        "imagePullPolicy": "Never",
        "env": [
            {"name": "KAFKA_SERVICE", "value": NAME},
            {"name": "KAFKA_CLUSTER_ID", "value": "bG9ncGlwZWxpbmUtdGVzdA"},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        ],
        "ports": [{"name": "kafka", "containerPort": PORT}],
        "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 2},
        "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"memory": "768Mi"}},
        "securityContext": config.RESTRICTED_CONTAINER,
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
        "spec": {
            "serviceName": NAME,
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "securityContext": {"fsGroup": 10001},
                    "containers": [container],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }
    return [service, statefulset]


def bootstrap(namespace: str) -> str:
    """The broker's address for clients in the cluster."""
    return f"{NAME}-0.{NAME}.{namespace}.svc.cluster.local:{PORT}"
