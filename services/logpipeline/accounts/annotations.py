"""Annotations on the dashboard's time series (deploys, incidents, notes), in the accounts table.

Items: ``pk = "annotation"``, ``sk = <ms, 13 digits>#<id>``: read for a range with one Query on the sort key
(never a Scan). Written by editors through the dashboard's HTTP API or by ``logpipeline annotate``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from logpipeline.accounts.directory import AccountError, table_name
from logpipeline.metrics import store

PK = "annotation"
KINDS = ("deploy", "incident", "note")
MAX_TEXT = 500


@dataclass(frozen=True)
class Annotation:
    id: str
    at: int  # epoch ms
    kind: str
    text: str
    api: str | None
    by: str


def check(at: int, kind: str, text: str, api: str | None) -> None:
    """Refuses a bad annotation, naming the field."""
    if not 0 < at < 10**13:
        raise AccountError(f"at: expected epoch milliseconds, got {at}")
    if kind not in KINDS:
        raise AccountError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if not text.strip() or len(text) > MAX_TEXT:
        raise AccountError(f"text: expected 1-{MAX_TEXT} characters, got {len(text.strip())}")
    if api is not None and (not api or len(api) > 1024):
        raise AccountError("api: expected an API name of 1-1024 characters")


def add(ddb: Any, table: str, at: int, kind: str, text: str, api: str | None, by: str) -> Annotation:
    check(at, kind, text, api)
    made = Annotation(secrets.token_urlsafe(6), at, kind, text.strip(), api, by)
    item = {
        "pk": {"S": PK},
        "sk": {"S": f"{at:013d}#{made.id}"},
        "kind": {"S": kind},
        "text": {"S": made.text},
        "by": {"S": by},
        "created_at": {"N": str(int(time.time() * 1000))},
    }
    if api:
        item["api"] = {"S": api}
    try:
        ddb.put_item(TableName=table_name(table), Item=item)
    except Exception as exc:
        raise store.classify(exc) from exc
    return made


def between(ddb: Any, table: str, start_ms: int, end_ms: int) -> list[Annotation]:
    """Annotations with ``start_ms <= at < end_ms``, oldest first."""
    request: dict[str, Any] = {
        "TableName": table_name(table),
        "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": {"S": PK},
            ":lo": {"S": f"{max(start_ms, 0):013d}#"},
            ":hi": {"S": f"{max(end_ms - 1, 0):013d}#~"},
        },
    }
    out: list[Annotation] = []
    for item in store.query_all(ddb, request):
        at, ident = item["sk"]["S"].split("#", 1)
        api = item.get("api", {}).get("S")
        out.append(Annotation(ident, int(at), item["kind"]["S"], item["text"]["S"], api, item["by"]["S"]))
    return out
