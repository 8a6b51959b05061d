"""LogPipeline status from its children: per-component readiness, phase and conditions (pure).

A component whose children another operator reports on (Strimzi's topic operator, the Spark operator) is
``Unknown`` until that operator answers; after ``UNKNOWN_GRACE_S`` without an answer it counts as not ready, and the
message says which operator to look for. A spec that cannot work is ``Failed`` (``failed_status``); a failing API
call leaves the phase as it was and sets ``Reconciled`` to False (``apply_failed``).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from logpipeline_operator import constants as c
from logpipeline_operator.builders.plan import key

Obj = Mapping[str, Any]
# The topics the operator keeps itself: what the broker reported ([{role, name, partitions, lastChange}]), or why it
# could not be asked (a message); None when Strimzi keeps them.
Topics = list[dict[str, Any]] | str | None
TOPICS_COMPONENT = "kafka-topics"
_RANK = {"True": 0, "Unknown": 1, "False": 2}
_WORKLOADS = ("Deployment", "StatefulSet", "SparkApplication", "KafkaTopic", "PersistentVolumeClaim")
UNKNOWN_GRACE_S = 300.0
# Who reports on a kind the operator does not watch itself
_REPORTERS = {
    "KafkaTopic": "the Strimzi topic operator",
    "KafkaUser": "the Strimzi user operator",
    "SparkApplication": "the Spark operator",
}


def _seconds(earlier: str, later: str) -> float:
    parse = datetime.datetime.fromisoformat
    return (parse(later.replace("Z", "+00:00")) - parse(earlier.replace("Z", "+00:00"))).total_seconds()


def _replicas(obj: Obj, desired: int, ready: int) -> tuple[str, str]:
    meta, status = obj.get("metadata", {}), obj.get("status") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return "False", "rollout not yet observed"
    if ready >= desired:
        return "True", f"{ready}/{desired} ready"
    return "False", f"{ready}/{desired} ready"


def child_readiness(obj: Obj) -> tuple[str, str]:
    """("True" | "False" | "Unknown", message) for one observed child."""
    kind, spec, status = obj["kind"], obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Deployment":
        return _replicas(obj, int(spec.get("replicas", 1)), int(status.get("availableReplicas", 0)))
    if kind == "StatefulSet":
        return _replicas(obj, int(spec.get("replicas", 1)), int(status.get("readyReplicas", 0)))
    if kind == "PersistentVolumeClaim":
        phase = status.get("phase", "Pending")
        return ("True" if phase == "Bound" else "False"), f"claim {phase}"
    if kind in ("KafkaTopic", "KafkaUser"):
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Ready":
                return str(cond.get("status", "Unknown")), str(cond.get("message") or cond.get("reason") or "")
        return "Unknown", "no status from the topic operator yet"
    if kind == "SparkApplication":
        state = str((status.get("applicationState") or {}).get("state") or "")
        if state == "RUNNING":
            # The Spark operator says RUNNING once the driver runs; the job is ready when its executors run too.
            wanted = int((spec.get("executor") or {}).get("instances") or 0)
            running = sum(1 for s in (status.get("executorState") or {}).values() if s == "RUNNING")
            return ("True" if running >= wanted else "False"), f"RUNNING, {running}/{wanted} executors running"
        if state == "COMPLETED":
            return "True", state
        if state in ("FAILED", "SUBMISSION_FAILED", "INVALIDATING"):
            return "False", state
        return "Unknown", state or "no status from the Spark operator yet"
    return "True", "exists"


def components(
    desired: Sequence[Obj], observed: Iterable[Obj], previous: Mapping[str, Any] | None = None, now: str = ""
) -> dict[str, dict[str, str]]:
    """One entry per component label: the worst readiness of its children, named by its main child; ``since`` is
    when that readiness began (kept from ``previous`` while it holds)."""
    seen = {key(obj): obj for obj in observed}
    out: dict[str, dict[str, str]] = {}
    for want in desired:
        component = want["metadata"]["labels"][c.LABEL_COMPONENT]
        got = seen.get(key(want))
        ready, message = ("False", "missing") if got is None else child_readiness(got)
        entry = out.get(component)
        main = want["kind"] in _WORKLOADS
        if entry is None or _RANK[ready] > _RANK[entry["ready"]]:
            out[component] = {
                "kind": want["kind"] if main or entry is None else entry["kind"],
                "name": want["metadata"]["name"] if main or entry is None else entry["name"],
                "ready": ready,
                "message": f"{want['kind']} {want['metadata']['name']}: {message}",
            }
        elif main and entry["kind"] not in _WORKLOADS:
            entry.update(kind=want["kind"], name=want["metadata"]["name"])
    for name, entry in out.items():
        before = (previous or {}).get(name) or {}
        entry["since"] = str(before.get("since") or now) if before.get("ready") == entry["ready"] else now
    return out


def overdue(entry: Mapping[str, str], now: str, grace_s: float = UNKNOWN_GRACE_S) -> bool:
    """An ``Unknown`` component whose reporting operator has not answered within the grace period."""
    return entry["ready"] == "Unknown" and bool(entry.get("since")) and _seconds(entry["since"], now) > grace_s


def phase(comps: Mapping[str, Mapping[str, str]], previous: str | None, now: str = "") -> str:
    """Running when every component is ready; Unknown (no status from another operator yet) is not a failure until
    it is ``overdue``."""
    if any(entry["ready"] == "False" or (now and overdue(entry, now)) for entry in comps.values()):
        return "Degraded" if previous in ("Running", "Degraded") else "Creating"
    return "Running"


def condition(ctype: str, ok: bool | None, reason: str, message: str, generation: int, now: str) -> dict[str, Any]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": now,
    }


def merge_conditions(previous: Iterable[Obj], new: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep lastTransitionTime where a condition's status did not change."""
    before = {cond.get("type"): cond for cond in previous}
    out = []
    for cond in new:
        old = before.get(cond["type"])
        if old is not None and old.get("status") == cond["status"] and old.get("lastTransitionTime"):
            cond = {**cond, "lastTransitionTime": old["lastTransitionTime"]}
        out.append(cond)
    return out


