"""RBAC rules as data: wildcard detection and "does this role allow that request" (pure).

A rule is the dict of a ClusterRole/Role ``rules`` entry. :func:`allows` answers whether a list of
rules grants one (apiGroup, resource, verb) request, the way the RBAC authorizer does for rules
without ``resourceNames``; :func:`wildcard_violations` lists every ``*`` in a role, and
:func:`granted` flattens rules into the set of requests they allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Rule = Mapping[str, Any]
Request = tuple[str, str, str]  # (apiGroup, resource, verb)

ROLE_KINDS = {"ClusterRole", "Role"}
# Verbs that let a subject reach beyond its own rules ("bind" is allowed only on named roles).
ESCALATING_VERBS = {"escalate", "bind", "impersonate"}


def rules_of(manifests: Iterable[Mapping[str, Any]]) -> list[Rule]:
    """All rules of the ClusterRoles and Roles among ``manifests``."""
    return [rule for m in manifests if m.get("kind") in ROLE_KINDS for rule in m.get("rules") or []]


def wildcard_violations(manifest: Mapping[str, Any]) -> list[str]:
    """Every wildcard or escalating verb in a ClusterRole/Role (empty: none)."""
    if manifest.get("kind") not in ROLE_KINDS:
        return []
    name = f"{manifest['kind']}/{manifest.get('metadata', {}).get('name', '?')}"
    problems = []
    for index, rule in enumerate(manifest.get("rules") or []):
        for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
            for value in rule.get(field) or []:
                if "*" in str(value):
                    problems.append(f"{name} rule {index}: {field} holds the wildcard {value!r}")
        for verb in rule.get("verbs") or []:
            # "bind" on named roles is how a subject grants exactly those roles without holding their rights.
            if verb in ESCALATING_VERBS and not (verb == "bind" and rule.get("resourceNames")):
                problems.append(f"{name} rule {index}: verb {verb!r} lets the subject escalate")
    return problems


def _matches(values: Sequence[str], wanted: str) -> bool:
    return "*" in values or wanted in values


def allows(rules: Iterable[Rule], group: str, resource: str, verb: str) -> bool:
    """Whether ``rules`` grant ``verb`` on ``resource`` (e.g. ``deployments`` or ``logpipelines/status``)."""
    return any(
        not rule.get("resourceNames")
        and _matches(rule.get("apiGroups") or [], group)
        and _matches(rule.get("resources") or [], resource)
        and _matches(rule.get("verbs") or [], verb)
        for rule in rules
    )


def granted(rules: Iterable[Rule]) -> set[Request]:
    """The explicit (apiGroup, resource, verb) triples the rules name."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups") or []
        for resource in rule.get("resources") or []
        for verb in rule.get("verbs") or []
    }


def missing(rules: Iterable[Rule], needed: Iterable[Request]) -> list[Request]:
    """The requests in ``needed`` that ``rules`` do not allow, sorted."""
    materialised = list(rules)
    return sorted(req for req in set(needed) if not allows(materialised, *req))
