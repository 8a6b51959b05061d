"""``logpipeline bench``: run the pipeline on a fixed workload and print its figures."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from logpipeline import config
from logpipeline.pipeline import bench as pipeline_bench

console = Console(stderr=True)


def bench(
    events: int = typer.Option(200_000, min=1000, help="events in the throughput workload"),
    freshness_seconds: float = typer.Option(60.0, min=5, help="how long to probe freshness"),
    freshness_rate: float = typer.Option(2000.0, min=1, help="background events/s while probing freshness"),
    refreshes: int = typer.Option(30, min=1, help="dashboard refreshes to time"),
    quiet_rate: float = typer.Option(200.0, min=1, help="events/s of the quiet stream whose CPU cost is measured"),
    quiet_seconds: float = typer.Option(60.0, min=5, help="how long to measure CPU on the quiet stream"),
) -> None:
    """Ingest and Spark events/s, freshness p50/p95, dashboard refresh p95, CPU per component on a quiet stream and
    peak memory per component."""
    cfg = pipeline_bench.BenchConfig(
        events=events,
        freshness_seconds=freshness_seconds,
        freshness_rate=freshness_rate,
        refreshes=refreshes,
        quiet_rate=quiet_rate,
        quiet_seconds=quiet_seconds,
    )
    try:
        with console.status("benchmark") as status:
            result = pipeline_bench.run(config.load(), cfg, lambda msg: status.update(msg))
    except RuntimeError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    table = Table(title="logpipeline bench")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in result.rows():
        table.add_row(name, value)
    Console().print(table)
