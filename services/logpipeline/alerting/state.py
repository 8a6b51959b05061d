"""Alert state and silences in the metrics store (table ``<table>_alerts``), written with conditional puts.

Items: ``pk = "alert"``, ``sk = <slo>|<api>`` for each alert's state; ``pk = "silence"``, ``sk = <id>`` for
silences; ``pk = "summary"``: where every SLO stands as of the last cycle (burn rates, budget), for the
dashboard, in as few items as fit (each cycle rewrites them; a reader keeps the newest cycle's). Each item holds its
value as JSON (``doc``) and a ``version``: a state is replaced only if its version is still the one read
(``Conflict`` otherwise), so of two evaluators that judged the same minute only one writes, and only the writer
notifies. A restarted evaluator reads the state back: it neither re-notifies a firing alert before its repeat
interval nor forgets one. ``pk = "target"``, ``sk = <slo>|<api>``: a target an editor set for one API on the
dashboard, which replaces the definition's for that API. Each kind is read with one Query, never a Scan.

Regional pipelines (``metrics.layout``): each region's evaluator judges its own region's windows and is the only
writer of its states and summaries, kept under ``pk = <region>#alert`` and ``<region>#summary``. So on a global
table two regions' evaluators never replace each other's items (last-writer-wins replication cannot lose a
firing), and a region's alert fires and notifies on its own traffic. Silences and targets are people's settings,
one item per change made on a dashboard or the command line: they are shared by every region (a silence may name
one region).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, replace
from typing import Any

import orjson
from botocore.exceptions import ClientError

from logpipeline.alerting.lifecycle import AlertState, Notice, Silence
from logpipeline.metrics import layout, store

ALERT, SILENCE, SUMMARY, TARGET = "alert", "silence", "summary", "target"
SUMMARY_CHUNK = 300_000  # characters of JSON per summary item (an item holds at most 400 KB)


class Conflict(Exception):
    """Another evaluator wrote this alert's state first."""


def key_of(kind: str, region: str = "") -> str:
    """The partition of a region's alert states or summaries (``kind``): ``<region>#<kind>``, or ``kind`` alone."""
    return layout.scope(region) + kind


def table_name(table: str) -> str:
    return f"{table}_alerts"


def ensure_table(ddb: Any, table: str) -> bool:
    """Create the alerts table if it is missing; True when it was created."""
    return store.ensure_keyed_table(ddb, table_name(table))


def encode_state(state: AlertState) -> str:
    doc = asdict(state)
    doc.pop("version")
    if not doc["region"]:
        doc.pop("region")  # a single-region store's states stay as they were
    return orjson.dumps(doc).decode()


def encode_silence(silence: Silence) -> str:
    doc = asdict(silence)
    if doc["region"] is None:
        doc.pop("region")  # a silence of every region reads as before
    return orjson.dumps(doc).decode()


def decode_state(text: str, version: int) -> AlertState:
    doc = orjson.loads(text)
    outbox = doc.pop("outbox")
    doc["history"] = tuple(tuple(h) for h in doc["history"])
    notice = None
    if outbox is not None:
        outbox["pending"], outbox["failed"] = tuple(outbox["pending"]), tuple(outbox["failed"])
        notice = Notice(**outbox)
    return AlertState(**doc, outbox=notice, version=version)


def read_states(ddb: Any, table: str, region: str = "") -> dict[str, AlertState]:
    """Every alert's state of a region by group (``<slo>|<api>``): one Query."""
    out = {}
    for item in store.partition(ddb, table_name(table), key_of(ALERT, region)):
        state = decode_state(item["doc"]["S"], int(item["version"]["N"]))
        out[state.group] = state
    return out


