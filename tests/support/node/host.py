"""What the node changes on the host, each with its undo: sysctls, the node's bridge, mounts, cgroups, leftover chains.

Every change is recorded before it is made (``<root>/host.json``), so a teardown after a crash undoes exactly what
was done. Needs root.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from support.node import network

# Set for the node: forwarding between the bridges, bridged traffic through iptables (Services between pods on one
# bridge). The kubelet itself raises the last three while it runs (it checks them at start).
SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
}
KUBELET_SYSCTLS = ("vm.overcommit_memory", "kernel.panic", "kernel.panic_on_oops")
REQUIRED_COMMANDS = ("containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables", "ip", "buildah", "mmdebstrap")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def _record(root: Path) -> dict[str, str]:
    path = root / "host.json"
    saved: dict[str, str] = json.loads(path.read_text()) if path.is_file() else {}
    return saved


def preflight() -> None:
    """Refuse early, naming what is missing, when this host cannot run the node."""
    if os.geteuid() != 0:
        raise RuntimeError("the node needs root (containerd, iptables, mounts)")
    missing = [cmd for cmd in REQUIRED_COMMANDS if shutil.which(cmd) is None]
    if missing:
        raise RuntimeError(
            "missing commands: " + ", ".join(missing) + " (Debian packages containerd runc containernetworking-plugins "
            "buildah mmdebstrap iptables; .ci/run installs them)"
        )


def prepare(root: Path) -> None:
    """Save and set the sysctls, create the node's bridge with its address and the Service route."""
    saved = _record(root)
    for key in (*SYSCTLS, *KUBELET_SYSCTLS):
        saved.setdefault(key, _sysctl_path(key).read_text().strip())
    (root / "host.json").write_text(json.dumps(saved, indent=2))
    for key, value in SYSCTLS.items():
        _sysctl_path(key).write_text(value)
    if subprocess.run(["ip", "link", "show", network.NODE_BRIDGE], capture_output=True).returncode != 0:
        subprocess.run(["ip", "link", "add", network.NODE_BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "replace", f"{network.NODE_IP}/32", "dev", network.NODE_BRIDGE], check=True)
    subprocess.run(["ip", "link", "set", network.NODE_BRIDGE, "up"], check=True)
    # Service addresses are never routed to the external interface, even before kube-proxy translates them.
    subprocess.run(["ip", "route", "replace", network.SERVICE_CIDR, "dev", network.NODE_BRIDGE], check=True)


def unmount_under(root: Path) -> list[str]:
    """Unmount everything mounted below ``root`` (deepest first); returns the mount points it found."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == str(root) or point.startswith(f"{root}/"):
            points.append(point)
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True)
    return points


def remove_cgroups() -> None:
    """Remove the kubelet's cgroups (``kubepods`` and its own) under every controller, children first."""
    for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        for top in ("kubepods", "kubepods.slice"):
            base = controller / top
            if not base.is_dir():
                continue
            dirs = sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
            for path in [*dirs, base]:
                with contextlib.suppress(OSError):
                    path.rmdir()


def remove_kube_chains() -> None:
    """Delete the chains the kubelet and kube-proxy made (``KUBE-*``) that ``kube-proxy --cleanup`` left."""
    for table in ("filter", "nat", "mangle"):
        dump = subprocess.run(["iptables", "-w", "5", "-t", table, "-S"], capture_output=True, text=True).stdout
        chains = [line.split()[1] for line in dump.splitlines() if line.startswith("-N KUBE-")]
        for line in dump.splitlines():
            words = shlex.split(line)  # a rule's comment is quoted
            jumps_to_ours = words[:1] == ["-A"] and "-j" in words and words[words.index("-j") + 1] in chains
            if jumps_to_ours and words[1] not in chains:
                subprocess.run(["iptables", "-w", "5", "-t", table, "-D", *words[1:]], capture_output=True)
        for chain in chains:
            subprocess.run(["iptables", "-w", "5", "-t", table, "-F", chain], capture_output=True)
        for chain in chains:
            subprocess.run(["iptables", "-w", "5", "-t", table, "-X", chain], capture_output=True)


def restore(root: Path) -> None:
    """Delete the bridges and restore every sysctl this node (or its kubelet) changed."""
    for link in (network.POD_BRIDGE, network.NODE_BRIDGE):
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    for key, value in _record(root).items():
        with contextlib.suppress(OSError):
            _sysctl_path(key).write_text(value)


def state(paths: tuple[Path, ...]) -> dict[str, list[str]]:
    """What a node may leave on this host, as comparable lists: links, iptables rules and chains, network
    namespaces, mounts under ``paths``, the kubelet's cgroups and the sysctls the node sets."""
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    netns = Path("/run/netns")
    return {
        "links": sorted(line.split(":")[1].strip().split("@")[0] for line in links.splitlines()),
        "iptables": sorted(re.sub(r" \[\d+:\d+\]$", "", line) for line in rules.splitlines() if line[:1] in "-:"),
        "netns": sorted(p.name for p in netns.iterdir()) if netns.is_dir() else [],
        "mounts": sorted(m for m in mounts if any(m == str(p) or m.startswith(f"{p}/") for p in paths)),
        "cgroups": sorted(str(p) for p in CGROUP_ROOT.glob("*/kubepods*")),
        "sysctls": [f"{key}={_sysctl_path(key).read_text().strip()}" for key in (*SYSCTLS, *KUBELET_SYSCTLS)],
    }
