"""The dashboard's callbacks: read through ``data`` (which owns the table reader), draw with pure builders.

Per page, one callback answers a refresh: ``load`` reads the snapshot through ``data`` (the only code touching
the table), then the pure ``render_*`` functions draw every view from that plain data (one request per refresh); clientside callbacks (``assets/dashboard.js``) keep the URL in step with the controls
(``history.replaceState``) and set the refresh interval. Nothing is kept between requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, no_update

from logpipeline.dashboard import (
    components,
    data,
    export,
    figures,
    prefs,
    telemetry,
    timerange,
    user_data,
    viewstate,
)
from logpipeline.dashboard.data import BAND_MAX_MS
from logpipeline.dashboard.model import AnomalyView, Mark, Snapshot
from logpipeline.dashboard.pages import api, overview

log = logging.getLogger("logpipeline.dashboard")


def load(
    page: str,
    range_name: str,
    start: str | None,
    end: str | None,
    apis: list[str],
    drill: str | None,
    region: str | None = None,
) -> Any:
    """(snapshot or ``no_update``, problems): the one table read of a refresh (of one region's items, or of every
    region's side by side when ``region`` is None)."""
    began = time.perf_counter()
    src = data.source()
    range_name = range_name or "1h"
    try:
        timerange.bounds(range_name, int(time.time() * 1000), start, end)
    except ValueError as exc:
        telemetry.REFRESH_ERRORS.labels(page).inc()
        return no_update, components.problems([str(exc)])
    items = src.items_read
    try:
        snap = src.view(
            range_name, start, end, apis, drill, None if region == viewstate.ALL_REGIONS else region or None
        )
    except data.UnknownRegion as exc:
        telemetry.REFRESH_ERRORS.labels(page).inc()
        return no_update, components.problems([str(exc)])
    except Exception as exc:
        telemetry.REFRESH_ERRORS.labels(page).inc()
        log.warning("refresh failed", extra={"fields": {"page": page, "error": f"{type(exc).__name__}: {exc}"}})
        return no_update, components.problems([f"metrics table unavailable: {type(exc).__name__}: {exc}"])
    telemetry.ITEMS_READ.inc(max(0, src.items_read - items))
    telemetry.REFRESH_SECONDS.labels(page).observe(time.perf_counter() - began)
    return snap, []


def zone_of(name: str | None) -> str:
    """The time zone the page's charts use: the user's choice, resolved in the browser when it is the browser's;
    UTC while unresolved or unknown here."""
    if not name or name == prefs.BROWSER or not prefs.zone_ok(name):
        return prefs.UTC
    return name


def range_label(snap: Snapshot) -> str:
    start, end = timerange.format_utc(snap.start_ms), timerange.format_utc(snap.end_ms)
    where = f" · region {snap.region}" if snap.region else ""
    return f"{start} → {end} UTC · {snap.resolution} buckets{where}"


def render_overview(
    snap: Snapshot,
    slo: Any,
    view: viewstate.View,
    zone: str = "UTC",
    marks: Sequence[Mark] = (),
    anomalies: AnomalyView | None = None,
    regions: Sequence[str] = (),
) -> tuple[Any, ...]:
    """Every view of the overview from a snapshot: pure (plain data in, figures and components out); ``regions``:
    the store's regional pipelines (the region control's choices)."""
    target = viewstate.View().slo if slo in (None, "") else float(slo)

    def link(name: str) -> str:
        return viewstate.href(api.PATH, replace(view, name=name, apis=()))

    return (
        figures.sla_gauge(snap.sla, target),
        figures.level_pie(snap.totals),
        figures.latency_bars(snap.latency),
        figures.marked(figures.level_series(snap.series_starts, snap.series, zone), marks, zone),
        components.top_errors_table(snap.top_errors, link),
        components.kpi_cards(overview.P, snap.totals),
        [
            *components.health_badge(snap.age_seconds, snap.sink, snap.corrected_seconds),
            *components.arrivals_banner(snap.arrivals),
        ],
        range_label(snap),
        [{"label": a, "value": a} for a in sorted({*snap.apis_available, *snap.apis})],
        _anomalies(anomalies or AnomalyView(), link, zone),
        *_regions(snap, regions),
    )


def _regions(snap: Snapshot, regions: Sequence[str]) -> tuple[Any, Any, Any]:
    """The region control's options and visibility, and the regions side by side (a store with regions)."""
    if not regions:
        return components.region_options([]), {"display": "none"}, []
    return components.region_options(regions), None, components.regions_table(snap.regions, snap.region)


def _anomalies(view: AnomalyView, link: Callable[[str], str], zone: str) -> list[Any]:
    note = components.learning_note(view.status, view.problem)
    return [*([note] if note is not None else []), components.anomalies_list(view.anomalies, link, zone)]


def render_api(
    snap: Snapshot,
    name: str | None,
    zone: str = "UTC",
    marks: Sequence[Mark] = (),
    anomalies: AnomalyView | None = None,
    link: Callable[[str], str] = lambda name: "",
) -> tuple[Any, ...]:
    view = anomalies or AnomalyView()
    row = next((r for r in snap.latency if r.api == name), None)
    errors = sum(b.errors for b in snap.detail)
    count = row.count if row else 0
    stats = [
        ("events", f"{count:,}"),
        ("errors", f"{errors:,}"),
        ("error rate", f"{100 * errors / count:.2f}%" if count else "-"),
        ("avg", f"{row.avg:.1f} ms" if row else "-"),
        ("p50", f"{row.p50:.1f} ms" if row else "-"),
        ("p95", f"{row.p95:.1f} ms" if row else "-"),
        ("p99", f"{row.p99:.1f} ms" if row else "-"),
    ]
    return (
        components.stat_cards(api.P, stats),
        figures.latency_percentiles(snap.detail, zone),
        figures.marked(figures.error_series(snap.series_starts, snap.series, zone), marks, zone),
        [
            *components.health_badge(snap.age_seconds, snap.sink, snap.corrected_seconds),
            *components.arrivals_banner(snap.arrivals),
        ],
        range_label(snap),
        components.learning_note(view.status, view.problem if view.scores or view.problem else _no_band(snap)),
        *[figures.anomaly_band(view.scores, metric, zone) for metric in api.BAND_METRICS],
        components.anomalies_list(view.anomalies, link, zone),
    )


def _no_band(snap: Snapshot) -> str | None:
    if snap.end_ms - snap.start_ms > BAND_MAX_MS:
        return "expected ranges are drawn for ranges up to a day: choose a shorter range"
    if snap.region is None and len(snap.regions) > 1:
        return "expected ranges are each region's own: choose a region to see them"
    return None


def _controls(p: str, apis: bool = True) -> list[State]:
    ids = ["range", "start", "end", *(["apis"] if apis else []), "slo", "refresh", "paused"]
    return [State(f"{p}-{i}", "value") for i in ids]


# What each page's refresh redraws, in the order its render function returns them (problems last).
OVERVIEW_OUTPUTS = (
    ("sla", "figure"), ("levels", "figure"), ("latency", "figure"), ("series", "figure"),
    ("top-errors", "children"), ("kpis", "children"), ("health", "children"), ("range-label", "children"),
    ("apis", "options"), ("anomalies", "children"), ("region", "options"), ("region-box", "style"),
    ("regions", "children"), ("problems", "children"),
)  # fmt: skip
API_OUTPUTS = (
    ("stats", "children"), ("latency", "figure"), ("errors", "figure"), ("health", "children"),
    ("range-label", "children"), ("learning", "children"), *((f"band-{m}", "figure") for m in api.BAND_METRICS),
    ("anomalies", "children"), ("problems", "children"),
)  # fmt: skip


def register(app: Dash) -> None:
    o, a = overview.P, api.P

    @app.callback(
        *[Output(f"{o}-{part}", prop) for part, prop in OVERVIEW_OUTPUTS],
        Input(f"{o}-tick", "n_intervals"),
        *[Input(f"{o}-{i}", "value") for i in ("range", "start", "end", "apis", "slo", "region")],
        State(f"{o}-refresh", "value"),
        State(f"{o}-paused", "value"),
        State(f"{o}-zone", "data"),
    )
    def refresh_overview(_: int, *controls: Any) -> Any:
        range_name, start, end, apis, slo, region, refresh, paused, zone_name = controls
        zone = zone_of(zone_name)
        snap, problems = load("overview", range_name, start, end, list(apis or []), None, region)
        if snap is no_update:
            return [no_update] * (len(OVERVIEW_OUTPUTS) - 1) + [problems]
        view = viewstate.from_controls(range_name, start, end, apis, slo, refresh, paused, region=region)
        marks = user_data.marks(snap.start_ms, snap.end_ms, region=snap.region)
        src = data.source()
        found = src.anomaly_view(snap.start_ms, snap.end_ms, region=snap.region)
        drawn = render_overview(snap, slo, view, zone, marks, found, src.settings.regions)
        return components.plain((*drawn, problems))

    @app.callback(
        Output(f"{o}-download", "data"),
        Input({"type": f"{o}-csv", "panel": ALL}, "n_clicks"),
        *[State(f"{o}-{i}", "value") for i in ("range", "start", "end", "apis", "region")],
        prevent_initial_call=True,
    )
    def download(clicks: list[int | None], range_name: str, start: str, end: str, apis: list[str] | None,
                 region: str | None) -> Any:  # fmt: skip
        trigger = ctx.triggered_id
        if not trigger or not any(clicks):
            return no_update
        snap, _ = load("overview", range_name, start, end, list(apis or []), None, region)
        if snap is no_update:
            return no_update
        panel = str(trigger["panel"])
        # what dcc.send_string returns, spelled out (it is untyped)
        csv = export.panel_csv(panel, snap)
        return {"content": csv, "filename": export.filename(panel, snap), "type": "text/csv", "base64": False}

    @app.callback(
        Output(f"{o}-nav", "href"),
        Input(f"{o}-latency", "clickData"),
        *_controls(o),
        State(f"{o}-region", "value"),
        prevent_initial_call=True,
    )
    def drill_down(click: dict[str, Any] | None, *controls: Any) -> Any:
        points = (click or {}).get("points") or []
        if not points or not points[0].get("customdata"):
            return no_update
        range_name, start, end, apis, slo, refresh, paused, region = controls
        view = viewstate.from_controls(range_name, start, end, apis, slo, refresh, paused, region=region)
        return viewstate.href(api.PATH, replace(view, name=str(points[0]["customdata"])))

    @app.callback(
        *[Output(f"{a}-{part}", prop) for part, prop in API_OUTPUTS],
        Input(f"{a}-tick", "n_intervals"),
        Input(f"{a}-range", "value"),
        Input(f"{a}-start", "value"),
        Input(f"{a}-end", "value"),
        State(f"{a}-name", "data"),
        State(f"{a}-zone", "data"),
        State(f"{a}-region", "data"),
    )
    def refresh_api(
        _: int, range_name: str, start: str, end: str, name: str | None, zone: str | None, region: str | None
    ) -> Any:
        if not name:
            return [no_update] * len(API_OUTPUTS)
        snap, problems = load("api", range_name, start, end, [name], name, region)
        if snap is no_update:
            return [no_update] * (len(API_OUTPUTS) - 1) + [problems]
        marks = user_data.marks(snap.start_ms, snap.end_ms, name, snap.region)
        found = data.source().anomaly_view(snap.start_ms, snap.end_ms, name, snap.region)
        view = viewstate.from_controls(range_name, start, end, [], None, None, None, region=region)

        def link(other: str) -> str:
            return viewstate.href(api.PATH, replace(view, name=other, apis=()))

        return components.plain((*render_api(snap, name, zone_of(zone), marks, found, link), problems))

    @app.callback(
        Output(f"{a}-back", "href"),
        *[Input(s.component_id, "value") for s in _controls(a, False)],
        Input(f"{a}-region", "data"),
    )
    def back_link(*controls: Any) -> str:
        range_name, start, end, slo, refresh, paused, region = controls
        view = viewstate.from_controls(range_name, start, end, [], slo, refresh, paused, region=region)
        return viewstate.href(overview.PATH, view)

    for p, sync in ((o, "syncOverviewUrl"), (a, "syncApiUrl")):
        values = [Input(s.component_id, "value") for s in _controls(p, p == o)]
        name = [Input(f"{a}-name", "data"), Input(f"{a}-region", "data")] if p == a else [Input(f"{o}-region", "value")]
        app.clientside_callback(  # type: ignore[no-untyped-call]
            ClientsideFunction("logpipeline", sync), Output(f"{p}-url", "data"), *values, *name
        )
        app.clientside_callback(  # type: ignore[no-untyped-call]
            ClientsideFunction("logpipeline", "interval"),
            Output(f"{p}-tick", "interval"),
            Output(f"{p}-tick", "disabled"),
            Input(f"{p}-refresh", "value"),
            Input(f"{p}-paused", "value"),
        )
        app.clientside_callback(  # type: ignore[no-untyped-call]
            ClientsideFunction("logpipeline", "zone"), Output(f"{p}-zone", "data"), Input(f"{p}-zone-pref", "data")
        )
        app.clientside_callback(  # type: ignore[no-untyped-call]
            ClientsideFunction("logpipeline", "showCustom"),
            Output(f"{p}-custom", "style"),
            Input(f"{p}-range", "value"),
        )
