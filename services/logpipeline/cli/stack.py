"""``logpipeline stack up|down|status|logs``: the local stack as processes on loopback."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from logpipeline import config
from logpipeline.stack import lifecycle, process
from logpipeline.stack.errors import StackError

app = typer.Typer(no_args_is_help=True, help="Start, stop and inspect the local stack.")
console = Console(stderr=True)


def _up(settings: config.Settings) -> None:
    began = time.monotonic()
    with console.status("starting the local stack") as status:

        def report(component: str, message: str) -> None:
            status.update(f"[bold]{component}[/]: {message}")
            if message in ("ready", "already running") or message.startswith("stopped"):
                console.print(f"  [green]✓[/] {component}: {message}")

        try:
            lifecycle.up(settings, report)
        except StackError as exc:
            console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    console.print(f"stack ready in {time.monotonic() - began:.1f}s (state: {settings.state})")


@app.command()
def up() -> None:
    """Start Kafka, HDFS and the DynamoDB-API server; returns once every component is ready."""
    settings = config.load()
    _up(settings)
    _print_status(settings)


@app.command()
def down() -> None:
    """Stop every process of the stack; data stays in the state directory."""
    settings = config.load()
    stopped = lifecycle.down(settings, lambda c, m: console.print(f"  {c}: {m}"))
    console.print(f"stopped {stopped} process(es)")


def _print_status(settings: config.Settings) -> bool:
    table = Table(title="logpipeline stack")
    for col in ("component", "process", "address", "pid", "health", "memory"):
        table.add_column(col)
    rows = lifecycle.status(settings)
    for row in rows:
        health = "[green]healthy[/]" if row.healthy else ("[red]unhealthy[/]" if row.pid else "[dim]stopped[/]")
        table.add_row(
            row.component,
            row.process,
            row.address,
            str(row.pid or "-"),
            health,
            f"{row.rss / 2**20:.0f} MiB" if row.rss else "-",
        )
    Console().print(table)
    return all(r.healthy for r in rows)


@app.command()
def status() -> None:
    """List each component with its address, pid and health; exit 1 unless all are healthy."""
    if not _print_status(config.load()):
        raise typer.Exit(1)


@app.command()
def logs(
    component: str = typer.Argument(None, help="kafka, namenode, datanode or dynamodb; all when omitted"),
    lines: int = typer.Option(40, "-n", help="lines from the end of each log"),
    follow: bool = typer.Option(False, "-f", help="keep printing new lines"),
) -> None:
    """Show the logs of the stack's processes."""
    settings = config.load()
    names = [spec.name for c in lifecycle.all_components(settings) for spec in c.processes()]
    if component and component not in names and component not in {c.name for c in lifecycle.all_components(settings)}:
        console.print(f"[red]error:[/] unknown component {component!r}; choose from {', '.join(names)}")
        raise typer.Exit(2)
    files = [
        settings.logs / f"{n}.log"
        for n in names
        if component is None
        or n == component
        or any(c.name == component and n in [s.name for s in c.processes()] for c in lifecycle.all_components(settings))
    ]
    for f in files:
        console.rule(str(f))
        print(process.tail(f, lines))
    if follow:
        _follow(files)


def _follow(files: list[Path]) -> None:
    offsets = {f: f.stat().st_size if f.exists() else 0 for f in files}
    try:
        while True:
            for f in files:
                if f.exists() and f.stat().st_size > offsets[f]:
                    with f.open() as fh:
                        fh.seek(offsets[f])
                        sys.stdout.write(fh.read())
                        offsets[f] = fh.tell()
            sys.stdout.flush()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return
