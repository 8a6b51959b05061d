"""``logpipeline ingest PATH``: replay or follow a log file into the input topic; bad lines go to dead letters."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from logpipeline import config, observability
from logpipeline.cli import producers
from logpipeline.cli.progress import log, result
from logpipeline.ingest import mapping, reader
from logpipeline.ingest.formats import FORMATS
from logpipeline.ingest.run import IngestSummary, ingest
from logpipeline.ingest.telemetry import IngestMetrics
from logpipeline.kafka.deadletters import MAX_DLQ_VALUE_BYTES, DeadLetters


def ingest_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="log file")],
    fmt: str = typer.Option("json", "--format", help="json | combined | nginx-json | ecs"),
    mapping_file: Annotated[
        Path | None,
        typer.Option(
            "--mapping", exists=True, dir_okay=False, help="YAML/JSON field mapping for json (or over ecs) lines"
        ),
    ] = None,
    follow: bool = typer.Option(False, "--follow", help="keep reading as the file grows or rotates (tail -F)"),
    speedup: float = typer.Option(None, "--speedup", min=0.0001, help="replay at the original pace times X"),
    topic: str = typer.Option(None, help="target topic (default: the input topic)"),
    dlq_topic: str = typer.Option(None, help="dead-letter topic (default: <input topic>.dlq)"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: the local stack)"),
    metrics_port: int = typer.Option(None, help="serve /healthz, /readyz and /metrics on this port (0: any free)"),
    max_ahead: float = typer.Option(
        None,
        "--max-ahead",
        min=0.0,
        help="seconds an event may be stamped past now (default 300, or "
        "LOGPIPELINE_MAX_AHEAD_SECONDS); later ones are dead-lettered as too_far_ahead",
    ),
) -> None:
    """Valid lines become events keyed by api; every other line is dead-lettered with reason and line number."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format")
    try:
        fields = mapping.load(mapping_file) if mapping_file is not None else None
    except mapping.MappingError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mapping") from None
    sender, dlq = producers.connect(bootstrap, topic, dlq_topic or "")
    assert dlq is not None
    dead = DeadLetters(dlq, stage="ingest")
    metrics = IngestMetrics()
    producers.serve_health(metrics.registry, sender, "logpipeline_ingest", metrics_port)
    stopping = observability.stop_on_signals(logging.getLogger("logpipeline.ingest"))
    # Lines are read whole up to what a dead letter can hold, so a rejected oversized line is kept intact.
    lines = reader.read_lines(path, max_bytes=MAX_DLQ_VALUE_BYTES, follow=follow, stop=stopping.is_set)

    def progress(s: IngestSummary) -> None:
        log("progress", lines=s.lines, produced=s.produced, dead_lettered=dead.total)

    summary = ingest(
        _until(lines, stopping),
        fmt,
        str(path),
        sender,
        dead,
        speedup=speedup,
        progress=progress,
        metrics=metrics,
        max_ahead_ms=config.max_ahead_ms() if max_ahead is None else int(max_ahead * 1000),
        fields=fields,
    )
    log("done", **summary.as_dict())
    result(**summary.as_dict())
    if summary.failed:
        raise typer.Exit(1)


def _until(lines: Iterator[reader.Line], stopping: threading.Event) -> Iterator[reader.Line]:
    for line in lines:
        yield line
        if stopping.is_set():
            return
