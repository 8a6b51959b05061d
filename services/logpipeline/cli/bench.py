"""``logpipeline bench``: run the pipeline on a fixed workload in each aggregates mode and print its figures."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table

from logpipeline import config, contracts
from logpipeline.pipeline import bench as pipeline_bench

console = Console(stderr=True)


def _numbers(text: str, option: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}", param_hint=option) from None
    if not rates or min(rates) <= 0:
        raise typer.BadParameter(f"expected positive numbers, got {text!r}", param_hint=option)
    return rates


def _modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in contracts.AGGREGATES_MODES]
    if not modes or unknown:
        raise typer.BadParameter(
            f"{', '.join(unknown) or 'none'}: choose from {', '.join(contracts.AGGREGATES_MODES)}", param_hint="--modes"
        )
    return modes


def _reporter(status: Status, mode: str) -> pipeline_bench.Report:
    def report(message: str) -> None:
        status.update(f"{mode}: {message}")

    return report


def side_by_side(results: dict[str, list[tuple[str, str]]]) -> list[list[str]]:
    """Rows of figure names, each with its value in every mode's column ("-" where a mode has none)."""
    names = list(dict.fromkeys(name for rows in results.values() for name, _ in rows))
    by_mode = {mode: dict(rows) for mode, rows in results.items()}
    return [[name, *(by_mode[mode].get(name, "-") for mode in results)] for name in names]


def bench(
    events: int = typer.Option(200_000, min=1000, help="events in the throughput workload"),
    freshness_seconds: float = typer.Option(60.0, min=5, help="how long to probe freshness at each rate"),
    freshness_rates: str = typer.Option(
        "1000,10000", help="background events/s while probing freshness, one probe run each (comma-separated)"
    ),
    refreshes: int = typer.Option(30, min=1, help="dashboard refreshes to time"),
    quiet_rate: float = typer.Option(200.0, min=1, help="events/s of the quiet stream whose CPU cost is measured"),
    quiet_seconds: float = typer.Option(60.0, min=5, help="how long to measure CPU on the quiet stream"),
    modes: str = typer.Option(
        ",".join(contracts.AGGREGATES_MODES), help="the Spark job's aggregates modes to run, one after another"
    ),
) -> None:
    """Ingest and Spark events/s, CPU per component on a quiet stream, freshness p50/p95/p99 to the aggregates
    topic and to the query layer, dashboard refresh p95 and peak memory per component: one column per mode."""
    chosen, rates = _modes(modes), _numbers(freshness_rates, "--freshness-rates")
    results: dict[str, list[tuple[str, str]]] = {}
    for mode in chosen:
        cfg = pipeline_bench.BenchConfig(
            events=events, freshness_seconds=freshness_seconds, freshness_rates=rates, refreshes=refreshes,
            quiet_rate=quiet_rate, quiet_seconds=quiet_seconds, mode=mode,
        )  # fmt: skip
        try:
            with console.status(f"benchmark ({mode})") as status:
                result = pipeline_bench.run(config.load(), cfg, _reporter(status, mode))
        except RuntimeError as exc:
            console.print(f"[red]error:[/] {mode}: {exc}", highlight=False)
            raise typer.Exit(1) from None
        console.print(f"  [green]✓[/] {mode}")
        results[mode] = result.rows()
    table = Table(title="logpipeline bench")
    table.add_column("figure")
    for mode in results:
        table.add_column(mode, justify="right")
    for row in side_by_side(results):
        table.add_row(*row)
    Console().print(table)
