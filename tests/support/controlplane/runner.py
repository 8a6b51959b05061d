"""Start and stop a real control plane on loopback: etcd, kube-apiserver, controller-manager, scheduler, KWOK.

Everything lives under one root directory (data, certificates, kubeconfig, logs
and pid files); processes are supervised with :mod:`logpipeline.stack.process`.
Authentication is a static admin token; KWOK simulates the nodes, so Deployments
and StatefulSets become available without running any container.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logpipeline.stack import process
from logpipeline.stack.errors import StackError
from logpipeline.stack.process import free_port
from support import gobuild
from support.controlplane import binaries

Progress = Callable[[str], None]
PROCESSES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
KWOK_STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
SERVICE_CIDR = "10.96.0.0/16"


@dataclass(frozen=True)
class ControlPlane:
    """A running control plane: where its kubeconfig is and how to talk to it."""

    root: Path
    bins: binaries.Binaries
    apiserver_port: int
    token: str
    address: str = "127.0.0.1"

    @property
    def server(self) -> str:
        return f"https://{self.address}:{self.apiserver_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    def pidfile(self, name: str) -> Path:
        return self.root / "run" / f"{name}.pid"

    def logfile(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def kubectl(
        self, *args: str, input_text: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this control plane."""
        cmd = [str(self.bins.kubectl), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(cmd, input=input_text, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise StackError("kubectl", f"`kubectl {' '.join(args)}` failed: {result.stderr.strip()}")
        return result

    def get(self, path: str) -> dict[str, object]:
        """GET an API path with the admin token (JSON)."""
        request = urllib.request.Request(self.server + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, context=_insecure(), timeout=10) as resp:
            data: dict[str, object] = json.loads(resp.read())
            return data


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _kubeconfig(server: str, token: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
            "current-context": "local",
        },
        indent=2,
    )


def _service_account_key(root: Path) -> tuple[Path, Path]:
    key, pub = root / "pki" / "sa.key", root / "pki" / "sa.pub"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        subprocess.run(
            ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True
        )
    return key, pub


def gobuild_go() -> str:
    return shutil.which("go") or "/usr/local/go/bin/go"


def kwok_stages(cache: Path) -> str:
    """KWOK's own stage definitions (node heartbeat, pod ready, ...) from its module source."""
    source = Path(gobuild.go_env(cache)["GOMODCACHE"]) / f"sigs.k8s.io/kwok@{binaries.KWOK_VERSION}"
    if not source.exists():
        subprocess.run(
            [str(gobuild_go()), "mod", "download", f"sigs.k8s.io/kwok@{binaries.KWOK_VERSION}"],
            env=gobuild.go_env(cache),
            check=True,
            capture_output=True,
        )
    return "\n---\n".join((source / "kustomize" / "stage" / rel).read_text() for rel in KWOK_STAGES)


def _wait(check: Callable[[], bool], what: str, timeout: float, log: Path, pidfile: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if process.read_pid(pidfile) is None:
            raise StackError(what, "exited while starting:\n" + process.tail(log), log)
        time.sleep(0.2)
    raise StackError(what, f"not ready after {timeout:.0f}s:\n" + process.tail(log), log)


def _healthy(cp: ControlPlane, path: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            request = urllib.request.Request(cp.server + path, headers={"Authorization": f"Bearer {cp.token}"})
            with urllib.request.urlopen(request, context=_insecure(), timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    return check


def _node(name: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "type": "kwok"},
        },
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
        },
    }


@dataclass(frozen=True)
class Options:
    """How the control plane is laid out: KWOK's simulated nodes (the default) or none, for a real kubelet.

    ``address`` is where the API server listens and what it advertises (a real node's pods reach it there through
    the ``kubernetes`` Service); ``service_cidr`` is the Service range.
    """

    address: str = "127.0.0.1"
    service_cidr: str = SERVICE_CIDR
    kwok_nodes: int = 2
    apiserver_args: tuple[str, ...] = ()
    controller_manager_args: tuple[str, ...] = ()


def up(
    root: Path, cache: Path, progress: Progress = print, nodes: int = 2, options: Options | None = None
) -> ControlPlane:
    """Build what is missing, then start every process under ``root`` and wait until nodes are Ready."""
    opts = options or Options(kwok_nodes=nodes)
    bins = binaries.ensure(cache, progress)
    root.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    cp = ControlPlane(root=root, bins=bins, apiserver_port=free_port(), token=token, address=opts.address)
    (root / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    cp.kubeconfig.write_text(_kubeconfig(cp.server, token))
    sa_key, sa_pub = _service_account_key(root)
    etcd_port, etcd_peer = free_port(), free_port()
    try:
        _start(
            cp,
            "etcd",
            [
                str(bins.etcd),
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=default=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
                "--quota-backend-bytes=4294967296",
            ],
            progress,
        )
        _wait(lambda: process.port_is_open("127.0.0.1", etcd_port), "etcd", 30, cp.logfile("etcd"), cp.pidfile("etcd"))
        _start(
            cp,
            "kube-apiserver",
            [
                str(bins.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                f"--bind-address={opts.address}",
                f"--advertise-address={opts.address}",
                f"--secure-port={cp.apiserver_port}",
                f"--cert-dir={root / 'pki'}",
                f"--token-auth-file={root / 'tokens.csv'}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={opts.service_cidr}",
                "--max-requests-inflight=1000",
                "--max-mutating-requests-inflight=500",
                "--profiling=false",
                *opts.apiserver_args,
            ],
            progress,
        )
        _wait(
            _healthy(cp, "/readyz"), "kube-apiserver", 120, cp.logfile("kube-apiserver"), cp.pidfile("kube-apiserver")
        )
        common = [f"--kubeconfig={cp.kubeconfig}", "--leader-elect=false", "--secure-port=0"]
        _start(
            cp,
            "kube-controller-manager",
            [
                str(bins.kube_controller_manager),
                *common,
                f"--service-account-private-key-file={sa_key}",
                "--use-service-account-credentials=false",
                "--node-monitor-grace-period=120s",
                "--kube-api-qps=300",
                "--kube-api-burst=600",
                "--concurrent-deployment-syncs=20",
                "--concurrent-replicaset-syncs=20",
                "--concurrent-gc-syncs=50",
                "--concurrent-statefulset-syncs=20",
                *opts.controller_manager_args,
            ],
            progress,
        )
        _start(cp, "kube-scheduler", [str(bins.kube_scheduler), *common], progress)
        if opts.kwok_nodes:
            _start_kwok(cp, cache, opts.kwok_nodes, progress)
        _wait(
            lambda: _default_sa(cp),
            "kube-controller-manager",
            60,
            cp.logfile("kube-controller-manager"),
            cp.pidfile("kube-controller-manager"),
        )
    except BaseException:
        down(cp)
        raise
    progress(f"control plane ready at {cp.server} (kubeconfig {cp.kubeconfig})")
    return cp


def _start_kwok(cp: ControlPlane, cache: Path, nodes: int, progress: Progress) -> None:
    """KWOK with its stage definitions, and ``nodes`` simulated nodes it keeps Ready."""
    root, bins = cp.root, cp.bins
    (root / "kwok.yaml").write_text(kwok_stages(cache))
    _start(
        cp,
        "kwok",
        [
            str(bins.kwok),
            f"--kubeconfig={cp.kubeconfig}",
            f"--config={root / 'kwok.yaml'}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.1/16",
            "--node-ip=10.244.0.1",
            f"--server-address=127.0.0.1:{free_port()}",
        ],
        progress,
    )
    for index in range(nodes):
        cp.kubectl("apply", "-f", "-", input_text=json.dumps(_node(f"kwok-node-{index}")))
    _wait(lambda: _nodes_ready(cp, nodes), "kwok", 60, cp.logfile("kwok"), cp.pidfile("kwok"))


def _nodes_ready(cp: ControlPlane, count: int) -> bool:
    items = cp.get("/api/v1/nodes").get("items")
    ready = 0
    for node in items if isinstance(items, list) else []:
        for cond in node.get("status", {}).get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                ready += 1
    return ready >= count


def _default_sa(cp: ControlPlane) -> bool:
    try:
        cp.get("/api/v1/namespaces/default/serviceaccounts/default")
    except (urllib.error.URLError, OSError):
        return False
    return True


def _start(cp: ControlPlane, name: str, argv: Sequence[str], progress: Progress) -> None:
    progress(f"starting {name}")
    process.spawn(argv, cp.pidfile(name), cp.logfile(name), env={"GOMAXPROCS": os.environ.get("GOMAXPROCS", "2")})


def down(cp: ControlPlane) -> None:
    """Stop every process of this control plane (the data stays under its root)."""
    for name in reversed(PROCESSES):
        process.stop(cp.pidfile(name), timeout=15)
