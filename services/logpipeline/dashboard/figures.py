"""Plotly figures of the dashboard's views, from plain data, as figure dicts (pure).

Figures are built as plain dicts (what ``dcc.Graph`` sends to Plotly.js) rather than ``plotly.graph_objects``,
whose validation costs far more than the refresh's data work; long series are numpy arrays, which the JSON
encoder writes whole instead of value by value (times as ``datetime64``, shown as UTC). Names that come from logs (API names) are
HTML-escaped before they reach Plotly, which reads a few tags in labels: ``<img src=x onerror=...>`` is shown
as those characters, never parsed as markup.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from logpipeline.dashboard.model import Bucket, Mark
from logpipeline.events.schema import LOG_LEVELS
from logpipeline.metrics import rollup

Figure = dict[str, Any]
LEVEL_COLORS = {
    "DEBUG": "#8e9aaf",
    "INFO": "#3498db",
    "SUCCESS": "#00bc8c",
    "WARNING": "#f39c12",
    "ERROR": "#e74c3c",
    "CRITICAL": "#9b59b6",
}
GOOD, BAD, NONE = "#00bc8c", "#e74c3c", "#6c757d"
TEXT, GRID = "#dee2e6", "#444444"


def text(value: str) -> str:
    """A string from the logs as Plotly label text: shown literally."""
    return html.escape(value, quote=False)


def times(starts: Sequence[int], zone: str = "UTC") -> np.ndarray[Any, Any]:
    """Bucket starts as wall-clock times of ``zone`` (an IANA name; each point with its own offset, so a change to
    or from summer time falls where it happened)."""
    if zone == "UTC" or not starts:
        return np.asarray(starts, dtype="datetime64[ms]")
    tz = ZoneInfo(zone)
    offsets = [datetime.fromtimestamp(ms / 1000, tz).utcoffset() for ms in starts]
    shifted = [ms + int(off.total_seconds() * 1000) if off else ms for ms, off in zip(starts, offsets, strict=True)]
    return np.asarray(shifted, dtype="datetime64[ms]")


def numbers(values: Sequence[float | None]) -> np.ndarray[Any, Any]:
    """A numeric series; ``None`` (no value) becomes NaN, which Plotly draws as a gap."""
    return np.asarray([np.nan if v is None else v for v in values], dtype=float)


def _figure(data: list[dict[str, Any]], height: int = 320, **layout: Any) -> Figure:
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True}
    base: dict[str, Any] = {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": TEXT},
        "margin": {"l": 40, "r": 20, "t": 30, "b": 40},
        "height": height,
        "xaxis": dict(axis),
        "yaxis": dict(axis),
        "legend": {"bgcolor": "rgba(0,0,0,0)"},
    }
    for key, value in layout.items():
        if key in ("xaxis", "yaxis"):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return {"data": data, "layout": base}


def empty(height: int = 320) -> Figure:
    """A dark, empty placeholder shown until the first refresh answers."""
    return _figure([], height, xaxis={"visible": False}, yaxis={"visible": False})


def sla_gauge(sla: rollup.Sla, slo: float) -> Figure:
    """Share of non-ERROR/CRITICAL events (%) with the SLO target as the threshold; empty range: no value."""
    value = None if sla.ratio is None else 100 * sla.ratio
    color = NONE if value is None else (GOOD if value >= slo else BAD)
    gauge = {
        "type": "indicator",
        "mode": "gauge+number",
        "value": value,
        "number": {"suffix": "%", "valueformat": ".2f"},
        "gauge": {
            "axis": {"range": [0, 100]},
            "bar": {"color": color},
            "threshold": {"line": {"color": "#ffffff", "width": 3}, "thickness": 0.85, "value": slo},
        },
        "title": {"text": f"target {slo:g}%"},
    }
    return _figure([gauge], 260, margin={"l": 30, "r": 30, "t": 50, "b": 10})


def level_pie(totals: dict[str, int]) -> Figure:
    levels = [level for level in LOG_LEVELS if totals.get(level)]
    pie = {
        "type": "pie",
        "labels": levels,
        "values": [totals[level] for level in levels],
        "marker": {"colors": [LEVEL_COLORS[level] for level in levels]},
        "sort": False,
        "hole": 0.4,
    }
    return _figure([pie], 260, showlegend=True)


def latency_bars(rows: Sequence[rollup.Latency]) -> Figure:
    """Count-weighted average response time per API with its p95 beside it; ``customdata`` holds the API."""
    names = [text(r.api) for r in rows]
    apis = [r.api for r in rows]
    bars: list[dict[str, Any]] = [
        {"type": "bar", "name": "avg", "x": names, "y": [r.avg for r in rows], "customdata": apis},
        {"type": "bar", "name": "p95", "x": names, "y": [r.p95 for r in rows], "customdata": apis},
    ]
    bars[0]["marker"], bars[1]["marker"] = {"color": "#3498db"}, {"color": "#f39c12"}
    return _figure(bars, 320, barmode="group", yaxis={"title": {"text": "ms"}}, clickmode="event")


MARK_COLORS = {"deploy": "#3498db", "incident": "#e74c3c", "note": "#adb5bd", "alert": "#f39c12", "anomaly": "#e83e8c"}
BAND_UNITS = {"events": ("events per minute", 1.0), "error_rate": ("error rate, %", 100.0), "p95": ("p95, ms", 1.0)}


def marked(figure: Figure, marks: Sequence[Mark], zone: str = "UTC") -> Figure:
    """``figure`` with a dotted vertical line per mark and its text on hover (texts are shown literally)."""
    if not marks:
        return figure
    at = times([m.at for m in marks], zone)
    shapes = [
        {"type": "line", "xref": "x", "yref": "paper", "x0": t, "x1": t, "y0": 0, "y1": 1,
         "line": {"color": MARK_COLORS.get(m.kind, TEXT), "width": 1, "dash": "dot"}}
        for t, m in zip(at, marks, strict=True)
    ]  # fmt: skip
    hover = {
        "type": "scatter", "mode": "markers", "name": "marks", "x": at, "y": [0] * len(marks), "yaxis": "y",
        "marker": {"symbol": "triangle-up", "size": 9, "color": [MARK_COLORS.get(m.kind, TEXT) for m in marks]},
        "text": [text(f"{m.kind}: {m.text}") for m in marks], "hoverinfo": "text+x",
    }  # fmt: skip
    return {"data": [*figure["data"], hover], "layout": {**figure["layout"], "shapes": shapes}}


def level_series(starts: Sequence[int], series: dict[str, list[int]], zone: str = "UTC") -> Figure:
    x = times(starts, zone)
    lines = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": level,
            "x": x,
            "y": np.asarray(series.get(level, []), dtype=np.int64),
            "customdata": np.asarray(starts, dtype=np.int64),  # the bucket's start: "logs of this minute"
            "line": {"color": LEVEL_COLORS[level]},
        }
        for level in LOG_LEVELS
    ]
    return _figure(lines, 320, yaxis={"title": {"text": "events"}}, xaxis={"title": {"text": zone}}, hovermode="x")


def latency_percentiles(buckets: Sequence[Bucket], zone: str = "UTC") -> Figure:
    """One API's p50/p95/p99 per bucket (buckets without events are gaps)."""
    x = times([b.start for b in buckets], zone)
    lines = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": q,
            "x": x,
            "y": numbers([getattr(b, q) if b.count else None for b in buckets]),
            "customdata": np.asarray([b.start for b in buckets], dtype=np.int64),
        }
        for q in ("p50", "p95", "p99")
    ]
    return _figure(lines, 320, yaxis={"title": {"text": "ms"}}, xaxis={"title": {"text": zone}}, hovermode="x")


