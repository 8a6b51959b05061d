"""``logpipeline store init|load|seed`` and ``logpipeline sink``: the metrics table and the service that fills it."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import typer
from rich.console import Console

from logpipeline import config, contracts, observability
from logpipeline.metrics import layout, records, replicas, store, synthetic
from logpipeline.sink.config import SinkConfig
from logpipeline.sink.service import Sink

app = typer.Typer(no_args_is_help=True, help="The metrics table (DynamoDB).")
console = Console(stderr=True)

ENDPOINT = typer.Option(None, "--endpoint", help="DynamoDB API URL; default: the local stack's server")
AWS = typer.Option(False, "--aws", help="use AWS DynamoDB (region and credentials from the environment)")
TABLE = typer.Option(None, "--table", help="table name; default LOGPIPELINE_TABLE or agg_system_logs")


def _endpoint(settings: config.Settings, endpoint: str | None, aws: bool) -> str | None:
    if aws and endpoint:
        raise typer.BadParameter("--aws and --endpoint exclude each other")
    return None if aws else (endpoint or settings.dynamodb_endpoint)


@app.command()
def init(
    endpoint: str | None = ENDPOINT,
    aws: bool = AWS,
    table: str | None = TABLE,
    replica_regions: str = typer.Option(
        "", "--replica-regions", help="make the tables global: a replica in each region (eu-west-1,us-east-1)"
    ),
) -> None:
    """Create the table (on-demand, index by_api, TTL) or bring an existing one to the design; with
    --replica-regions, give it and its digest table a replica in each region (global tables); idempotent."""
    settings = config.load()
    name = table or settings.names.table
    url = _endpoint(settings, endpoint, aws)
    try:
        wanted = replicas.regions(replica_regions)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replica-regions") from None
    try:
        ddb = store.client(url)
        changes = store.init_table(ddb, name)
        if wanted:
            changes += store.replicate(ddb, name, wanted)
    except Exception as exc:
        console.print(f"[red]error:[/] table {name} at {url or 'AWS'}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"table {name}: {', '.join(changes) if changes else 'already as designed, nothing changed'}")


class BadLine(ValueError):
    """A line of a load file that is no valid aggregate record."""


def _parse_lines(path: str, lines: Iterable[bytes]) -> Iterator[records.Aggregate]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield records.parse(line)
        except records.InvalidAggregate as exc:
            raise BadLine(f"{path}:{number}: {exc.reason}") from None


def _read(path: str) -> Iterator[records.Aggregate]:
    if path == "-":
        yield from _parse_lines(path, sys.stdin.buffer)
        return
    with Path(path).open("rb") as stream:
        yield from _parse_lines(path, stream)


def _load(name: str, url: str | None, aggregates: Iterator[records.Aggregate], shards: int, retention: int) -> None:
    ddb = store.client(url)
    began = time.monotonic()
    try:
        store.init_table(ddb, name)
        count = store.bulk_load(ddb, name, aggregates, shards, retention)
    except BadLine as exc:
        console.print(f"[red]error:[/] {exc} (lines before it were loaded; loading again is harmless)", highlight=False)
        raise typer.Exit(2) from None
    except Exception as exc:
        console.print(f"[red]error:[/] table {name} at {url or 'AWS'}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    took = time.monotonic() - began
    console.print(f"loaded {count} items into {name} in {took:.1f}s ({count / max(took, 1e-9):.0f} items/s)")


@app.command()
def load(
    path: str = typer.Argument(..., help="JSON lines of aggregate records (as on the aggregates topic); - for stdin"),
    endpoint: str | None = ENDPOINT,
    aws: bool = AWS,
    table: str | None = TABLE,
    shards: int = typer.Option(layout.DEFAULT_SHARDS, help="shard count of the partition key"),
    retention_days: int = typer.Option(layout.DEFAULT_RETENTION_DAYS, help="TTL after window end"),
) -> None:
    """Bulk-load aggregates with BatchWriteItem (unconditional): for seeding a fresh table with history."""
    settings = config.load()
    _load(table or settings.names.table, _endpoint(settings, endpoint, aws), _read(path), shards, retention_days)


@app.command()
def seed(
    days: float = typer.Option(7.0, help="days of minute windows, ending now"),
    apis: int = typer.Option(20, help="number of APIs"),
    endpoint: str | None = ENDPOINT,
    table: str | None = TABLE,
    shards: int = typer.Option(layout.DEFAULT_SHARDS, help="shard count of the partition key"),
) -> None:
    """Fill the table with synthetic history (one window per minute, API and level; real KLL sketches)."""
    settings = config.load()
    minutes = int(days * 1440)
    now = int(time.time() * 1000)
    start = now - now % 60_000 - minutes * 60_000
    history = synthetic.history(start, minutes, synthetic.api_names(apis))
    _load(
        table or settings.names.table,
        _endpoint(settings, endpoint, False),
        history,
        shards,
        layout.DEFAULT_RETENTION_DAYS,
    )


def run_sink(
    endpoint: str | None = ENDPOINT,
    aws: bool = AWS,
    group: str = typer.Option("logpipeline-sink", help="consumer group"),
    batch_size: int = typer.Option(1000, help="records per batch (one commit per batch)"),
    http_port: int = typer.Option(9108, help="port of /healthz, /readyz, /metrics"),
    http_host: str = typer.Option("127.0.0.1", help="address of /healthz, /readyz, /metrics (0.0.0.0 in a pod)"),
    shards: int = typer.Option(layout.DEFAULT_SHARDS, help="shard count of the partition key"),
    retention_days: int = typer.Option(
        contracts.TTL_DAYS, envvar=contracts.ENV_TTL_DAYS, help="TTL after window end, days"
    ),
    max_backoff: float = typer.Option(10.0, help="longest wait between retries, seconds"),
    replica_regions: str = typer.Option(
        "",
        "--replica-regions",
        envvar=contracts.ENV_REPLICA_REGIONS,
        help="at start, give the tables a replica in each region (global tables), as store init does",
    ),
    region: str = typer.Option(
        "",
        "--region",
        envvar=contracts.ENV_REGION,
        help="this pipeline's region: the keys of everything it writes carry it (empty: a single-region store)",
    ),
) -> None:
    """Consume the aggregates topic into the metrics table until SIGTERM or Ctrl-C."""
    observability.configure_logging()
    settings = config.load()
    try:
        wanted = tuple(replicas.regions(replica_regions))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replica-regions") from None
    try:
        layout.scope(region)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--region") from None
    cfg = SinkConfig(
        bootstrap=settings.kafka_bootstrap,
        topic=settings.names.aggregates_topic,
        dlq_topic=settings.names.dlq_topic,
        table=settings.names.table,
        endpoint=_endpoint(settings, endpoint, aws),
        group=group,
        batch_size=batch_size,
        shards=shards,
        retention_days=retention_days,
        http_host=http_host,
        http_port=http_port,
        max_backoff=max_backoff,
        replica_regions=wanted,
        region=region,
    )
    stop = observability.stop_on_signals(logging.getLogger("logpipeline.sink"))
    try:
        Sink(cfg, stop).run()
    except store.Denied:
        raise typer.Exit(1) from None  # the sink logged the one-line cause
    except Exception:
        logging.getLogger("logpipeline.sink").exception("sink failed")
        raise typer.Exit(1) from None
