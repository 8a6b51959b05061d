"""``logpipeline generate``: realistic traffic into the input topic, optionally with its exact ground truth."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, cast

import typer

from logpipeline.cli import producers
from logpipeline.cli.progress import log, result
from logpipeline.generator import traffic, truth
from logpipeline.generator.telemetry import GeneratorMetrics
from logpipeline.kafka.producer import Sender

PROGRESS_EVERY_S = 2.0


def parse_incident(text: str, start_ms: int) -> traffic.Incident:
    """``API:errors|latency:FROM_S:TO_S:FACTOR``, times in seconds after the start of the run."""
    parts = text.rsplit(":", 4)
    if len(parts) != 5 or parts[1] not in ("errors", "latency"):
        raise typer.BadParameter(f"expected API:errors|latency:FROM_S:TO_S:FACTOR, got {text!r}")
    api, kind, begin, end, factor = parts
    try:
        b, e, f = float(begin), float(end), float(factor)
    except ValueError:
        raise typer.BadParameter(f"FROM_S, TO_S and FACTOR must be numbers, got {text!r}") from None
    if e <= b or f <= 0:
        raise typer.BadParameter(f"expected FROM_S < TO_S and FACTOR > 0, got {text!r}")
    return traffic.Incident(api, cast(Any, kind), start_ms + int(b * 1000), start_ms + int(e * 1000), f)


def _chunks(block: traffic.Block, size: int) -> list[traffic.Block]:
    if size >= len(block):
        return [block]
    return [block.part(i, i + size) for i in range(0, len(block), size)]


def run(
    spec: traffic.TrafficSpec, sender: Sender, truth_path: Path | None, metrics: GeneratorMetrics | None = None
) -> dict[str, Any]:
    """Produce every event of ``spec``; paced on event time when ``spec.rate`` is set."""
    began = time.monotonic()
    kept: list[dict[str, Any]] = []
    last_report = began
    first_ms: int | None = None
    chunk = max(1, int(spec.rate / 20)) if spec.rate else traffic.BLOCK
    try:
        for block in traffic.blocks(spec):
            for part in _chunks(block, chunk):
                if spec.rate:
                    first_ms = int(part.timestamp[0]) if first_ms is None else first_ms
                    delay = began + (int(part.timestamp[0]) - first_ms) / 1000.0 - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                sender.send_batch(part.api_keys(), part.encode())
                if metrics is not None:
                    metrics.events.inc(len(part))
                if truth_path is not None:
                    kept.extend(part.events())
            if time.monotonic() - last_report >= PROGRESS_EVERY_S:
                last_report = time.monotonic()
                log(
                    "progress",
                    queued=sender.queued,
                    failed=sum(sender.failed.values()),
                    events_per_s=round(sender.rate()),
                )
    except KeyboardInterrupt:
        log("interrupted", queued=sender.queued)
    undelivered = sender.flush()
    seconds = time.monotonic() - began
    summary: dict[str, Any] = {
        "topic": sender.topic,
        "sent": sender.delivered - undelivered,
        "failed": sum(sender.failed.values()) + undelivered,
        "failed_by_error": dict(sender.failed),
        "seconds": round(seconds, 3),
        "events_per_s": round(sender.queued / max(seconds, 1e-9)),
    }
    if truth_path is not None:
        n_events, n_aggregates = truth.write_ground_truth(truth_path, kept)
        summary["truth"] = {"path": str(truth_path), "events": n_events, "aggregates": n_aggregates}
    return summary


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def generate(
    count: int = typer.Option(None, min=1, help="number of events"),
    duration: float = typer.Option(None, min=0.001, help="event-time span in seconds"),
    rate: float = typer.Option(
        None,
        min=0.001,
        help="events/s, paced (with --diurnal, the mean over a day: 0.5x at 02:00 to 1.5x at 14:00 UTC); default: as fast as possible",
    ),
    nominal_rate: float = typer.Option(1000.0, min=0.001, help="event-time rate when not paced"),
    seed: int = typer.Option(0, help="same seed, same events"),
    start_ms: int = typer.Option(None, help="event time of the first event (default: now)"),
    diurnal: bool = typer.Option(True, help="vary the rate over the day (peak 14:00 UTC)"),
    incident: Annotated[
        list[str] | None, typer.Option(help="API:errors|latency:FROM_S:TO_S:FACTOR (repeatable)")
    ] = None,
    topic: str = typer.Option(None, help="target topic (default: the input topic)"),
    bootstrap: str = typer.Option(None, help="Kafka bootstrap servers (default: the local stack)"),
    truth_file: Annotated[
        Path | None, typer.Option("--truth", help="write events and per-minute aggregates here (JSONL)")
    ] = None,
    metrics_port: int = typer.Option(None, help="serve /healthz, /readyz and /metrics on this port (0: any free)"),
) -> None:
    """Realistic API traffic keyed by api; prints progress on stderr and a JSON summary on stdout."""
    if truth_file is not None and count is None and duration is None:
        raise typer.BadParameter("--truth needs --count or --duration (a bounded run)")
    start = start_ms if start_ms is not None else int(time.time() * 1000)
    spec = traffic.TrafficSpec(
        seed=seed,
        start_ms=start,
        count=count,
        duration_s=duration,
        rate=rate,
        nominal_rate=nominal_rate,
        diurnal=diurnal,
        incidents=tuple(parse_incident(text, start) for text in incident or []),
    )
    sender, _ = producers.connect(bootstrap, topic)
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C: flush what was queued, then summarize
    metrics = GeneratorMetrics()
    producers.serve_health(metrics.registry, sender, "logpipeline_generator", metrics_port)
    summary = run(spec, sender, truth_file, metrics)
    log("done", **{k: v for k, v in summary.items() if k != "truth"})
    result(**summary)
    if summary["failed"]:
        raise typer.Exit(1)
