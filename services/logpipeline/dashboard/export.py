"""Each overview panel's data as CSV (pure): the same figures the panel draws, from the same snapshot, full
precision, times as UTC ISO 8601. API names from logs are quoted by the CSV writer (never interpreted)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from logpipeline.dashboard import prefs
from logpipeline.dashboard.model import Snapshot
from logpipeline.events.schema import LOG_LEVELS

PANELS = tuple(prefs.PANELS)


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # a cell a spreadsheet would run as a formula starts with a quote
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row])
    return out.getvalue()


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def panel_csv(panel: str, snap: Snapshot) -> str:
    """The CSV of one panel; ValueError naming the panel when there is no such panel."""
    if panel in ("kpis", "levels"):
        return _csv(["level", "events"], ((lv, snap.totals.get(lv, 0)) for lv in LOG_LEVELS))
    if panel == "sla":
        ratio = "" if snap.sla.ratio is None else repr(snap.sla.ratio)
        return _csv(["events", "errors", "sla"], [(snap.sla.total, snap.sla.errors, ratio)])
    if panel == "top-errors":
        rows = ((r.api, r.errors, r.total, r.error_rate, r.avg_response_time) for r in snap.top_errors)
        return _csv(["api", "errors", "events", "error_rate", "avg_response_ms"], rows)
    if panel == "latency":
        rows_l = ((r.api, r.count, r.avg, r.min, r.max, r.p50, r.p95, r.p99) for r in snap.latency)
        return _csv(["api", "events", "avg_ms", "min_ms", "max_ms", "p50_ms", "p95_ms", "p99_ms"], rows_l)
    if panel == "series":
        rows_s = (
            (_utc(start), *(snap.series.get(lv, [0] * len(snap.series_starts))[i] for lv in LOG_LEVELS))
            for i, start in enumerate(snap.series_starts)
        )
        return _csv(["bucket_start_utc", *LOG_LEVELS], rows_s)
    raise ValueError(f"panel: expected one of {', '.join(PANELS)}, got {panel!r}")


def filename(panel: str, snap: Snapshot) -> str:
    return f"logpipeline-{panel}-{_utc(snap.start_ms)}-{_utc(snap.end_ms)}.csv".replace(":", "")
