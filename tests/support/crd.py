"""The LogPipeline CRD and example as the tests read them, and LogPipeline objects defaulted from the CRD.

The API server defaults every LogPipeline it stores (an OpenAPI v3 schema's ``default`` values);
:func:`defaulted` gives the same result for objects the tests build in memory, and
:func:`logpipeline` is the one way the tests build such an object.
"""

from __future__ import annotations

import copy
import functools
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from logpipeline.config import cache_dir
from logpipeline_operator import constants as c
from support import upstream

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "charts/logpipeline/crds/logpipelines.logpipeline.io.yaml"
EXAMPLE_FILE = ROOT / "operator/examples/logpipeline.yaml"
# libyaml's loader where PyYAML was built with it (much faster on the large upstream CRDs), else the pure one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
UID = "0f1e2d3c-0000-4000-8000-000000000001"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_LOADER)
    return data


CRD = _load(CRD_FILE)  # read once; no test changes it


def example() -> dict[str, Any]:
    """The example LogPipeline (``kubectl apply -f`` file), a fresh copy each call."""
    return _load(EXAMPLE_FILE)


def third_party_crd_files() -> list[Path]:
    """The upstream Strimzi KafkaTopic and Kubeflow SparkApplication CRDs (the children's kinds), from the cache.

    :mod:`support.upstream` fetches them the first time (``.ci/run`` does that before the tests).
    """
    return upstream.ensure(cache_dir(), lambda msg: print(f"upstream CRDs: {msg}", file=sys.stderr)).files()


@functools.cache
def _third_party_crds() -> tuple[dict[str, Any], ...]:
    return tuple(_load(path) for path in third_party_crd_files())


def third_party_crds() -> list[dict[str, Any]]:
    """The upstream CRDs parsed (once per process: the SparkApplication CRD is large), a fresh copy each call."""
    return copy.deepcopy(list(_third_party_crds()))


def apply_defaults(schema: Mapping[str, Any], value: Any) -> Any:
    if value is None and "default" in schema:
        value = copy.deepcopy(schema["default"])
    if isinstance(value, dict) and schema.get("type") == "object":
        out = dict(value)
        for field, sub in schema.get("properties", {}).items():
            if field in out or "default" in sub:
                filled = apply_defaults(sub, out.get(field))
                if filled is not None:
                    out[field] = filled
        return out
    if isinstance(value, list) and "items" in schema:
        return [apply_defaults(schema["items"], item) for item in value]
    return value


def crd_schema(crd: Mapping[str, Any], version: str = "v1alpha1") -> Mapping[str, Any]:
    for entry in crd["spec"]["versions"]:
        if entry["name"] == version:
            schema: Mapping[str, Any] = entry["schema"]["openAPIV3Schema"]
            return schema
    raise KeyError(f"the CRD has no version {version!r}")


def defaulted(crd: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """A LogPipeline object with its spec defaulted from the CRD's schema."""
    schema = crd_schema(crd)["properties"]["spec"]
    return {**body, "spec": apply_defaults(schema, dict(body.get("spec") or {}))}


def logpipeline(
    spec: Mapping[str, Any] | None = None,
    *,
    name: str = "lp1",
    namespace: str = "ns1",
    uid: str = UID,
    **metadata: Any,
) -> dict[str, Any]:
    """A LogPipeline object as the API server stores it: ``spec`` (a copy) defaulted from the CRD's schema."""
    body = {
        "apiVersion": c.API_VERSION,
        "kind": c.KIND,
        "metadata": {"name": name, "namespace": namespace, "uid": uid, **metadata},
        "spec": copy.deepcopy(dict(spec or {})),
    }
    return defaulted(CRD, body)
