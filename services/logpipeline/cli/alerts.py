"""``logpipeline alerts``: run the SLO evaluator, check a definition, and manage silences."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from logpipeline import config, contracts, observability
from logpipeline.alerting import burnrate, lifecycle, slo, state
from logpipeline.alerting.service import AlertsService, ServiceConfig, load_definition
from logpipeline.metrics import store

app = typer.Typer(no_args_is_help=True, help="SLO alerting: burn-rate alerts by email, SMS and webhook.")
console = Console()
FILE = typer.Option(
    None, "--file", "-f", help=f"SLO and receiver definition (YAML); default ${contracts.ENV_ALERTING_FILE}"
)
ENDPOINT = typer.Option(None, "--endpoint", help="DynamoDB API URL; default: the local stack's server")


def _region(region: str | None, hint: str = "--region") -> str | None:
    try:
        return contracts.check_region(region) if region else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=hint) from None


def _definition(path: Path | None) -> slo.Definition:
    chosen = path or (
        Path(os.environ[contracts.ENV_ALERTING_FILE]) if os.environ.get(contracts.ENV_ALERTING_FILE) else None
    )
    if chosen is None:
        console.print(
            f"[red]error:[/] no definition: give --file or set {contracts.ENV_ALERTING_FILE}", highlight=False
        )
        raise typer.Exit(2)
    try:
        return load_definition(chosen)
    except slo.InvalidDefinition as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _ddb(endpoint: str | None) -> tuple[object, str]:
    settings = config.load()
    return store.client(endpoint or settings.dynamodb_endpoint), settings.names.table


@app.command("run")
def run(
    file: Path | None = FILE,
    endpoint: str | None = ENDPOINT,
    aws: bool = typer.Option(False, "--aws", help="use AWS DynamoDB (region and credentials from the environment)"),
    interval: float = typer.Option(60.0, help="seconds between evaluation cycles"),
    http_port: int = typer.Option(contracts.ALERTS_HTTP_PORT, help="port of /healthz, /readyz, /metrics"),
    http_host: str = typer.Option("127.0.0.1", help="address of /healthz, /readyz, /metrics (0.0.0.0 in a pod)"),
) -> None:
    """Evaluate the SLOs every minute and notify the receivers, until SIGTERM or Ctrl-C."""
    observability.configure_logging()
    definition = _definition(file)
    settings = config.load()
    if aws and endpoint:
        raise typer.BadParameter("--aws and --endpoint exclude each other")
    store_endpoint = None if aws else (endpoint or settings.dynamodb_endpoint)
    cfg = ServiceConfig(
        definition, settings.names.table, store_endpoint, interval, http_host, http_port, config.region()
    )
    stop = observability.stop_on_signals(logging.getLogger("logpipeline.alerts"))
    try:
        AlertsService(cfg, stop).run()
    except Exception:
        logging.getLogger("logpipeline.alerts").exception("alerts service failed")
        raise typer.Exit(1) from None


@app.command("check")
def check(file: Path | None = FILE) -> None:
    """Validate a definition and print what it alerts on."""
    definition = _definition(file)
    for o in definition.objectives:
        scope = o.api or ("each API" if o.per_api else "all APIs")
        extra = f" under {o.threshold_ms:g} ms" if o.threshold_ms else f" (errors from {o.errors_from})"
        window = burnrate.window_label(o.window_ms // 60_000)
        console.print(
            f"{o.name}: {o.objective}{extra} {o.target:.3%} over {window}, {scope} → {', '.join(o.receivers)}"
        )
    console.print(f"{len(definition.objectives)} SLOs, {len(definition.receivers)} receivers: valid")


@app.command("silence")
def silence(
    duration: str = typer.Option("2h", "--for", help="how long, e.g. 30m, 2h, 1d"),
    slo_name: str | None = typer.Option(None, "--slo", help="match this SLO (default: any)"),
    api: str | None = typer.Option(None, "--api", help="match this API (default: any; * is the all-APIs alert)"),
    severity: str | None = typer.Option(None, "--severity", help="match page or ticket (default: any)"),
    region: str | None = typer.Option(None, "--region", help="match one regional pipeline's alerts (default: any)"),
    comment: str = typer.Option("", help="why"),
    endpoint: str | None = ENDPOINT,
) -> None:
    """Hold back notices of matching alerts for a while."""
    region = _region(region)
    if severity is not None and severity not in slo.SEVERITIES:
        raise typer.BadParameter(f"expected page or ticket, got {severity!r}", param_hint="--severity")
    try:
        length = slo.duration_ms(duration, "--for")
    except slo.InvalidDefinition as exc:
        raise typer.BadParameter(str(exc)) from None
    ddb, table = _ddb(endpoint)
    state.ensure_table(ddb, table)
    now = int(time.time() * 1000)
    made = state.add_silence(
        ddb,
        table,
        lifecycle.Silence(
            "", now, now + length, slo_name, api, severity, comment, os.environ.get("USER", ""), region=region
        ),
    )
    console.print(f"silence {made.id} until {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(made.ends / 1000))}")


@app.command("expire")
def expire(silence_id: str, endpoint: str | None = ENDPOINT) -> None:
    """End a silence now."""
    ddb, table = _ddb(endpoint)
    if state.expire_silence(ddb, table, silence_id, int(time.time() * 1000)) is None:
        console.print(f"[red]error:[/] no silence {silence_id}", highlight=False)
        raise typer.Exit(1)
    console.print(f"silence {silence_id} expired")


@app.command("status")
def status(
    endpoint: str | None = ENDPOINT,
    region: str | None = typer.Option(
        None, "--region", help=f"a regional pipeline's alerts (default: ${contracts.ENV_REGION}, else the store's)"
    ),
) -> None:
    """Every alert's state (of one region, for regional pipelines) and the silences."""
    ddb, table = _ddb(endpoint)
    state.ensure_table(ddb, table)
    now = int(time.time() * 1000)
    alerts = Table("SLO", "API", "status", "severity", "since")
    own = _region(region) or config.region()
    for st in sorted(state.read_states(ddb, table, own).values(), key=lambda s: s.group):
        since = st.fired_at if st.status == lifecycle.FIRING else st.resolved_at
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(since / 1000)) if since else ""
        alerts.add_row(st.slo, st.api, st.status, st.severity or "", when)
    console.print(alerts)
    silences = Table("silence", "matchers", "ends", "active")
    for s in state.read_silences(ddb, table):
        labels = (("slo", s.slo), ("api", s.api), ("severity", s.severity), ("region", s.region))
        matchers = ", ".join(f"{k}={v}" for k, v in labels if v)
        ends = time.strftime("%Y-%m-%d %H:%M", time.gmtime(s.ends / 1000))
        silences.add_row(s.id, matchers or "(all)", ends, "yes" if s.starts <= now < s.ends else "no")
    console.print(silences)
