"""The signed-in user's settings and saved views: the dashboard's data access to the accounts table (beside
``data``, which owns the metrics reads). Callbacks and page wrappers call these; they never touch the store."""

from __future__ import annotations

import logging
import threading

from logpipeline.accounts import directory, userdata
from logpipeline.accounts.userdata import SavedView
from logpipeline.dashboard import data, prefs

log = logging.getLogger("logpipeline.dashboard")
_ready: list[str] = []  # the tables this process has made sure exist
_lock = threading.Lock()


def _table() -> tuple[object, str]:
    src = data.source()
    with _lock:
        if src.settings.table not in _ready:
            directory.ensure_table(src.ddb, src.settings.table)
            _ready.append(src.settings.table)
    return src.ddb, src.settings.table


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
