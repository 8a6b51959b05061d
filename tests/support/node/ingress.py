"""The cluster's ingress controller: Traefik, built from its Go module, on the node as a process (like CoreDNS).

It serves ``networking.k8s.io/v1`` Ingresses of the IngressClass ``traefik`` on a loopback port, forwarding to the
pods behind each Service; a browser reaches an Ingress's host through that port (Chromium maps the host name to
loopback). Traefik's version check and usage statistics are off: it sends nothing beyond this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import gobuild

TRAEFIK_MODULE = "github.com/traefik/traefik/v3"
TRAEFIK_VERSION = "v3.7.13"
CLASS = "traefik"
CONTROLLER = "traefik.io/ingress-controller"


def tool(cache: Path) -> gobuild.GoTool:
    """Traefik's command, with its go.mod's replace and exclude lines (its one local replace points into the module's
    own folder in the module cache)."""
    source = Path(gobuild.go_env(cache)["GOMODCACHE"]) / f"{TRAEFIK_MODULE}@{TRAEFIK_VERSION}"
    return gobuild.GoTool(
        name="traefik",
        module=TRAEFIK_MODULE,
        version=TRAEFIK_VERSION,
        package=f"{TRAEFIK_MODULE}/cmd/traefik",
        replace=(
            ("github.com/traefik/traefik/dynamic/ext", str(source / "pkg/config/dynamic/ext")),
            (
                "github.com/abbot/go-http-auth",
                "github.com/containous/go-http-auth v0.4.1-0.20260804094822-b975dcaa8c48",
            ),
            ("github.com/gorilla/mux", "github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59"),
        ),
        exclude=("github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible",),
        ldflags=f"-s -w -X github.com/traefik/traefik/v3/pkg/version.Version={TRAEFIK_VERSION}",
    )


def ingress_class() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": CLASS},
        "spec": {"controller": CONTROLLER},
    }


def arguments(server: str, token: str, ca_file: Path, web_port: int, ping_port: int) -> list[str]:
    """Traefik's static configuration as flags: the Ingress provider against this cluster, two loopback ports."""
    return [
        f"--entryPoints.web.address=127.0.0.1:{web_port}",
        f"--entryPoints.ping.address=127.0.0.1:{ping_port}",
        "--ping=true",
        "--ping.entryPoint=ping",
        "--providers.kubernetesIngress=true",
        f"--providers.kubernetesIngress.endpoint={server}",
        f"--providers.kubernetesIngress.token={token}",
        f"--providers.kubernetesIngress.certAuthFilePath={ca_file}",
        "--providers.kubernetesIngress.throttleDuration=1s",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.format=json",
        "--log.level=WARN",
    ]
