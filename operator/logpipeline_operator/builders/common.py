"""Metadata, labels, owner references, security contexts and containers shared by every builder (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logpipeline_operator import constants as c

Manifest = dict[str, Any]
Body = Mapping[str, Any]

POD_SECURITY_CONTEXT: Manifest = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: Manifest = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def name_of(lp: Body) -> str:
    return str(lp["metadata"]["name"])


def namespace_of(lp: Body) -> str:
    return str(lp["metadata"].get("namespace") or "default")


def spec_of(lp: Body) -> Mapping[str, Any]:
    spec: Mapping[str, Any] = lp["spec"]
    return spec


def child_name(lp: Body, suffix: str) -> str:
    return f"{name_of(lp)}-{suffix}"


def selector_labels(lp: Body, component: str) -> dict[str, str]:
    return {c.LABEL_NAME: c.APP_NAME, c.LABEL_INSTANCE: name_of(lp), c.LABEL_COMPONENT: component}


def labels(lp: Body, component: str) -> dict[str, str]:
    return {
        **selector_labels(lp, component),
        c.LABEL_PART_OF: c.APP_NAME,
        c.LABEL_MANAGED_BY: c.MANAGED_BY,
        c.LABEL_VERSION: c.RELEASE,
    }


def owner_reference(lp: Body) -> Manifest:
    return {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "name": name_of(lp),
        "uid": str(lp["metadata"]["uid"]),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def metadata(lp: Body, name: str, component: str, extra_labels: Mapping[str, str] | None = None) -> Manifest:
    return {
        "name": name,
        "namespace": namespace_of(lp),
        "labels": {**labels(lp, component), **(extra_labels or {})},
        "ownerReferences": [owner_reference(lp)],
    }


def resources(cpu: str, memory: str, cpu_limit: str | None = None, memory_limit: str | None = None) -> Manifest:
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit or cpu, "memory": memory_limit or memory},
    }


def tcp_probe(port: int | str, delay: int = 5) -> Manifest:
    return {"tcpSocket": {"port": port}, "initialDelaySeconds": delay, "periodSeconds": 10, "failureThreshold": 6}


def url_port(url: str) -> int:
    """The TCP port of an http(s) URL: the one it names, else the scheme's."""
    authority = url.split("://", 1)[1].split("/", 1)[0]
    if ":" in authority and not authority.endswith("]"):
        return int(authority.rsplit(":", 1)[1])
    return 80 if url.startswith("http://") else 443


def http_probe(path: str, port: int | str, delay: int = 5) -> Manifest:
    return {
        "httpGet": {"path": path, "port": port},
        "initialDelaySeconds": delay,
        "periodSeconds": 10,
        "failureThreshold": 6,
    }


def container(
    name: str,
    image: str,
    pull_policy: str,
    command: list[str],
    *,
    ports: Mapping[str, int],
    res: Manifest,
    readiness: Manifest,
    liveness: Manifest,
    env: list[Manifest] | None = None,
    env_from: list[Manifest] | None = None,
    mounts: list[Manifest] | None = None,
) -> Manifest:
    out: Manifest = {
        "name": name,
        "image": image,
        "imagePullPolicy": pull_policy,
        "command": command,
        "ports": [{"name": port_name, "containerPort": port} for port_name, port in ports.items()],
        "resources": res,
        "readinessProbe": readiness,
        "livenessProbe": liveness,
        "securityContext": CONTAINER_SECURITY_CONTEXT,
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *(mounts or [])],
    }
    if env:
        out["env"] = env
    if env_from:
        out["envFrom"] = env_from
    return out


RUN_AS = POD_SECURITY_CONTEXT["runAsUser"]
# Pods of the Spark image (driver, executors, batch jobs) run as its own user, which has a passwd entry.
SPARK_POD_SECURITY_CONTEXT: Manifest = POD_SECURITY_CONTEXT | {
    "runAsUser": c.SPARK_UID,
    "runAsGroup": c.SPARK_UID,
    "fsGroup": c.SPARK_UID,
}
# Spark writes its scratch files and the image's entrypoint its passwd checks under the root file system.
SPARK_CONTAINER_SECURITY_CONTEXT: Manifest = CONTAINER_SECURITY_CONTEXT | {"readOnlyRootFilesystem": False}
IDENTITY = "identity"  # the volume of the pipeline's passwd/group ConfigMap


def identity_files() -> dict[str, str]:
    """/etc/passwd and /etc/group naming the uid the pods run as. Hadoop's login (HDFS, spark-submit, the batch
    jobs) asks the OS for the user's name and fails when the image has no entry for that uid."""
    return {
        "passwd": f"root:x:0:0:root:/root:/usr/sbin/nologin\nlogpipeline:x:{RUN_AS}:{RUN_AS}::/tmp:/usr/sbin/nologin\n",
        "group": f"root:x:0:\nlogpipeline:x:{RUN_AS}:\n",
    }


