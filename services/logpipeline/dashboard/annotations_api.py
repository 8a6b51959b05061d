"""The annotations HTTP API, behind the sign-in guard: ``GET /api/v1/annotations?start=&end=`` (epoch ms; default
the last 24 hours) for any signed-in user, ``POST /api/v1/annotations`` with ``{"text", "kind", "at"?, "api"?}`` for
editors (with the session's CSRF token, as every state change). Errors are JSON naming the field."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

import flask

from logpipeline.accounts.directory import AccountError
from logpipeline.accounts.roles import Role
from logpipeline.dashboard import user_data
from logpipeline.dashboard.auth import access

PATH = "/api/v1/annotations"
DAY_MS = 86_400_000


def _error(status: int, message: str) -> flask.Response:
    return flask.Response(flask.json.dumps({"error": message}) + "\n", status=status, mimetype="application/json")


def _int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise AccountError(f"{name}: expected epoch milliseconds, got {value!r}")
    return int(value)


def install(server: flask.Flask) -> None:
    def listed() -> flask.Response:
        access.principal()
        now = int(time.time() * 1000)
        try:
            end = _int("end", flask.request.args.get("end", now))
            start = _int("start", flask.request.args.get("start", end - DAY_MS))
        except AccountError as exc:
            return _error(400, str(exc))
        found = user_data.annotations_between(start, end)
        return flask.jsonify({"annotations": [asdict(a) for a in found]})

    def create() -> flask.Response:
        who = access.require(Role.EDITOR)
        doc = flask.request.get_json(silent=True)
        if not isinstance(doc, dict):
            return _error(400, 'expected a JSON object such as {"text": "deploy 1.4.2", "kind": "deploy"}')
        try:
            at = _int("at", doc.get("at", int(time.time() * 1000)))
            text, kind, api = doc.get("text", ""), doc.get("kind", "note"), doc.get("api")
            if not isinstance(text, str) or not isinstance(kind, str) or not (api is None or isinstance(api, str)):
                raise AccountError("text, kind and api must be strings")
            made = user_data.annotate(at, kind, text, api, who.name)
        except AccountError as exc:
            return _error(400, str(exc))
        response = flask.jsonify(asdict(made))
        response.status_code = 201
        return response

    server.add_url_rule(PATH, "annotations", listed, methods=["GET"])
    server.add_url_rule(PATH, "annotate", create, methods=["POST"])
