"""The navbar's account menu: who is signed in, with which role, and the token its sign-out form posts."""

from __future__ import annotations

import flask
from dash import Dash, Input, Output

from logpipeline.dashboard.auth import access


def register(app: Dash) -> None:
    @app.callback(Output("whoami", "children"), Output("signout-csrf", "value"), Input("whoami", "id"))
    def whoami(_: str) -> tuple[str, str]:
        who = access.principal()
        return f"{who.name} · {who.role.label}", str(flask.session.get("csrf", ""))
