"""Who is asking, inside a route or a Dash callback, and the role a change needs (403 otherwise)."""

from __future__ import annotations

import flask

from logpipeline.accounts.roles import Role
from logpipeline.dashboard.auth.session import Principal


def principal() -> Principal:
    """The signed-in user of this request (the guard let it through)."""
    who = flask.g.get("principal")
    if not isinstance(who, Principal):
        flask.abort(401)
    return who


def require(role: Role) -> Principal:
    who = principal()
    if who.role < role:
        flask.abort(403, f"{who.name} is a {who.role.label}; this needs the {role.label} role")
    return who
