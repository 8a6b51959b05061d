"""The kopf handlers of LogPipeline, registered on import: ``kopf run -m logpipeline_operator.handlers``.

create/update/resume apply every child by server-side apply (owner references
point at the LogPipeline, so deleting it garbage-collects them) and prune children
the spec no longer wants; a timer recreates deleted children and refreshes the
status from what the children report. Partition decreases are refused with a
condition; Events record what was done.

A spec no retry can fix (an image or Secret outside the operator's allow-lists, a child the API server refuses as
invalid) is Failed: a Warning Event, the reason in the status, and no retry until the spec changes. Any other
failure is retried with exponential backoff (5 s doubling up to 5 minutes), the phase kept and the ``Reconciled``
condition saying what failed.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Mapping
from typing import Any

import kopf
import urllib3

from logpipeline_operator import constants as c
from logpipeline_operator import kube, topics
from logpipeline_operator import status as st
from logpipeline_operator.builders import access, kafka, plan, policy

RESYNC_SECONDS = float(os.environ.get("LOGPIPELINE_OPERATOR_RESYNC_SECONDS", "30"))
WORKERS = int(os.environ.get("LOGPIPELINE_OPERATOR_WORKERS", "8"))
POLICY = policy.from_env(os.environ)
ACCESS = access.from_env(os.environ)
BACKOFF_S, MAX_BACKOFF_S = 5.0, 300.0
# What the API server answers for a child it will never accept as built (a retry cannot help).
INVALID = (400, 422)


def backoff(retry: int) -> float:
    """Seconds before the next attempt after ``retry`` failed ones: doubling, capped."""
    return min(MAX_BACKOFF_S, BACKOFF_S * (1 << min(retry, 16)))


def _status(
    body: kopf.Body, desired: list[Any], observed: list[Any], refusals: list[str], kafka_topics: st.Topics = None
) -> dict[str, Any]:
    """The status of this generation from its desired and observed children (and the topics the operator keeps)."""
    return st.build_status(
        desired,
        observed,
        generation=_generation(body),
        previous=dict(body.status),
        refusals=refusals,
        now=_now(),
        topics=kafka_topics,
    )


def _ensure_topics(lp: Mapping[str, Any]) -> topics.Report | None:
    """With ``kafka.topicManagement: operator``, create or update the topics (raises topics.Unreachable)."""
    wanted = kafka.operator_topics(lp)
    return topics.ensure(lp["spec"]["kafka"]["bootstrapServers"], wanted) if wanted else None


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


def _bind_operator(lp: Mapping[str, Any]) -> None:
    """Watching every namespace: the operator's rights over children in this pipeline's namespace, first."""
    binding = access.build_operator_binding(lp, ACCESS)
    if binding is not None:
        kube.apply(binding, manager=access.field_manager(lp))


def _generation(body: kopf.Body) -> int:
    return int(body.metadata.get("generation") or 0)


def _fail(body: kopf.Body, patch: kopf.Patch, problems: list[str]) -> None:
    """Record a spec that cannot work (once per generation as an Event) and stop retrying it."""
    message = "; ".join(problems)
    if body.status.get("phase") != "Failed" or body.status.get("observedGeneration") != _generation(body):
        kopf.warn(body, reason="InvalidSpec", message=message)
    _set_status(body, patch, st.failed_status(_generation(body), dict(body.status), problems, _now()))
    raise kopf.PermanentError(message)


def _retry_later(body: kopf.Body, patch: kopf.Patch, error: str, retry: int) -> None:
    delay = backoff(retry)
    kopf.warn(body, reason="ApplyFailed", message=f"{error}; retrying in {delay:.0f} s")
    _set_status(body, patch, st.apply_failed(_generation(body), dict(body.status), error, delay, _now()))
    raise kopf.TemporaryError(error, delay=delay)


@kopf.on.resume(c.GROUP, c.VERSION, c.PLURAL)
@kopf.on.create(c.GROUP, c.VERSION, c.PLURAL)
@kopf.on.update(c.GROUP, c.VERSION, c.PLURAL)
def reconcile(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, reason: str, retry: int, **_: Any) -> None:
    """Apply every child, prune what the spec no longer wants, and record status."""
    lp = _lp(body)
    problems = policy.problems(lp, POLICY)
    if problems:
        _fail(body, patch, problems)
    try:
        _bind_operator(lp)
        fresh = reason == "create" and not body.status.get("observedGeneration")
        observed = [] if fresh else kube.list_children(lp["metadata"]["namespace"], lp["metadata"]["name"])
        desired, refusals = _desired(lp, observed)
        report = _ensure_topics(lp)
        kafka_topics = report.topics if report else None
        refusals += report.refusals if report else []
        applied = kube.apply_all(desired)
        uid = lp["metadata"]["uid"]
        owned = [o for o in observed if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])]
        pruned = plan.to_prune(desired, owned)
        managed = [t["name"] for t in kafka_topics or []]
        for release in kafka.released(pruned, desired, managed):  # the topic's records stay: only the resource goes
            kube.apply(release, manager=f"{c.FIELD_MANAGER}.release")
        for obj in pruned:
            kube.delete(obj)
    except kube.KubeError as exc:
        if exc.status in INVALID:
            _fail(body, patch, [f"a child was refused by the API server: {exc.message}"])
        _retry_later(body, patch, f"API server answered {exc.status}: {exc.message}", retry)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        _retry_later(body, patch, f"API server unreachable: {exc}", retry)
    except topics.Unreachable as exc:
        _retry_later(body, patch, str(exc), retry)
    _report_refusals(body, refusals)
    gone = f", removed {len(pruned)}" if pruned else ""
    kopf.info(body, reason="Reconciled", message=f"applied {len(desired)} children{gone}")
    logger.info("reconciled %s: applied %d, pruned %d", lp["metadata"]["name"], len(desired), len(pruned))
    status = _status(body, desired, applied, refusals, kafka_topics)
    _set_status(body, patch, status)


@kopf.timer(c.GROUP, c.VERSION, c.PLURAL, interval=RESYNC_SECONDS, initial_delay=RESYNC_SECONDS)
def resync(body: kopf.Body, patch: kopf.Patch, logger: kopf.Logger, **_: Any) -> None:
    """Drift correction: recreate children deleted behind the operator's back; refresh status from the children."""
    if body.status.get("observedGeneration") != body.metadata.get("generation"):
        return  # the create/update handler has not finished this generation yet
    if body.status.get("phase") == "Failed":
        return  # refused until the spec changes
    lp = _lp(body)
    _bind_operator(lp)
    observed = kube.list_children(lp["metadata"]["namespace"], lp["metadata"]["name"])
    desired, refusals = _desired(lp, observed)
    kafka_topics: st.Topics
    try:
        report = _ensure_topics(lp)  # a topic deleted behind the operator's back comes back too
        refusals += report.refusals if report else []
        kafka_topics = report.topics if report else None
    except topics.Unreachable as exc:
        kafka_topics = str(exc)
    present = {plan.key(obj) for obj in observed}
    for obj in desired:
        if plan.key(obj) not in present:
            got = kube.apply(obj)
            observed.append({"apiVersion": obj["apiVersion"], "kind": obj["kind"], **got})
            message = f"recreated {obj['kind']} {obj['metadata']['name']}, which had been deleted"
            kopf.warn(body, reason="Recreated", message=message)
            logger.warning(message)
    status = _status(body, desired, observed, refusals, kafka_topics)
    if status["phase"] != body.status.get("phase"):
        kopf.info(body, reason=f"Phase{status['phase']}", message=status["message"])
    _set_status(body, patch, status)


@kopf.on.probe(id="reconciling")
def reconciling(**_: Any) -> str:
    return "ok"
