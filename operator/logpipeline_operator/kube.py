"""The operator's few API calls: server-side apply, list a pipeline's children, delete, read (I/O)."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import urllib3
from kubernetes import client, config

from logpipeline_operator import constants as c
from logpipeline_operator.builders.plan import KINDS, resource_path

Obj = dict[str, Any]
# What to do when a kind of another operator is not served (its CRD is not installed).
NOT_SERVED_HINTS = {
    ("sparkoperator.k8s.io/v1beta2", "SparkApplication"): "install the Spark operator, or set spec.spark.mode: submit",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "install Strimzi, or set spec.kafka.topicManagement: operator",
    ("kafka.strimzi.io/v1", "KafkaUser"): "install Strimzi, or set spec.kafka.authentication: none",
}


@functools.cache
def api() -> client.ApiClient:
    """In a pod: its ServiceAccount; elsewhere: $KUBECONFIG / ~/.kube/config."""
    conf = client.Configuration()
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
    else:
        config.load_kube_config(client_configuration=conf)  # type: ignore[no-untyped-call]
    conf.connection_pool_maxsize = 32
    if not conf.verify_ssl:  # the kubeconfig itself asks for insecure-skip-tls-verify: say it once, not per call
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return client.ApiClient(conf)


class KubeError(RuntimeError):
    """An API call answered with an error status; ``message`` is the API server's own explanation."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")


def _call(
    method: str,
    path: str,
    body: str | dict[str, Any] | None = None,
    query: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> Obj:
    client_ = api()
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    _, url, headers, _, _ = client_.param_serialize(
        method, path, query_params=query or [], header_params=headers, auth_settings=["BearerToken"]
    )
    resp = client_.call_api(method, url, header_params=headers, body=body, _request_timeout=60)
    raw: bytes = resp.read() or b"{}"  # type: ignore[no-untyped-call]
    try:
        data: Obj = json.loads(raw)
    except ValueError:
        data = {"message": raw.decode(errors="replace")}
    if resp.status >= 400:
        raise KubeError(int(resp.status), str(data.get("message") or resp.reason))
    return data


def apply(obj: Mapping[str, Any], manager: str = c.FIELD_MANAGER) -> Obj:
    """Server-side apply ``obj`` as ``manager`` (the operator's field manager by default), taking over conflicting
    fields."""
    meta = obj["metadata"]
    path = resource_path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
    query = [("fieldManager", manager), ("force", "true")]
    try:
        return _call("PATCH", path, json.dumps(obj), query, "application/apply-patch+yaml")
    except KubeError as exc:
        if exc.status == 404 and (obj["apiVersion"], obj["kind"]) in NOT_SERVED_HINTS:
            hint = NOT_SERVED_HINTS[(obj["apiVersion"], obj["kind"])]
            raise KubeError(404, f"{obj['kind']} ({obj['apiVersion']}) is not served by this cluster: {hint}") from None
        raise


def apply_all(objs: Sequence[Mapping[str, Any]]) -> list[Obj]:
    """Apply several objects concurrently (each call waits on the API server, not on this process)."""
    results = list(_pool().map(apply, objs))
    return [{"apiVersion": o["apiVersion"], "kind": o["kind"], **got} for o, got in zip(objs, results, strict=True)]


def list_children(namespace: str, instance: str) -> list[Obj]:
    """Every object of a known kind labelled as this pipeline's and managed by the operator."""
    selector = f"{c.LABEL_INSTANCE}={instance},{c.LABEL_MANAGED_BY}={c.MANAGED_BY}"

    def one(kind_key: tuple[str, str]) -> list[Obj]:
        api_version, kind = kind_key
        try:
            # resourceVersion=0: served from the API server's watch cache, not a quorum read from etcd.
            query = [("labelSelector", selector), ("resourceVersion", "0")]
            listed = _call("GET", resource_path(api_version, kind, namespace), query=query)
        except KubeError as exc:
            if exc.status == 404:  # that kind's CRD is not installed
                return []
            raise
        return [{"apiVersion": api_version, "kind": kind, **item} for item in listed.get("items", [])]

    return [obj for found in _pool().map(one, KINDS) for obj in found]


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=int(os.environ.get("LOGPIPELINE_OPERATOR_APPLY_THREADS", "4")), thread_name_prefix="kube"
    )


def delete(obj: Mapping[str, Any]) -> None:
    meta = obj["metadata"]
    path = resource_path(obj["apiVersion"], obj["kind"], meta["namespace"], meta["name"])
    try:
        _call("DELETE", path, {"propagationPolicy": "Background"})
    except KubeError as exc:
        if exc.status != 404:
            raise
