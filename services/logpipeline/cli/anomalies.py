"""``logpipeline anomalies``: score a series from a CSV file, and run the detection benchmark."""

from __future__ import annotations

import csv
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logpipeline import config, contracts, observability
from logpipeline.alerting.service import load_definition
from logpipeline.alerting.slo import InvalidDefinition
from logpipeline.anomalies import csvscore, evaluate
from logpipeline.anomalies.detector import BOTH, DIRECTIONS, Expectation, Settings
from logpipeline.anomalies.model import DAY_MINUTES, KINDS, LEVEL, Params
from logpipeline.anomalies.models import ModelStore
from logpipeline.anomalies.rule import RuleParams
from logpipeline.anomalies.service import AnomalyService, ServiceConfig
from logpipeline.cli import batch, progress
from logpipeline.generator import minutes
from logpipeline.kafka.producer import Sender

app = typer.Typer(no_args_is_help=True, help="Anomaly detection on per-minute series.")
console = Console(stderr=True, width=120)


@app.command("run")
def run(
    endpoint: str | None = typer.Option(None, "--endpoint", help="DynamoDB API URL; default: the local stack's"),
    bootstrap: str | None = typer.Option(None, help="Kafka bootstrap servers (default: the local stack)"),
    archive_root: str | None = typer.Option(None, help=f"where the models are (default ${contracts.ENV_ARCHIVE_ROOT})"),
    models: bool = typer.Option(True, help="read the training job's model files (--no-models: learn from the table)"),
    interval: float = typer.Option(5.0, min=0.5, help="seconds between scoring cycles"),
    settle: float = typer.Option(15.0, min=0, help="seconds after a minute ends before it is scored"),
    warmup_days: float | None = typer.Option(None, min=0, help="history before a verdict (default: a week)"),
    http_port: int = typer.Option(contracts.ANOMALIES_HTTP_PORT, help="port of /healthz, /readyz, /metrics"),
    http_host: str = typer.Option("127.0.0.1", help="address of /healthz, /readyz, /metrics (0.0.0.0 in a pod)"),
    alerting: Annotated[
        Path | None,
        typer.Option(
            help=f"alerting definition whose anomalies section names the receivers (default ${contracts.ENV_ALERTING_FILE})"
        ),
    ] = None,
) -> None:
    """Score every closed minute of every API's series and write the verdicts, until SIGTERM or Ctrl-C."""
    observability.configure_logging()
    settings = config.load()
    chosen = alerting or (
        Path(os.environ[contracts.ENV_ALERTING_FILE]) if os.environ.get(contracts.ENV_ALERTING_FILE) else None
    )
    try:
        definition = None if chosen is None else load_definition(chosen)
    except InvalidDefinition as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    root = archive_root or os.environ.get(contracts.ENV_ARCHIVE_ROOT) or settings.hdfs_url
    store_of_models = ModelStore(root, settings.names.pipeline, settings.webhdfs_url) if root and models else None
    sender = Sender.connect(bootstrap or settings.kafka_bootstrap, settings.names.anomalies_topic)
    cfg = ServiceConfig(
        table=settings.names.table,
        endpoint=endpoint or settings.dynamodb_endpoint,
        models=store_of_models,
        interval_s=interval,
        settle_s=settle,
        warmup_minutes=None if warmup_days is None else round(warmup_days * DAY_MINUTES),
        http_host=http_host,
        http_port=http_port,
        definition=definition,
        region=config.region(),
    )
    logger = logging.getLogger("logpipeline.anomalies")
    stop = observability.stop_on_signals(logger)

    def publish(records: list[tuple[str, bytes]]) -> None:
        for key, value in records:
            sender.send(key, value)

    counted = [0]

    def flush() -> None:
        left = sender.flush(30.0)
        failed = sum(sender.failed.values())
        if failed > counted[0]:  # the table holds every minute; the topic's losses are counted here
            service.scoring.metrics.undelivered.inc(failed - counted[0])
            counted[0] = failed
        if left or failed:
            logger.warning(
                "anomalies topic: records undelivered",
                extra={"fields": {"queued": left, "failed": dict(sender.failed)}},
            )

    try:
        service = AnomalyService(cfg, publish, stop, flush)
        service.run()
    except Exception:
        logger.exception("anomaly scorer failed")
        raise typer.Exit(1) from None
    finally:
        sender.close()


def train(ctx: typer.Context) -> None:
    """Learn every API's series from the closed-window archive (a Spark batch job) and write a new model file.

    --days N of history (default 28), --every SECONDS to repeat; options: logpipeline anomalies train --help."""
    os.execv(sys.executable, [sys.executable, "-m", "logpipeline_spark.train", *ctx.args])


