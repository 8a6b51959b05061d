"""The DynamoDB-API server the real-pod tests run in the cluster: moto's standalone server in a pod.

DynamoDB Local's jar is not open source and cannot be had here; the pipeline then uses ``metricsStore.engine: aws``
with ``metricsStore.endpoint`` pointing at this server, exactly as a user points it at any DynamoDB-compatible
store. The image is the local Python base plus moto at the version the project pins (``pyproject.toml``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from support.node import config, images

NAME = "dynamodb"
PORT = 8000


def _moto_requirement() -> str:
    with (images.ROOT / "pyproject.toml").open("rb") as handle:
        dependencies: list[str] = tomllib.load(handle)["project"]["dependencies"]
    return next(dep for dep in dependencies if re.match(r"moto\b", dep))


def image(cache: Path, progress: images.Progress) -> str:
    base = images.python_base(cache, progress)
    requirement = _moto_requirement()
    containerfile = (
        f"FROM {base}\n"
        f"RUN python -m venv /opt/moto && /opt/moto/bin/pip install --no-cache-dir '{requirement}'\n"
        "USER 10001:10001\n"
        f'ENTRYPOINT ["/opt/moto/bin/moto_server", "-H", "0.0.0.0", "-p", "{PORT}"]\n'
    )
    tag = f"localhost/logpipeline-node/dynamodb-api:{images.recipe_hash(containerfile)}"
    return images.build_context(cache, tag, containerfile, {}, progress, network=True)


def manifests(namespace: str, image_tag: str) -> list[dict[str, Any]]:
    """A Deployment of one pod and its Service."""
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "logpipeline-tests"}
    container = {
        "name": NAME,
        "image": image_tag,
        "imagePullPolicy": "Never",
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {"tcpSocket": {"port": PORT}, "periodSeconds": 2},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": config.RESTRICTED_CONTAINER,
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": PORT, "targetPort": PORT}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": NAME, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
    ]


def endpoint(namespace: str) -> str:
    return f"http://{NAME}.{namespace}.svc.cluster.local:{PORT}"
