"""The alerts service of ``spec.alerting``: a ConfigMap holding its SLO definition and a Deployment running
``logpipeline alerts run`` (pure).

The definition is the document ``logpipeline alerts`` reads locally (JSON, which is YAML), made from the spec. A
receiver's secret references (``usernameSecretRef``, ``passwordSecretRef``, ``caSecretRef``, ``secretRef``: a
Secret of the pipeline's namespace and a key) become files of a projected volume under ``SECRETS_DIR``, and the
definition names those files, so no credential is ever in the spec, the ConfigMap or the environment. A change of
the definition rolls the pods (a checksum annotation); replicas share the alert state through the metrics store.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "alerts"
METRICS_PORT = contracts.ALERTS_HTTP_PORT
CONFIG_DIR = "/etc/logpipeline/alerting"
SECRETS_DIR = f"{CONFIG_DIR}/secrets"
FILE = "alerting.yaml"
# secret reference in the spec -> the file field of the definition
REFS = {"usernameSecretRef": "usernameFile", "passwordSecretRef": "passwordFile", "caSecretRef": "caFile",
        "secretRef": "secretFile"}  # fmt: skip
KINDS = ("email", "sms", "webhook")


def enabled(lp: Body) -> bool:
    return bool(spec_of(lp)["alerting"]["enabled"])


def dashboard_url(lp: Body) -> str:
    """Where messages link to: ``alerting.dashboardUrl``, else the dashboard's Ingress host, else its Service."""
    spec = spec_of(lp)
    given = spec["alerting"].get("dashboardUrl")
    if given:
        return str(given)
    ingress = spec["dashboard"]["ingress"]
    if ingress["enabled"]:
        return f"{'https' if ingress.get('tlsSecretName') else 'http'}://{ingress['host']}"
    return f"http://{child_name(lp, 'dashboard')}:{c.DASHBOARD_PORT}"


def _file(receiver: str, field: str) -> str:
    return f"{SECRETS_DIR}/{receiver}/{field}"


def definition(lp: Body) -> dict[str, Any]:
    """The alerting document of the spec, secret references replaced by the files they are mounted as."""
    alerting = spec_of(lp)["alerting"]
    receivers = []
    for receiver in alerting.get("receivers", []):
        out: dict[str, Any] = {k: v for k, v in receiver.items() if k not in KINDS}
        for kind in KINDS:
            if kind in receiver:
                body = {k: v for k, v in receiver[kind].items() if k not in REFS}
                body.update({REFS[k]: _file(receiver["name"], REFS[k]) for k in REFS if k in receiver[kind]})
                out[kind] = body
        receivers.append(out)
    out = {
        "dashboardUrl": dashboard_url(lp),
        "repeatInterval": alerting["repeatInterval"],
        "slos": list(alerting.get("slos", [])),
        "receivers": receivers,
    }
    if alerting.get("anomalies"):  # who hears of anomalies (the anomaly scorer reads this section)
        out["anomalies"] = dict(alerting["anomalies"])
    return out


def secret_sources(lp: Body) -> list[Manifest]:
    """Projected-volume sources: each referenced Secret key at ``SECRETS_DIR/<receiver>/<file field>``."""
    sources = []
    for receiver in spec_of(lp)["alerting"].get("receivers", []):
        for kind in KINDS:
            for ref, field in REFS.items():
                secret = receiver.get(kind, {}).get(ref)
                if secret:
                    path = _file(receiver["name"], field).removeprefix(SECRETS_DIR + "/")
                    sources.append(
                        {"secret": {"name": secret["name"], "items": [{"key": secret["key"], "path": path}]}}
                    )
    return sources


def build_alerting_config_map(lp: Body) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, "alerting"), COMPONENT),
        "data": {FILE: json.dumps(definition(lp), indent=2, sort_keys=True) + "\n"},
    }


def build_alerts_deployment(lp: Body) -> Manifest:
    spec = spec_of(lp)
    alerting = spec["alerting"]
    command = [
        "logpipeline", "alerts", "run", "--file", f"{CONFIG_DIR}/{FILE}",
        "--http-host", "0.0.0.0", "--http-port", str(METRICS_PORT),
    ]  # fmt: skip
    if spec["metricsStore"]["engine"] == "aws" and not spec["metricsStore"].get("endpoint"):
        command.append("--aws")
    env = list(credentials_env(lp))
    if alerting.get("snsEndpoint"):
        env.append({"name": contracts.ENV_SNS_ENDPOINT, "value": alerting["snsEndpoint"]})
    main = common.service_container(lp, "alerts", command, METRICS_PORT, common.resources("50m", "192Mi", "1", "512Mi"),
                                    env=env)  # fmt: skip
    template = mounted(lp, main, COMPONENT)
    return common.deployment(lp, child_name(lp, "alerts"), COMPONENT, alerting["replicas"], template)


def mounted(lp: Body, main: Manifest, component: str) -> Manifest:
    """The pod template of ``main`` with the definition and the receivers' secrets mounted under ``CONFIG_DIR``,
    rolled when the definition changes (the alerts service, and the anomaly scorer that notifies the same way)."""
    main["volumeMounts"] = [*main["volumeMounts"], {"name": "alerting", "mountPath": CONFIG_DIR, "readOnly": True}]
    volume: Manifest = {"name": "alerting", "projected": {"sources": [
        {"configMap": {"name": child_name(lp, "alerting"), "items": [{"key": FILE, "path": FILE}]}},
        *secret_sources(lp),
    ]}}  # fmt: skip
    template = common.pod_template(lp, component, [main], volumes=[volume])
    checksum = hashlib.sha256(build_alerting_config_map(lp)["data"][FILE].encode()).hexdigest()[:16]
    template["metadata"]["annotations"] = {"logpipeline.io/alerting-checksum": checksum}
    return template


def build_alerting(lp: Body) -> list[Manifest]:
    return [build_alerting_config_map(lp), build_alerts_deployment(lp)] if enabled(lp) else []


def egress_ports(lp: Body) -> list[int]:
    """Ports the alerts pods reach outside the cluster: each SMTP smarthost's, each webhook's, SNS's."""
    alerting = spec_of(lp)["alerting"]
    ports = set()
    for receiver in alerting.get("receivers", []):
        if "email" in receiver:
            ports.add(int(receiver["email"]["smarthost"].rsplit(":", 1)[1]))
        if "webhook" in receiver:
            ports.add(common.url_port(receiver["webhook"]["url"]))
        if "sms" in receiver:
            ports.add(common.url_port(alerting["snsEndpoint"]) if alerting.get("snsEndpoint") else 443)
    return sorted(ports)
