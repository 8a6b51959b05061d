"""The SLO page at ``/slos``: budget left per SLO and API (least first), burn rates per window, when each alert fired
and resolved, a form that sets an SLO's target for one API, active silences and a form to add one (pure layout)."""

from __future__ import annotations

from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.dashboard import components as c
from logpipeline.dashboard import slo_components as s

PATH = "/slos"
P = "slo"
REFRESH_MS = 10_000


def layout(**query: str | list[str]) -> Component:
    return html.Div(
        [
            dcc.Interval(id=f"{P}-tick", interval=REFRESH_MS),
            html.H4("Service-level objectives"),
            html.Small(id=f"{P}-updated", className="text-muted"),
            c.card("Error budgets and burn rates", html.Div(id=f"{P}-table")),
            c.card(
                "Targets per API (editors; empty: the definition's)",
                html.Div([s.target_form(P), html.Div(id=f"{P}-target-result")]),
            ),
            c.card(
                "Silences",
                html.Div([s.silence_form(P), html.Div(id=f"{P}-silence-result"), html.Div(id=f"{P}-silences")]),
            ),
        ]
    )
