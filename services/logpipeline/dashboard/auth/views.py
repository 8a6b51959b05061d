"""The sign-in page (local accounts, and a button for the OpenID provider when one is set) and sign-out: plain HTML
forms, no scripts, served without a session."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

import flask

from logpipeline.accounts import directory, passwords
from logpipeline.dashboard.auth import guard
from logpipeline.dashboard.auth.session import Principal, Sessions

log = logging.getLogger("logpipeline.dashboard.auth")
# verified when the user does not exist, so a wrong name costs the same time as a wrong password
_DECOY = passwords.hash_password("decoy-password-never-matches")

PAGE = """<!doctype html>
<html lang="en" data-bs-theme="dark"><head><meta charset="utf-8"><title>Sign in · Log Realtime Analysis</title>
<link rel="stylesheet" href="/assets/bootstrap-darkly.min.css"></head>
<body class="d-flex align-items-center justify-content-center" style="min-height: 100vh">
<main class="card p-4" style="width: 22rem">
<h1 class="h4 mb-3">Log Realtime Analysis</h1>
{% if problem %}<div class="alert alert-danger py-2" id="signin-problem">{{ problem }}</div>{% endif %}
<form method="post" action="/auth/login">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><input type="hidden" name="next" value="{{ next }}">
<label class="form-label" for="username">User</label>
<input class="form-control mb-2" id="username" name="username" autocomplete="username" required autofocus>
<label class="form-label" for="password">Password</label>
<input class="form-control mb-3" id="password" name="password" type="password" autocomplete="current-password" required>
<button class="btn btn-primary w-100" id="signin" type="submit">Sign in</button>
</form>
{% if sso %}<hr><a class="btn btn-outline-info w-100" id="signin-sso" href="/auth/oidc/start?next={{ next | urlencode }}">
Sign in with {{ sso }}</a>{% endif %}
</main></body></html>
"""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never ``//host`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Accounts(Protocol):
    def get(self, name: str) -> directory.Account | None: ...
    def rehash(self, old: directory.Account, password: str) -> None: ...
    def end_sessions(self, name: str) -> None: ...
    def claim(self, name: str) -> float: ...
    def failed(self, name: str) -> int: ...
    def succeeded(self, name: str) -> None: ...


def install(
    server: flask.Flask, sessions: Sessions, accounts: Accounts, signed_in: Callable[[str, str], None],
    sso: str | None = None,
) -> Callable[[str | None, int], flask.Response]:  # fmt: skip
    """Adds the routes; returns the page that shows a problem with a status (for the single sign-on's answers)."""

    def page(problem: str | None = None, status: int = 200) -> flask.Response:
        target = safe_next(flask.request.values.get("next"))
        html = flask.render_template_string(PAGE, problem=problem, csrf=sessions.csrf(), next=target, sso=sso)
        response = flask.Response(html, status=status, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    def login() -> flask.Response:
        if flask.request.method == "GET":
            if sessions.current() is not None:
                return flask.redirect(safe_next(flask.request.args.get("next")))  # type: ignore[return-value]
            return page()
        if not guard.csrf_ok(sessions):
            signed_in("refused", "csrf")
            return page("The form expired: sign in again.", 403)
        name = flask.request.form.get("username", "").strip()
        password = flask.request.form.get("password", "")
        counted = bool(name) and set(name) <= directory.NAME_CHARS and len(name) <= 64
        try:
            wait = accounts.claim(name) if counted else 0.0
            account = accounts.get(name) if name and not wait else None
            correct = not wait and passwords.verify(account.password_hash if account else _DECOY, password)
            failures = accounts.failed(name) if counted and not wait and not (correct and account) else 0
        except Exception as exc:  # fails closed: a failure that cannot be counted is not heard
            log.error("sign-in: accounts table unreadable", extra={"fields": {"error": str(exc)}})
            signed_in("error", "store")
            return page("Sign-in is unavailable: the accounts table does not answer.", 503)
        if wait:
            log.warning("sign-in throttled", extra={"fields": {"user": name, "wait_s": round(wait)}})
            signed_in("throttled", "password")
            refused = page(f"Too many failed sign-ins for this user: try again in {math.ceil(wait)} s.", 429)
            refused.headers["Retry-After"] = str(math.ceil(wait))
            return refused
        if not correct or account is None:
            log.info("sign-in refused", extra={"fields": {"user": name, "failures_in_a_row": failures}})
            signed_in("refused", "password")
            return page("Wrong user name or password.", 401)
        try:
            accounts.succeeded(name)
        except Exception as exc:  # the count stays; the user is in
            log.warning("sign-in: failures not cleared", extra={"fields": {"user": name, "error": str(exc)}})
        if passwords.needs_rehash(account.password_hash):
            accounts.rehash(account, password)
        sessions.begin(Principal(account.name, account.role, "local"))
        sessions.forget(account.name)
        log.info("signed in", extra={"fields": {"user": account.name, "role": account.role.label}})
        signed_in("ok", "local")
        return flask.redirect(safe_next(flask.request.form.get("next")))  # type: ignore[return-value]

    def logout() -> flask.Response:
        """Ends this session, and for a local account every other one of the user's (a copied cookie too)."""
        who = sessions.current()
        if who is not None and not guard.csrf_ok(sessions):
            return flask.Response("the sign-out form expired: reload the page\n", status=403, mimetype="text/plain")
        sessions.end()
        if who is not None:
            if who.source == "local":
                accounts.end_sessions(who.name)
                sessions.forget(who.name)
            log.info("signed out", extra={"fields": {"user": who.name}})
        return flask.redirect("/auth/login")  # type: ignore[return-value]

    server.add_url_rule("/auth/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/auth/logout", "logout", logout, methods=["POST"])
    return page
