"""How long a LogPipeline's name may be: the budget its longest child names leave (pure).

Every child is named ``<pipeline>-<suffix>``. The API server and the controllers refuse names past these limits:
a Service or any DNS-1035 label at most 63 characters; a StatefulSet's pods carry the label
``controller-revision-hash: <statefulset>-<10 characters>`` (a label value: at most 63); a CronJob's Jobs are named
``<cronjob>-<up to 11 digits>``; Spark names executor pods ``<prefix>-exec-<n>`` and requires the prefix to be at
most 47 characters. ``max_name_length`` is the smallest budget over the children of a pipeline with every optional
child on; the CRD's CEL rule on ``metadata.name`` states the same number (a unit test holds them together).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

DNS_LABEL = 63
NAME_PATTERN = "^[a-z]([-a-z0-9]*[a-z0-9])?$"  # DNS-1035: a Service's name must be one
# kind -> characters the child's name may use (of the pipeline's name plus its suffix)
LIMITS: dict[str, int] = {
    "Service": DNS_LABEL,
    "StatefulSet": DNS_LABEL - len("-") - 10,
    "CronJob": DNS_LABEL - len("-") - 11,
}
SPARK_EXECUTOR_PREFIX_LIMIT = 47


def budget(children: Iterable[Mapping[str, Any]], pipeline: str) -> int:
    """The longest pipeline name whose children, built for a pipeline named ``pipeline``, all stay in bounds."""
    room = DNS_LABEL
    for child in children:
        limit = LIMITS.get(child["kind"])
        if limit is not None:
            room = min(room, limit - (len(child["metadata"]["name"]) - len(pipeline)))
        prefix = (child.get("spec") or {}).get("sparkConf", {}).get("spark.kubernetes.executor.podNamePrefix")
        if prefix:
            room = min(room, SPARK_EXECUTOR_PREFIX_LIMIT - (len(prefix) - len(pipeline)))
    return room


def max_name_length(build: Callable[[Mapping[str, Any]], list[Mapping[str, Any]]], full: Mapping[str, Any]) -> int:
    """``budget`` of the children ``build`` makes of ``full`` (a pipeline with every optional child switched on)."""
    return budget(build(full), str(full["metadata"]["name"]))
