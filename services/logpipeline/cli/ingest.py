"""``logpipeline ingest PATH``: replay or follow a log file into the input topic; bad lines go to dead letters."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from logpipeline import config
from logpipeline.cli.progress import log, result
from logpipeline.ingest import reader
from logpipeline.ingest.formats import FORMATS
from logpipeline.ingest.run import IngestSummary, ingest
from logpipeline.kafka.deadletters import MAX_DLQ_VALUE_BYTES, DeadLetters
from logpipeline.kafka.producer import Sender


def ingest_command(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="log file")],
    fmt: str = typer.Option("json", "--format", help="json | combined | nginx-json"),
    follow: bool = typer.Option(False, "--follow", help="keep reading as the file grows or rotates (tail -F)"),
    speedup: float = typer.Option(None, "--speedup", min=0.0001, help="replay at the original pace times X"),
    topic: str = typer.Option(None, help="target topic (default: the input topic)"),
    dlq_topic: str = typer.Option(None, help="dead-letter topic (default: <input topic>.dlq)"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: the local stack)"),
) -> None:
    """Valid lines become events keyed by api; every other line is dead-lettered with reason and line number."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of {', '.join(FORMATS)}, got {fmt!r}", param_hint="--format")
    settings = config.load()
    sender = Sender.connect(bootstrap or settings.kafka_bootstrap, topic or settings.names.input_topic)
    dead = DeadLetters(sender.sibling(dlq_topic or f"{sender.topic}.dlq"), stage="ingest")
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Lines are read whole up to what a dead letter can hold, so a rejected oversized line is kept intact.
    lines = reader.read_lines(path, max_bytes=MAX_DLQ_VALUE_BYTES, follow=follow, stop=stopping.is_set)

    def progress(s: IngestSummary) -> None:
        log("progress", lines=s.lines, produced=s.produced, dead_lettered=dead.total)

    summary = ingest(_until(lines, stopping), fmt, str(path), sender, dead, speedup=speedup, progress=progress)
    log("done", **summary.as_dict())
    result(**summary.as_dict())
    if summary.failed:
        raise typer.Exit(1)


def _until(lines: Iterator[reader.Line], stopping: threading.Event) -> Iterator[reader.Line]:
    for line in lines:
        yield line
        if stopping.is_set():
            return