@app.command("score")
def score(
    file: Annotated[Path, typer.Argument(help="CSV of timestamp,value[,n] (epoch ms, one row a minute); - for stdin")],
    kind: str = typer.Option(LEVEL, help=f"what the values are: {', '.join(KINDS)} (ratio needs the n column)"),
    direction: str = typer.Option(BOTH, help=f"which changes are anomalies: {', '.join(DIRECTIONS)}"),
    warmup_days: float = typer.Option(7.0, min=0, help="history before the first verdict"),
    threshold: float = typer.Option(Params.threshold, min=0.1, help="half-width of the band, in scales"),
    k: int = typer.Option(RuleParams.k, min=1, help="an anomaly opens when k of the last m minutes are out"),
    m: int = typer.Option(RuleParams.m, min=1, help="… and closes after m clear minutes"),
    min_count: float = typer.Option(0.0, min=0, help="no flag in a minute with fewer events (counts, or n)"),
    min_change: float = typer.Option(0.2, min=0, help="no flag for a smaller change (relative; ratio: absolute)"),
) -> None:
    """Score every row, learning from the rows before it only; CSV on stdout."""
    try:
        settings = Settings(
            params=Params(kind=kind, threshold=threshold),
            rule=RuleParams(k=k, m=m),
            direction=direction,
            min_count=min_count,
            min_change=min_change,
            warmup_minutes=round(warmup_days * DAY_MINUTES),
        )
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    writer = csv.writer(sys.stdout, lineterminator="\n")
    count = flagged = 0
    try:
        with sys.stdin if str(file) == "-" else file.open(newline="") as handle:
            for fields in csvscore.score(handle, settings):
                writer.writerow(fields)
                count += 1
                flagged += fields[-1] == "1"
                if count % 100_000 == 0:
                    progress.log("anomalies.score.progress", rows=count - 1, anomalous=flagged)
    except (OSError, csvscore.BadInput) as exc:
        console.print(f"[red]error:[/] {file}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    progress.log("anomalies.score.done", rows=count - 1, anomalous=flagged)


@app.command("eval")
def eval_(
    seed: int = typer.Option(0, help="same seed, same traffic and incidents"),
    apis: int = typer.Option(20, min=1, help="APIs (three series each)"),
    days: int = typer.Option(14, min=2, help="days of per-minute traffic"),
    per_day: float = typer.Option(12.0, min=0, help="injected incidents a day, over all APIs"),
    warmup_days: float = typer.Option(7.0, min=1, help="history before the first verdict (not judged)"),
    threshold: float | None = typer.Option(None, min=0.1, help="band half-width for every candidate"),
) -> None:
    """The benchmark: the seasonal model against a static threshold and a rolling z-score, on the same data."""
    warmup = round(warmup_days * DAY_MINUTES)
    if warmup >= days * DAY_MINUTES:
        console.print("[red]error:[/] --warmup-days leaves no day to judge; give more --days", highlight=False)
        raise typer.Exit(2)
    progress.log("anomalies.eval.data", apis=apis, days=days, seed=seed)
    data = minutes.inject(minutes.generate(seed=seed, apis=apis, days=days), seed=seed, per_day=per_day)
    table = Table("candidate", "recall", "precision", "median delay", "false/series/day", "alarms", "updates/s")
    results = []
    for candidate in evaluate.CANDIDATES:
        if threshold is not None:
            candidate = _with_threshold(candidate, threshold)
        progress.log("anomalies.eval.candidate", candidate=candidate.name)
        f = evaluate.evaluate(data, candidate, warmup)
        delay = "-" if f.median_delay_min is None else f"{f.median_delay_min:g} min"
        table.add_row(f.candidate, f"{f.recall:.3f}", f"{f.precision:.3f}", delay,
                      f"{f.false_per_series_day:.3f}", f"{f.alarms} ({f.false_alarms} false)",
                      f"{f.updates_per_s:,.0f}")  # fmt: skip
        results.append(evaluate.summary(f))
    console.print(table)
    progress.result(incidents=len([i for i in data.incidents if i.start >= warmup]), candidates=results)


def _with_threshold(candidate: evaluate.Candidate, threshold: float) -> evaluate.Candidate:
    def make(settings: Settings) -> Expectation:
        return candidate.make(replace(settings, params=replace(settings.params, threshold=threshold)))

    return evaluate.Candidate(candidate.name, make)


app.command("train", context_settings=batch.PASS_THROUGH, add_help_option=False)(train)
