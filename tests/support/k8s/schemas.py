"""JSON schemas for kubeconform, made from CRDs and from Kubernetes' split OpenAPI schemas (pure).

kubeconform looks a schema up as ``<kind><suffix>.json`` (:func:`schema_filename`, its naming:
``deployment-apps-v1.json``, ``logpipeline-logpipeline-v1alpha1.json``). :func:`crd_schemas`
turns each served version of a CustomResourceDefinition into such a schema, strict like
``openapi2jsonschema --strict``: objects with listed properties refuse unknown ones unless the CRD
preserves unknown fields, ``x-kubernetes-int-or-string`` becomes integer-or-string and the root
gains ``apiVersion``/``kind``/``metadata``. :func:`standalone` inlines the definitions a
Kubernetes kind schema refers to, so that one file validates alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

Schema = dict[str, Any]


def schema_filename(kind: str, api_version: str) -> str:
    """kubeconform's file name for a kind: ``<kind>-<first label of the group>-<version>.json``."""
    parts = api_version.split("/")
    suffix = "-" + parts[0].split(".")[0].lower()
    if len(parts) > 1:
        suffix += "-" + parts[1].lower()
    return f"{kind.lower()}{suffix}.json"


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strict(value) for key, value in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    preserve = out.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def crd_schemas(crd: Mapping[str, Any]) -> dict[str, Schema]:
    """One strict JSON schema per served version of ``crd``, keyed by kubeconform's file name."""
    spec = crd["spec"]
    kind = spec["names"]["kind"]
    out: dict[str, Schema] = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        api_version = f"{spec['group']}/{version['name']}"
        schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
        props = schema.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [api_version]}
        props["kind"] = {"type": "string", "enum": [kind]}
        props["metadata"] = {"type": "object"}
        schema["additionalProperties"] = False
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
        schema["$schema"] = "http://json-schema.org/draft-07/schema#"
        out[schema_filename(kind, api_version)] = schema
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            found.add(ref.split("#/$defs/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _relink(node: Any) -> Any:
    if isinstance(node, dict):
        out = {key: _relink(value) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            out["$ref"] = "#/$defs/" + ref.split("#/$defs/", 1)[1]
        return out
    if isinstance(node, list):
        return [_relink(value) for value in node]
    return node


def standalone(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> Schema:
    """``schema`` with every definition it reaches (through ``$ref .../#/$defs/<name>``) inlined."""
    needed: set[str] = set()
    pending: set[str] = set()
    _refs(schema, pending)
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in definitions:
            raise KeyError(f"schema refers to the unknown definition {name!r}")
        needed.add(name)
        _refs(definitions[name], pending)
    out: Schema = _relink(dict(schema))
    out.pop("$id", None)
    out["$defs"] = {name: _relink(definitions[name]) for name in sorted(needed)}
    return out
