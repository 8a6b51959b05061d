"""The SLO page's parts and the overview's alert banner (pure builders over ``model.SloBoard``)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.alerting import message
from logpipeline.alerting.lifecycle import AlertState, Silence
from logpipeline.alerting.slo import ALL_APIS

BURN_WINDOWS = ("5m", "1h", "6h", "1d", "3d")
STATUS_COLOR = {"firing": "danger", "pending": "warning", "inactive": "success"}
DURATIONS = ("30m", "1h", "2h", "4h", "1d")
DURATION_OPTIONS = [{"label": d, "value": d} for d in DURATIONS]


def when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000)) if ms else ""


def _api(api: str) -> str:
    return "all APIs" if api == ALL_APIS else api


def _exhaustion(seconds: float | None) -> str:
    if seconds is None:
        return "not burning"
    if seconds <= 0:
        return "exhausted"
    hours = seconds / 3600
    return f"{seconds / 60:.0f} min" if hours < 2 else (f"{hours:.1f} h" if hours < 72 else f"{hours / 24:.1f} d")


def _history(events: Sequence[Sequence[Any]]) -> str:
    return "; ".join(f"{kind} {severity} {when(int(at))}".replace("  ", " ") for kind, severity, at in events[-3:])


def slo_table(rows: Sequence[dict[str, Any]]) -> Component:
    """Every SLO and API (and region, for regional pipelines), the least budget left first: status, budget
    remaining, burn rates, time to exhaustion, and when its alert last fired and resolved."""
    regional = any(r.get("region") for r in rows)
    head = html.Thead(
        html.Tr(
            [html.Th(h) for h in ("SLO", "API", *(("region",) if regional else ()), "status", "budget left")]
            + [html.Th(f"burn {w}") for w in BURN_WINDOWS]
            + [html.Th("exhausted in"), html.Th("fired / resolved")]
        )
    )
    body = []
    for r in rows:
        status = r["status"] + (f" ({r['severity']})" if r.get("severity") else "")
        left = r["budgetRemaining"]
        body.append(
            html.Tr(
                [
                    html.Td(f"{r['slo']} · {r['objective']} {100 * r['target']:.2f}% / {r['window']}"),
                    html.Td(_api(r["api"])),
                    *([html.Td(r.get("region") or "")] if regional else []),
                    html.Td(dbc.Badge(status, color=STATUS_COLOR.get(r["status"], "secondary"))),
                    html.Td(f"{100 * left:.1f}%", className="text-danger" if left < 0.25 else ""),
                    *[html.Td(f"{r['burn'].get(w, 0.0):.2f}") for w in BURN_WINDOWS],
                    html.Td(_exhaustion(r.get("exhaustionSeconds"))),
                    html.Td(_history(r.get("history") or []), className="small"),
                ]
            )
        )
    if not body:
        body = [html.Tr(html.Td("no SLO judged yet", colSpan=6 + len(BURN_WINDOWS), className="text-muted"))]
    table = dbc.Table([head, html.Tbody(body)], id="slo-table-rows", bordered=False, hover=True, size="sm",
                      color="dark")  # fmt: skip
    return cast(Component, table)


def silences_table(silences: Sequence[Silence]) -> Component:
    if not silences:
        return html.Small("no active silence", className="text-muted", id="slo-silences-none")
    regional = any(s.region for s in silences)
    rows = [
        html.Tr([html.Td(s.id), html.Td(s.slo or "any"), html.Td(_api(s.api) if s.api else "any"),
                 *([html.Td(s.region or "any")] if regional else []),
                 html.Td(s.severity or "any"), html.Td(when(s.ends)), html.Td(s.comment)])
        for s in silences
    ]  # fmt: skip
    names = ("silence", "SLO", "API", *(("region",) if regional else ()), "severity", "until", "comment")
    head = html.Thead(html.Tr([html.Th(h) for h in names]))
    return cast(Component, dbc.Table([head, html.Tbody(rows)], size="sm", color="dark", id="slo-silences-rows"))


def silence_form(prefix: str) -> Component:
    """SLO (any when empty), API, region (any when empty; shown only for a store of regions), duration and comment;
    the button stores the silence."""
    region = dcc.Dropdown(id=f"{prefix}-silence-region", placeholder="region (any)", options=[])
    row: Component = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id=f"{prefix}-silence-slo", placeholder="SLO (any)", options=[]), md=3),
            dbc.Col(dbc.Input(id=f"{prefix}-silence-api", placeholder="API (any)", type="text"), md=2),
            dbc.Col(region, id=f"{prefix}-silence-region-col", md=2, style={"display": "none"}),
            dbc.Col(dbc.Select(id=f"{prefix}-silence-for", options=DURATION_OPTIONS, value="2h"), md=1),
            dbc.Col(dbc.Input(id=f"{prefix}-silence-comment", placeholder="why", type="text"), md=2),
            dbc.Col(dbc.Button("Silence", id=f"{prefix}-silence-add", color="warning"), md=2),
        ],
        className="g-2 mb-2",
    )
    return row


def target_form(prefix: str) -> Component:
    """An SLO and API (as the table names them), the target in percent (empty: back to the definition's)."""
    row: Component = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id=f"{prefix}-target-group", placeholder="SLO and API", options=[]), md=6),
            dbc.Col(dbc.Input(id=f"{prefix}-target-value", placeholder="target % (e.g. 99.95)", type="text"), md=3),
            dbc.Col(dbc.Button("Set target", id=f"{prefix}-target-set", color="info"), md=3),
        ],
        className="g-2 mb-2",
    )
    return row


def target_options(summaries: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """One choice per SLO and API the evaluator judged, showing its target now (a target holds in every region)."""
    choices = {
        f"{r['slo']}|{r['api']}": {"label": f"{r['slo']} · {_api(r['api'])} · {100 * r['target']:g}%",
                                   "value": f"{r['slo']}|{r['api']}"}
        for r in sorted(summaries, key=lambda r: (r["slo"], r["api"]))
    }  # fmt: skip
    return list(choices.values())


def parse_target(text: str | None) -> float | None:
    """A percentage from the form as a share; None (empty) resets to the definition's; ValueError naming the field."""
    if text is None or not text.strip():
        return None
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"target: expected a percentage such as 99.95, got {text!r}") from None
    if not 0 < value < 100:
        raise ValueError(f"target: expected a percentage between 0 and 100 (exclusive), got {value:g}")
    return value / 100


def alert_banner(paging: Sequence[AlertState]) -> list[Component]:
    """A banner while a page-severity alert fires, naming each SLO and API and linking to the SLO page."""
    if not paging:
        return []
    names = ", ".join(f"{s.slo} ({_api(s.api)}{message.where(s.region)}) since {when(s.fired_at)}" for s in paging)
    text = f"Paging: {names}. "
    return [dbc.Alert([text, dcc.Link("SLOs", href="/slos")], color="danger", id="alert-banner", className="py-2")]
