"""The signed-in user's settings and saved views, and the annotations: the dashboard's data access to the accounts
table (beside ``data``, which owns the metrics reads). Callbacks and page wrappers call these; they never touch the
store."""

from __future__ import annotations

import logging
import threading
import time

from logpipeline.accounts import annotations as notes
from logpipeline.accounts import directory, userdata
from logpipeline.accounts.userdata import SavedView
from logpipeline.dashboard import data, model, prefs, telemetry
from logpipeline.dashboard.model import Mark

log = logging.getLogger("logpipeline.dashboard")
_lock = threading.Lock()


def _table() -> tuple[object, str]:
    src = data.source()
    return directory.ensured(src.ddb, src.settings.table)


def prefs_of(user: str) -> tuple[prefs.Prefs, int]:
    """The user's settings and their version; the defaults (version 0) before the first save."""
    doc, version = userdata.read_prefs(*_table(), user)
    return prefs.read(doc), version


def prefs_or_default(user: str | None) -> prefs.Prefs:
    """For a page: the user's settings, or the defaults when there is no user or the table does not answer."""
    if not user:
        return prefs.Prefs()
    try:
        return prefs_of(user)[0]
    except Exception as exc:
        log.warning("settings unreadable", extra={"fields": {"user": user, "error": str(exc)[:200]}})
        return prefs.Prefs()


def save_prefs(user: str, chosen: prefs.Prefs, version: int) -> int:
    """Store settings read at ``version`` (``userdata.Conflict`` when they changed since); the new version."""
    return userdata.write_prefs(*_table(), user, chosen.to_doc(), version)


def views(user: str) -> list[SavedView]:
    return userdata.views_for(*_table(), user)


def save_view(owner: str, name: str, path: str, shared: bool) -> SavedView:
    return userdata.save_view(*_table(), owner, name, path, shared)


def share(view_id: str, shared: bool, actor: str, admin: bool) -> SavedView:
    return userdata.set_shared(*_table(), view_id, shared, actor, admin)


def delete(view_id: str, actor: str, admin: bool) -> None:
    userdata.delete_view(*_table(), view_id, actor, admin)


MARKS_TTL_S = 5.0
_marks: dict[tuple[int, int, str | None], tuple[float, list[Mark]]] = {}


def marks(start_ms: int, end_ms: int, api: str | None = None, region: str | None = None) -> list[Mark]:
    """Annotations, alert moments and anomalies in ``[start_ms, end_ms)`` (read at most every few seconds per
    range); with ``api``, those about that API or about none; with ``region``, that region's alerts and anomalies
    (annotations hold everywhere). Empty when the tables do not answer: marks never fail a page."""
    key = (start_ms // 60_000, end_ms // 60_000, region)
    now = time.monotonic()
    with _lock:
        hit = _marks.get(key)
    if hit is None or now - hit[0] > MARKS_TTL_S:
        try:
            found = [Mark(a.at, a.kind, a.text if a.api is None else f"{a.text} ({a.api})", a.api)
                     for a in notes.between(*_table(), start_ms, end_ms)]  # fmt: skip
            states = [s for s in data.source().slo_board().states if region is None or s.region == region]
            found += model.alert_marks(states, start_ms, end_ms)
            anomalies = data.source().anomaly_view(start_ms, end_ms, region=region).anomalies
            found += model.anomaly_marks(anomalies, start_ms, end_ms)
        except Exception as exc:
            log.warning("marks unreadable", extra={"fields": {"error": str(exc)[:200]}})
            telemetry.MARKS_UNREADABLE.inc()
            found = []
        with _lock:
            if len(_marks) > 256:
                _marks.clear()
            _marks[key] = (now, sorted(found, key=lambda m: m.at))
            hit = _marks[key]
    if api is None:
        return hit[1]
    return [m for m in hit[1] if m.api is None or m.api == api]


def annotate(at: int, kind: str, text: str, api: str | None, by: str) -> notes.Annotation:
    made = notes.add(*_table(), at, kind, text, api, by)
    with _lock:
        _marks.clear()
    return made


def annotations_between(start_ms: int, end_ms: int) -> list[notes.Annotation]:
    return notes.between(*_table(), start_ms, end_ms)
