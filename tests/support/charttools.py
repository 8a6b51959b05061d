"""Helm and kubeconform as real binaries, and the schema folder kubeconform validates against.

Both are built once from their Go modules into the cache directory (:mod:`support.gobuild`).
:func:`write_schemas` fills a folder with one standalone JSON schema per kind, named the way
kubeconform looks them up: built-in kinds from the Kubernetes JSON schemas that the
``kubernetes-validate`` package ships (a test dependency), custom resources from their CRDs.
:func:`kubeconform` validates YAML text strictly and returns one result per object.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from logpipeline.stack.errors import StackError
from support import gobuild
from support.k8s import schemas

HELM_VERSION = "v3.22.0"
KUBECONFORM_VERSION = "v0.8.0"
# The Kubernetes minor whose built-in schemas validate the manifests (the control plane's).
SCHEMA_KUBERNETES_VERSION = "v1.36.0"

# helm's Makefile stamps its version and the Kubernetes version of its client-go (v0.37 -> 1.37),
# which `helm template` assumes when no cluster is asked.
_HELM_LDFLAGS = " ".join(
    [
        "-s",
        "-w",
        f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}",
        "-X helm.sh/helm/v3/internal/version.gitTreeState=clean",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1",
        "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37",
    ]
)
HELM = gobuild.GoTool(
    name="helm",
    module="helm.sh/helm/v3",
    version=HELM_VERSION,
    package="helm.sh/helm/v3/cmd/helm",
    ldflags=_HELM_LDFLAGS,
)
KUBECONFORM = gobuild.GoTool(
    name="kubeconform",
    module="github.com/yannh/kubeconform",
    version=KUBECONFORM_VERSION,
    package="github.com/yannh/kubeconform/cmd/kubeconform",
)


@dataclass(frozen=True)
class ChartTools:
    helm: Path
    kubeconform: Path


def ensure(cache: Path, progress: Callable[[str], None] | None = print) -> ChartTools:
    """Build whichever of helm and kubeconform is missing, then return both paths."""
    return ChartTools(
        helm=gobuild.build(cache, HELM, progress), kubeconform=gobuild.build(cache, KUBECONFORM, progress)
    )


def _builtin_folder(version: str) -> Path:
    try:
        root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"{version}-local-strict"
    except ModuleNotFoundError as exc:
        raise StackError("kubeconform", "the 'kubernetes-validate' package (test extra) is not installed") from exc
    return Path(str(root))


def write_schemas(
    target: Path,
    kinds: Iterable[tuple[str, str]],
    crds: Iterable[Mapping[str, Any]] = (),
    version: str = SCHEMA_KUBERNETES_VERSION,
) -> Path:
    """Write standalone schemas for ``(kind, apiVersion)`` pairs and every version of ``crds`` into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    custom: dict[str, Any] = {}
    for crd in crds:
        custom.update(schemas.crd_schemas(crd))
    folder = _builtin_folder(version)
    definitions: dict[str, Any] | None = None
    for kind, api_version in sorted(set(kinds)):
        name = schemas.schema_filename(kind, api_version)
        if name in custom or (target / name).exists():
            continue
        source = folder / name
        if not source.exists():
            continue  # unknown kind: kubeconform reports the missing schema
        if definitions is None:
            definitions = json.loads((folder / "_definitions.json").read_text())["$defs"]
        (target / name).write_text(json.dumps(schemas.standalone(json.loads(source.read_text()), definitions)))
    for name, schema in custom.items():
        (target / name).write_text(json.dumps(schema))
    return target


def kubeconform(binary: Path, manifests: str, schema_dir: Path) -> list[dict[str, Any]]:
    """Validate YAML ``manifests`` strictly against ``schema_dir`` only; one result per object."""
    proc = subprocess.run(
        [
            str(binary),
            "-strict",
            "-summary=false",
            "-output=json",
            "-verbose",
            "-schema-location",
            str(schema_dir / "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
            "-",
        ],
        input=manifests,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise StackError("kubeconform", f"unreadable output (exit {proc.returncode}): {proc.stderr[:500]}") from exc
    results: list[dict[str, Any]] = report.get("resources", [])
    return results


def helm(
    binary: Path,
    *args: str,
    home: Path,
    kubeconfig: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run helm with its cache, config and data kept under ``home`` (never the user's own)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False)


def main() -> int:
    """``python -m support.charttools``: build (once) helm and kubeconform into the cache."""
    import time

    from logpipeline.config import Settings

    start = time.monotonic()
    tools = ensure(Settings().cache, lambda msg: print(f"[{time.monotonic() - start:6.0f}s] {msg}", flush=True))
    print(f"helm: {tools.helm}\nkubeconform: {tools.kubeconform}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
