"""The node's addresses and the guard that keeps every packet of the cluster on this machine.

All of the cluster's addresses come from one block, 198.18.0.0/16 (RFC 2544's benchmarking range, which no other
network here uses): the node's own address on a bridge of its own (this kernel has no ``dummy`` driver), the pod
range behind the CNI bridge and the Service range. The guard is installed and checked before the kubelet starts:

- ``mangle POSTROUTING``: a packet from or to the block that would leave through any interface other than loopback
  and the cluster's two bridges is dropped (after routing, before NAT: kube-proxy's rules cannot accept it first);
- ``filter FORWARD``: nothing from the pod range leaves through the external interface;
- ``filter OUTPUT``: nothing to the Service range leaves through it (rejected, so a caller fails at once);
- ``filter INPUT``: pods cannot reach the kubelet's port on the node (it serves the API server only).

:func:`rules` is pure; :func:`install`, :func:`verify` and :func:`remove` run ``iptables``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

BLOCK = "198.18.0.0/16"
NODE_IP = "198.18.0.1"
POD_CIDR = "198.18.64.0/18"
POD_GATEWAY = "198.18.64.1"
SERVICE_CIDR = "198.18.128.0/20"
API_SERVICE_IP = "198.18.128.1"  # the first address of the Service range: the `kubernetes` Service
DNS_SERVICE_IP = "198.18.128.10"
NODE_BRIDGE = "lpnode0"
POD_BRIDGE = "lpcni0"
KUBELET_PORT = 10250
CHAIN = "LOGPIPELINE-GUARD"
COMMENT = "logpipeline node guard"


@dataclass(frozen=True)
class Rule:
    """One iptables rule: its table, chain and match/target arguments (``-A``/``-I`` is the caller's)."""

    table: str
    chain: str
    spec: tuple[str, ...]


def external_interface() -> str:
    """The interface of the default route (the one a packet to anywhere else would leave by)."""
    out = subprocess.run(["ip", "-o", "route", "show", "default"], capture_output=True, text=True, check=True).stdout
    words = out.split()
    if "dev" not in words:
        raise RuntimeError(f"no default route to guard against: {out!r}")
    return words[words.index("dev") + 1]


def rules(external: str) -> list[Rule]:
    """Every guard rule, in the order they are installed (pure)."""
    tag = ("-m", "comment", "--comment", COMMENT)
    chain = [
        Rule("mangle", CHAIN, ("-o", "lo", "-j", "RETURN", *tag)),
        Rule("mangle", CHAIN, ("-o", NODE_BRIDGE, "-j", "RETURN", *tag)),
        Rule("mangle", CHAIN, ("-o", POD_BRIDGE, "-j", "RETURN", *tag)),
        Rule("mangle", CHAIN, ("-j", "DROP", *tag)),
    ]
    jumps = [
        Rule("mangle", "POSTROUTING", ("-s", BLOCK, "-j", CHAIN, *tag)),
        Rule("mangle", "POSTROUTING", ("-d", BLOCK, "-j", CHAIN, *tag)),
        Rule("filter", "FORWARD", ("-s", POD_CIDR, "-o", external, "-j", "DROP", *tag)),
        Rule("filter", "OUTPUT", ("-d", SERVICE_CIDR, "-o", external, "-j", "REJECT", *tag)),
        Rule(
            "filter",
            "INPUT",
            ("-s", POD_CIDR, "-d", NODE_IP, "-p", "tcp", "--dport", str(KUBELET_PORT), "-j", "REJECT", *tag),
        ),
    ]
    return chain + jumps


def _iptables(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True, check=check)


def install(external: str) -> None:
    """Create the chain and put every jump first in its chain; idempotent."""
    if _iptables("-t", "mangle", "-nL", CHAIN, check=False).returncode != 0:
        _iptables("-t", "mangle", "-N", CHAIN)
    for rule in rules(external):
        if _iptables("-t", rule.table, "-C", rule.chain, *rule.spec, check=False).returncode == 0:
            continue
        if rule.chain == CHAIN:
            _iptables("-t", rule.table, "-A", rule.chain, *rule.spec)
        else:
            _iptables("-t", rule.table, "-I", rule.chain, "1", *rule.spec)


def missing(external: str) -> list[Rule]:
    """The guard rules not in place right now (empty when the guard holds)."""
    return [
        rule
        for rule in rules(external)
        if _iptables("-t", rule.table, "-C", rule.chain, *rule.spec, check=False).returncode != 0
    ]


def verify(external: str) -> None:
    """Raise unless every guard rule is in place: nothing may start before this passes."""
    gaps = missing(external)
    if gaps:
        listed = "; ".join(f"{r.table} {r.chain} {' '.join(r.spec)}" for r in gaps)
        raise RuntimeError(f"the network guard is incomplete, refusing to start the node: {listed}")


def remove(external: str) -> None:
    """Delete every guard rule and the chain (the last step of a teardown)."""
    for rule in reversed(rules(external)):
        while _iptables("-t", rule.table, "-D", rule.chain, *rule.spec, check=False).returncode == 0:
            pass
    _iptables("-t", "mangle", "-F", CHAIN, check=False)
    _iptables("-t", "mangle", "-X", CHAIN, check=False)
