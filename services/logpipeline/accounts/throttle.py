"""Failed sign-ins per user name, shared by every worker and replica through the accounts table: after
``FREE`` failures in a row, each further attempt must wait ``delay_s`` since the last failure (doubling from
``base_s``, at most ``MAX_S``), right password or not; a sign-in that succeeds clears the count.

Items ``pk = "failures"``, ``sk = <name>`` with ``count`` and ``last`` (ms), counted with an atomic UpdateItem.
Names that do not exist are counted alike, so the answer never tells whether a user exists. The trade-off: someone
who keeps guessing also keeps the real user waiting (one failure per 15 minutes holds the longest wait), which the
log lines and ``logpipeline_dashboard_sign_ins_total{result="throttled"}`` show; single sign-on is not affected.
The dashboard's store credentials need ``UpdateItem`` on the accounts table for it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from logpipeline.accounts.directory import table_name
from logpipeline.metrics import store

FAILURES = "failures"
FREE = 5
DEFAULT_BASE_S = 30.0
MAX_S = 900.0


def delay_s(failures: int, base_s: float = DEFAULT_BASE_S) -> float:
    """How long after the last failure the next attempt is heard (pure)."""
    if failures < FREE:
        return 0.0
    return min(MAX_S, base_s * float(2 ** min(failures - FREE, 16)))


def _key(name: str) -> dict[str, Any]:
    return {"pk": {"S": FAILURES}, "sk": {"S": name}}


def claim(ddb: Any, table: str, name: str, now_ms: int, base_s: float = DEFAULT_BASE_S) -> float:
    """0 when ``name`` may try now (past ``FREE`` failures the attempt is claimed atomically, so parallel requests
    get one guess, not one each); else the seconds to wait."""
    try:
        got = ddb.get_item(TableName=table_name(table), Key=_key(name), ConsistentRead=True)
    except Exception as exc:
        raise store.classify(exc) from exc
    item = got.get("Item")
    if not item:
        return 0.0
    count, last = int(item["count"]["N"]), int(item["last"]["N"])
    if count < FREE:
        return 0.0
    ready = last / 1000 + delay_s(count, base_s)
    if now_ms / 1000 < ready:
        return ready - now_ms / 1000
    try:
        ddb.update_item(
            TableName=table_name(table),
            Key=_key(name),
            UpdateExpression="SET #l = :now",
            ConditionExpression="#l = :seen",
            ExpressionAttributeNames={"#l": "last"},
            ExpressionAttributeValues={":now": {"N": str(now_ms)}, ":seen": {"N": str(last)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return delay_s(count, base_s)  # another request took this attempt
        raise store.classify(exc) from exc
    except Exception as exc:
        raise store.classify(exc) from exc
    return 0.0


def failed(ddb: Any, table: str, name: str, now_ms: int) -> int:
    """Counts one failure; returns the failures in a row."""
    try:
        got = ddb.update_item(
            TableName=table_name(table),
            Key=_key(name),
            UpdateExpression="ADD #c :one SET #l = :now",
            ExpressionAttributeNames={"#c": "count", "#l": "last"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":now": {"N": str(now_ms)}},
            ReturnValues="UPDATED_NEW",
        )
    except Exception as exc:
        raise store.classify(exc) from exc
    return int(got["Attributes"]["count"]["N"])


def cleared(ddb: Any, table: str, name: str) -> None:
    try:
        ddb.delete_item(TableName=table_name(table), Key=_key(name))
    except Exception as exc:
        raise store.classify(exc) from exc
