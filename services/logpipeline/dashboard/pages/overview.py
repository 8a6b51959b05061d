"""The overview page: SLA gauge, level pie, KPI cards, latency by API, top errors, counts over time (pure layout)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.dashboard import components as c
from logpipeline.dashboard import prefs
from logpipeline.dashboard.pages import view_of

PATH = "/"
P = "ov"


def panels(chosen: tuple[str, ...]) -> list[Component]:
    """The overview's panels in the user's order; those not chosen stay in the page, hidden (the refresh draws
    every panel)."""
    cards = {
        "kpis": (dbc.Row(c.kpi_cards(P, {}), id=f"{P}-kpis", className="g-2"), 12),
        "sla": (c.card("SLA", c.graph(f"{P}-sla")), 4),
        "levels": (c.card("Log levels", c.graph(f"{P}-levels")), 4),
        "top-errors": (c.card("Top 5 error-prone APIs", html.Div(id=f"{P}-top-errors")), 4),
        "latency": (c.card("Response time by API (avg, p95) — click an API", c.graph(f"{P}-latency")), 6),
        "series": (
            c.card(
                "Log counts over time — click a point for its logs",
                html.Div([c.graph(f"{P}-series"), c.minute_link(f"{P}-series")]),
            ),
            6,
        ),
    }
    order = [*chosen, *(name for name in prefs.PANELS if name not in chosen)]
    return [
        dbc.Col([cards[name][0], csv_button(name)], md=cards[name][1], id=f"{P}-panel-{name}", className="mb-3",
                style=None if name in chosen else {"display": "none"})
        for name in order
    ]  # fmt: skip


def csv_button(panel: str) -> Component:
    """Downloads the panel's figures as CSV (the same snapshot the page draws from)."""
    return html.Button("CSV", id={"type": f"{P}-csv", "panel": panel}, title="download this panel's data as CSV",
                       className="btn btn-link btn-sm p-0 small")  # fmt: skip


def layout(user: prefs.Prefs | None = None, /, **query: str | list[str]) -> Component:
    """The page for ``query``; where the URL names no range, the user's defaults (``user``) stand in."""
    user = user or prefs.Prefs()
    view, problems = view_of(prefs.apply(query, user))
    return html.Div(
        [
            dcc.Location(id=f"{P}-nav", refresh="callback-nav"),
            dcc.Store(id=f"{P}-url"),
            dcc.Download(id=f"{P}-download"),
            dcc.Store(id=f"{P}-zone-pref", data=user.timezone),
            dcc.Store(id=f"{P}-zone"),
            dcc.Interval(id=f"{P}-tick", interval=view.refresh_s * 1000, disabled=view.paused),
            c.controls(P, view),
            c.favourites(user.favourites, view),
            html.Div(c.problems(problems), id=f"{P}-problems"),
            html.Div(id=f"{P}-alerts"),
            html.Details(
                [html.Summary("Anomalies in this range", id=f"{P}-anomalies-summary"), html.Div(id=f"{P}-anomalies")],
                className="mb-2",
                open=True,
            ),
            dbc.Row(
                [
                    dbc.Col(html.Div(id=f"{P}-health"), width="auto"),
                    dbc.Col(html.Small(id=f"{P}-range-label", className="text-muted"), width="auto"),
                    dbc.Col(c.save_view(P), className="ms-auto", width="auto"),
                    dbc.Col(c.png_button(P), width="auto"),
                ],
                className="mb-3 align-items-center",
            ),
            html.Div(id=f"{P}-regions", className="mb-3"),
            dbc.Row(panels(user.panels)),
        ]
    )
