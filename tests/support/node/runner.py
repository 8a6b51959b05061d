"""Bring up a one-node cluster with real containers on this machine, and tear it down leaving nothing behind.

Order of ``up``: the network guard (installed and verified before anything else), the host's bridge and sysctls,
the control plane (no KWOK; the API server on the node's address), containerd with the node's images, CoreDNS on the
node (behind the ``kube-dns`` Service), the kubelet, then kube-proxy; it returns when the node is Ready and a
Service reaches the API server. ``down`` undoes it in reverse and removes the node's directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import urllib.error
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from logpipeline.stack import process
from logpipeline.stack.process import free_port
from support.controlplane import binaries as controlplane_binaries
from support.controlplane import runner as controlplane
from support.node import binaries, config, host, images, ingress, network
from support.wait import http_ok, wait_for

Progress = Callable[[str], None]
PROCESSES = ("traefik", "kube-proxy", "kubelet", "coredns", "containerd")
PERSISTENT_VOLUMES = 6
VOLUME_OWNER = 10001  # the uid the pipeline's pods run as (hostPath volumes get no fsGroup ownership)


@dataclass(frozen=True)
class Node:
    """A running one-node cluster: its control plane, its directories and binaries, the external interface."""

    cp: controlplane.ControlPlane
    layout: config.Layout
    bins: binaries.Binaries
    external: str
    before: dict[str, list[str]] = field(default_factory=dict)  # the host as it was (:func:`host.state`)
    ingress_port: int = 0  # Traefik's web entry point on 127.0.0.1 (Ingresses of the class ``traefik``)

    @property
    def root(self) -> Path:
        return self.layout.root

    def pidfile(self, name: str) -> Path:
        return self.root / "run" / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def crictl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bins.crictl), f"--runtime-endpoint=unix://{self.layout.containerd_socket}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


def _start(node: Node, name: str, argv: Sequence[str], progress: Progress) -> None:
    progress(f"starting {name}")
    process.spawn(argv, node.pidfile(name), node.logfile(name))


def _alive(node: Node, name: str) -> Callable[[], None]:
    def check() -> None:
        if process.read_pid(node.pidfile(name)) is None:
            raise RuntimeError(f"{name} exited while starting:\n{process.tail(node.logfile(name), 30)}")

    return check


def _wait(node: Node, name: str, predicate: Callable[[], object], timeout: float) -> None:
    alive = _alive(node, name)

    def probe() -> object:
        alive()
        return predicate()

    wait_for(probe, timeout, name, node.logfile(name))


def up(root: Path, cache: Path, load: Sequence[str] = (), progress: Progress = print) -> Node:
    """Start the node under ``root`` (an empty or absent folder) with the given project images loaded."""
    host.preflight()
    layout = config.Layout(root=root, images=cache / "node" / "containerd")
    before = host.state((root, layout.images))
    external = network.external_interface()
    root.mkdir(parents=True, exist_ok=True)
    node = Node(controlplane_stub(root), layout, binaries.ensure(cache, progress), external, before)
    try:
        network.install(external)
        network.verify(external)  # nothing starts unless the guard holds
        progress(f"network guard in place: nothing from {network.BLOCK} leaves through {external} or any other link")
        host.prepare(root)
        cp = controlplane.up(root / "controlplane", cache, progress, options=_control_plane_options(root))
        node = Node(cp, layout, node.bins, external, before)
        _containerd(node, progress)
        images.load(cache, layout, [images.pause(cache, progress), *load], progress)
        layout.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        (layout.cni_conf_dir / "10-logpipeline.conflist").write_text(config.cni_conflist(layout))
        _coredns(node, progress)
        _kubelet(node, progress)
        _kube_proxy(node, progress)
        _persistent_volumes(node, PERSISTENT_VOLUMES)
        node = dataclasses.replace(node, ingress_port=_ingress(node, ingress.build(cache, progress), progress))
    except BaseException:
        down(node)
        raise
    progress(f"node {config.NODE_NAME} ready (kubeconfig {node.cp.kubeconfig})")
    return node


def controlplane_stub(root: Path) -> controlplane.ControlPlane:
    """A not-yet-started control plane's handle, so a failed ``up`` can still be torn down."""
    bins = controlplane_binaries.Binaries(*(Path("/nonexistent"),) * 6)
    return controlplane.ControlPlane(root=root / "controlplane", bins=bins, apiserver_port=0, token="")


def _control_plane_options(root: Path) -> controlplane.Options:
    pki = root / "controlplane" / "pki"
    return controlplane.Options(
        address=network.NODE_IP,
        service_cidr=network.SERVICE_CIDR,
        kwok_nodes=0,
        apiserver_args=("--kubelet-preferred-address-types=InternalIP,Hostname", "--allow-privileged=false"),
        # The API server's self-signed serving certificate (with its CA) is what pods trust in their token volume.
        controller_manager_args=(f"--root-ca-file={pki / 'apiserver.crt'}", "--allocate-node-cidrs=false"),
    )