def error_series(starts: Sequence[int], series: dict[str, list[int]], zone: str = "UTC") -> Figure:
    x = times(starts, zone)
    bars = [
        {
            "type": "bar",
            "name": level,
            "x": x,
            "y": np.asarray(series.get(level, []), dtype=np.int64),
            "customdata": np.asarray(starts, dtype=np.int64),
            "marker": {"color": LEVEL_COLORS[level]},
        }
        for level in ("ERROR", "CRITICAL")
    ]
    return _figure(
        bars, 320, barmode="stack", yaxis={"title": {"text": "events"}}, xaxis={"title": {"text": zone}}, hovermode="x"
    )


def anomaly_band(scores: dict[int, dict[str, Any]], metric: str, zone: str = "UTC") -> Figure:
    """One series of one API: the band the model expected (shaded), what was observed, its anomalous minutes as
    markers. Minutes the model was still learning show no band."""
    title, scale = BAND_UNITS.get(metric, (metric, 1.0))
    starts = sorted(m for m, row in scores.items() if metric in row)
    rows = [scores[m][metric] for m in starts]
    x = times(starts, zone)

    def column(name: str, learnt: bool = True) -> np.ndarray[Any, Any]:
        return numbers([
            None if r.get(name) is None or (learnt and r.get("status") == "learning") else r[name] * scale for r in rows
        ])  # fmt: skip

    out = np.asarray([r.get("status") == "anomaly" for r in rows], dtype=bool)
    data: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "name": "lower", "x": x, "y": column("lower"), "showlegend": False,
         "line": {"width": 0}, "hoverinfo": "skip"},
        {"type": "scatter", "mode": "lines", "name": "expected range", "x": x, "y": column("upper"), "fill": "tonexty",
         "fillcolor": "rgba(52, 152, 219, 0.25)", "line": {"width": 0}},
        {"type": "scatter", "mode": "lines", "name": "expected", "x": x, "y": column("expected"),
         "line": {"color": "#3498db", "dash": "dot", "width": 1}},
        {"type": "scatter", "mode": "lines", "name": "observed", "x": x, "y": column("value", learnt=False),
         "line": {"color": TEXT, "width": 1}},
        {"type": "scatter", "mode": "markers", "name": "anomaly", "x": x[out], "y": column("value", learnt=False)[out],
         "marker": {"color": MARK_COLORS["anomaly"], "size": 7}},
    ]  # fmt: skip
    return _figure(data, 220, yaxis={"title": {"text": title}}, xaxis={"title": {"text": zone}}, hovermode="x")
