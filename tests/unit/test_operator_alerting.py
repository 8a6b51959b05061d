"""The alerts service the operator builds from ``spec.alerting``: the definition it hands the service, where the
credentials come from, the Deployment and the network flows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from logpipeline.alerting import slo
from logpipeline.alerting.service import load_definition
from logpipeline_operator.builders import alerting, network, plan
from support import crd

ALERTING: dict[str, Any] = {
    "enabled": True,
    "slos": [
        {"name": "checkout", "objective": "availability", "target": 0.999, "api": "/api/v1/cart",
         "receivers": ["oncall", "pager", "hook"]},
        {"name": "latency", "objective": "latency", "thresholdMs": 300, "target": 0.99, "per": "api",
         "receivers": ["hook"]},
    ],
    "receivers": [
        {"name": "oncall", "email": {"to": ["sre@example.org"], "from": "slo@example.org", "smarthost": "smtp.example.org:587",
                                     "usernameSecretRef": {"name": "smtp", "key": "user"},
                                     "passwordSecretRef": {"name": "smtp", "key": "password"}}},
        {"name": "pager", "severities": ["page"], "sms": {"phoneNumbers": ["+15555550100"]}},
        {"name": "hook", "webhook": {"url": "https://hooks.example.org:8443/slo", "secretRef": {"name": "hook", "key": "hmac"}}},
    ],
}  # fmt: skip


def pipeline(**alerting_spec: Any) -> dict[str, Any]:
    return crd.logpipeline({"alerting": {**copy.deepcopy(ALERTING), **alerting_spec}})


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def test_off_by_default() -> None:
    children = plan.build_children(crd.logpipeline({}))
    assert not [o for o in children if o["metadata"]["name"].endswith(("-alerts", "-alerting"))]


def test_the_definition_is_what_the_service_reads_with_credentials_as_mounted_files(tmp_path: Path) -> None:
    cm = alerting.build_alerting_config_map(pipeline())
    text = cm["data"][alerting.FILE]
    (tmp_path / alerting.FILE).write_text(text)
    parsed = load_definition(tmp_path / alerting.FILE)  # the service's own parser accepts it
    assert [o.name for o in parsed.objectives] == ["checkout", "latency"]
    mail = parsed.receivers_by_name["oncall"].kind
    assert isinstance(mail, slo.Email)
    assert mail.password_file == f"{alerting.SECRETS_DIR}/oncall/passwordFile"
    hook = parsed.receivers_by_name["hook"].kind
    assert isinstance(hook, slo.Webhook) and hook.secret_file == f"{alerting.SECRETS_DIR}/hook/secretFile"
    assert parsed.dashboard_url == "http://logpipeline.local"  # the dashboard's Ingress by default
    assert "SecretRef" not in text and "hmac" not in text.replace('"key"', "")


def test_deployment_mounts_the_definition_and_each_secret_key() -> None:
    lp = pipeline(replicas=2, snsEndpoint="http://sns.local:4566")
    dep = by_kind(alerting.build_alerting(lp), "Deployment")
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    main = pod["containers"][0]
    assert main["command"][:5] == ["logpipeline", "alerts", "run", "--file", f"{alerting.CONFIG_DIR}/{alerting.FILE}"]
    assert {"name": "LOGPIPELINE_SNS_ENDPOINT", "value": "http://sns.local:4566"} in main["env"]
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    sources = next(v for v in pod["volumes"] if v["name"] == "alerting")["projected"]["sources"]
    secrets = [(s["secret"]["name"], s["secret"]["items"][0]["key"], s["secret"]["items"][0]["path"])
               for s in sources if "secret" in s]  # fmt: skip
    assert secrets == [("smtp", "user", "oncall/usernameFile"), ("smtp", "password", "oncall/passwordFile"),
                       ("hook", "hmac", "hook/secretFile")]  # fmt: skip


def test_a_changed_definition_rolls_the_pods() -> None:
    first = by_kind(alerting.build_alerting(pipeline()), "Deployment")
    second = by_kind(alerting.build_alerting(pipeline(repeatInterval="1h")), "Deployment")
    key = "logpipeline.io/alerting-checksum"
    assert (
        first["spec"]["template"]["metadata"]["annotations"][key]
        != second["spec"]["template"]["metadata"]["annotations"][key]
    )


def test_network_flows_of_the_alerts_pods() -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in network.build_network_policies(pipeline())}
    out = policies["lp1-net-alerts-out"]
    assert sorted(p["port"] for p in out["egress"][0]["ports"]) == [443, 587, 8443]  # SNS, SMTP, the webhook
    store = policies["lp1-net-dynamodb-out"]["podSelector"]["matchExpressions"][0]["values"]
    assert "alerts" in store


def test_aws_engine_uses_aws_for_the_alert_state() -> None:
    lp = crd.logpipeline({"alerting": copy.deepcopy(ALERTING), "metricsStore": {"engine": "aws"}})
    main = by_kind(alerting.build_alerting(lp), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert main["command"][-1] == "--aws"


def test_definition_is_json_sorted_for_stable_checksums() -> None:
    text = alerting.build_alerting_config_map(pipeline())["data"][alerting.FILE]
    assert json.loads(text)["repeatInterval"] == "4h"
    assert text == alerting.build_alerting_config_map(pipeline())["data"][alerting.FILE]
