"""The model file: every series' learnt state as one JSON document, versioned by when it was trained (pure).

A file holds the format, when it was made, the minutes it learnt (``history_from`` to ``history_until``,
exclusive), the settings each metric was learnt with, and per series (``<api>|<metric>``) the model's and the
rule's state. A file learnt with other settings than the running code's is refused by name: its states would be
read with the wrong meaning.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import orjson

from logpipeline.anomalies import catalogue
from logpipeline.anomalies.detector import Detector
from logpipeline.anomalies.scoring import Scorer

FORMAT = 1
NAME_PREFIX = "model-"
LATEST = "LATEST"


class BadModel(ValueError):
    """A model file that cannot be used; the message says why."""


def settings_doc() -> dict[str, Any]:
    return {metric: asdict(s) for metric, s in catalogue.SETTINGS.items()}


def file_name(trained_at_ms: int) -> str:
    return f"{NAME_PREFIX}{trained_at_ms}.json"


def encode(scorer: Scorer, trained_at_ms: int, history_from: int | None, history_until: int | None) -> bytes:
    doc = {
        "format": FORMAT,
        "trained_at": trained_at_ms,
        "history_from": history_from,
        "history_until": history_until,
        "settings": settings_doc(),
        "series": {f"{api}|{metric}": d.state() for (api, metric), d in sorted(scorer.detectors.items())},
    }
    return orjson.dumps(doc)


def decode_header(data: bytes) -> dict[str, Any]:
    """A file's header fields alone (``trained_at``, ``history_from``, ``history_until``); empty when unreadable."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return (
        {k: doc.get(k) for k in ("format", "trained_at", "history_from", "history_until")}
        if isinstance(doc, dict)
        else {}
    )


def decode(data: bytes, warmup_minutes: int | None = None) -> tuple[Scorer, dict[str, Any]]:
    """The scorer a file holds (its series' states), and the file's header fields."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadModel(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadModel(f"format {doc.get('format') if isinstance(doc, dict) else None!r}: expected {FORMAT}")
    if orjson.loads(orjson.dumps(settings_doc())) != doc.get("settings"):
        raise BadModel("learnt with other settings than this version's: retrain (logpipeline anomalies train)")
    detectors: dict[tuple[str, str], Detector] = {}
    for key, state in doc.get("series", {}).items():
        api, _, metric = key.rpartition("|")
        try:
            detectors[(api, metric)] = Detector.restore(catalogue.settings(metric, warmup_minutes), state)
        except (ValueError, KeyError, TypeError) as exc:
            raise BadModel(f"series {key!r}: {exc}") from None
    scorer = Scorer(detectors, warmup_minutes)
    scorer.last_minute = None if doc.get("history_until") is None else int(doc["history_until"]) - 60_000
    header = {k: doc.get(k) for k in ("format", "trained_at", "history_from", "history_until")}
    return scorer, header
