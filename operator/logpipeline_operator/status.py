"""LogPipeline status from its children: per-component readiness, phase and conditions (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from logpipeline_operator import constants as c
from logpipeline_operator.builders.plan import key

Obj = Mapping[str, Any]
_RANK = {"True": 0, "Unknown": 1, "False": 2}
_WORKLOADS = ("Deployment", "StatefulSet", "SparkApplication", "KafkaTopic", "PersistentVolumeClaim")


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
    if kind == "KafkaTopic":
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Ready":
                return str(cond.get("status", "Unknown")), str(cond.get("message") or cond.get("reason") or "")
        return "Unknown", "no status from the topic operator yet"
    if kind == "SparkApplication":
        state = str((status.get("applicationState") or {}).get("state") or "")
        if state in ("RUNNING", "COMPLETED"):
            return "True", state
        if state in ("FAILED", "SUBMISSION_FAILED", "INVALIDATING"):
            return "False", state
        return "Unknown", state or "no status from the Spark operator yet"
    return "True", "exists"


def components(desired: Sequence[Obj], observed: Iterable[Obj]) -> dict[str, dict[str, str]]:
    """One entry per component label: the worst readiness of its children, named by its main child."""
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
    return out


def phase(comps: Mapping[str, Mapping[str, str]], previous: str | None) -> str:
    """Running when no component is not-ready; Unknown (no status from another operator yet) is not a failure."""
    if any(entry["ready"] == "False" for entry in comps.values()):
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
) -> dict[str, Any]:
    comps = components(desired, observed)
    new_phase = phase(comps, previous.get("phase"))
    waiting = sorted(name for name, entry in comps.items() if entry["ready"] == "False")
    unknown = sorted(name for name, entry in comps.items() if entry["ready"] == "Unknown")
    ready_msg = f"not ready: {', '.join(waiting)}" if waiting else "all components ready"
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
    ]
    return {
        "phase": new_phase,
        "observedGeneration": generation,
        "message": ready_msg,
        "components": comps,
        "conditions": merge_conditions(previous.get("conditions") or [], conds),
    }
