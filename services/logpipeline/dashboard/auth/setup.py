"""Puts sign-in in front of the dashboard's Flask server: the session key, the accounts it reads, the guard and the
sign-in pages; settings from the environment (clear errors naming the variable)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask
from werkzeug.middleware.proxy_fix import ProxyFix

from logpipeline import contracts
from logpipeline.accounts import directory, throttle
from logpipeline.dashboard import telemetry
from logpipeline.dashboard.auth import guard, oidc, views
from logpipeline.dashboard.auth.session import Sessions
from logpipeline.dashboard.settings import env_int

DEFAULT_SESSION_S = 12 * 3600
DEFAULT_CHECK_S = 30


def _key_from_file(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        key = Path(path).read_bytes().strip()
        if len(key) < 32:
            raise ValueError(f"{contracts.ENV_DASHBOARD_SESSION_KEY_FILE}: {path} holds {len(key)} bytes; 32 or more")
        return key

    read()  # a missing or short file stops the start, naming it
    return read


class LocalAccounts:
    """This worker's view of the accounts table: made on first use, ``admin`` from its password file while the
    table has no user."""

    def __init__(self, store: Callable[[], tuple[Any, str]], admin_file: str) -> None:
        self._store, self._admin_file = store, admin_file
        self.delay_s = float(env_int(contracts.ENV_DASHBOARD_SIGN_IN_DELAY_SECONDS, int(throttle.DEFAULT_BASE_S), 1))

    def _table(self) -> tuple[Any, str]:
        return directory.ensured(*self._store())

    def get(self, name: str) -> directory.Account | None:
        ddb, table = self._table()
        found = directory.get(ddb, table, name)
        if found is None and name == directory.FIRST_ADMIN and self._admin_file:
            found = directory.first_admin(ddb, table, Path(self._admin_file).read_text().strip())
        return found

    def rehash(self, old: directory.Account, password: str) -> None:
        directory.rehash(*self._table(), old, password)

    def end_sessions(self, name: str) -> None:
        directory.end_sessions(*self._table(), name)

    def claim(self, name: str) -> float:
        return throttle.claim(*self._table(), name, int(time.time() * 1000), self.delay_s)

    def failed(self, name: str) -> int:
        return throttle.failed(*self._table(), name, int(time.time() * 1000))

    def succeeded(self, name: str) -> None:
        throttle.cleared(*self._table(), name)

    def session_key(self) -> bytes:
        return directory.session_secret(*self._table())


def install(server: flask.Flask, store: Callable[[], tuple[Any, str]]) -> Sessions:
    """``store`` gives this worker's DynamoDB client and metrics table name (made after gunicorn forks)."""
    accounts = LocalAccounts(store, os.environ.get(contracts.ENV_DASHBOARD_ADMIN_PASSWORD_FILE, "").strip())
    key_file = os.environ.get(contracts.ENV_DASHBOARD_SESSION_KEY_FILE, "").strip()
    sessions = Sessions(
        accounts.get,
        env_int(contracts.ENV_DASHBOARD_SESSION_SECONDS, DEFAULT_SESSION_S, 10),
        env_int(contracts.ENV_DASHBOARD_ACCOUNT_CHECK_SECONDS, DEFAULT_CHECK_S, 0),
    )
    sessions.install(server, _key_from_file(key_file) if key_file else accounts.session_key)
    server.wsgi_app = ProxyFix(server.wsgi_app, x_proto=1)  # type: ignore[method-assign]
    guard.install(server, sessions)
    provider = oidc.load()

    def signed_in(result: str, how: str) -> None:
        telemetry.SIGN_INS.labels(result, how).inc()

    page = views.install(server, sessions, accounts, signed_in, provider.label if provider else None)
    if provider is not None:
        oidc.install(server, sessions, provider, page, views.safe_next, signed_in)
    return sessions
