"""The guard in front of every route: without a session a page redirects to sign-in and anything else (callbacks,
layouts, scripts, downloads, the HTTP API under ``/api/``) answers 401; a state-changing request needs the session's CSRF token, in the
``X-CSRFToken`` header (Dash's renderer sends the ``_csrf_token`` cookie there) or a form's ``csrf_token`` field.
``/healthz``, ``/readyz``, ``/metrics``, the sign-in page and sign-out (which checks its own token) stay open."""

from __future__ import annotations

import hmac
from urllib.parse import quote

import flask
from werkzeug.wrappers import Response

from logpipeline.dashboard.auth.session import WARMUP, Sessions

OPEN = frozenset({"/healthz", "/readyz", "/metrics", "/auth/login", "/auth/logout", "/assets/bootstrap-darkly.min.css"})
OPEN_PREFIXES = ("/auth/oidc/",)
API_PREFIXES = ("/_", "/api/")  # Dash's own routes and the HTTP API: 401, never a redirect to a page
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_COOKIE, CSRF_HEADER, CSRF_FIELD = "_csrf_token", "X-CSRFToken", "csrf_token"


def csrf_ok(sessions: Sessions) -> bool:
    expected = flask.session.get("csrf")
    sent = flask.request.headers.get(CSRF_HEADER) or flask.request.form.get(CSRF_FIELD) or ""
    return bool(expected) and hmac.compare_digest(str(expected), sent)


def _refuse(status: int, message: str) -> flask.Response:
    return flask.Response(flask.json.dumps({"error": message}) + "\n", status=status, mimetype="application/json")


def install(server: flask.Flask, sessions: Sessions) -> None:
    @server.before_request
    def guard() -> Response | None:
        request = flask.request
        if request.path in OPEN or request.path.startswith(OPEN_PREFIXES) or request.environ.get(WARMUP):
            return None
        who = sessions.current()
        if who is None:
            page = (
                request.method == "GET"
                and not request.path.startswith(API_PREFIXES)
                and request.accept_mimetypes.accept_html
            )
            if page:
                return flask.redirect(f"/auth/login?next={quote(request.full_path.rstrip('?'), safe='/')}")
            return _refuse(401, "sign in first")
        if request.method in UNSAFE and not csrf_ok(sessions):
            return _refuse(403, "the CSRF token is missing or wrong: reload the page")
        flask.g.principal = who
        return None

    @server.after_request
    def csrf_cookie(response: flask.Response) -> flask.Response:
        """The token for Dash's renderer to echo (readable by the page's scripts, sent to this site only)."""
        token = flask.session.get("csrf") if "user" in flask.session else None
        if token and flask.request.cookies.get(CSRF_COOKIE) != token:
            secure = flask.request.is_secure
            response.set_cookie(CSRF_COOKIE, str(token), samesite="Strict", secure=secure, httponly=False)
        return response
