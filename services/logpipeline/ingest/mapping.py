"""Field mappings: JSON logs with other field names turned into log events (pure, no I/O but ``load``).

A mapping names, for each event field, where its value is in the source object: a dotted path that matches
nested objects (``{"http": {"response": {"status_code": 200}}}``) and dotted keys (``{"log.level": "info"}``) alike,
several paths to try in order, or ``{"from": path, "scale": factor}`` to convert units. The mapped object then goes
through the codec like any event (the coercion table applies), with three fill-ins: ``api`` from the first segment
of ``path`` when the source has no api, ``log_level`` from the status code when it has no level, and ``id`` from
the source name, line number and line (replays give the same ids).

A user mapping file (``logpipeline ingest --mapping FILE``) is YAML or JSON::

    fields:
      timestamp: ts                      # epoch s/ms/us/ns or RFC 3339, as the coercion table says
      api: route
      status_code: [http_status, status]
      response_time: {from: latency_us, scale: 0.001}
      log_level: severity

``ECS`` is the mapping of Elastic Common Schema documents as Filebeat and Elastic agents write them
(``@timestamp``, ``log.level``, ``http.response.status_code``, ``url.path``, ``event.duration`` in ns, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logpipeline.events.schema import EVENT_FIELDS
from logpipeline.generator.catalogue import level_for_status

_MISSING = object()
FIELD_NAMES = frozenset(f.name for f in EVENT_FIELDS)


@dataclass(frozen=True)
class Source:
    """Where one event field comes from: the paths to try in order, and a factor for numbers."""

    paths: tuple[str, ...]
    scale: float | None = None


FieldMap = dict[str, Source]

ECS: FieldMap = {
    "id": Source(("event.id",)),
    "timestamp": Source(("@timestamp", "event.created")),
    "log_level": Source(("log.level",)),
    "status_code": Source(("http.response.status_code",)),
    "path": Source(("url.path", "url.original")),
    "method": Source(("http.request.method",)),
    "response_time": Source(("event.duration",), scale=1e-6),  # ECS durations are nanoseconds
    "ip_address": Source(("client.ip", "source.ip")),
    "service": Source(("service.name",)),
    "region": Source(("cloud.region",)),
    "message": Source(("message",)),
    "trace_id": Source(("trace.id",)),
}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names the entry."""


def parse(data: object) -> FieldMap:
    """A mapping from its YAML/JSON form (see the module docstring); raises ``MappingError`` naming the problem."""
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict) or not fields:
        raise MappingError("mapping: expected an object with a non-empty 'fields' object")
    out: FieldMap = {}
    for name, spec in fields.items():
        if name not in FIELD_NAMES:
            raise MappingError(f"fields.{name}: not an event field; expected one of {', '.join(sorted(FIELD_NAMES))}")
        if isinstance(spec, str):
            out[name] = Source((spec,))
        elif isinstance(spec, list) and spec and all(isinstance(p, str) for p in spec):
            out[name] = Source(tuple(spec))
        elif isinstance(spec, dict) and isinstance(spec.get("from"), str | list):
            paths = (spec["from"],) if isinstance(spec["from"], str) else tuple(spec["from"])
            scale = spec.get("scale")
            if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int | float)):
                raise MappingError(f"fields.{name}.scale: expected a number, got {scale!r}")
            out[name] = Source(paths, None if scale is None else float(scale))
        else:
            raise MappingError(f"fields.{name}: expected a path, a list of paths or {{from: path, scale: number}}")
    return out


def load(path: Path) -> FieldMap:
    """Read a mapping file (YAML or JSON)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: {exc}") from None
    return parse(data)


def lookup(obj: Any, path: str) -> Any:
    """The value at a dotted path, through nested objects or dotted keys at any level; ``_MISSING`` if none."""
    if not isinstance(obj, Mapping):
        return _MISSING
    if path in obj:
        return obj[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in obj:
            found = lookup(obj[head], ".".join(parts[i:]))
            if found is not _MISSING:
                return found
    return _MISSING


def apply(mapping: FieldMap, obj: Mapping[str, Any], ident: str, api_of: Any) -> dict[str, Any]:
    """The event fields of ``obj`` as ``mapping`` says, with the fill-ins for ``id``, ``api`` and ``log_level``."""
    out: dict[str, Any] = {}
    for name, source in mapping.items():
        for path in source.paths:
            value = lookup(obj, path)
            if value is not _MISSING and value is not None:
                if source.scale is not None and isinstance(value, int | float) and not isinstance(value, bool):
                    value = value * source.scale
                out[name] = value
                break
    out.setdefault("id", ident)
    if "api" not in out and isinstance(out.get("path"), str):
        out["api"] = api_of(out["path"])
    if "log_level" not in out and isinstance(out.get("status_code"), int | str) and str(out["status_code"]).isdigit():
        out["log_level"] = level_for_status(int(out["status_code"]))
    if "status_code" in out and "response_code" not in out:
        out["response_code"] = str(out["status_code"])
    out.setdefault("response_time", 0.0)  # not measured, as for access logs without a request time
    return out
