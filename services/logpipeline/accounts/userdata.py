"""What each user keeps in the accounts table (``<table>_dashboard``): their settings, and saved views.

Items: ``pk = "prefs"``, ``sk = <user>``: the settings as JSON (``doc``) with a ``version``, replaced only if the
version is still the one read (``Conflict`` otherwise: two tabs never silently undo each other). ``pk = "view"``,
``sk = <id>``: a named view (the URL query of the page it shows), its owner and whether every user sees it. Read
with GetItem and Query, never a Scan. What a settings document holds is the dashboard's business.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from botocore.exceptions import ClientError

from logpipeline.accounts.directory import AccountError, table_name
from logpipeline.metrics import store

PREFS, VIEW = "prefs", "view"
MAX_VIEWS = 500  # per table: a Query of one partition stays small


class Conflict(Exception):
    """The settings changed since they were read (another tab or worker wrote first)."""


@dataclass(frozen=True)
class SavedView:
    id: str
    name: str
    owner: str
    path: str  # the page's path and query, e.g. ``/?range=6h&api=%2Fapi%2Fv1%2Forders``
    shared: bool
    created_at: int


def _conditional(call: Any) -> None:
    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise Conflict("changed meanwhile; reload and try again") from None
        raise store.classify(exc) from exc


def read_prefs(ddb: Any, table: str, user: str) -> tuple[dict[str, Any], int]:
    """The user's settings document and its version (``{}`` and 0 before the first save)."""
    try:
        got = ddb.get_item(
            TableName=table_name(table), Key={"pk": {"S": PREFS}, "sk": {"S": user}}, ConsistentRead=True
        )
    except Exception as exc:
        raise store.classify(exc) from exc
    if "Item" not in got:
        return {}, 0
    return orjson.loads(got["Item"]["doc"]["S"]), int(got["Item"]["version"]["N"])


def write_prefs(ddb: Any, table: str, user: str, doc: dict[str, Any], version: int) -> int:
    """Replace the settings read at ``version``; returns the new version."""
    item = {
        "pk": {"S": PREFS},
        "sk": {"S": user},
        "doc": {"S": orjson.dumps(doc).decode()},
        "version": {"N": str(version + 1)},
    }
    put: dict[str, Any] = {"TableName": table_name(table), "Item": item}
    if version == 0:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "version = :v"
        put["ExpressionAttributeValues"] = {":v": {"N": str(version)}}
    _conditional(lambda: ddb.put_item(**put))
    return version + 1


def _view_item(view: SavedView) -> dict[str, Any]:
    return {
        "pk": {"S": VIEW},
        "sk": {"S": view.id},
        "name": {"S": view.name},
        "owner": {"S": view.owner},
        "path": {"S": view.path},
        "shared": {"BOOL": view.shared},
        "created_at": {"N": str(view.created_at)},
    }


def _view(item: dict[str, Any]) -> SavedView:
    return SavedView(
        item["sk"]["S"],
        item["name"]["S"],
        item["owner"]["S"],
        item["path"]["S"],
        bool(item["shared"]["BOOL"]),
        int(item["created_at"]["N"]),
    )


def all_views(ddb: Any, table: str) -> list[SavedView]:
    views = [_view(item) for item in store.partition(ddb, table_name(table), VIEW)]
    return sorted(views, key=lambda v: (v.name.lower(), v.id))


def views_for(ddb: Any, table: str, user: str) -> list[SavedView]:
    """The user's own views and every shared one."""
    return [v for v in all_views(ddb, table) if v.owner == user or v.shared]


def save_view(ddb: Any, table: str, owner: str, name: str, path: str, shared: bool) -> SavedView:
    name = name.strip()
    if not name or len(name) > 80:
        raise AccountError(f"a view needs a name of 1-80 characters, got {len(name)}")
    if not path.startswith("/") or path.startswith("//") or len(path) > 4000:
        raise AccountError(f"a view is a path on this dashboard, got {path[:80]!r}")
    if len(all_views(ddb, table)) >= MAX_VIEWS:
        raise AccountError(f"at most {MAX_VIEWS} saved views; remove some first")
    view = SavedView(secrets.token_urlsafe(9), name, owner, path, shared, int(time.time() * 1000))
    put = {"TableName": table_name(table), "Item": _view_item(view), "ConditionExpression": "attribute_not_exists(pk)"}
    _conditional(lambda: ddb.put_item(**put))
    return view


def _owned(ddb: Any, table: str, view_id: str, actor: str, admin: bool) -> SavedView:
    found = next((v for v in all_views(ddb, table) if v.id == view_id), None)
    if found is None:
        raise AccountError(f"no saved view {view_id!r}")
    if found.owner != actor and not admin:
        raise PermissionError(f"view {found.name!r} belongs to {found.owner}")
    return found


def set_shared(ddb: Any, table: str, view_id: str, shared: bool, actor: str, admin: bool = False) -> SavedView:
    """Publish a view to every user or take it back (its owner, or an admin)."""
    old = _owned(ddb, table, view_id, actor, admin)
    new = SavedView(old.id, old.name, old.owner, old.path, shared, old.created_at)
    ddb.put_item(TableName=table_name(table), Item=_view_item(new))
    return new


def delete_view(ddb: Any, table: str, view_id: str, actor: str, admin: bool = False) -> None:
    _owned(ddb, table, view_id, actor, admin)
    try:
        ddb.delete_item(TableName=table_name(table), Key={"pk": {"S": VIEW}, "sk": {"S": view_id}})
    except Exception as exc:
        raise store.classify(exc) from exc
