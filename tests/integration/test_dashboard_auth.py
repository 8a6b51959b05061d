"""Sign-in in front of the dashboard, through a real gunicorn (two workers) on a private DynamoDB-API server: what
answers without a session, wrong passwords, CSRF, roles, sign-out, expiry, removed users and the first admin."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from logpipeline.accounts import directory
from logpipeline.accounts.roles import Role
from logpipeline.alerting import state
from logpipeline.metrics import store
from support import leftovers
from support.dashboard import PASSWORD, gunicorn, session, whoami
from support.moto import MotoServer

PAGES = ["/", "/slos", "/api?name=%2Fapi%2Fv1%2Forders"]
SESSION_S = 10
DELAY_S = 3


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("auth-moto"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def table(moto: MotoServer) -> str:
    name = f"auth_{leftovers.suffix()}"
    ddb = store.client(moto.endpoint)
    store.init_table(ddb, name)
    state.ensure_table(ddb, name)
    return name


@pytest.fixture(scope="module")
def base(moto: MotoServer, table: str) -> Iterator[str]:
    with gunicorn(
        table,
        moto.endpoint,
        workers=2,
        LOGPIPELINE_DASHBOARD_SESSION_SECONDS=str(SESSION_S),
        LOGPIPELINE_DASHBOARD_ACCOUNT_CHECK_SECONDS="0",
        LOGPIPELINE_DASHBOARD_SIGN_IN_DELAY_SECONDS=str(DELAY_S),
    ) as url:
        yield url


def silence_request(clicks: int = 1) -> dict[str, Any]:
    """The SLO page's silence form, as Dash's renderer posts it."""
    state_of = {"slo-silence-slo": None, "slo-silence-api": None, "slo-silence-region": None, "slo-silence-for": "1h",
                "slo-silence-comment": "x"}  # fmt: skip
    return {
        "output": "slo-silence-result.children",
        "outputs": {"id": "slo-silence-result", "property": "children"},
        "inputs": [{"id": "slo-silence-add", "property": "n_clicks", "value": clicks}],
        "changedPropIds": ["slo-silence-add.n_clicks"],
        "state": [{"id": k, "property": "value", "value": v} for k, v in state_of.items()],
    }


def login_form(http: requests.Session, base: str, user: str, password: str, next_path: str = "/") -> requests.Response:
    form = http.get(f"{base}/auth/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    fields = {"csrf_token": token.group(1), "username": user, "password": password, "next": next_path}
    return http.post(f"{base}/auth/login", data=fields, allow_redirects=False, timeout=30)


def test_without_a_session_pages_go_to_sign_in_and_everything_else_is_refused(base: str) -> None:
    anonymous = requests.Session()
    for path in PAGES:
        answer = anonymous.get(f"{base}{path}", allow_redirects=False, headers={"Accept": "text/html"}, timeout=30)
        assert answer.status_code == 302, path
        assert answer.headers["Location"].startswith("/auth/login?next=/"), answer.headers["Location"]
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert anonymous.get(f"{base}{path}", timeout=30).status_code == 401, path
    assert anonymous.post(f"{base}/_dash-update-component", json=silence_request(), timeout=30).status_code == 401
    assert whoami(anonymous, base).status_code == 401
    for path in ("/healthz", "/readyz", "/metrics"):
        assert anonymous.get(f"{base}{path}", timeout=30).status_code == 200, path


def test_a_wrong_password_or_unknown_user_gets_one_message_and_no_session(base: str) -> None:
    for user, password in (("viewer", "not-the-password"), ("nobody", PASSWORD)):
        http = requests.Session()
        answer = login_form(http, base, user, password)
        assert answer.status_code == 401 and "Wrong user name or password." in answer.text
        assert http.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 302
    metrics = requests.get(f"{base}/metrics", timeout=30).text
    assert re.search(r'logpipeline_dashboard_sign_ins_total\{how="password",result="refused"\} [2-9]', metrics)


def test_five_failures_in_a_row_make_the_next_attempt_wait_on_every_worker(
    base: str, moto: MotoServer, table: str
) -> None:
    ddb = store.client(moto.endpoint)
    directory.add(ddb, table, "dora", Role.VIEWER, "dora-password-1")
    for _ in range(5):  # spread over both workers by the connections
        assert login_form(requests.Session(), base, "dora", "guess-password").status_code == 401
    began = time.monotonic()
    held = login_form(requests.Session(), base, "dora", "dora-password-1")  # the right password waits too
    assert held.status_code == 429 and "Too many failed sign-ins for this user" in held.text
    assert 1 <= int(held.headers["Retry-After"]) <= DELAY_S
    assert login_form(requests.Session(), base, "nobody-else", "guess-password").status_code == 401  # others are heard
    time.sleep(max(0.0, DELAY_S - (time.monotonic() - began)) + 0.5)
    assert login_form(requests.Session(), base, "dora", "dora-password-1").status_code == 302
    for _ in range(5):  # a success cleared the count: five more failures before any wait
        assert login_form(requests.Session(), base, "dora", "guess-password").status_code == 401
    assert login_form(requests.Session(), base, "dora", "guess-password").status_code == 429
    time.sleep(DELAY_S + 0.5)
    with ThreadPoolExecutor(4) as pool:  # parallel guesses when the wait ends: one is heard, the others wait
        codes = sorted(pool.map(lambda _: login_form(requests.Session(), base, "dora", "guess-password").status_code,
                                range(4)))  # fmt: skip
    assert codes == [401, 429, 429, 429]
    metrics = requests.get(f"{base}/metrics", timeout=30).text
    assert re.search(r'logpipeline_dashboard_sign_ins_total\{how="password",result="throttled"\} [2-9]', metrics)


def test_a_session_serves_every_page_on_every_worker_and_the_cookies_are_locked_down(base: str) -> None:
    http = requests.Session()
    answer = login_form(http, base, "viewer", PASSWORD, next_path="/slos")
    assert answer.status_code == 302 and answer.headers["Location"] == "/slos"
    cookie = next(c for c in http.cookies if c.name == "logpipeline_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and not cookie.secure
    raw = answer.headers["Set-Cookie"]
    assert "SameSite=Lax" in raw and "HttpOnly" in raw
    # two workers, one key in the table: every request passes whichever worker answers
    assert all(
        http.get(f"{base}{PAGES[i % 3]}", allow_redirects=False, timeout=30).status_code == 200 for i in range(30)
    )
    http.headers["X-CSRFToken"] = http.cookies["_csrf_token"]
    assert whoami(http, base).json()["response"]["whoami"]["children"] == "viewer · viewer"


def test_under_tls_the_cookies_are_secure(base: str) -> None:
    tls = {"X-Forwarded-Proto": "https"}  # as an Ingress that ends TLS tells it
    form = requests.get(f"{base}/auth/login", headers=tls, timeout=30)
    assert "Secure" in form.headers["Set-Cookie"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    fields = {"csrf_token": token.group(1), "username": "viewer", "password": PASSWORD, "next": "/"}
    cookie = form.headers["Set-Cookie"].split(";")[0]  # a browser sends a Secure cookie back over TLS only
    answer = requests.post(
        f"{base}/auth/login", data=fields, headers={**tls, "Cookie": cookie}, allow_redirects=False, timeout=30
    )
    assert answer.status_code == 302
    set_cookies = answer.raw.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in set_cookies} == {"logpipeline_session", "_csrf_token"}
    assert all("Secure" in c for c in set_cookies), set_cookies


def test_state_changes_need_the_csrf_token_and_the_role(base: str) -> None:
    viewer = session(base, "viewer")
    token = viewer.headers.pop("X-CSRFToken")
    refused = viewer.post(f"{base}/_dash-update-component", json=silence_request(), timeout=30)
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    viewer.headers["X-CSRFToken"] = token[::-1]
    assert viewer.post(f"{base}/_dash-update-component", json=silence_request(), timeout=30).status_code == 403
    viewer.headers["X-CSRFToken"] = token
    forbidden = viewer.post(f"{base}/_dash-update-component", json=silence_request(), timeout=30)
    assert forbidden.status_code == 403 and "viewer is a viewer; this needs the editor role" in forbidden.text
    editor = session(base, "editor")
    made = editor.post(f"{base}/_dash-update-component", json=silence_request(), timeout=30)
    assert made.status_code == 200 and "silence" in made.text, made.text[:300]


def test_a_deep_link_survives_sign_in_whole(base: str) -> None:
    deep = "/api?name=%2Fapi%2Fv1%2Forders&range=6h&api=a%26b"
    http = requests.Session()
    to_login = http.get(f"{base}{deep}", allow_redirects=False, headers={"Accept": "text/html"}, timeout=30)
    login_url = to_login.headers["Location"]
    assert urllib.parse.parse_qs(urllib.parse.urlparse(login_url).query) == {"next": [deep]}
    form = http.get(f"{base}{login_url}", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    next_field = re.search(r'name="next" value="([^"]+)"', form.text)
    assert token and next_field and html.unescape(next_field.group(1)) == deep
    fields = {"csrf_token": token.group(1), "username": "viewer", "password": PASSWORD, "next": deep}
    answer = http.post(f"{base}/auth/login", data=fields, allow_redirects=False, timeout=30)
    assert answer.headers["Location"] == deep


def test_sign_in_never_sends_anyone_off_site(base: str) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = login_form(requests.Session(), base, "viewer", PASSWORD, next_path=target)
        assert answer.status_code == 302 and answer.headers["Location"] == "/", target


def test_sign_out_ends_the_session_and_a_copied_cookie_with_it(base: str) -> None:
    http = session(base, "admin")
    copied = dict(http.cookies)
    assert http.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 200
    out = http.post(f"{base}/auth/logout", data={"csrf_token": http.headers["X-CSRFToken"]}, allow_redirects=False)
    assert out.status_code == 302 and out.headers["Location"] == "/auth/login"
    assert http.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 302
    replay = requests.get(f"{base}/", cookies=copied, allow_redirects=False, timeout=30)
    assert replay.status_code == 302


def test_removing_a_user_or_changing_a_role_ends_their_sessions(moto: MotoServer, table: str, base: str) -> None:
    ddb = store.client(moto.endpoint)
    directory.add(ddb, table, "temp-user", Role.EDITOR, PASSWORD)
    demoted = session(base, "temp-user")
    directory.set_role(ddb, table, "temp-user", Role.VIEWER)
    assert demoted.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 302
    removed = session(base, "temp-user")
    assert whoami(removed, base).json()["response"]["whoami"]["children"] == "temp-user · viewer"
    directory.remove(ddb, table, "temp-user")
    assert removed.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 302


def test_a_session_expires(base: str) -> None:
    http = session(base, "viewer")
    assert http.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 200
    time.sleep(SESSION_S + 1)
    assert http.get(f"{base}/", allow_redirects=False, timeout=30).status_code == 302
    assert whoami(http, base).status_code == 401


def test_users_are_managed_with_the_cli(moto: MotoServer, table: str, base: str) -> None:
    env = {
        "LOGPIPELINE_DYNAMODB_ENDPOINT": moto.endpoint,
        "LOGPIPELINE_TABLE": table,
        "PATH": str(Path(sys.executable).parent),
    }

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        argv = [str(Path(sys.executable).parent / "logpipeline"), "users", *args]
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False)

    added = cli("add", "carol", "--role", "editor", "--password-stdin", stdin="carol-password-1\n")
    assert added.returncode == 0, added.stderr
    again = cli("add", "carol", "--password-stdin", stdin="carol-password-1\n")
    assert again.returncode == 2 and "user 'carol' already exists" in again.stdout
    weak = cli("add", "dave", "--password-stdin", stdin="short\n")
    assert weak.returncode == 2 and "at least 12 characters" in weak.stdout
    bad_role = cli("add", "erin", "--role", "owner", "--password-stdin", stdin="erin-password-12\n")
    assert bad_role.returncode == 2 and "role must be one of viewer, editor, admin" in bad_role.stdout
    assert "carol" in cli("list").stdout
    assert login_form(requests.Session(), base, "carol", "carol-password-1").status_code == 302
    assert cli("set-password", "carol", "--password-stdin", stdin="carol-password-2\n").returncode == 0
    assert login_form(requests.Session(), base, "carol", "carol-password-1").status_code == 401
    assert login_form(requests.Session(), base, "carol", "carol-password-2").status_code == 302
    assert cli("remove", "carol").returncode == 0
    assert cli("remove", "carol").returncode == 2


def test_the_first_admin_comes_from_its_password_file_while_no_user_exists(moto: MotoServer, tmp_path: Path) -> None:
    fresh = f"first_{leftovers.suffix()}"
    store.init_table(store.client(moto.endpoint), fresh)
    secret = tmp_path / "admin-password"
    secret.write_text("first-admin-password\n")
    with gunicorn(fresh, moto.endpoint, users=False, LOGPIPELINE_DASHBOARD_ADMIN_PASSWORD_FILE=str(secret)) as url:
        ddb = store.client(moto.endpoint)
        assert login_form(requests.Session(), url, "admin", "first-admin-password").status_code == 302
        assert directory.get(ddb, fresh, "admin").role is Role.ADMIN  # type: ignore[union-attr]
        directory.remove(ddb, fresh, "admin")
        directory.add(ddb, fresh, "someone", Role.VIEWER, PASSWORD)
        assert login_form(requests.Session(), url, "admin", "first-admin-password").status_code == 401
