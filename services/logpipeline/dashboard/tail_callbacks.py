"""Callbacks of "show the logs of this minute": a point clicked on a time series links to the live-tail page at
that minute (``minute_link``), which reads the minute from the raw archive (``tail.archive``) with the page's filter.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html, no_update

from logpipeline import config, contracts
from logpipeline.dashboard.pages import api, overview, tail
from logpipeline.dashboard.tail import archive, filters

log = logging.getLogger("logpipeline.dashboard")
SHOWN = 1_000


def minute_href(click: dict[str, Any] | None, apis: list[str]) -> tuple[str, str] | None:
    """(link text, href) for the point clicked on a chart whose traces carry each bucket's start as customdata."""
    points = (click or {}).get("points") or []
    start = points[0].get("customdata") if points else None
    if not isinstance(start, int | float) or isinstance(start, bool):
        return None
    minute = int(start) - int(start) % archive.MINUTE_MS
    when = datetime.fromtimestamp(minute / 1000, UTC).strftime("%Y-%m-%d %H:%M")
    query = urlencode([("minute", minute), *(("api", a) for a in apis)])
    return f"Logs of {when} UTC from the archive →", f"{tail.PATH}?{query}"


def _one(value: Any) -> str | None:
    return str(value[0] if isinstance(value, list) else value) if value else None


def minute_view(query: dict[str, Any]) -> tuple[str, Any]:
    """The title and body of the archived minute named by the page's query."""
    raw = _one(query.get("minute"))
    if raw is None:
        return "", None
    if not raw.isdigit() or not 0 <= int(raw) < archive.LAST_MS:
        return "Logs of a minute", dbc.Alert(f"minute: expected epoch milliseconds, got {raw!r}", color="warning")
    root = os.environ.get(contracts.ENV_ARCHIVE_ROOT, "").strip()
    minute = int(raw) - int(raw) % archive.MINUTE_MS
    title = f"Logs of {datetime.fromtimestamp(minute / 1000, UTC):%Y-%m-%d %H:%M} UTC, from the raw archive"
    if not root:
        return title, dbc.Alert("no archive: this dashboard has no LOGPIPELINE_ARCHIVE_ROOT", color="secondary")
    try:
        args = {k: v if isinstance(v, list) else [v] for k, v in query.items() if k != "minute"}
        flt = filters.parse(args)
        began = time.perf_counter()
        settings = config.load()
        found = archive.read_minute(root, settings.names.pipeline, minute, flt, SHOWN, settings.webhdfs_url)
    except (filters.FilterError, archive.ArchiveError) as exc:
        return title, dbc.Alert(str(exc), color="warning")
    except Exception as exc:  # the archive's servers: shown, and the page goes on
        log.warning("archive read failed", extra={"fields": {"minute": minute, "error": str(exc)}})
        return title, dbc.Alert(f"the archive cannot be read: {type(exc).__name__}: {exc}", color="warning")
    took = time.perf_counter() - began
    summary = f"{found.matched} matching events in {found.files} files ({took:.1f} s)"
    if found.matched > len(found.lines):
        summary += f"; the first {len(found.lines)} shown"
    summary += recent_note(minute, time.time())
    if found.unreadable:
        summary += f"; {len(found.unreadable)} files unreadable: {'; '.join(found.unreadable)[:500]}"
    rows = [
        html.Div(
            f"{archive_stamp(line.at)}  {line.level or '':8} {line.status or '':<4}{line.api or '':24} {line.text}",
            className="minute-line",
        )
        for line in found.lines
    ]
    return title, html.Div(
        [
            html.Small(summary, id=f"{tail.P}-minute-summary", className="text-muted"),
            html.Div(rows, className="font-monospace small", style={"whiteSpace": "pre-wrap"}),
        ]
    )


def recent_note(minute: int, now_s: float) -> str:
    """What the summary of ``minute`` adds while the route query may still be writing it: a minute's logs reach the
    archive at the job's side trigger (``contracts.SIDE_TRIGGER_S``, the default) after the minute ends."""
    ended_s = (minute + archive.MINUTE_MS) / 1000
    complete_s = ended_s + contracts.SIDE_TRIGGER_S + 15  # and a large batch's write
    if now_s >= complete_s:
        return ""
    when = "is not over" if now_s < ended_s else f"ended {int(now_s - ended_s)} s ago"
    until = archive_stamp(int(complete_s * 1000))[:8]
    return (
        f"; the minute {when} and the archive takes in logs every {contracts.SIDE_TRIGGER_S} s: some may still be "
        f"on their way (until {until} UTC)"
    )


def archive_stamp(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]


def register(app: Dash) -> None:
    linked = ((f"{overview.P}-series", State(f"{overview.P}-apis", "value")),
              (f"{api.P}-latency", State(f"{api.P}-name", "data")),
              (f"{api.P}-errors", State(f"{api.P}-name", "data")))  # fmt: skip
    for graph, apis in linked:

        @app.callback(
            Output(f"{graph}-minute", "children"),
            Output(f"{graph}-minute", "href"),
            Input(graph, "clickData"),
            apis,
            prevent_initial_call=True,
        )
        def link(click: dict[str, Any] | None, chosen: Any) -> Any:
            names = chosen if isinstance(chosen, list) else [chosen] if chosen else []
            made = minute_href(click, [str(n) for n in names])
            return made if made else (no_update, no_update)

    @app.callback(
        Output(f"{tail.P}-minute-title", "children"),
        Output(f"{tail.P}-minute", "children"),
        Input(f"{tail.P}-query", "data"),
    )
    def minute(query: dict[str, Any] | None) -> Any:
        return minute_view(query or {})
