"""The settings page: the signed-in user's defaults (range, refresh, time zone, favourite APIs, the overview's
panels and their order) and the saved views they can open, share or remove (pure layout)."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.dashboard import prefs, timerange, viewstate

PATH = "/settings"
P = "set"
ZONES = ["UTC", "browser", "America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Paris",
         "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata", "Asia/Singapore", "Australia/Sydney"]  # fmt: skip


def _field(label: str, control: Component, hint: str = "") -> Component:
    parts = [dbc.Label(label, html_for=str(control.id)), control]  # type: ignore[attr-defined]
    if hint:
        parts.append(dbc.FormText(hint))
    return html.Div(parts, className="mb-3")


def layout(**_: str | list[str]) -> Component:
    """The form starts at the defaults; a callback fills in the user's own when the page opens."""
    default = prefs.Prefs()
    ranges = dbc.RadioItems(id=f"{P}-range", options=list(timerange.PRESETS), value=default.range, inline=True)
    refresh = dbc.Select(
        id=f"{P}-refresh", value=str(default.refresh_s), options=[str(s) for s in viewstate.REFRESH_CHOICES]
    )
    zone = dcc.Dropdown(id=f"{P}-timezone", options=ZONES, value=default.timezone, clearable=False)
    favourites = dbc.Textarea(id=f"{P}-favourites", placeholder="/api/v1/orders", rows=3)
    panels = dcc.Dropdown(
        id=f"{P}-panels",
        multi=True,
        value=list(default.panels),
        options=[{"label": v, "value": k} for k, v in prefs.PANELS.items()],
    )
    form = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Your defaults", className="card-title"),
                _field("Range", ranges, "where a link names none"),
                _field("Refresh (seconds)", refresh),
                _field("Time zone of the charts", zone, "browser: the zone this browser is set to"),
                _field("Favourite APIs", favourites, "one per line: links above the overview"),
                _field("Overview panels", panels, "shown in the order chosen"),
                dcc.Store(id=f"{P}-loaded-version", data=0),  # as read when the page opened
                dcc.Store(id=f"{P}-version", data=0),  # as written by this page's last save
                dbc.Button("Save", id=f"{P}-save", color="primary", size="sm"),
                html.Div(id=f"{P}-result", className="mt-2 small"),
            ]
        ),
        className="mb-3",
    )
    views = dbc.Card(
        dbc.CardBody(
            [
                html.H5("Saved views", className="card-title"),
                html.P("Yours and those shared with everyone. Save one from the overview.", className="small"),
                dcc.Store(id=f"{P}-views-changed", data=0),
                html.Div(id=f"{P}-views"),
                html.Div(id=f"{P}-views-result", className="mt-2 small"),
            ]
        )
    )
    page: Component = dbc.Row([dbc.Col(form, md=6), dbc.Col(views, md=6)], id=f"{P}-form")
    return page