def build_status(
    desired: Sequence[Obj],
    observed: Iterable[Obj],
    *,
    generation: int,
    previous: Obj,
    refusals: Sequence[str],
    now: str,
    topics: Topics = None,
) -> dict[str, Any]:
    comps = components(desired, observed, previous.get("components"), now)
    if topics is not None:
        comps[TOPICS_COMPONENT] = topics_component(
            topics, (previous.get("components") or {}).get(TOPICS_COMPONENT), now
        )
    new_phase = phase(comps, previous.get("phase"), now)
    late = sorted(name for name, entry in comps.items() if overdue(entry, now))
    waiting = sorted(name for name, entry in comps.items() if entry["ready"] == "False") + late
    unknown = sorted(name for name, entry in comps.items() if entry["ready"] == "Unknown" and name not in late)
    ready_msg = f"not ready: {', '.join(waiting)}" if waiting else "all components ready"
    if late:
        who = sorted({_REPORTERS.get(comps[name]["kind"], "its operator") for name in late})
        ready_msg += (
            f"; no status from {' or '.join(who)} for {int(UNKNOWN_GRACE_S)} s ({', '.join(late)}): is it installed "
            "and watching this namespace?"
        )
    if unknown:
        ready_msg += f"; awaiting status from their operators: {', '.join(unknown)}"
    conds = [
        condition(
            "Ready", not waiting, "ComponentsReady" if not waiting else "ComponentsNotReady", ready_msg, generation, now
        ),
        condition(
            "SpecAccepted",
            not refusals,
            "PartitionDecreaseRefused" if refusals else "Accepted",
            "; ".join(refusals) if refusals else "every change was applied",
            generation,
            now,
        ),
        condition("Reconciled", True, "Applied", "every child applied", generation, now),
    ]
    out = {
        "phase": new_phase,
        "observedGeneration": generation,
        "message": ready_msg,
        "components": comps,
        "conditions": merge_conditions(previous.get("conditions") or [], conds),
    }
    if isinstance(topics, list):
        out["topics"] = topics
    return out


def topics_component(topics: list[dict[str, Any]] | str, previous: Obj | None, now: str) -> dict[str, str]:
    """The ``kafka-topics`` component when the operator keeps the topics: ready when the broker has every one."""
    if isinstance(topics, str):
        ready, message = "False", topics
    else:
        missing = [t["name"] for t in topics if not t.get("partitions")]
        ready = "False" if missing else "True"
        message = f"missing on the broker: {', '.join(missing)}" if missing else f"{len(topics)} topics on the broker"
    since = str((previous or {}).get("since") or now) if (previous or {}).get("ready") == ready else now
    return {
        "kind": "Topic",
        "name": ", ".join(t["name"] for t in topics) if isinstance(topics, list) else "",
        "ready": ready,
        "message": message,
        "since": since,
    }


def failed_status(generation: int, previous: Obj, problems: Sequence[str], now: str) -> dict[str, Any]:
    """A spec no retry can make work: phase Failed, nothing applied, the problems named."""
    message = "; ".join(problems)
    conds = [
        condition("Ready", False, "InvalidSpec", message, generation, now),
        condition("SpecAccepted", False, "InvalidSpec", message, generation, now),
    ]
    return {
        "phase": "Failed",
        "observedGeneration": generation,
        "message": message,
        "conditions": merge_conditions(previous.get("conditions") or [], conds),
    }


def apply_failed(generation: int, previous: Obj, error: str, retry_in_s: float, now: str) -> dict[str, Any]:
    """An API call failed (retried with backoff): the phase stays, ``Reconciled`` says what failed and when next."""
    message = f"{error} (retrying in {retry_in_s:.0f} s)"
    conds = [condition("Reconciled", False, "ApplyFailed", message, generation, now)]
    kept = [cond for cond in previous.get("conditions") or [] if cond.get("type") != "Reconciled"]
    return {"message": message, "conditions": [*kept, *merge_conditions(previous.get("conditions") or [], conds)]}