def write_state(ddb: Any, table: str, state: AlertState) -> AlertState:
    """Put ``state`` (under its region's key) if the stored version is still ``state.version``; returns it with its
    new version."""
    new = replace(state, version=state.version + 1)
    try:
        ddb.put_item(
            TableName=table_name(table),
            Item={
                "pk": {"S": key_of(ALERT, state.region)},
                "sk": {"S": state.group},
                "doc": {"S": encode_state(new)},
                "version": {"N": str(new.version)},
            },
            ConditionExpression="attribute_not_exists(sk) OR version = :v",
            ExpressionAttributeValues={":v": {"N": str(state.version)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise Conflict(state.group) from exc
        raise store.classify(exc) from exc
    return new


def adopt(ddb: Any, table: str, region: str) -> int:
    """A regional evaluator's first cycle: copy the alert states it kept under the region-less keys (before states
    were kept per region) to its region's keys, while its region has none, so a firing alert is neither forgotten
    nor notified again. Returns the states copied."""
    if not region or store.partition(ddb, table_name(table), key_of(ALERT, region)):
        return 0
    copied = 0
    for old in read_states(ddb, table).values():
        try:
            write_state(ddb, table, replace(old, region=region, version=0))
            copied += 1
        except Conflict:
            pass  # another evaluator of this region copied it first
    return copied


def read_targets(ddb: Any, table: str) -> dict[tuple[str, str], float]:
    """Per-API targets set from the dashboard, by (SLO, API): they replace the definition's target for that API."""
    out = {}
    for item in store.partition(ddb, table_name(table), TARGET):
        slo_name, api = item["sk"]["S"].split("|", 1)
        out[(slo_name, api)] = float(item["target"]["N"])
    return out


def write_target(ddb: Any, table: str, slo_name: str, api: str, target: float | None, by: str) -> None:
    """Set (or with None, drop) the target of one SLO for one API; refused outside (0, 1)."""
    key = {"pk": {"S": TARGET}, "sk": {"S": f"{slo_name}|{api}"}}
    try:
        if target is None:
            ddb.delete_item(TableName=table_name(table), Key=key)
            return
        if not 0 < target < 1:
            raise ValueError(f"target: expected a share between 0 and 1 (e.g. 0.999), got {target}")
        item = {**key, "target": {"N": repr(target)}, "by": {"S": by}, "at": {"N": str(int(time.time() * 1000))}}
        ddb.put_item(TableName=table_name(table), Item=item)
    except ClientError as exc:
        raise store.classify(exc) from exc


def read_silences(ddb: Any, table: str) -> list[Silence]:
    return [Silence(**orjson.loads(item["doc"]["S"])) for item in store.partition(ddb, table_name(table), SILENCE)]


def add_silence(ddb: Any, table: str, silence: Silence) -> Silence:
    if not silence.id:
        silence = replace(silence, id=secrets.token_hex(6))
    try:
        ddb.put_item(
            TableName=table_name(table),
            Item={"pk": {"S": SILENCE}, "sk": {"S": silence.id}, "doc": {"S": encode_silence(silence)}},
        )
    except Exception as exc:
        raise store.classify(exc) from exc
    return silence


def expire_silence(ddb: Any, table: str, silence_id: str, now_ms: int) -> Silence | None:
    """End a silence now (it stays listed as expired); None when there is no such silence."""
    for silence in read_silences(ddb, table):
        if silence.id == silence_id:
            return add_silence(ddb, table, replace(silence, ends=min(silence.ends, now_ms)))
    return None


def write_summaries(ddb: Any, table: str, summaries: list[dict[str, Any]], now_ms: int, region: str = "") -> int:
    """Where every SLO stands (one dict per alert group), packed into items of at most ``SUMMARY_CHUNK``
    characters, all stamped ``at = now_ms``; returns the items written."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for summary in summaries:
        length = len(orjson.dumps(summary))
        if chunks[-1] and size + length > SUMMARY_CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(summary)
        size += length
    try:
        for i, chunk in enumerate(chunks):
            ddb.put_item(
                TableName=table_name(table),
                Item={
                    "pk": {"S": key_of(SUMMARY, region)},
                    "sk": {"S": f"{i:04d}"},
                    "at": {"N": str(now_ms)},
                    "doc": {"S": orjson.dumps(chunk).decode()},
                },
            )
    except Exception as exc:
        raise store.classify(exc) from exc
    return len(chunks)


def read_summaries(ddb: Any, table: str, region: str = "") -> tuple[int | None, list[dict[str, Any]]]:
    """(when, summaries) of a region's newest cycle that wrote them (None, []: none yet)."""
    items = store.partition(ddb, table_name(table), key_of(SUMMARY, region))
    if not items:
        return None, []
    newest = max(int(item["at"]["N"]) for item in items)
    found = [s for item in items if int(item["at"]["N"]) == newest for s in orjson.loads(item["doc"]["S"])]
    return newest, found
