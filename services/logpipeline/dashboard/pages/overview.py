"""The overview page: SLA gauge, level pie, KPI cards, latency by API, top errors, counts over time (pure layout)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.dashboard import components as c
from logpipeline.dashboard.pages import view_of

PATH = "/"
P = "ov"


def layout(**query: str | list[str]) -> Component:
    view, problems = view_of(query)
    return html.Div(
        [
            dcc.Location(id=f"{P}-nav", refresh="callback-nav"),
            dcc.Store(id=f"{P}-url"),
            dcc.Interval(id=f"{P}-tick", interval=view.refresh_s * 1000, disabled=view.paused),
            c.controls(P, view),
            html.Div(c.problems(problems), id=f"{P}-problems"),
            html.Div(id=f"{P}-alerts"),
            dbc.Row(
                [
                    dbc.Col(html.Div(id=f"{P}-health"), width="auto"),
                    dbc.Col(html.Small(id=f"{P}-range-label", className="text-muted"), width="auto"),
                ],
                className="mb-3 align-items-center",
            ),
            dbc.Row(c.kpi_cards(P, {}), id=f"{P}-kpis", className="g-2 mb-3"),
            dbc.Row(
                [
                    dbc.Col(c.card("SLA", c.graph(f"{P}-sla")), md=4),
                    dbc.Col(c.card("Log levels", c.graph(f"{P}-levels")), md=4),
                    dbc.Col(c.card("Top 5 error-prone APIs", html.Div(id=f"{P}-top-errors")), md=4),
                ]
            ),
            dbc.Row(
                [
                    dbc.Col(c.card("Response time by API (avg, p95) — click an API", c.graph(f"{P}-latency")), md=6),
                    dbc.Col(c.card("Log counts over time", c.graph(f"{P}-series")), md=6),
                ]
            ),
        ]
    )
