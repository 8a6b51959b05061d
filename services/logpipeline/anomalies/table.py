"""The anomalies table (``<table>_anomalies``): each minute's scores, the anomalies, and where the scorer stands.

Items, all read with Query (never a Scan):

- ``pk = score|<api>|<day>``, ``sk = <minute start, 13 digits>``: the API's three series in that minute (value,
  expected, band, score, status) as JSON; the dashboard draws bands and markers from them. They expire with the
  metrics (``expires_at``).
- ``pk = anomaly|<day of its start>``, ``sk = <start>|<api>|<metric>``: one anomaly, rewritten as it goes on and
  when it ends. The first write is conditional, so of two scorers (or a scorer replaying after a restart) only one
  finds it new, and only that one announces it.
- ``pk = scorer``, ``sk = status``: the last minute scored, the model in use, and the series still learning (the
  UI's cold-start message).

A regional pipeline's scorer (``region``) scores its own region's windows and keeps every item above under its
region's prefix (``<region>#score|…``, ``<region>#anomaly|…``, ``<region>#scorer``; ``metrics.layout.scope``): on
a global table no region's scorer writes another's items, and the same API's anomaly in two regions is two
anomalies, each announced once. An anomaly's document names its region.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson
from botocore.exceptions import ClientError

from logpipeline.anomalies.scoring import Anomaly, Score
from logpipeline.metrics import layout, store

DAY_MS = 86_400_000
SCORE, ANOMALY, SCORER = "score", "anomaly", "scorer"
FIRING, RESOLVED = "firing", "resolved"
BATCH = 25


def table_name(table: str) -> str:
    return f"{table}_anomalies"


def ensure_table(ddb: Any, table: str) -> bool:
    return store.ensure_keyed_table(ddb, table_name(table))


def _pk(region: str, *parts: str) -> str:
    return layout.scope(region) + "|".join(parts)


def _day(ms: int) -> str:
    return layout.day_of(ms)


def _expires(ms: int, retention_days: int) -> dict[str, str]:
    return {"N": str(ms // 1000 + retention_days * 86_400)}


def write_scores(
    ddb: Any,
    table: str,
    scores: Sequence[Score],
    retention_days: int = layout.DEFAULT_RETENTION_DAYS,
    region: str = "",
) -> int:
    """One item per API and minute holding its series; returns the items written."""
    grouped: dict[tuple[str, int], dict[str, Any]] = {}
    for s in scores:
        grouped.setdefault((s.api, s.minute), {})[s.metric] = s.doc()
    requests = [
        {
            "PutRequest": {
                "Item": {
                    "pk": {"S": _pk(region, SCORE, api, _day(minute))},
                    "sk": {"S": f"{minute:013d}"},
                    "doc": {"S": orjson.dumps(docs).decode()},
                    layout.TTL_ATTRIBUTE: _expires(minute, retention_days),
                }
            }
        }
        for (api, minute), docs in grouped.items()
    ]
    name = table_name(table)
    for i in range(0, len(requests), BATCH):
        pending: dict[str, Any] = {name: requests[i : i + BATCH]}
        for attempt in range(8):
            try:
                left = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            except Exception as exc:
                raise store.classify(exc) from exc
            if not left:
                break
            pending = left
            time.sleep(min(2.0, 0.05 * 2**attempt))
        else:
            raise store.classify(RuntimeError(f"{name}: scores left unprocessed after retries"))
    return len(requests)


def _by_day(ddb: Any, table: str, prefix: str, start_ms: int, end_ms: int, tail: str) -> list[dict[str, Any]]:
    """Items of ``<prefix>|<day>`` partitions (``prefix`` with its region's scope) whose sort key starts with a
    minute in ``[start_ms, end_ms)``."""
    items: list[dict[str, Any]] = []
    for day in layout.days_between(start_ms, end_ms):
        request = {
            "TableName": table_name(table),
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":p": {"S": f"{prefix}|{day}"},
                ":lo": {"S": f"{max(start_ms, 0):013d}"},
                ":hi": {"S": f"{max(end_ms - 1, 0):013d}{tail}"},
            },
        }
        items.extend(store.query_all(ddb, request))
    return items


def read_scores(
    ddb: Any, table: str, api: str, start_ms: int, end_ms: int, region: str = ""
) -> dict[int, dict[str, Any]]:
    """An API's scores per minute start, for minutes in ``[start_ms, end_ms)``: metric -> score document."""
    out: dict[int, dict[str, Any]] = {}
    for item in _by_day(ddb, table, _pk(region, SCORE, api), start_ms, end_ms, ""):
        out[int(item["sk"]["S"])] = orjson.loads(item["doc"]["S"])
    return out


def _anomaly_key(anomaly: Anomaly, region: str) -> dict[str, dict[str, str]]:
    return {
        "pk": {"S": _pk(region, ANOMALY, _day(anomaly.since))},
        "sk": {"S": f"{anomaly.since:013d}|{anomaly.api}|{anomaly.metric}"},
    }


def put_anomaly(
    ddb: Any, table: str, anomaly: Anomaly, retention_days: int = layout.DEFAULT_RETENTION_DAYS, region: str = ""
) -> bool:
    """Write an anomaly; True when it was not there before (a new anomaly). A new one is written with its
    ``firing`` notice due, an ended one gets its ``resolved`` notice due: the notifier delivers them and clears
    each mark (both may be due at once: an anomaly that ended before its first notice went out)."""
    key = _anomaly_key(anomaly, region)
    doc = {"S": orjson.dumps({**anomaly.doc(), **({"region": region} if region else {})}).decode()}
    now = {"N": str(int(time.time() * 1000))}
    expires = _expires(anomaly.last, retention_days)
    name = table_name(table)
    try:
        item = {**key, "doc": doc, "updated_at": now, layout.TTL_ATTRIBUTE: expires, _due(FIRING): {"BOOL": True}}
        ddb.put_item(TableName=name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        return True
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise store.classify(exc) from exc
    values: dict[str, dict[str, Any]] = {":d": doc, ":u": now, ":e": expires}
    update = "SET doc = :d, updated_at = :u, #e = :e"
    if not anomaly.open:
        update += f", {_due(RESOLVED)} = :r"
        values[":r"] = {"BOOL": True}
    try:
        ddb.update_item(TableName=name, Key=key, UpdateExpression=update, ExpressionAttributeValues=values,
                        ExpressionAttributeNames={"#e": layout.TTL_ATTRIBUTE})  # fmt: skip
    except Exception as exc:
        raise store.classify(exc) from exc
    return False


def _due(kind: str) -> str:
    return f"due_{kind}"


def pending_notices(
    ddb: Any, table: str, start_ms: int, end_ms: int, region: str = ""
) -> list[tuple[dict[str, str], str, dict[str, Any]]]:
    """Notices due for anomalies that started in ``[start_ms, end_ms)``: (key, kind, anomaly document), an
    anomaly's ``firing`` before its ``resolved``."""
    out: list[tuple[dict[str, str], str, dict[str, Any]]] = []
    for day in layout.days_between(start_ms, end_ms):
        request = {
            "TableName": table_name(table),
            "KeyConditionExpression": "pk = :p",
            "FilterExpression": f"attribute_exists({_due(FIRING)}) OR attribute_exists({_due(RESOLVED)})",
            "ExpressionAttributeValues": {":p": {"S": _pk(region, ANOMALY, day)}},
        }
        for item in store.query_all(ddb, request):
            key = {"pk": item["pk"], "sk": item["sk"]}
            doc = orjson.loads(item["doc"]["S"])
            out.extend((key, kind, doc) for kind in (FIRING, RESOLVED) if _due(kind) in item)
    return out


def delivered(ddb: Any, table: str, key: dict[str, Any], kind: str) -> None:
    """Clear a delivered notice's mark."""
    try:
        ddb.update_item(TableName=table_name(table), Key=key, UpdateExpression=f"REMOVE {_due(kind)}")
    except Exception as exc:
        raise store.classify(exc) from exc


def read_anomalies(ddb: Any, table: str, start_ms: int, end_ms: int, region: str = "") -> list[dict[str, Any]]:
    """A region's anomalies that started in ``[start_ms, end_ms)``, newest first."""
    found = _by_day(ddb, table, _pk(region, ANOMALY), start_ms, end_ms, "|~")
    out = [orjson.loads(item["doc"]["S"]) for item in found]
    return sorted(out, key=lambda d: (-d["since"], d["api"], d["metric"]))


def write_status(ddb: Any, table: str, status: dict[str, Any], region: str = "") -> None:
    item = {"pk": {"S": _pk(region, SCORER)}, "sk": {"S": "status"}, "doc": {"S": orjson.dumps(status).decode()}}
    try:
        ddb.put_item(TableName=table_name(table), Item=item)
    except Exception as exc:
        raise store.classify(exc) from exc


def read_status(ddb: Any, table: str, region: str = "") -> dict[str, Any] | None:
    try:
        got = ddb.get_item(TableName=table_name(table), Key={"pk": {"S": _pk(region, SCORER)}, "sk": {"S": "status"}})
    except Exception as exc:
        raise store.classify(exc) from exc
    item = got.get("Item")
    return None if item is None else dict(orjson.loads(item["doc"]["S"]))
