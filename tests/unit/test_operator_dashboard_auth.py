"""Sign-in on Kubernetes: ``spec.dashboard.auth`` becomes the session length and Secret keys mounted as files, and
the health and metrics endpoints leave the port the Ingress routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logpipeline import contracts
from logpipeline.accounts.roles import Role
from logpipeline.dashboard.auth import oidc
from logpipeline_operator.builders import dashboard, network, policy
from support import crd


def deployment(**auth: Any) -> dict[str, Any]:
    return dashboard.build_dashboard_deployment(crd.logpipeline({"dashboard": {"auth": auth}}))


def test_by_default_sessions_last_twelve_hours_and_nothing_is_mounted() -> None:
    dep = deployment()
    main = dep["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env[contracts.ENV_DASHBOARD_SESSION_SECONDS] == str(12 * 3600)
    assert contracts.ENV_DASHBOARD_SESSION_KEY_FILE not in env
    assert contracts.ENV_DASHBOARD_ADMIN_PASSWORD_FILE not in env
    assert [m["name"] for m in main["volumeMounts"]] == ["tmp"]


def test_secret_keys_become_files_named_by_the_variables() -> None:
    dep = deployment(
        sessionHours=2,
        sessionKeySecretRef={"name": "dash", "key": "cookie-key"},
        adminPasswordSecretRef={"name": "first", "key": "password"},
    )
    pod = dep["spec"]["template"]["spec"]
    main = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert env[contracts.ENV_DASHBOARD_SESSION_SECONDS] == "7200"
    assert env[contracts.ENV_DASHBOARD_SESSION_KEY_FILE] == f"{dashboard.AUTH_DIR}/session-key"
    assert env[contracts.ENV_DASHBOARD_ADMIN_PASSWORD_FILE] == f"{dashboard.AUTH_DIR}/admin-password"
    assert {"name": "auth", "mountPath": dashboard.AUTH_DIR, "readOnly": True} in main["volumeMounts"]
    volume = next(v for v in pod["volumes"] if v["name"] == "auth")
    assert volume["projected"]["sources"] == [
        {"secret": {"name": "dash", "items": [{"key": "cookie-key", "path": "session-key"}]}},
        {"secret": {"name": "first", "items": [{"key": "password", "path": "admin-password"}]}},
    ]
    assert not any("value" in e and "cookie" in str(e["value"]) for e in main["env"])  # never the secret itself


def test_probes_use_the_metrics_port_which_the_service_does_not_route() -> None:
    dep = deployment()
    main = dep["spec"]["template"]["spec"]["containers"][0]
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    service = dashboard.build_dashboard_service(crd.logpipeline({}))
    assert [p["targetPort"] for p in service["spec"]["ports"]] == [dashboard.c.DASHBOARD_PORT]


OIDC = {
    "issuer": "https://sso.example.org:8443/realms/ops",
    "clientId": "logpipeline",
    "clientSecretRef": {"name": "sso", "key": "client-secret"},
    "roles": {"admin": ["ops-leads"], "viewer": ["*"]},
}


def test_an_openid_provider_reaches_the_dashboard_as_it_reads_it(tmp_path: Path, monkeypatch: Any) -> None:
    lp = crd.logpipeline({"dashboard": {"auth": {"oidc": OIDC}}})
    main = dashboard.build_dashboard_deployment(lp)["spec"]["template"]["spec"]["containers"][0]
    secret_file = tmp_path / "oidc-client-secret"
    secret_file.write_text("s3cret\n")
    for e in main["env"]:
        if "value" in e:
            value = e["value"]
            monkeypatch.setenv(e["name"], str(secret_file) if e["name"].endswith("CLIENT_SECRET_FILE") else value)
    loaded = oidc.load()
    assert loaded is not None
    assert (loaded.issuer, loaded.client_id, loaded.client_secret) == (OIDC["issuer"], "logpipeline", "s3cret")
    assert loaded.roles == {Role.ADMIN: ["ops-leads"], Role.VIEWER: ["*"]}
    assert (loaded.groups_claim, loaded.label) == ("groups", "single sign-on")  # the CRD's defaults


def test_the_dashboard_may_reach_its_provider_and_its_secret_is_policed() -> None:
    lp = crd.logpipeline({"dashboard": {"auth": {"oidc": OIDC}}})
    sso = next(p for p in network.build_network_policies(lp) if p["metadata"]["name"].endswith("dashboard-sso"))
    assert sso["spec"]["egress"][0]["ports"] == [{"port": 8443, "protocol": "TCP"}]
    assert policy.problems(lp, policy.Policy()) == [
        "spec.dashboard.auth.oidc.clientSecretRef.name: Secret 'sso' is not allowed by the operator's configuration "
        "(LOGPIPELINE_OPERATOR_ALLOWED_SECRETS: none)"
    ]
    assert not [p for p in network.build_network_policies(crd.logpipeline({})) if "sso" in p["metadata"]["name"]]
