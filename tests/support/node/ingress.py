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
# v3.7 needs modules the Go module proxy here does not serve (DNS providers of its ACME client); v3.6 does not.
TRAEFIK_VERSION = "v3.6.12"
CLASS = "traefik"
CONTROLLER = "traefik.io/ingress-controller"


def tool() -> gobuild.GoTool:
    """Traefik's command, with its go.mod's replace and exclude lines (a wrapper module does not inherit them)."""
    return gobuild.GoTool(
        name="traefik",
        module=TRAEFIK_MODULE,
        version=TRAEFIK_VERSION,
        package=f"{TRAEFIK_MODULE}/cmd/traefik",
        replace=(
            (
                "github.com/abbot/go-http-auth",
                "github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e",
            ),
            ("github.com/gorilla/mux", "github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59"),
            ("github.com/mailgun/minheap", "github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595"),
        ),
        exclude=("github.com/tencentcloud/tencentcloud-sdk-go v3.0.83+incompatible",),
        ldflags=f"-s -w -X github.com/traefik/traefik/v3/pkg/version.Version={TRAEFIK_VERSION}",
    )


def build(cache: Path, progress: gobuild.Progress | None = None) -> Path:
    """Traefik's binary, built once (a few minutes)."""
    return gobuild.build(cache, tool(), progress)


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
