"""The node's Go binaries: kubelet and kube-proxy from the control plane's Kubernetes release, CoreDNS from its module.

They are built once into the cache like the control plane's (:mod:`support.gobuild`); containerd, runc, the CNI
plugins and buildah come from Debian's packages (:mod:`support.node.host`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from support import gobuild
from support.controlplane import binaries as controlplane

COREDNS_VERSION = "v1.14.7"
CRI_TOOLS_VERSION = "v1.37.0"

KUBELET = controlplane.kubernetes_tool("kubelet")
KUBE_PROXY = controlplane.kubernetes_tool("kube-proxy")
COREDNS = gobuild.GoTool(
    name="coredns", module="github.com/coredns/coredns", version=COREDNS_VERSION, package="github.com/coredns/coredns"
)
# crictl: the teardown removes every pod sandbox through the CRI (which also releases its network).
CRICTL = gobuild.GoTool(
    name="crictl", module="sigs.k8s.io/cri-tools", version=CRI_TOOLS_VERSION, package="sigs.k8s.io/cri-tools/cmd/crictl"
)
ALL = (KUBELET, KUBE_PROXY, COREDNS, CRICTL)


@dataclass(frozen=True)
class Binaries:
    kubelet: Path
    kube_proxy: Path
    coredns: Path
    crictl: Path


def ensure(cache: Path, progress: Callable[[str], None] | None = print) -> Binaries:
    """Build whatever is missing (kubelet takes minutes the first time), then return every path."""
    return Binaries(**{tool.name.replace("-", "_"): gobuild.build(cache, tool, progress) for tool in ALL})
