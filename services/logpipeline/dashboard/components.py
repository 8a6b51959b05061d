"""Bootstrap components of the dashboard: controls, KPI cards, the top-errors table, the health badge (pure).

Every string from the logs is passed as a child (text), never as markup, so it is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from logpipeline.dashboard import figures, timerange, viewstate
from logpipeline.dashboard.model import Arrivals, RegionRow, Sink
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics import rollup

LEVEL_COLORS = {
    "DEBUG": "secondary",
    "INFO": "info",
    "SUCCESS": "success",
    "WARNING": "warning",
    "ERROR": "danger",
    "CRITICAL": "danger",
}
FRESH_S, STALE_S = 180.0, 900.0


def navbar() -> Component:
    navbar: Component = dbc.NavbarSimple(
        brand="Log Realtime Analysis",
        brand_href="/",
        color="dark",
        dark=True,
        children=[
            dbc.NavItem(dbc.NavLink("Overview", href="/")),
            dbc.NavItem(dbc.NavLink("SLOs", href="/slos")),
            dbc.NavItem(dbc.NavLink("Live tail", href="/tail")),
            dbc.NavItem(dbc.NavLink("Settings", href="/settings")),
            dbc.NavItem(account_menu()),
        ],
        className="mb-3",
    )
    return navbar


def account_menu() -> Component:
    """Who is signed in (filled by a callback) and a sign-out form that posts the session's CSRF token."""
    return html.Form(
        [
            html.Span(id="whoami", className="navbar-text me-2 small"),
            dcc.Input(type="hidden", name="csrf_token", id="signout-csrf", value=""),
            dbc.Button("Sign out", id="signout", type="submit", size="sm", color="secondary", outline=True),
        ],
        action="/auth/logout",
        method="POST",
        className="d-flex align-items-center ms-3",
    )


def controls(prefix: str, view: viewstate.View, apis: bool = True) -> Component:
    """Range picker (custom start/end in UTC), API filter, SLO target, refresh interval and pause."""
    custom = view.range == timerange.CUSTOM
    items = [
        dbc.Col(
            [
                dbc.Label("Range", html_for=f"{prefix}-range"),
                dbc.RadioItems(
                    id=f"{prefix}-range",
                    options=[{"label": r, "value": r} for r in timerange.RANGES],
                    value=view.range,
                    inline=True,
                    className="btn-group",
                    inputClassName="btn-check",
                    labelClassName="btn btn-outline-info btn-sm",
                    labelCheckedClassName="active",
                ),
            ],
            width="auto",
        ),
        dbc.Col(
            html.Div(
                [
                    dbc.Label("From / to (UTC)"),
                    dbc.InputGroup(
                        [
                            dbc.Input(id=f"{prefix}-start", type="datetime-local", value=view.start, size="sm"),
                            dbc.Input(id=f"{prefix}-end", type="datetime-local", value=view.end, size="sm"),
                        ],
                        size="sm",
                    ),
                ],
                id=f"{prefix}-custom",
                style={} if custom else {"display": "none"},
            ),
            width="auto",
        ),
    ]
    if apis:
        items.append(
            dbc.Col(
                [
                    dbc.Label("APIs", html_for=f"{prefix}-apis"),
                    dcc.Dropdown(
                        id=f"{prefix}-apis",
                        options=[{"label": a, "value": a} for a in view.apis],
                        value=list(view.apis),
                        multi=True,
                        placeholder="all APIs",
                        className="dash-dark",
                    ),
                ],
                md=3,
            )
        )
        items.append(region_control(prefix, view.region))
    items += [
        dbc.Col(
            [
                dbc.Label("SLO target %", html_for=f"{prefix}-slo"),
                dbc.Input(id=f"{prefix}-slo", type="number", min=0, max=100, step=0.1, value=view.slo, size="sm"),
            ],
            width=1,
        ),
        dbc.Col(
            [
                dbc.Label("Refresh", html_for=f"{prefix}-refresh"),
                dbc.Select(
                    id=f"{prefix}-refresh",
                    options=[{"label": f"{s} s", "value": str(s)} for s in viewstate.REFRESH_CHOICES],
                    value=str(view.refresh_s),
                    size="sm",
                ),
                dbc.Switch(id=f"{prefix}-paused", label="paused", value=view.paused),
            ],
            width="auto",
        ),
    ]
    return cast(Component, dbc.Row(items, className="g-3 align-items-end mb-3"))