def pod_template(
    lp: Body,
    component: str,
    containers: list[Manifest],
    volumes: list[Manifest] | None = None,
    identity: bool = False,
    security: Manifest = POD_SECURITY_CONTEXT,
) -> Manifest:
    """The pod of a child; ``identity`` mounts the pipeline's passwd and group files into every container."""
    if identity:
        mounts = [
            {"name": IDENTITY, "mountPath": f"/etc/{name}", "subPath": name, "readOnly": True}
            for name in identity_files()
        ]
        containers = [{**one, "volumeMounts": [*one.get("volumeMounts", []), *mounts]} for one in containers]
        volumes = [*(volumes or []), {"name": IDENTITY, "configMap": {"name": child_name(lp, IDENTITY)}}]
    spec: Manifest = {
        "securityContext": security,
        "automountServiceAccountToken": False,
        "containers": containers,
        "volumes": [{"name": "tmp", "emptyDir": {}}, *(volumes or [])],
    }
    return {"metadata": {"labels": labels(lp, component)}, "spec": spec}


def deployment(
    lp: Body, name: str, component: str, replicas: int | None, template: Manifest, recreate: bool = False
) -> Manifest:
    spec: Manifest = {"selector": {"matchLabels": selector_labels(lp, component)}, "template": template}
    if replicas is not None:
        spec["replicas"] = replicas
    if recreate:
        spec["strategy"] = {"type": "Recreate"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata(lp, name, component), "spec": spec}


def service(
    lp: Body, name: str, component: str, ports: Mapping[str, tuple[int, int]], headless: bool = False
) -> Manifest:
    """A ClusterIP Service, or a headless one: the per-pod DNS names of a StatefulSet, published before the pods are
    Ready (a server that resolves its own name while starting, as HDFS's do, would otherwise fail to start)."""
    spec: Manifest = {
        "selector": selector_labels(lp, component),
        "ports": [
            {"name": port_name, "port": port, "targetPort": target, "protocol": "TCP"}
            for port_name, (port, target) in ports.items()
        ],
    }
    if headless:
        spec["clusterIP"] = "None"
        spec["publishNotReadyAddresses"] = True
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata(lp, name, component), "spec": spec}


def pvc(lp: Body, name: str, component: str, size: str, storage_class: str | None) -> Manifest:
    spec: Manifest = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(lp, name, component),
        "spec": spec,
    }


def service_container(
    lp: Body, name: str, command: list[str], port: int, res: Manifest, env: list[Manifest] | None = None
) -> Manifest:
    """A container of the project's services image that serves /healthz, /readyz and /metrics on ``port`` (named
    ``metrics``) and reads the pipeline's ConfigMap."""
    spec = spec_of(lp)
    return container(
        name,
        spec["image"],
        spec["imagePullPolicy"],
        command,
        ports={"metrics": port},
        res=res,
        readiness=http_probe("/readyz", "metrics"),
        liveness=http_probe("/healthz", "metrics", 15),
        env=env,
        env_from=config_env(lp),
    )


def config_env(lp: Body) -> list[Manifest]:
    """envFrom entry that loads the pipeline's ConfigMap into a container."""
    return [{"configMapRef": {"name": child_name(lp, "config")}}]


def spark_batch_cronjob(
    lp: Body,
    suffix: str,
    component: str,
    name: str,
    command: list[str],
    job: Mapping[str, Any],
    *,
    memory_mb: int,
    env: list[Manifest] | None = None,
    starting_deadline_s: int,
) -> Manifest:
    """A CronJob whose container ``name`` runs ``command`` (spark-submit in local mode) in the Spark app image: the
    correction and the anomaly training. ``job`` is its spec section: ``schedule``, ``timeoutSeconds`` and
    ``requestCores`` (its limit is 2 cores). Never two runs at once; a failed run is retried once."""
    spec = spec_of(lp)
    memory = f"{int(memory_mb * 1.5)}Mi"
    main = container(
        name, spec["spark"]["image"], spec["imagePullPolicy"], command, ports={},
        res=resources(job["requestCores"], memory, "2", memory), readiness={}, liveness={}, env=env,
        env_from=config_env(lp),
    )  # fmt: skip
    for field in ("readinessProbe", "livenessProbe", "ports"):  # a run-to-completion container serves nothing
        del main[field]
    template = pod_template(lp, component, [main], security=SPARK_POD_SECURITY_CONTEXT)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(lp, child_name(lp, suffix), component),
        "spec": {
            "schedule": job["schedule"],
            "concurrencyPolicy": "Forbid",  # a run that overruns its period delays the next, never overlaps it
            "startingDeadlineSeconds": starting_deadline_s,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 1, "activeDeadlineSeconds": job["timeoutSeconds"], "template": template}
            },
        },
    }
