"""NetworkPolicy semantics as data: may this pod open a connection to that endpoint on that port (pure).

Follows the networking.k8s.io/v1 rules: a pod selected by some policy of its namespace with a policy type is
isolated in that direction, and then only what a rule of such a policy allows passes; a rule without ``from``/``to``
matches every peer, one without ``ports`` every port; a peer's ``podSelector`` alone means pods of the policy's
namespace, ``namespaceSelector`` alone every pod of the matching namespaces, both together the matching pods of
the matching namespaces; ``ipBlock`` matches endpoints outside the cluster. A connection passes when the source may
send it (egress) and the destination may receive it (ingress).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Manifest = Mapping[str, Any]


@dataclass(frozen=True)
class Endpoint:
    namespace: str = ""  # "" with external=True: outside the cluster
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    external: bool = False


def selects(selector: Manifest, labels: Mapping[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        value, values, op = labels.get(expr["key"]), expr.get("values") or [], expr["operator"]
        if (op == "In" and value not in values) or (op == "NotIn" and value in values):
            return False
        if (op == "Exists" and value is None) or (op == "DoesNotExist" and value is not None):
            return False
    return True


def _peer(peer: Manifest, policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        return other.external
    if other.external:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def _port(rule: Manifest, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports)


def _allowed(policies: Iterable[Manifest], pod: Endpoint, other: Endpoint, port: int, protocol: str, kind: str) -> bool:
    key, peers = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    applying = [
        p for p in policies
        if p["metadata"]["namespace"] == pod.namespace and kind in p["spec"].get("policyTypes", [])
        and selects(p["spec"]["podSelector"], pod.labels)
    ]  # fmt: skip
    if not applying:
        return True
    return any(
        _port(rule, port, protocol)
        and (peers not in rule or any(_peer(peer, p["metadata"]["namespace"], other) for peer in rule[peers]))
        for p in applying
        for rule in p["spec"].get(key) or []
    )


def connects(policies: Iterable[Manifest], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    policies = list(policies)
    out = src.external or _allowed(policies, src, dst, port, protocol, "Egress")
    return out and (dst.external or _allowed(policies, dst, src, port, protocol, "Ingress"))
