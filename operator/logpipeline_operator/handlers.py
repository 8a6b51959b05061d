"""The kopf handlers of LogPipeline, registered on import: ``kopf run -m logpipeline_operator.handlers``.

create/update/resume apply every child by server-side apply (owner references
point at the LogPipeline, so deleting it garbage-collects them) and prune children
the spec no longer wants; a timer recreates deleted children and refreshes the
status from what the children report. Partition decreases are refused with a
condition; Events record what was done.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Mapping
from typing import Any

import kopf

from logpipeline_operator import constants as c
from logpipeline_operator import kube
from logpipeline_operator import status as st
from logpipeline_operator.builders import kafka, plan

RESYNC_SECONDS = float(os.environ.get("LOGPIPELINE_OPERATOR_RESYNC_SECONDS", "30"))
WORKERS = int(os.environ.get("LOGPIPELINE_OPERATOR_WORKERS", "8"))


def _status(body: kopf.Body, desired: list[Any], observed: list[Any], refusals: list[str]) -> dict[str, Any]:
    """The status of this generation from its desired and observed children."""
    return st.build_status(
        desired,
        observed,
        generation=int(body.metadata.get("generation") or 0),
        previous=dict(body.status),
        refusals=refusals,
        now=_now(),
    )


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    prefix = c.GROUP
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=prefix)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=prefix)
    settings.persistence.finalizer = f"{prefix}/operator"
    settings.posting.level = logging.INFO
    settings.execution.max_workers = WORKERS
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60


def _lp(body: kopf.Body) -> dict[str, Any]:
    return {"apiVersion": c.API_VERSION, "kind": c.KIND, "metadata": dict(body.metadata), "spec": dict(body.spec)}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _desired(lp: Mapping[str, Any], observed: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    partitions = {o["metadata"]["name"]: int(o["spec"]["partitions"]) for o in observed if o["kind"] == "KafkaTopic"}
    return kafka.refuse_partition_decreases(lp, plan.build_children(lp), partitions)


def _set_status(body: kopf.Body, patch: kopf.Patch, new: dict[str, Any]) -> None:
    old = dict(body.status)
    for field, value in new.items():
        if old.get(field) != value:
            patch.status[field] = value


def _report_refusals(body: kopf.Body, refusals: list[str]) -> None:
    """A Warning event per refused change, once (not again while the same refusal stands)."""
    previous = [cond for cond in body.status.get("conditions") or [] if cond.get("type") == "SpecAccepted"]
    if refusals and not (previous and previous[0].get("message") == "; ".join(refusals)):
        for message in refusals:
            kopf.warn(body, reason="PartitionDecreaseRefused", message=message)


@kopf.on.resume(c.GROUP, c.VERSION, c.PLURAL, backoff=5)
@kopf.on.create(c.GROUP, c.VERSION, c.PLURAL, backoff=5)
@kopf.on.update(c.GROUP, c.VERSION, c.PLURAL, backoff=5)
def reconcile(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, reason: str, **_: Any) -> None:
    """Apply every child, prune what the spec no longer wants, and record status."""
    lp = _lp(body)
    fresh = reason == "create" and not body.status.get("observedGeneration")
    observed = [] if fresh else kube.list_children(lp["metadata"]["namespace"], lp["metadata"]["name"])
    desired, refusals = _desired(lp, observed)
    applied = kube.apply_all(desired)
    uid = lp["metadata"]["uid"]
    owned = [o for o in observed if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]
    pruned = plan.to_prune(desired, owned)
    for obj in pruned:
        kube.delete(obj)
    _report_refusals(body, refusals)
    gone = f", removed {len(pruned)}" if pruned else ""
    kopf.info(body, reason="Reconciled", message=f"applied {len(desired)} children{gone}")
    logger.info("reconciled %s: applied %d, pruned %d", lp["metadata"]["name"], len(desired), len(pruned))
    status = _status(body, desired, applied, refusals)
    _set_status(body, patch, status)


@kopf.timer(c.GROUP, c.VERSION, c.PLURAL, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
def resync(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, **_: Any) -> None:
    """Drift correction: recreate children deleted behind the operator's back; refresh status from the children."""
    if body.status.get("observedGeneration") != body.metadata.get("generation"):
        return  # the create/update handler has not finished this generation yet
    lp = _lp(body)
    observed = kube.list_children(lp["metadata"]["namespace"], lp["metadata"]["name"])
    desired, refusals = _desired(lp, observed)
    present = {plan.key(obj) for obj in observed}
    for obj in desired:
        if plan.key(obj) not in present:
            got = kube.apply(obj)
            observed.append({"apiVersion": obj["apiVersion"], "kind": obj["kind"], **got})
            message = f"recreated {obj['kind']} {obj['metadata']['name']}, which had been deleted"
            kopf.warn(body, reason="Recreated", message=message)
            logger.warning(message)
    status = _status(body, desired, observed, refusals)
    if status["phase"] != body.status.get("phase"):
        kopf.info(body, reason=f"Phase{status['phase']}", message=status["message"])
    _set_status(body, patch, status)


@kopf.on.probe(id="reconciling")
def reconciling(**_: Any) -> str:
    return "ok"
