"""Pod Security Standards, level "restricted", as a pure check of manifest dicts.

:func:`violations` takes any manifest (Pod, a workload with a pod template, a CronJob, a Kubeflow
``SparkApplication``) and returns one message per broken rule, naming the object, the container
and the field; an empty list means the pods it produces are admitted by a namespace labelled
``pod-security.kubernetes.io/enforce: restricted``. The rules are those of the Kubernetes
documentation "Pod Security Standards" (baseline plus restricted) for the latest version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Manifest = Mapping[str, Any]

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
ALLOWED_VOLUME_TYPES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}
VOLUME_SOURCE_KEYS = {"name"}


def pod_specs(manifest: Manifest) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """Yield ``(where, pod_spec, pod_metadata)`` for every pod the manifest produces."""
    kind = manifest.get("kind", "")
    name = f"{kind}/{manifest.get('metadata', {}).get('name', '?')}"
    spec = manifest.get("spec") or {}
    if kind == "Pod":
        yield name, spec, manifest.get("metadata") or {}
    elif kind in WORKLOAD_KINDS:
        template = spec.get("template") or {}
        yield name, template.get("spec") or {}, template.get("metadata") or {}
    elif kind == "CronJob":
        template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
        yield name, template.get("spec") or {}, template.get("metadata") or {}
    elif kind in {"SparkApplication", "ScheduledSparkApplication"}:
        app: Mapping[str, Any] = (spec.get("template") or {}) if kind == "ScheduledSparkApplication" else spec
        for role in ("driver", "executor"):
            pod = app.get(role) or {}
            container = {"name": f"spark-{role}", "securityContext": pod.get("securityContext") or {}}
            extra = list(pod.get("initContainers") or []) + list(pod.get("sidecars") or [])
            yield (
                f"{name} {role}",
                {
                    "securityContext": pod.get("podSecurityContext") or {},
                    "containers": [container, *extra],
                    "hostNetwork": pod.get("hostNetwork", False),
                },
                {"annotations": pod.get("annotations") or {}},
            )


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _seccomp_type(ctx: Mapping[str, Any]) -> str | None:
    profile = ctx.get("seccompProfile")
    return None if profile is None else str(profile.get("type"))


def _pod_level(where: str, spec: Mapping[str, Any], meta: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"{where}: spec.{field} must be false")
    ctx = spec.get("securityContext") or {}
    if (ctx.get("windowsOptions") or {}).get("hostProcess"):
        problems.append(f"{where}: securityContext.windowsOptions.hostProcess must be false")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - VOLUME_SOURCE_KEYS
        bad = kinds - ALLOWED_VOLUME_TYPES
        if bad:
            problems.append(f"{where}: volume {volume.get('name')!r} uses {sorted(bad)}, not allowed")
    if ctx.get("runAsUser") == 0:
        problems.append(f"{where}: securityContext.runAsUser must not be 0")
    if ctx.get("runAsNonRoot") is False:
        problems.append(f"{where}: securityContext.runAsNonRoot must not be false")
    if _seccomp_type(ctx) not in (None, *SECCOMP_OK):
        problems.append(f"{where}: securityContext.seccompProfile.type must be RuntimeDefault or Localhost")
    for sysctl in ctx.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            problems.append(f"{where}: sysctl {sysctl.get('name')!r} is not in the safe set")
    problems += _selinux(where, ctx.get("seLinuxOptions") or {})
    problems += _apparmor(where, ctx, meta, None)
    return problems


def _selinux(where: str, options: Mapping[str, Any]) -> list[str]:
    problems = []
    if options.get("type", "") not in SELINUX_TYPES:
        problems.append(f"{where}: seLinuxOptions.type {options.get('type')!r} is not allowed")
    for field in ("user", "role"):
        if options.get(field):
            problems.append(f"{where}: seLinuxOptions.{field} must be unset")
    return problems


def _apparmor(where: str, ctx: Mapping[str, Any], meta: Mapping[str, Any], container: str | None) -> list[str]:
    problems = []
    if (ctx.get("appArmorProfile") or {}).get("type") == "Unconfined":
        problems.append(f"{where}: appArmorProfile.type must not be Unconfined")
    if container is None:
        for key, value in (meta.get("annotations") or {}).items():
            if key.startswith("container.apparmor.security.beta.kubernetes.io/") and value == "unconfined":
                problems.append(f"{where}: annotation {key} must not be unconfined")
    return problems


def _container_level(where: str, spec: Mapping[str, Any], container: Mapping[str, Any]) -> list[str]:
    pod_ctx = spec.get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    at = f"{where} container {container.get('name')!r}"
    problems: list[str] = []
    if ctx.get("privileged"):
        problems.append(f"{at}: securityContext.privileged must be false")
    if ctx.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{at}: securityContext.allowPrivilegeEscalation must be false")
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    if non_root is not True:
        problems.append(f"{at}: runAsNonRoot must be true (pod or container securityContext)")
    if ctx.get("runAsUser") == 0:
        problems.append(f"{at}: securityContext.runAsUser must not be 0")
    seccomp = _seccomp_type(ctx) or _seccomp_type(pod_ctx)
    if seccomp not in SECCOMP_OK:
        problems.append(f"{at}: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)")
    caps = ctx.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        problems.append(f"{at}: securityContext.capabilities.drop must include ALL")
    added = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
    if added:
        problems.append(f"{at}: securityContext.capabilities.add may only hold NET_BIND_SERVICE, not {sorted(added)}")
    for port in container.get("ports") or []:
        if port.get("hostPort"):
            problems.append(f"{at}: ports must not set hostPort")
    if ctx.get("procMount", "Default") != "Default":
        problems.append(f"{at}: securityContext.procMount must be Default")
    if (ctx.get("windowsOptions") or {}).get("hostProcess"):
        problems.append(f"{at}: securityContext.windowsOptions.hostProcess must be false")
    problems += _selinux(at, ctx.get("seLinuxOptions") or {})
    problems += _apparmor(at, ctx, {}, str(container.get("name")))
    return problems


def violations(manifest: Manifest) -> list[str]:
    """Every way the pods of ``manifest`` break Pod Security "restricted" (empty: none)."""
    problems: list[str] = []
    for where, spec, meta in pod_specs(manifest):
        problems += _pod_level(where, spec, meta)
        for container in _containers(spec):
            problems += _container_level(where, spec, container)
    return problems


def produces_pods(manifest: Manifest) -> bool:
    return any(True for _ in pod_specs(manifest))
