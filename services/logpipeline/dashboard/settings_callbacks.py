"""Callbacks of the settings page and the overview's "save view": read and write through ``user_data`` as the
signed-in user; drawing stays in pure functions."""

from __future__ import annotations

import time
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.development.base_component import Component

from logpipeline.accounts.directory import AccountError
from logpipeline.accounts.roles import Role
from logpipeline.accounts.userdata import Conflict, SavedView
from logpipeline.dashboard import components, prefs, user_data, viewstate
from logpipeline.dashboard.auth import access
from logpipeline.dashboard.pages import overview, settings

S = settings.P


def form_doc(
    range_name: str, refresh: str, zone: str, favourites: str | None, panels: list[str] | None
) -> dict[str, Any]:
    """The settings form as a settings document (checked by ``prefs.check``)."""
    lines = [line.strip() for line in (favourites or "").splitlines()]
    refresh_s: Any = int(refresh) if str(refresh).isdigit() else refresh
    return {"range": range_name, "refresh": refresh_s, "timezone": zone, "favourites": [x for x in lines if x],
            "panels": list(panels or [])}  # fmt: skip


def views_table(views: list[SavedView], user: str, admin: bool) -> Component:
    """Each view with its link; share, unshare and remove for its owner (and admins)."""
    if not views:
        return html.P("No saved views yet.", className="text-muted small", id="views-none")
    rows = []
    for v in views:
        mine = v.owner == user or admin
        actions = [
            html.Button("unshare" if v.shared else "share", id={"type": "view-share", "id": v.id},
                        className="btn btn-sm btn-outline-info me-1"),
            html.Button("remove", id={"type": "view-delete", "id": v.id}, className="btn btn-sm btn-outline-danger"),
        ] if mine else []  # fmt: skip
        rows.append(html.Tr([
            html.Td(dcc.Link(v.name, href=v.path, className="view-link")),
            html.Td(v.owner),
            html.Td("everyone" if v.shared else "you"),
            html.Td(actions),
        ]))  # fmt: skip
    head = html.Thead(html.Tr([html.Th("view"), html.Th("by"), html.Th("for"), html.Th("")]))
    return html.Table([head, html.Tbody(rows)], className="table table-sm", id="views-table")


def register(app: Dash) -> None:
    outputs = [Output(f"{S}-{f}", "value") for f in ("range", "refresh", "timezone", "favourites", "panels")]

    @app.callback(*outputs, Output(f"{S}-loaded-version", "data"), Input(f"{S}-form", "id"))
    def load(_: str) -> Any:
        who = access.principal()
        mine, version = user_data.prefs_of(who.name)
        return (mine.range, str(mine.refresh_s), mine.timezone, "\n".join(mine.favourites), list(mine.panels),
                version)  # fmt: skip

    @app.callback(
        Output(f"{S}-result", "children"),
        Output(f"{S}-version", "data"),
        Input(f"{S}-save", "n_clicks"),
        *[State(o.component_id, "value") for o in outputs],
        State(f"{S}-loaded-version", "data"),
        State(f"{S}-version", "data"),
        prevent_initial_call=True,
    )
    def save(clicks: int | None, *values: Any) -> Any:
        if not clicks:
            return no_update, no_update
        who = access.principal()
        chosen, problems = prefs.check(form_doc(*values[:5]))
        if problems:
            return components.plain(components.problems(problems)), no_update
        try:
            version = user_data.save_prefs(who.name, chosen, max(int(values[5] or 0), int(values[6] or 0)))
        except Conflict as exc:
            return components.plain(components.problems([f"your settings {exc}"])), no_update
        return components.plain(html.Span("saved", className="text-success", id="settings-saved")), version

    @app.callback(Output(f"{S}-views", "children"), Input(f"{S}-form", "id"), Input(f"{S}-views-changed", "data"))
    def list_views(_: str, __: int) -> Any:
        who = access.principal()
        return components.plain(views_table(user_data.views(who.name), who.name, who.role >= Role.ADMIN))

    @app.callback(
        Output(f"{S}-views-changed", "data"),
        Output(f"{S}-views-result", "children"),
        Input({"type": "view-share", "id": ALL}, "n_clicks"),
        Input({"type": "view-delete", "id": ALL}, "n_clicks"),
        State(f"{S}-views-changed", "data"),
        prevent_initial_call=True,
    )
    def act(shares: list[int | None], deletes: list[int | None], changed: int) -> Any:
        trigger = ctx.triggered_id
        if not trigger or not any(shares + deletes):
            return no_update, no_update
        who = access.require(Role.EDITOR)
        admin = who.role >= Role.ADMIN
        try:
            if trigger["type"] == "view-delete":
                user_data.delete(trigger["id"], who.name, admin)
            else:
                current = next(v for v in user_data.views(who.name) if v.id == trigger["id"])
                user_data.share(current.id, not current.shared, who.name, admin)
        except (AccountError, PermissionError, StopIteration) as exc:
            return no_update, components.plain(components.problems([str(exc) or "no such view"]))
        return (changed or 0) + 1, ""

    o = overview.P

    @app.callback(
        Output(f"{o}-view-result", "children"),
        Input(f"{o}-view-save", "n_clicks"),
        State(f"{o}-view-name", "value"),
        State(f"{o}-view-shared", "value"),
        *[State(f"{o}-{i}", "value") for i in ("range", "start", "end", "apis", "slo", "refresh", "paused")],
        prevent_initial_call=True,
    )
    def save_view(clicks: int | None, name: str | None, shared: bool | None, *controls: Any) -> Any:
        if not clicks:
            return no_update
        who = access.require(Role.EDITOR)
        path = viewstate.href(overview.PATH, viewstate.from_controls(*controls))
        try:
            made = user_data.save_view(who.name, name or "", path, bool(shared))
        except AccountError as exc:
            return components.plain(components.problems([str(exc)]))
        saved = f"saved {made.name!r} at {time.strftime('%H:%M:%S', time.gmtime())} UTC"
        return components.plain(dcc.Link(saved, href=made.path, id="view-saved", className="text-success"))
