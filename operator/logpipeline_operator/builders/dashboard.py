"""The dashboard: gunicorn Deployment, Service, HPA (autoscaling/v2), PodDisruptionBudget and Ingress (pure)."""

from __future__ import annotations

import json

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "dashboard"
SERVICE_PORT = 80
AUTH_DIR = "/etc/logpipeline/dashboard"
# secret reference in spec.dashboard.auth -> (file under AUTH_DIR, the variable that names it)
AUTH_FILES = {
    "sessionKeySecretRef": ("session-key", contracts.ENV_DASHBOARD_SESSION_KEY_FILE),
    "adminPasswordSecretRef": ("admin-password", contracts.ENV_DASHBOARD_ADMIN_PASSWORD_FILE),
}
OIDC_SECRET = ("oidc-client-secret", contracts.ENV_DASHBOARD_OIDC_CLIENT_SECRET_FILE)


def secret_refs(lp: Body) -> dict[str, tuple[Manifest, str, str]]:
    """Field path under spec.dashboard.auth -> (the Secret reference, its file under AUTH_DIR, the variable)."""
    auth = spec_of(lp)["dashboard"].get("auth") or {}
    refs = {ref: (auth[ref], path, var) for ref, (path, var) in AUTH_FILES.items() if auth.get(ref)}
    if auth.get("oidc"):
        refs["oidc.clientSecretRef"] = (auth["oidc"]["clientSecretRef"], *OIDC_SECRET)
    return refs


def oidc_egress_port(lp: Body) -> int | None:
    """The port the dashboard reaches its OpenID provider on (discovery, keys, tokens), if one is set."""
    provider = (spec_of(lp)["dashboard"].get("auth") or {}).get("oidc")
    if not provider:
        return None
    return common.url_port(provider["issuer"])


def auth_env_and_volume(lp: Body) -> tuple[list[Manifest], list[Manifest]]:
    """Sign-in settings: the session length, the OpenID provider, and each referenced Secret key as a file of one
    projected volume."""
    auth = spec_of(lp)["dashboard"].get("auth") or {}
    env = [{"name": contracts.ENV_DASHBOARD_SESSION_SECONDS, "value": str(3600 * int(auth.get("sessionHours", 12)))}]
    sources = []
    for secret, path, variable in secret_refs(lp).values():
        env.append({"name": variable, "value": f"{AUTH_DIR}/{path}"})
        sources.append({"secret": {"name": secret["name"], "items": [{"key": secret["key"], "path": path}]}})
    provider = auth.get("oidc")
    if provider:
        env += [
            {"name": contracts.ENV_DASHBOARD_OIDC_ISSUER, "value": provider["issuer"]},
            {"name": contracts.ENV_DASHBOARD_OIDC_CLIENT_ID, "value": provider["clientId"]},
            {"name": contracts.ENV_DASHBOARD_OIDC_ROLES, "value": json.dumps(provider.get("roles", {"viewer": ["*"]}))},
            {"name": contracts.ENV_DASHBOARD_OIDC_GROUPS_CLAIM, "value": provider.get("groupsClaim", "groups")},
            {"name": contracts.ENV_DASHBOARD_OIDC_LABEL, "value": provider.get("label", "single sign-on")},
        ]
    volumes = [{"name": "auth", "projected": {"sources": sources}}] if sources else []
    return env, volumes


def regions_env(dashboard: Body) -> list[dict[str, str]]:
    """The regional pipelines the global view merges (unset: the pipeline's own region, if any) and the stale age."""
    env = [{"name": contracts.ENV_DASHBOARD_STALE_SECONDS, "value": str(dashboard.get("staleSeconds", 300))}]
    if dashboard.get("regions"):
        env.append({"name": contracts.ENV_DASHBOARD_REGIONS, "value": ",".join(dashboard["regions"])})
    return env


def build_dashboard_deployment(lp: Body) -> Manifest:
    """With autoscaling on, replicas are left to the HPA (never fought over by server-side apply)."""
    spec = spec_of(lp)
    dash = spec["dashboard"]
    live = dash.get("liveTail") or {"perWorker": contracts.DASHBOARD_LIVE_TAILS,
                                     "linesPerSecond": contracts.DASHBOARD_LIVE_LINES_PER_SECOND}  # fmt: skip
    command = [
        "gunicorn",
        # JSON logs and /metrics summed over workers; the options below take precedence over its env defaults.
        "--config",
        "python:logpipeline.dashboard.gunicorn_conf",
        "--workers",
        str(dash["gunicorn"]["workers"]),
        "--threads",  # a thread for each live tail a worker may serve, besides those for pages and callbacks
        str(dash["gunicorn"]["threads"] + live["perWorker"]),
        "--bind",
        f"0.0.0.0:{c.DASHBOARD_PORT}",
        "--bind",
        f"0.0.0.0:{contracts.DASHBOARD_METRICS_PORT}",
        "--worker-tmp-dir",
        "/tmp",
        c.DASHBOARD_APP,
    ]
    workers = int(dash["gunicorn"]["workers"])
    auth_env, auth_volumes = auth_env_and_volume(lp)
    main = common.container(
        "dashboard",
        spec["image"],
        spec["imagePullPolicy"],
        command,
        ports={"http": c.DASHBOARD_PORT, "metrics": contracts.DASHBOARD_METRICS_PORT},
        res=common.resources(f"{100 * workers}m", f"{192 * workers}Mi", f"{500 * workers}m", f"{384 * workers}Mi"),
        # /healthz, /readyz and /metrics only on their own port: the Service and Ingress route the http port alone.
        readiness=common.http_probe("/readyz", "metrics"),
        liveness=common.http_probe("/healthz", "metrics", 15),
        env=[
            *credentials_env(lp, read_only=True),
            {"name": contracts.ENV_DASHBOARD_METRICS_PORT, "value": str(contracts.DASHBOARD_METRICS_PORT)},
            {"name": contracts.ENV_DASHBOARD_LIVE_TAILS, "value": str(live["perWorker"])},
            {"name": contracts.ENV_DASHBOARD_LIVE_LINES_PER_SECOND, "value": str(live["linesPerSecond"])},
            # the live tail reads the input as the dashboard's own user; the pages serve before its Secret exists
            *kafka.client_env(lp, COMPONENT, optional=True),
            *auth_env,
            *regions_env(spec_of(lp)["dashboard"]),
        ],
        env_from=common.config_env(lp),
        mounts=[{"name": "auth", "mountPath": AUTH_DIR, "readOnly": True}] if auth_volumes else None,
    )
    template = common.pod_template(lp, COMPONENT, [main], volumes=auth_volumes)
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