def region_options(regions: Sequence[str]) -> list[dict[str, str]]:
    return [{"label": "all regions", "value": viewstate.ALL_REGIONS}, *({"label": r, "value": r} for r in regions)]


def region_control(prefix: str, region: str | None) -> Component:
    """Every region merged or one region's figures; hidden until a refresh finds the store has regions."""
    return cast(Component, dbc.Col(
        [
            dbc.Label("Region", html_for=f"{prefix}-region"),
            dbc.Select(id=f"{prefix}-region", options=region_options([region] if region else []),
                       value=region or viewstate.ALL_REGIONS, size="sm"),
        ],
        id=f"{prefix}-region-box",
        width="auto",
        style=None if region else {"display": "none"},
    ))  # fmt: skip


def kpi_cards(prefix: str, totals: dict[str, int]) -> list[Component]:
    return [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(level, className="text-uppercase small text-muted"),
                        html.H4(f"{totals.get(level, 0):,}", id=f"{prefix}-kpi-{level}", className="mb-0"),
                    ]
                ),
                color=LEVEL_COLORS[level],
                outline=True,
            ),
            xs=6,
            md=2,
        )
        for level in LOG_LEVELS
    ]


def top_errors_table(rows: Sequence[rollup.ApiErrors], link: Callable[[str], str]) -> Component:
    """Top error-prone APIs: error count, error rate, count-weighted average response time; API links drill down."""
    head = html.Thead(html.Tr([html.Th("API"), html.Th("errors"), html.Th("error rate"), html.Th("avg response")]))
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(dcc.Link(r.api, href=link(r.api), className="api-link")),
                    html.Td(f"{r.errors:,}"),
                    html.Td(f"{100 * r.error_rate:.2f}%"),
                    html.Td(f"{r.avg_response_time:.1f} ms"),
                ]
            )
            for r in rows
        ]
        or [html.Tr(html.Td("no errors in this range", colSpan=4, className="text-muted"))]
    )
    table = dbc.Table([head, body], id="top-errors-table", bordered=False, hover=True, size="sm", color="dark")
    return cast(Component, table)


def duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _events(n: int) -> str:
    return f"{n:,} event" + ("" if n == 1 else "s")


def arrivals_banner(arrivals: Arrivals) -> list[Component]:
    """A warning when the streaming job set events aside in the range: late ones (the correction job counts them
    within minutes) and ones from clocks too far ahead (in the dead-letter topic)."""
    lines = []
    if arrivals.late:
        lines.append(
            f"{_events(arrivals.late)} arrived later than the watermark in this range: the live figures miss "
            f"{'it' if arrivals.late == 1 else 'them'} until the correction job folds "
            f"{'it' if arrivals.late == 1 else 'them'} in (every few minutes)."
        )
    if arrivals.too_far_ahead:
        lines.append(
            f"{_events(arrivals.too_far_ahead)} stamped too far ahead of arrival (a wrong clock) "
            f"{'was' if arrivals.too_far_ahead == 1 else 'were'} set aside in the dead-letter topic "
            "(class too_far_ahead)."
        )
    if not lines:
        return []
    return [dbc.Alert([html.Div(line) for line in lines], id="arrivals-banner", color="warning", className="mt-2 mb-0")]


