"""The live-tail page (pure layout): filters, start/stop, pause/resume, the counts and the newest lines, which
``assets/tail.js`` streams from ``/api/v1/tail``; with ``?minute=<epoch ms>`` (a point clicked on a chart) it also
shows that minute's logs from the raw archive (``tail_callbacks``)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.events.schema import LOG_LEVELS

PATH = "/tail"
P = "tail"


def _first(value: str | list[str] | None) -> str:
    if isinstance(value, list):
        return ",".join(value)
    return value or ""


def layout(**query: str | list[str]) -> Component:
    levels = [v.upper() for v in _first(query.get("level")).split(",") if v]
    controls = dbc.Row(
        [
            dbc.Col(
                dbc.Input(id=f"{P}-api", placeholder="APIs, comma-separated", value=_first(query.get("api"))), md=3
            ),
            dbc.Col(dbc.Checklist(id=f"{P}-level", options=list(LOG_LEVELS), value=levels, inline=True), md=4),
            dbc.Col(
                dbc.Input(id=f"{P}-status", placeholder="status: 5xx, 404", value=_first(query.get("status"))), md=2
            ),
            dbc.Col(dbc.Input(id=f"{P}-q", placeholder="contains…", value=_first(query.get("q"))), md=3),
        ],
        className="g-2 mb-2",
    )
    buttons = html.Div(
        [
            html.Button("Start", id=f"{P}-start", className="btn btn-primary btn-sm me-2"),
            html.Button("Pause", id=f"{P}-pause", className="btn btn-secondary btn-sm me-2", disabled=True),
            html.Span(id=f"{P}-state", className="small text-muted me-3"),
            html.Span(id=f"{P}-counts", className="small"),
        ],
        className="mb-2",
    )
    archived = dbc.Card(
        dbc.CardBody([html.H6(id=f"{P}-minute-title"), dcc.Loading(html.Div(id=f"{P}-minute"))]),
        className="mb-3",
        style=None if query.get("minute") else {"display": "none"},
    )
    return html.Div(
        [
            dcc.Store(id=f"{P}-query", data={k: v for k, v in query.items()}),
            archived,
            html.H5("Live tail", className="mb-2"),
            html.P(
                "Raw events from the input topic as they arrive, filtered here; at most the page's limit of lines per "
                "second is shown and the rest are counted as sampled out. The newest 1,000 lines are kept.",
                className="small text-muted",
            ),
            controls,
            buttons,
            html.Div(id=f"{P}-problem", className="text-warning small mb-2"),
            html.Div(id=f"{P}-lines", className="font-monospace small", style={"whiteSpace": "pre-wrap"}),
        ]
    )