def _containerd(node: Node, progress: Progress) -> None:
    path = node.layout.file("containerd.toml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config.containerd_toml(node.layout))
    node.layout.containerd_socket.parent.mkdir(parents=True, exist_ok=True)
    _start(node, "containerd", ["containerd", f"--config={path}"], progress)
    _wait(node, "containerd", lambda: node.crictl("info", check=False).returncode == 0, 60)


def _coredns(node: Node, progress: Progress) -> None:
    health, ready = free_port(), free_port()
    corefile = node.layout.file("Corefile")
    corefile.write_text(config.corefile(node.cp.kubeconfig, 53, health, ready))
    _start(node, "coredns", [str(node.bins.coredns), f"-conf={corefile}"], progress)
    for manifest in config.dns_service():
        node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))
    _wait(node, "coredns", lambda: http_ok(f"http://127.0.0.1:{ready}/ready"), 60)


def _kubelet(node: Node, progress: Progress) -> None:
    healthz = free_port()
    node.layout.file("resolv.conf").write_text(config.resolv_conf())
    path = node.layout.file("kubelet.json")
    path.write_text(config.kubelet_config(node.layout, healthz))
    argv = [
        str(node.bins.kubelet),
        f"--config={path}",
        f"--kubeconfig={node.cp.kubeconfig}",
        f"--root-dir={node.layout.kubelet_dir}",
        f"--cert-dir={node.layout.kubelet_dir / 'pki'}",
        f"--hostname-override={config.NODE_NAME}",
        f"--node-ip={network.NODE_IP}",
        "--v=1",
    ]
    _start(node, "kubelet", argv, progress)
    _wait(node, "kubelet", lambda: _node_ready(node), 120)


def _node_ready(node: Node) -> bool:
    try:
        data = node.cp.get(f"/api/v1/nodes/{config.NODE_NAME}")
    except (urllib.error.URLError, OSError):
        return False
    status = data.get("status")
    conditions = status.get("conditions", []) if isinstance(status, dict) else []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _kube_proxy(node: Node, progress: Progress) -> None:
    healthz = free_port()
    argv = [
        str(node.bins.kube_proxy),
        f"--kubeconfig={node.cp.kubeconfig}",
        f"--hostname-override={config.NODE_NAME}",
        f"--cluster-cidr={network.POD_CIDR}",
        "--proxy-mode=iptables",
        f"--healthz-bind-address=127.0.0.1:{healthz}",
        f"--metrics-bind-address=127.0.0.1:{free_port()}",
        "--conntrack-max-per-core=0",
        "--v=1",
    ]
    _start(node, "kube-proxy", argv, progress)
    _wait(node, "kube-proxy", lambda: http_ok(f"http://127.0.0.1:{healthz}/healthz"), 60)


def _ingress(node: Node, traefik: Path, progress: Progress) -> int:
    """Traefik on loopback, serving the Ingresses of its class (created here); returns its web port."""
    node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(ingress.ingress_class()))
    web, ping = free_port(), free_port()
    ca = node.cp.root / "pki" / "apiserver.crt"
    _start(node, "traefik", [str(traefik), *ingress.arguments(node.cp.server, node.cp.token, ca, web, ping)], progress)
    _wait(node, "traefik", lambda: http_ok(f"http://127.0.0.1:{ping}/ping"), 60)
    return web


def _persistent_volumes(node: Node, count: int) -> None:
    """Statically provisioned hostPath volumes under the node's root (this cluster has no provisioner), each owned
    by the pods' user, so the pipeline's claims bind as they would to a cluster's default storage."""
    for index in range(count):
        path = node.root / "volumes" / f"pv-{index}"
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, VOLUME_OWNER, VOLUME_OWNER)
        path.chmod(0o770)
        volume = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"node-pv-{index}"},
            "spec": {
                "capacity": {"storage": "100Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "hostPath": {"path": str(path), "type": "Directory"},
            },
        }
        node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(volume))


def down(node: Node) -> None:
    """Stop everything, remove every pod (and so its network), then undo each change to the host."""
    for name in ("traefik", "kube-proxy", "kubelet"):
        process.stop(node.pidfile(name), timeout=15)
    if process.read_pid(node.pidfile("containerd")) is not None:
        node.crictl("rmp", "--all", "--force", check=False)
    process.stop(node.pidfile("containerd"), timeout=15)
    _kill_shims(node)
    process.stop(node.pidfile("coredns"), timeout=15)
    controlplane.down(node.cp)
    if node.bins.kube_proxy.is_file():
        subprocess.run([str(node.bins.kube_proxy), "--cleanup"], capture_output=True, timeout=60)
    host.remove_kube_chains()
    host.unmount_under(node.root)
    host.unmount_under(node.layout.images)
    host.remove_cgroups()
    host.restore(node.root)
    network.remove(node.external)
    shutil.rmtree(node.root, ignore_errors=True)


def leftovers(node: Node) -> dict[str, tuple[list[str], list[str]]]:
    """What differs on the host from before ``up`` (empty after a clean ``down``): kind -> (before, now)."""
    now = host.state((node.root, node.layout.images))
    return {kind: (node.before.get(kind, []), now[kind]) for kind in now if now[kind] != node.before.get(kind, [])}


def _kill_shims(node: Node) -> None:
    """containerd's shims live in sessions of their own: any left for this node's socket are killed."""
    needle = str(node.layout.containerd_socket).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
