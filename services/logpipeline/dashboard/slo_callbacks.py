"""Callbacks of the SLO page and the overview's alert banner: read the board through ``data``, draw with
``slo_components``; the silence form writes through ``data`` too."""

from __future__ import annotations

import time
from typing import Any

from dash import Dash, Input, Output, State, html, no_update
from dash.development.base_component import Component

from logpipeline.accounts.roles import Role
from logpipeline.alerting import lifecycle, message, slo
from logpipeline.dashboard import components, data
from logpipeline.dashboard import slo_components as s
from logpipeline.dashboard.auth import access
from logpipeline.dashboard.pages import overview, slos
from logpipeline.metrics import store


def render_board(board: Any, now_ms: int) -> tuple[Any, ...]:
    table = s.slo_table(board.rows())
    updated = board.problem or (f"as of the alerts service's cycle at {s.when(board.at)}" if board.at else
                                "no evaluation yet")  # fmt: skip
    names = sorted({r["slo"] for r in board.summaries})
    return table, s.silences_table(board.active_silences(now_ms)), updated, [{"label": n, "value": n} for n in names]


def make_silence(
    slo_name: str | None,
    api: str | None,
    length: str,
    comment: str | None,
    now_ms: int,
    who: str,
    region: str | None = None,
    regions: tuple[str, ...] = (),
) -> lifecycle.Silence:
    """The form's silence, by the signed-in ``who``, for one of the store's ``regions`` or every region (``region``
    empty); InvalidDefinition naming a bad duration or a region the store does not hold."""
    ends = now_ms + slo.duration_ms(length, "duration")
    if region and region not in regions:
        raise slo.InvalidDefinition(str(data.UnknownRegion(region, list(regions))))
    api = (api or "").strip() or None
    return lifecycle.Silence("", now_ms, ends, slo_name or None, api, None, comment or "", who, region or None)


def region_choice(regions: tuple[str, ...]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The silence form's region choices and its column's style: hidden for a single-region store."""
    return [{"label": r, "value": r} for r in regions], ({} if regions else {"display": "none"})


def register(app: Dash) -> None:
    p = slos.P

    @app.callback(
        Output(f"{p}-table", "children"),
        Output(f"{p}-silences", "children"),
        Output(f"{p}-updated", "children"),
        Output(f"{p}-silence-slo", "options"),
        Output(f"{p}-target-group", "options"),
        Output(f"{p}-silence-region", "options"),
        Output(f"{p}-silence-region-col", "style"),
        Input(f"{p}-tick", "n_intervals"),
        Input(f"{p}-silence-result", "children"),
        Input(f"{p}-target-result", "children"),
    )
    def refresh_slos(_: int, __: Any, ___: Any) -> Any:
        source = data.source()
        board, now = source.slo_board(), int(time.time() * 1000)
        regions = region_choice(source.settings.regions)
        return components.plain((*render_board(board, now), s.target_options(board.summaries), *regions))

    @app.callback(
        Output(f"{p}-target-result", "children"),
        Input(f"{p}-target-set", "n_clicks"),
        State(f"{p}-target-group", "value"),
        State(f"{p}-target-value", "value"),
        prevent_initial_call=True,
    )
    def set_target(clicks: int | None, group: str | None, text: str | None) -> Any:
        if not clicks:
            return no_update
        who = access.require(Role.EDITOR)
        if not group or "|" not in group:
            return components.problems(["choose an SLO and API"])
        slo_name, api = group.split("|", 1)
        try:
            target = s.parse_target(text)
            data.source().set_target(slo_name, api, target, who.name)
        except ValueError as exc:
            return components.problems([str(exc)])
        except store.Denied:
            return components.problems(["the dashboard's credentials may not write targets"])
        shown = "the definition's" if target is None else f"{100 * target:g}%"
        return components.plain(html.Small(f"{slo_name} · {api}: {shown} from the next cycle", id="slo-target-made",
                                           className="text-success"))  # fmt: skip

    @app.callback(
        Output(f"{p}-silence-result", "children"),
        Input(f"{p}-silence-add", "n_clicks"),
        State(f"{p}-silence-slo", "value"),
        State(f"{p}-silence-api", "value"),
        State(f"{p}-silence-region", "value"),
        State(f"{p}-silence-for", "value"),
        State(f"{p}-silence-comment", "value"),
        prevent_initial_call=True,
    )
    def add_silence(
        clicks: int | None, slo_name: str | None, api: str | None, region: str | None, length: str, comment: str | None
    ) -> Any:
        if not clicks:
            return no_update
        who = access.require(Role.EDITOR)
        now, source = int(time.time() * 1000), data.source()
        try:
            silence = make_silence(slo_name, api, length, comment, now, who.name, region, source.settings.regions)
            made = source.add_silence(silence)
        except slo.InvalidDefinition as exc:
            return components.problems([str(exc)])
        except store.Denied:
            return components.problems(["the dashboard's credentials may not write silences: "
                                        "use `logpipeline alerts silence`"])  # fmt: skip
        return components.plain(_done(made))

    @app.callback(Output(f"{overview.P}-alerts", "children"), Input(f"{overview.P}-tick", "n_intervals"))
    def banner(_: int) -> Any:
        return components.plain(s.alert_banner(data.source().slo_board().paging()))


def _done(made: lifecycle.Silence) -> Component:
    return html.Small(f"silence {made.id}{message.where(made.region)} until {s.when(made.ends)}",
                      className="text-success", id="slo-silence-made")  # fmt: skip
