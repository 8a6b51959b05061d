"""The node's configuration files, as pure functions of its directories: containerd, CNI, kubelet, CoreDNS.

Settings this machine needs beyond the defaults: containerd's ``restrict_oom_score_adj`` (the VM drops
CAP_SYS_RESOURCE, so runc may not raise a process's OOM score) and cgroupfs instead of systemd; the kubelet's
``failCgroupV1: false`` (cgroup v1 here) and cgroupfs; images are never pulled (no registry is reachable), the sandbox
image is the node's own ``pause`` (:mod:`support.node.images`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.node import network

NODE_NAME = "logpipeline-node"
CLUSTER_DOMAIN = "cluster.local"
PAUSE_IMAGE = "localhost/logpipeline-node/pause:1"
CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
# A container that Pod Security "restricted" admits (the harness's own pods run in such namespaces).
RESTRICTED_CONTAINER: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class Layout:
    """Where everything of one node lives: all under ``root`` but the image store, which the cache keeps."""

    root: Path
    images: Path

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def kubelet_dir(self) -> Path:
        return self.root / "kubelet"

    def file(self, name: str) -> Path:
        return self.root / "etc" / name


def containerd_toml(layout: Layout) -> str:
    """containerd 1.6's config (version 2): its own socket and state, the CRI plugin set for this machine."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join(
        [
            "version = 2",
            f'root = "{layout.images}"',
            f'state = "{layout.root / "containerd" / "state"}"',
            "[grpc]",
            f'  address = "{layout.containerd_socket}"',
            "[ttrpc]",
            f'  address = "{layout.containerd_socket}.ttrpc"',
            "[debug]",
            '  level = "warn"',
            "[metrics]",
            '  address = ""',
            f"[{cri}]",
            f'  sandbox_image = "{PAUSE_IMAGE}"',
            "  restrict_oom_score_adj = true",
            "  enable_selinux = false",
            f"[{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            f"[{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"[{cri}.containerd.runtimes.runc.options]",
            "  SystemdCgroup = false",
            f"[{cri}.cni]",
            f'  bin_dir = "{CNI_BIN_DIR}"',
            f'  conf_dir = "{layout.cni_conf_dir}"',
            "  max_conf_num = 1",
            "",
        ]
    )


def cni_conflist(layout: Layout) -> str:
    """A bridge with host-local addresses from the pod range; pods get a route to the cluster's block only."""
    bridge = {
        "type": "bridge",
        "bridge": network.POD_BRIDGE,
        "isGateway": True,
        "ipMasq": False,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "dataDir": str(layout.root / "cni" / "ipam"),
            "ranges": [[{"subnet": network.POD_CIDR, "gateway": network.POD_GATEWAY}]],
            "routes": [{"dst": network.BLOCK}],
        },
    }
    conflist = {
        "cniVersion": "1.0.0",
        "name": "logpipeline",
        "plugins": [bridge, {"type": "portmap", "capabilities": {"portMappings": True}}],
    }
    return json.dumps(conflist, indent=2)


def kubelet_config(layout: Layout, healthz_port: int) -> str:
    """KubeletConfiguration: cgroupfs on cgroup v1, the cluster's DNS, small eviction thresholds for a shared disk."""
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": network.NODE_IP,
        "port": network.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {"anonymous": {"enabled": True}, "webhook": {"enabled": False}},
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "clusterDNS": [network.DNS_SERVICE_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(layout.file("resolv.conf")),
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "maxPods": 60,
        "serializeImagePulls": False,
        "registerNode": True,
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "nodeStatusUpdateFrequency": "5s",
        "containerLogMaxSize": "10Mi",
        "containerLogMaxFiles": 2,
        "logging": {"format": "json"},
    }
    return json.dumps(config, indent=2)


def resolv_conf() -> str:
    """The node's resolver for pods with ``dnsPolicy: Default``: the cluster's DNS only, nothing outside."""
    return f"nameserver {network.DNS_SERVICE_IP}\noptions ndots:1\n"


def corefile(kubeconfig: Path, port: int, health_port: int, ready_port: int) -> str:
    """CoreDNS on the node's address: the cluster's names only; every other name is NXDOMAIN (nothing forwarded)."""
    return (
        f".:{port} {{\n"
        f"    bind {network.NODE_IP}\n"
        "    errors\n"
        f"    health 127.0.0.1:{health_port}\n"
        f"    ready 127.0.0.1:{ready_port}\n"
        f"    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{\n"
        f"        kubeconfig {kubeconfig}\n"
        "        pods insecure\n"
        "        fallthrough in-addr.arpa ip6.arpa\n"
        "        ttl 5\n"
        "    }\n"
        "    cache 5\n"
        "    loadbalance\n"
        "}\n"
    )


def dns_service() -> list[dict[str, Any]]:
    """The ``kube-dns`` Service at the DNS address, and the EndpointSlice that points it at CoreDNS on the node."""
    labels = {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}
    ports = [("dns", "UDP"), ("dns-tcp", "TCP")]
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": labels},
        "spec": {
            "clusterIP": network.DNS_SERVICE_IP,
            "ports": [{"name": n, "protocol": p, "port": 53} for n, p in ports],
        },
    }
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kube-dns-node",
            "namespace": "kube-system",
            "labels": {
                "kubernetes.io/service-name": "kube-dns",
                "endpointslice.kubernetes.io/managed-by": "logpipeline-node",
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [network.NODE_IP], "conditions": {"ready": True}}],
        "ports": [{"name": n, "protocol": p, "port": 53} for n, p in ports],
    }
    return [service, slice_]
