"""Plotly figures of the dashboard's views, from plain data (pure).

Names that come from logs (API names) are HTML-escaped before they reach Plotly, which reads a few tags in
labels: ``<img src=x onerror=...>`` is shown as those characters, never parsed as markup.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence

import plotly.graph_objects as go

from logpipeline.dashboard.model import Bucket
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics import rollup

LEVEL_COLORS = {
    "DEBUG": "#8e9aaf",
    "INFO": "#3498db",
    "SUCCESS": "#00bc8c",
    "WARNING": "#f39c12",
    "ERROR": "#e74c3c",
    "CRITICAL": "#9b59b6",
}
GOOD, BAD = "#00bc8c", "#e74c3c"


def text(value: str) -> str:
    """A string from the logs as Plotly label text: shown literally."""
    return html.escape(value, quote=False)


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))


def _layout(fig: go.Figure, height: int = 320, **extra: object) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 40, "r": 20, "t": 30, "b": 40},
        height=height,
        **extra,
    )
    return fig


def sla_gauge(sla: rollup.Sla, slo: float) -> go.Figure:
    """Share of non-ERROR/CRITICAL events (%) with the SLO target as the threshold; empty range: no value."""
    value = None if sla.ratio is None else 100 * sla.ratio
    color = "#6c757d" if value is None else (GOOD if value >= slo else BAD)
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=value,
            number={"suffix": "%", "valueformat": ".2f"},
            gauge={
                "axis": {"range": [0, 100]},
                "bar": {"color": color},
                "threshold": {"line": {"color": "#ffffff", "width": 3}, "thickness": 0.85, "value": slo},
            },
            title={"text": f"SLA (target {slo:g}%)"},
        )
    )
    return _layout(fig, 260)


def level_pie(totals: dict[str, int]) -> go.Figure:
    levels = [level for level in LOG_LEVELS if totals.get(level)]
    fig = go.Figure(
        go.Pie(
            labels=levels,
            values=[totals[level] for level in levels],
            marker={"colors": [LEVEL_COLORS[level] for level in levels]},
            sort=False,
            hole=0.4,
        )
    )
    return _layout(fig, 260, showlegend=True)


def latency_bars(rows: Sequence[rollup.Latency]) -> go.Figure:
    """Count-weighted average response time per API with its p95 beside it; ``customdata`` holds the API."""
    names = [text(r.api) for r in rows]
    apis = [r.api for r in rows]
    fig = go.Figure(
        [
            go.Bar(name="avg", x=names, y=[r.avg for r in rows], customdata=apis, marker_color="#3498db"),
            go.Bar(name="p95", x=names, y=[r.p95 for r in rows], customdata=apis, marker_color="#f39c12"),
        ]
    )
    return _layout(fig, 320, barmode="group", yaxis_title="ms", clickmode="event")


def level_series(starts: Sequence[int], series: dict[str, list[int]]) -> go.Figure:
    x = [iso(s) for s in starts]
    fig = go.Figure(
        [
            go.Scatter(x=x, y=series.get(level, []), name=level, mode="lines", line={"color": LEVEL_COLORS[level]})
            for level in LOG_LEVELS
        ]
    )
    return _layout(fig, 320, yaxis_title="events", xaxis_title="UTC")


def latency_percentiles(buckets: Sequence[Bucket]) -> go.Figure:
    """One API's p50/p95/p99 per bucket (buckets without events are gaps)."""
    x = [iso(b.start) for b in buckets]
    fig = go.Figure(
        [
            go.Scatter(x=x, y=[getattr(b, q) if b.count else None for b in buckets], name=q, mode="lines+markers")
            for q in ("p50", "p95", "p99")
        ]
    )
    return _layout(fig, 320, yaxis_title="ms", xaxis_title="UTC")


def error_series(starts: Sequence[int], series: dict[str, list[int]]) -> go.Figure:
    x = [iso(s) for s in starts]
    fig = go.Figure(
        [
            go.Bar(x=x, y=series.get(level, []), name=level, marker_color=LEVEL_COLORS[level])
            for level in ("ERROR", "CRITICAL")
        ]
    )
    return _layout(fig, 320, barmode="stack", yaxis_title="events", xaxis_title="UTC")
