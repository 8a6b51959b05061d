"""Which Go binaries the control plane uses, at which versions, and the one call that builds them all.

kube-apiserver, kube-controller-manager, kube-scheduler and kubectl come from one
k8s.io/kubernetes release through a wrapper module that replaces each staging
module (which k8s.io/kubernetes points at ``./staging/src/...``, absent from its
module zip) with the published v0.x release of the same minor; etcd and KWOK come
from their own modules. :mod:`support.gobuild` builds each once into the
cache directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from support import gobuild

KUBERNETES_VERSION = "v1.36.3"
KUBERNETES_STAGING = "v0.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"

# The ``replace k8s.io/<name> => ./staging/src/k8s.io/<name>`` lines of k8s.io/kubernetes v1.36.
STAGING_MODULES = (
    "api",
    "apiextensions-apiserver",
    "apimachinery",
    "apiserver",
    "cli-runtime",
    "client-go",
    "cloud-provider",
    "cluster-bootstrap",
    "code-generator",
    "component-base",
    "component-helpers",
    "controller-manager",
    "cri-api",
    "cri-client",
    "cri-streaming",
    "csi-translation-lib",
    "dynamic-resource-allocation",
    "endpointslice",
    "externaljwt",
    "kms",
    "kube-aggregator",
    "kube-controller-manager",
    "kube-proxy",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "metrics",
    "mount-utils",
    "pod-security-admission",
    "sample-apiserver",
    "sample-cli-plugin",
    "sample-controller",
    "streaming",
)

_MAJOR, _MINOR = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
_KUBE_LDFLAGS = " ".join(
    [
        "-s",
        "-w",
        *(
            f"-X {pkg}.{key}={value}"
            for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
            for key, value in (
                ("gitVersion", KUBERNETES_VERSION),
                ("gitMajor", _MAJOR),
                ("gitMinor", _MINOR),
                ("gitTreeState", "clean"),
            )
        ),
    ]
)


def kubernetes_tool(name: str) -> gobuild.GoTool:
    """One binary of k8s.io/kubernetes/cmd, built through the staging-replacing wrapper."""
    return gobuild.GoTool(
        name=name,
        module="k8s.io/kubernetes",
        version=KUBERNETES_VERSION,
        package=f"k8s.io/kubernetes/cmd/{name}",
        replace=tuple((f"k8s.io/{mod}", f"k8s.io/{mod} {KUBERNETES_STAGING}") for mod in STAGING_MODULES),
        ldflags=_KUBE_LDFLAGS,
    )


ETCD = gobuild.GoTool(
    name="etcd", module="go.etcd.io/etcd/server/v3", version=ETCD_VERSION, package="go.etcd.io/etcd/server/v3"
)
KWOK = gobuild.GoTool(name="kwok", module="sigs.k8s.io/kwok", version=KWOK_VERSION, package="sigs.k8s.io/kwok/cmd/kwok")
KUBE_APISERVER = kubernetes_tool("kube-apiserver")
KUBE_CONTROLLER_MANAGER = kubernetes_tool("kube-controller-manager")
KUBE_SCHEDULER = kubernetes_tool("kube-scheduler")
KUBECTL = kubernetes_tool("kubectl")

ALL = (ETCD, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, KUBE_SCHEDULER, KUBECTL, KWOK)


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    kwok: Path


def ensure(cache: Path, progress: Callable[[str], None] | None = print) -> Binaries:
    """Build whatever is missing (the first time takes a while), then return every path."""
    paths = {tool.name.replace("-", "_"): gobuild.build(cache, tool, progress) for tool in ALL}
    return Binaries(**paths)


def is_ready(cache: Path) -> bool:
    return all(gobuild.is_built(cache, tool) for tool in ALL)