def health_badge(age_seconds: float | None, sink: Sink, corrected_seconds: float | None = None) -> list[Component]:
    """Age of the newest stored window and the sink's lag: green while fresh, amber, red when stale; and when late
    or corrected data last changed a settled hour of the range."""
    if age_seconds is None:
        fresh = dbc.Badge("no data yet", color="secondary", className="me-2")
    else:
        color = "success" if age_seconds <= FRESH_S else ("warning" if age_seconds <= STALE_S else "danger")
        fresh = dbc.Badge(f"newest window {duration(age_seconds)} ago", color=color, className="me-2")
    if sink.state == "up":
        lag = "unknown" if sink.lag is None else f"{sink.lag:,.0f} records"
        sink_badge = dbc.Badge(f"sink lag {lag}", color="success" if not sink.lag else "warning")
    elif sink.state == "down":
        sink_badge = dbc.Badge("sink metrics unreachable", color="danger")
    else:
        sink_badge = dbc.Badge("sink lag not configured", color="secondary")
    if corrected_seconds is None:
        return [fresh, sink_badge]
    late = dbc.Badge(
        f"late data folded in {duration(corrected_seconds)} ago", id="late-badge", color="info", className="ms-2"
    )
    return [fresh, sink_badge, late]


def regions_table(rows: Sequence[RegionRow], shown: str | None) -> list[Component]:
    """The regions side by side (requests, errors, error rate, p95, newest window), a stale region in red; and a
    banner naming the regions the global view misses. Nothing for a single-region store."""
    if not rows:
        return []
    head = html.Thead(html.Tr([html.Th(h) for h in ("Region", "Requests", "Errors", "Error rate", "p95 ms", "Newest")]))
    body = []
    for r in rows:
        rate = "no requests" if r.error_rate is None else f"{r.error_rate:.2%}"
        newest = "no window" if r.age_seconds is None else f"{duration(r.age_seconds)} ago"
        cells = [r.region, f"{r.requests:,}", f"{r.errors:,}", rate, f"{r.p95:,.0f}", newest]
        body.append(html.Tr([html.Td(c) for c in cells], className="table-danger" if r.stale else None,
                            id=f"region-row-{r.region}"))  # fmt: skip
    stale = [r for r in rows if r.stale]
    out: list[Component] = []
    if stale:
        names = ", ".join(r.region for r in stale)
        scope = f"Region {names} is" if len(stale) == 1 else f"Regions {names} are"
        its = "its" if len(stale) == 1 else "their"
        where = f"the global view misses {its} newest minutes" if shown is None else "its figures stop there"
        out.append(dbc.Alert(f"{scope} stale (no recent window): {where}.", id="stale-regions", color="danger",
                             className="py-1 mb-2"))  # fmt: skip
    title = "Regions side by side" if shown is None else f"Region {shown}"
    out.append(card(title, dbc.Table([head, html.Tbody(body)], size="sm", className="mb-0", id="regions-table")))
    return out


def problems(messages: Sequence[str]) -> list[Component]:
    return [dbc.Alert(m, color="warning", className="py-1 mb-2") for m in messages]


def graph(graph_id: str) -> Component:
    return dcc.Graph(id=graph_id, figure=figures.empty(), config={"displaylogo": False})


def png_button(prefix: str) -> Component:
    """Downloads the page as one PNG, drawn in the browser (``assets/snapshot.js``)."""
    return html.Button("PNG", id=f"{prefix}-png", title="download this page as a PNG image",
                       className="btn btn-outline-secondary btn-sm page-png")  # fmt: skip


def minute_link(graph_id: str) -> Component:
    """Filled when a point of the graph is clicked: a link to that minute's logs (``tail_callbacks``)."""
    return dcc.Link("", id=f"{graph_id}-minute", href="/tail", className="small")


def card(title: str, body: Component) -> Component:
    return cast(Component, dbc.Card([dbc.CardHeader(title), dbc.CardBody(body)], className="mb-3"))


def stat_cards(prefix: str, stats: Sequence[tuple[str, str]]) -> list[Component]:
    """Small cards of (label, value); each value has the id ``<prefix>-stat-<label, spaces as dashes>``."""
    return [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.Div(label, className="text-uppercase small text-muted"),
                        html.H5(value, id=f"{prefix}-stat-{label.replace(' ', '-')}", className="mb-0"),
                    ]
                )
            ),
            xs=6,
            md=True,
        )
        for label, value in stats
    ]


