"""Replica regions of the metrics tables: DynamoDB global tables (version 2019.11.21), created idempotently.

``logpipeline store init --replica-regions eu-west-1,us-east-1`` (and the operator's
``spec.metricsStore.replicaRegions``) make the window table and its digest table global: each listed region gets
a replica, so every region's dashboard reads all regions' items from its nearest replica.

What the service requires, and what this module does about it:

- A global table's replicas replicate through DynamoDB Streams with new and old images: the stream is enabled
  first (``StreamSpecification``). A stream with another view type cannot be changed in place; that is an error
  that says so.
- On-demand billing (the store's tables are ``PAY_PER_REQUEST`` already: ``store._ensure``).
- One replica per ``UpdateTable`` call (``ReplicaUpdates`` with one ``Create``); the table is ``UPDATING`` until the
  replica exists, so each call waits for ``ACTIVE`` before the next.
- Idempotent: regions already in ``Replicas`` (any status) and the table's own region are not requested again.
  Replicas that are not listed are reported, never deleted: removing a region's copy is the operator's decision.

Replication is last-writer-wins per item. That is safe here because no item has two writers: every item of a
regional pipeline carries its region in its key (``logpipeline.metrics.layout``), so replicas never hold
concurrent versions of one item. A DynamoDB-API server without global tables (moto) accepts ``ReplicaUpdates``
and lists no replica; the requests are checked against botocore's own DynamoDB service model in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from logpipeline import contracts

STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


class ReplicaError(ValueError):
    """A table that cannot become global as it is (a stream of another view type)."""


def regions(text: str | Iterable[str]) -> list[str]:
    """The regions of ``eu-west-1,us-east-1`` (or a list), in order, each once; a name that is no region is named."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if contracts.check_region(item) not in out:
            out.append(item)
    return out


def requests(table: str, desc: dict[str, Any], home: str, wanted: Sequence[str]) -> list[dict[str, Any]]:
    """The ``UpdateTable`` requests, in order, that give ``table`` (as ``desc`` describes it, in region ``home``) a
    replica in each of ``wanted``: the stream first when it is off, then one request per missing region (pure)."""
    out: list[dict[str, Any]] = []
    missing = [r for r in wanted if r != home and r not in present(desc)]
    if not missing:
        return out
    stream = desc.get("StreamSpecification") or {}
    if not stream.get("StreamEnabled"):
        out.append({"TableName": table, "StreamSpecification": dict(STREAM)})
    elif stream.get("StreamViewType") != STREAM["StreamViewType"]:
        raise ReplicaError(
            f"table {table} has a stream of view type {stream.get('StreamViewType')}; global tables need "
            "NEW_AND_OLD_IMAGES: disable the stream (UpdateTable StreamEnabled=false), then run this again"
        )
    out += [{"TableName": table, "ReplicaUpdates": [{"Create": {"RegionName": region}}]} for region in missing]
    return out


def present(desc: dict[str, Any]) -> dict[str, str]:
    """The table's replicas: region -> status (``ACTIVE``, ``CREATING``, …)."""
    return {r["RegionName"]: str(r.get("ReplicaStatus", "")) for r in desc.get("Replicas") or []}


def ensure(
    ddb: Any,
    table: str,
    wanted: Sequence[str],
    describe: Callable[[Any, str], dict[str, Any] | None],
    wait_active: Callable[[Any, str], None],
) -> list[str]:
    """Send ``requests`` one at a time, each after the table is ``ACTIVE``; returns what changed and what is left."""
    desc = describe(ddb, table)
    if desc is None:
        raise ReplicaError(f"table {table} does not exist: create it first (logpipeline store init)")
    home = str(ddb.meta.region_name)
    changes: list[str] = []
    for request in requests(table, desc, home, wanted):
        wait_active(ddb, table)
        ddb.update_table(**request)
        if "StreamSpecification" in request:
            changes.append(f"{table}: stream enabled (new and old images), as global tables need")
        else:
            changes.append(f"{table}: replica in {request['ReplicaUpdates'][0]['Create']['RegionName']} requested")
    wait_active(ddb, table)
    extra = sorted(set(present(describe(ddb, table) or {})) - set(wanted) - {home})
    if extra:
        changes.append(f"{table}: replicas not listed, left as they are: {', '.join(extra)}")
    return changes
