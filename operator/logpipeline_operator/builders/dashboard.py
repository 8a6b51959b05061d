"""The dashboard: gunicorn Deployment, Service, HPA (autoscaling/v2), PodDisruptionBudget and Ingress (pure)."""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "dashboard"
SERVICE_PORT = 80


def build_dashboard_deployment(lp: Body) -> Manifest:
    """With autoscaling on, replicas are left to the HPA (never fought over by server-side apply)."""
    spec = spec_of(lp)
    dash = spec["dashboard"]
    command = [
        "gunicorn",
        # JSON logs and /metrics summed over workers; the options below take precedence over its env defaults.
        "--config",
        "python:logpipeline.dashboard.gunicorn_conf",
        "--workers",
        str(dash["gunicorn"]["workers"]),
        "--threads",
        str(dash["gunicorn"]["threads"]),
        "--bind",
        f"0.0.0.0:{c.DASHBOARD_PORT}",
        "--bind",
        f"0.0.0.0:{contracts.DASHBOARD_METRICS_PORT}",
        "--worker-tmp-dir",
        "/tmp",
        c.DASHBOARD_APP,
    ]
    workers = int(dash["gunicorn"]["workers"])
    main = common.container(
        "dashboard",
        spec["image"],
        spec["imagePullPolicy"],
        command,
        ports={"http": c.DASHBOARD_PORT, "metrics": contracts.DASHBOARD_METRICS_PORT},
        res=common.resources(f"{100 * workers}m", f"{192 * workers}Mi", f"{500 * workers}m", f"{384 * workers}Mi"),
        readiness=common.http_probe("/readyz", "http"),
        liveness=common.http_probe("/healthz", "http", 15),
        env=[
            *credentials_env(lp, read_only=True),
            # /metrics only on its own port: the Service and Ingress route the http port alone.
            {"name": contracts.ENV_DASHBOARD_METRICS_PORT, "value": str(contracts.DASHBOARD_METRICS_PORT)},
        ],
        env_from=common.config_env(lp),
    )
    template = common.pod_template(lp, COMPONENT, [main])
    replicas = None if dash["autoscaling"]["enabled"] else dash["replicas"]
    return common.deployment(lp, child_name(lp, "dashboard"), COMPONENT, replicas, template)


def build_dashboard_service(lp: Body) -> Manifest:
    return common.service(lp, child_name(lp, "dashboard"), COMPONENT, {"http": (SERVICE_PORT, c.DASHBOARD_PORT)})


def build_dashboard_hpa(lp: Body) -> Manifest:
    auto = spec_of(lp)["dashboard"]["autoscaling"]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(lp, child_name(lp, "dashboard"), COMPONENT),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": child_name(lp, "dashboard")},
            "minReplicas": auto["minReplicas"],
            "maxReplicas": auto["maxReplicas"],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": auto["targetCPUUtilizationPercentage"]},
                    },
                }
            ],
        },
    }


def build_dashboard_pdb(lp: Body) -> Manifest:
    """At most one dashboard pod evicted at a time: several replicas keep serving through a node drain, and a single
    replica never blocks one (``minAvailable: 1`` would, for ever)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(lp, child_name(lp, "dashboard"), COMPONENT),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": common.selector_labels(lp, COMPONENT)}},
    }


def build_dashboard_ingress(lp: Body) -> Manifest:
    ingress = spec_of(lp)["dashboard"]["ingress"]
    backend = {"service": {"name": child_name(lp, "dashboard"), "port": {"name": "http"}}}
    spec: Manifest = {
        "ingressClassName": ingress["className"],
        "rules": [
            {
                "host": ingress["host"],
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
        ],
    }
    if ingress.get("tlsSecretName"):
        spec["tls"] = [{"hosts": [ingress["host"]], "secretName": ingress["tlsSecretName"]}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata(lp, child_name(lp, "dashboard"), COMPONENT),
        "spec": spec,
    }


def build_dashboard(lp: Body) -> list[Manifest]:
    dash = spec_of(lp)["dashboard"]
    out = [build_dashboard_deployment(lp), build_dashboard_service(lp), build_dashboard_pdb(lp)]
    if dash["autoscaling"]["enabled"]:
        out.append(build_dashboard_hpa(lp))
    if dash["ingress"]["enabled"]:
        out.append(build_dashboard_ingress(lp))
    return out