def plain(value: Any) -> Any:
    """Components as the JSON structure Dash sends for them (type, namespace, props), recursively: an answer of
    plain data is encoded by orjson in one pass, while one holding component objects is walked value by value."""
    if isinstance(value, Component):
        data = value.to_plotly_json()  # type: ignore[no-untyped-call]
        return {**data, "props": {k: plain(v) for k, v in data["props"].items()}}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def favourites(names: Sequence[str], view: viewstate.View) -> Component:
    """Links to the user's favourite APIs' drill-downs, in the page's range (nothing when there are none)."""
    if not names:
        return html.Div(id="favourites")
    links = [
        dcc.Link(name, href=viewstate.href("/api", viewstate.View(range=view.range, start=view.start, end=view.end,
                                                                   name=name)),
                 className="badge text-bg-info text-decoration-none me-1")
        for name in names
    ]  # fmt: skip
    return html.Div(
        [html.Small("Favourites: ", className="text-muted me-1"), *links], id="favourites", className="mb-2"
    )


def save_view(prefix: str) -> Component:
    """Save what the page shows under a name, for oneself or for everyone (editors)."""
    group: Component = dbc.InputGroup(
        [
            dbc.Input(id=f"{prefix}-view-name", placeholder="name this view", size="sm", maxLength=80),
            dbc.InputGroupText(dbc.Checkbox(id=f"{prefix}-view-shared", label="everyone", value=False)),
            dbc.Button("Save view", id=f"{prefix}-view-save", size="sm", color="secondary"),
            html.Span(id=f"{prefix}-view-result", className="ms-2 small"),
        ],
        size="sm",
    )
    return group


def _at(ms: int, zone: str) -> str:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(zone)).strftime("%m-%d %H:%M")


def learning_note(status: dict[str, Any] | None, problem: str | None) -> Component | None:
    """What anomaly detection can say yet: not running, learning (how far), or nothing (it judges every series)."""
    if problem:
        return html.Small(problem, className="text-muted")
    if status is None:
        return html.Small("anomaly detection has not scored a minute yet", className="text-muted")
    learning = status.get("learning") or []
    if not learning:
        return None
    warmup = status.get("warmup_minutes") or 1
    most = max(entry["history_minutes"] for entry in learning)
    text = (f"anomaly detection is learning: {len(learning)} of {status.get('series', len(learning))} series have "
            f"less history than the {warmup / 1440:g} days a verdict needs (the longest: {most / 1440:.1f} days); "
            "they show no expected range and raise no anomaly yet")  # fmt: skip
    note = dbc.Alert(text, color="info", className="py-1 px-2 small mb-2", id="anomaly-learning")
    return cast(Component, note)


def anomalies_list(anomalies: Sequence[dict[str, Any]], link: Callable[[str], str], zone: str = "UTC") -> Component:
    """Anomalies newest first: series (and region), since when (and until), expected against observed, the related
    series."""
    units = {"error_rate": (100.0, "%"), "p95": (1.0, " ms"), "events": (1.0, "/min")}

    def value(metric: str, v: float | None) -> str:
        scale, unit = units.get(metric, (1.0, ""))
        return "-" if v is None else f"{v * scale:.3g}{unit}"

    regional = any(a.get("region") for a in anomalies)
    names = ("API", *(("region",) if regional else ()), "metric", "since", "until", "expected", "observed", "related")
    head = html.Thead(html.Tr([html.Th(t) for t in names]))
    body = [
        html.Tr([
            html.Td(dcc.Link(a["api"], href=link(a["api"]), className="api-link")),
            *([html.Td(a.get("region") or "")] if regional else []),
            html.Td(a["metric"]),
            html.Td(_at(a["since"], zone)),
            html.Td("open" if a.get("open") else _at(a["last"] + 60_000, zone)),
            html.Td(value(a["metric"], a.get("worst_expected"))),
            html.Td(value(a["metric"], a.get("worst_observed"))),
            html.Td(", ".join(f"{r['api']} {r['metric']}" for r in a.get("related", [])[:3]) or "-"),
        ])
        for a in anomalies[:50]
    ] or [html.Tr(html.Td("no anomaly in this range", colSpan=len(names), className="text-muted"))]  # fmt: skip
    table = dbc.Table([head, html.Tbody(body)], bordered=False, hover=True, size="sm", color="dark",
                      className="anomalies-table")  # fmt: skip
    return cast(Component, table)
