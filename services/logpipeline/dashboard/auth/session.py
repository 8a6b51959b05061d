"""Signed-in sessions: a cookie signed with one key shared by every worker and replica (a file, or else a key kept in
the accounts table), HttpOnly, SameSite=Lax, Secure under TLS, ending ``lifetime`` after sign-in whatever the
activity. A local account is read again every ``check_s`` seconds: a removed user, a new role or a new password ends
the sessions issued before it."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import flask
from flask.sessions import SecureCookieSessionInterface

from logpipeline.accounts import directory
from logpipeline.accounts.roles import Role

COOKIE = "logpipeline_session"
WARMUP = "logpipeline.warmup"  # a WSGI environ key (never settable from outside): the app's own start-up request
log = logging.getLogger("logpipeline.dashboard.auth")


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    source: str  # "local" or the OpenID provider's issuer


class _Interface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the key loaded on first use (after gunicorn forks) and Secure set per
    request (the request arrived over TLS, directly or through a proxy's X-Forwarded-Proto)."""

    def __init__(self, key: Callable[[], bytes]) -> None:
        self._key = key
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: flask.Flask) -> Any:
        with self._lock:
            if not app.secret_key:
                try:
                    app.secret_key = self._key()
                except Exception as exc:  # the store is down: no session until it answers (the guard says so)
                    log.warning("session key unavailable", extra={"fields": {"error": str(exc)}})
                    return None
        return super().get_signing_serializer(app)

    def open_session(self, app: flask.Flask, request: flask.Request) -> Any:
        if request.environ.get(WARMUP):
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return flask.request.is_secure


class Sessions:
    def __init__(self, accounts: Callable[[str], directory.Account | None], lifetime_s: int, check_s: int) -> None:
        self.accounts, self.lifetime_s, self.check_s = accounts, lifetime_s, check_s
        self._cache: dict[str, tuple[float, directory.Account | None]] = {}
        self._lock = threading.Lock()

    def install(self, server: flask.Flask, key: Callable[[], bytes]) -> None:
        server.config.update(
            SESSION_COOKIE_NAME=COOKIE,
            SESSION_COOKIE_HTTPONLY=True,
            SESSION_COOKIE_SAMESITE="Lax",
            PERMANENT_SESSION_LIFETIME=timedelta(seconds=self.lifetime_s),
        )
        server.session_interface = _Interface(key)

    def begin(self, who: Principal) -> None:
        """A new session (a new id and CSRF token: nothing of the anonymous one is kept)."""
        flask.session.clear()
        flask.session.permanent = True
        flask.session.update(
            user=who.name,
            role=who.role.label,
            src=who.source,
            iat=int(time.time() * 1000),
            csrf=secrets.token_urlsafe(32),
        )

    def end(self) -> None:
        flask.session.clear()

    def csrf(self) -> str:
        """The session's CSRF token (an anonymous session gets one for the sign-in form)."""
        token = flask.session.get("csrf")
        if not token:
            token = flask.session["csrf"] = secrets.token_urlsafe(32)
        return str(token)

    def current(self) -> Principal | None:
        s = flask.session
        name, role, source, iat = s.get("user"), s.get("role"), s.get("src"), s.get("iat")
        if not (isinstance(name, str) and isinstance(role, str) and isinstance(iat, int)):
            return None
        if time.time() * 1000 - iat > self.lifetime_s * 1000:
            return None
        if source != "local":
            return Principal(name, Role[role.upper()], str(source))
        account = self._account(name)
        if account is None or account.valid_after > iat:
            return None
        return Principal(name, account.role, "local")

    def _account(self, name: str) -> directory.Account | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
        if hit is not None and now - hit[0] < self.check_s:
            return hit[1]
        account = self.accounts(name)
        with self._lock:
            self._cache[name] = (now, account)
        return account

    def forget(self, name: str) -> None:
        """Read the account again on its next request (after this worker changed it)."""
        with self._lock:
            self._cache.pop(name, None)
