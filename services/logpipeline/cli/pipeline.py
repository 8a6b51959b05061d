"""``logpipeline up`` / ``logpipeline down``: the whole pipeline on the embedded default stack."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from logpipeline import config, contracts
from logpipeline.metrics import replicas
from logpipeline.pipeline import launcher, processes
from logpipeline.pipeline import regions as regional
from logpipeline.stack import lifecycle, process
from logpipeline.stack.errors import StackError

console = Console(stderr=True)
MAX_RESTARTS = 3


def _urls(settings: config.Settings, options: processes.Options, chosen: list[str]) -> list[tuple[str, str]]:
    host, p = settings.host, settings.ports
    if chosen:  # each region's own job and sink, then the dashboard's global view
        rows = [("kafka", settings.kafka_bootstrap), ("dynamodb", settings.dynamodb_endpoint)]
        for i, region in enumerate(chosen):
            own = regional.regional_settings(settings, region, i)
            rows += [(f"{region} topic", own.names.input_topic),
                     (f"{region} spark ui", f"http://{host}:{own.ports.spark_ui}"),
                     (f"{region} sink metrics", f"http://{host}:{own.ports.sink_http}/metrics")]  # fmt: skip
        if options.dashboard:
            rows.append(("dashboard (all regions)", f"http://{host}:{p.dashboard}"))
        return rows
    rows = [("kafka", settings.kafka_bootstrap), ("dynamodb", settings.dynamodb_endpoint)]
    if options.archive == "hdfs":
        rows.append(("hdfs", f"{settings.hdfs_url} (WebHDFS {settings.webhdfs_url})"))
    else:
        rows.append(("archive", processes.archive_root(settings, options)))
    rows += [
        ("spark ui", f"http://{host}:{p.spark_ui}"),
        ("sink metrics", f"http://{host}:{p.sink_http}/metrics"),
    ]
    if options.correct_every > 0:
        rows.append(("correction metrics", f"http://{host}:{p.correction_http}/metrics"))
    if options.alerting is not None:
        rows.append(("alerts metrics", f"http://{host}:{p.alerts_http}/metrics"))
    if options.dashboard:
        rows.append(("dashboard", f"http://{host}:{p.dashboard}"))
        first = processes.admin_password_file(settings)
        rows.append(("dashboard sign-in", f"admin, password in {first} (until `logpipeline users add`)"))
    return rows


def _supervise(settings: config.Settings, services: list[processes.Service], stop: list[bool]) -> None:
    """Wait for Ctrl-C or SIGTERM; restart a service that died (a bounded number of times)."""
    restarts = dict.fromkeys((s.name for s in services), 0)
    while not stop:
        for service in services:
            if process.read_pid(launcher.pid_file(settings, service.name)) is not None:
                continue
            if service.name == "ingest":
                continue  # a finished replay is not a failure
            if restarts[service.name] >= MAX_RESTARTS:
                continue
            restarts[service.name] += 1
            log = launcher.log_file(settings, service.name)
            console.print(
                f"[yellow]{service.name} exited; restarting ({restarts[service.name]}/{MAX_RESTARTS}), log: {log}"
            )
            launcher.start_service(settings, service)
        time.sleep(1.0)


def up(
    rate: float = typer.Option(200.0, min=0.001, help="generated events per second"),
    incident: Annotated[
        list[str] | None,
        typer.Option(help="inject an incident: API:errors|latency:FROM_S:TO_S:FACTOR (repeatable)"),
    ] = None,
    seed: int = typer.Option(0, help="generator seed"),
    ingest: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="ingest this file instead of generating")
    ] = None,
    ingest_format: str = typer.Option("combined", "--format", help="format of --ingest: json, combined, nginx-json"),
    speedup: float | None = typer.Option(None, help="replay --ingest at its original pace times this factor"),
    follow: bool = typer.Option(False, help="keep reading --ingest as it grows (tail -F)"),
    archive: str = typer.Option("hdfs", help="where raw and closed-window Parquet goes: hdfs or local"),
    no_dashboard: bool = typer.Option(False, "--no-dashboard", help="do not serve the dashboard"),
    correct_every: float = typer.Option(
        300.0, min=0.0, help="seconds between correction runs (late data into the metrics); 0: no correction"
    ),
    alerting: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="SLO and receiver definition (YAML): run the alerts service"),
    ] = None,
    anomalies: bool = typer.Option(True, help="score every API's series for anomalies and retrain the model daily"),
    train_every: float = typer.Option(86_400.0, min=60.0, help="seconds between anomaly training runs"),
    regions: str = typer.Option(
        "", "--regions", help="one pipeline per region (eu-west-1,us-east-1) into one table, and the global view"
    ),
    mode: str = typer.Option(
        contracts.AGGREGATES_MODES[0],
        "--mode",
        help="how the Spark job's aggregates query runs: realtime (Spark's real-time mode: each event counted as it "
        "arrives, sub-second freshness, the least CPU on a quiet stream) or microbatch (a planned batch each "
        "second). A pipeline keeps the mode its checkpoint was written in",
    ),
) -> None:
    """Set up and run the whole pipeline on the embedded default stack; Ctrl-C stops everything."""
    settings = config.load()
    try:
        chosen = replicas.regions(regions)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--regions") from None
    if mode not in contracts.AGGREGATES_MODES:
        raise typer.BadParameter(f"{mode!r} is not one of {', '.join(contracts.AGGREGATES_MODES)}", param_hint="--mode")
    options = processes.Options(
        rate=rate, incidents=tuple(incident or ()), seed=seed, ingest=ingest, ingest_format=ingest_format,
        ingest_speedup=speedup, follow=follow, archive=archive, dashboard=not no_dashboard, correct_every=correct_every,
        alerting=alerting, anomalies=anomalies, train_every=train_every, mode=mode,
    )  # fmt: skip
    began = time.monotonic()
    # A stack the user started before stays up; one this command started goes down with it.
    own_stack = not lifecycle.is_up(settings)
    try:
        with console.status("starting the pipeline") as status:

            def report(component: str, message: str) -> None:
                status.update(f"[bold]{component}[/]: {message}")
                if message in ("ready", "already running"):
                    console.print(f"  [green]✓[/] {component}: {message}")

            services = launcher.up(settings, options, report, chosen)
    except (StackError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        launcher.down(settings, lambda c, m: None, stack=own_stack)
        raise typer.Exit(1) from None
    console.print(f"pipeline ready in {time.monotonic() - began:.1f}s")
    urls = _urls(settings, options, chosen)
    width = max(len(name) for name, _ in urls)
    for name, url in urls:
        console.print(f"  {name:<{width}} {url}", highlight=False)
    console.print("press Ctrl-C to stop")
    stop: list[bool] = []

    def _handle(signum: int, frame: FrameType | None) -> None:
        stop.append(True)

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    _supervise(settings, services, stop)
    console.print("stopping")
    stopped = launcher.down(settings, lambda c, m: console.print(f"  {c}: {m}"), stack=own_stack)
    console.print(f"stopped {stopped} process(es)" + ("" if own_stack else "; the stack started before stays up"))


def down() -> None:
    """Stop the pipeline's services and the stack (a pipeline left running by a killed ``up``)."""
    settings = config.load()
    stopped = launcher.down(settings, lambda c, m: console.print(f"  {c}: {m}"))
    console.print(f"stopped {stopped} process(es)")
