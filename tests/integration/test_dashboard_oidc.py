"""Single sign-on through a real OpenID provider (node-oidc-provider on loopback): roles from groups, a user with
no role refused by name, a forged callback refused, and the whole flow in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from logpipeline.metrics import store
from logpipeline.stack.process import free_port
from support import leftovers, oidc
from support.dashboard import ARTIFACTS, chromium, gunicorn, whoami
from support.moto import MotoServer

USERS = {
    "alice": oidc.User("alice-password", ["ops-leads", "sre"]),
    "bob": oidc.User("bob-password", ["sre"]),
    "carol": oidc.User("carol-password", ["marketing"]),
}
ROLES = {"admin": ["ops-leads"], "editor": ["sre"]}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("oidc")
    moto = MotoServer(tmp / "moto")
    moto.start()
    try:
        table = f"sso_{leftovers.suffix()}"
        store.init_table(store.client(moto.endpoint), table)
        port = free_port()
        secret = tmp / "client-secret"
        secret.write_text("dashboard-client-secret\n")
        callback = f"http://127.0.0.1:{port}/auth/oidc/callback"
        with (
            oidc.provider(USERS, "logpipeline-dashboard", "dashboard-client-secret", [callback]) as issuer,
            gunicorn(
                table,
                moto.endpoint,
                workers=2,
                port=port,
                LOGPIPELINE_DASHBOARD_OIDC_ISSUER=issuer,
                LOGPIPELINE_DASHBOARD_OIDC_CLIENT_ID="logpipeline-dashboard",
                LOGPIPELINE_DASHBOARD_OIDC_CLIENT_SECRET_FILE=str(secret),
                LOGPIPELINE_DASHBOARD_OIDC_ROLES=json.dumps(ROLES),
                LOGPIPELINE_DASHBOARD_OIDC_LABEL="Test IdP",
            ) as url,
        ):
            yield url
    finally:
        moto.stop()


@pytest.mark.parametrize(("user", "shown"), [("alice", "alice · admin"), ("bob", "bob · editor")])
def test_the_role_comes_from_the_providers_groups(base: str, user: str, shown: str) -> None:
    http, answer = oidc.sign_in(base, user, USERS[user].password)
    assert answer.status_code == 200 and answer.url == f"{base}/", (answer.status_code, answer.url)
    assert whoami(http, base).json()["response"]["whoami"]["children"] == shown


def test_a_user_whose_groups_map_to_no_role_is_refused_by_name(base: str) -> None:
    http, answer = oidc.sign_in(base, "carol", USERS["carol"].password)
    assert answer.status_code == 403
    assert "Single sign-on refused: carol is in no group that has a role here." in answer.text
    assert whoami(http, base).status_code == 401


def test_a_callback_the_dashboard_did_not_start_is_refused(base: str) -> None:
    forged = requests.get(f"{base}/auth/oidc/callback?code=stolen&state=guessed", timeout=30)
    assert forged.status_code == 401 and "Single sign-on failed" in forged.text


def test_sign_in_and_out_in_chromium(base: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"{base}/slos")
        page.click("#signin-sso")  # the dashboard's sign-in page
        page.fill("#op-login", "alice")  # the provider's
        page.fill("#op-password", USERS["alice"].password)
        page.click("#op-submit")
        page.wait_for_selector("#whoami:has-text('alice · admin')", timeout=30_000)
        assert page.url == f"{base}/slos"
        page.screenshot(path=str(Path(ARTIFACTS) / "signed-in-sso.png"))
        page.click("#signout")
        page.wait_for_selector("#signin", timeout=30_000)
        page.goto(f"{base}/")
        assert "/auth/login" in page.url
