"""Fill a spec with the defaults of an OpenAPI v3 schema, the way the API server defaults a custom resource (pure).

The API server defaults every LogPipeline it stores; this gives the same result
for objects the tests build in memory from the CRD file.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any


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
