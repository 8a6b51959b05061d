"""One API's drill-down: its counts, latency percentiles over time, error series and its series' expected ranges
(pure layout)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.contracts import ANOMALY_METRICS
from logpipeline.dashboard import components as c
from logpipeline.dashboard import prefs
from logpipeline.dashboard.pages import view_of

PATH = "/api"
BAND_METRICS = ANOMALY_METRICS
P = "api"


def layout(user: prefs.Prefs | None = None, /, **query: str | list[str]) -> Component:
    """The drill-down for ``query``; where the URL names no range, the user's defaults (``user``) stand in."""
    user = user or prefs.Prefs()
    view, problems = view_of(prefs.apply(query, user))
    if not view.name:
        problems.append("name: the API to show is missing (open it from the overview)")
    return html.Div(
        [
            dcc.Store(id=f"{P}-name", data=view.name),
            dcc.Store(id=f"{P}-region", data=view.region),  # one region's figures (None: every region merged)
            dcc.Store(id=f"{P}-url"),
            dcc.Store(id=f"{P}-zone-pref", data=user.timezone),
            dcc.Store(id=f"{P}-zone"),
            dcc.Interval(id=f"{P}-tick", interval=view.refresh_s * 1000, disabled=view.paused),
            dbc.Row(
                [
                    dbc.Col(dcc.Link("← overview", id=f"{P}-back", href="/"), width="auto"),
                    dbc.Col(html.H4(view.name or "", id=f"{P}-title", className="mb-0"), width="auto"),
                ],
                className="mb-2 align-items-center",
            ),
            c.controls(P, view, apis=False),
            html.Div(c.problems(problems), id=f"{P}-problems"),
            dbc.Row(
                [
                    dbc.Col(html.Div(id=f"{P}-health"), width="auto"),
                    dbc.Col(html.Small(id=f"{P}-range-label", className="text-muted"), width="auto"),
                    dbc.Col(c.png_button(P), className="ms-auto", width="auto"),
                ],
                className="mb-3 align-items-center",
            ),
            dbc.Row(id=f"{P}-stats", className="g-2 mb-3"),
            dbc.Row(
                [
                    dbc.Col(
                        c.card(
                            "Latency percentiles", html.Div([c.graph(f"{P}-latency"), c.minute_link(f"{P}-latency")])
                        ),
                        md=6,
                    ),
                    dbc.Col(
                        c.card(
                            "Errors (ERROR, CRITICAL)", html.Div([c.graph(f"{P}-errors"), c.minute_link(f"{P}-errors")])
                        ),
                        md=6,
                    ),
                ]
            ),
            dbc.Row(
                dbc.Col(
                    c.card(
                        "Expected range (anomaly detection)",
                        html.Div(
                            [
                                html.Div(id=f"{P}-learning"),
                                *[c.graph(f"{P}-band-{metric}") for metric in BAND_METRICS],
                                html.Div(id=f"{P}-anomalies"),
                            ]
                        ),
                    ),
                    md=12,
                ),
                className="mt-3",
            ),
        ]
    )
