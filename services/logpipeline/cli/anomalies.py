"""``logpipeline anomalies``: score a series from a CSV file, and run the detection benchmark."""

from __future__ import annotations

import csv
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from logpipeline.anomalies import csvscore, evaluate
from logpipeline.anomalies.detector import BOTH, DIRECTIONS, Scorer, Settings
from logpipeline.anomalies.model import DAY_MINUTES, KINDS, LEVEL, Params
from logpipeline.anomalies.rule import RuleParams
from logpipeline.cli import progress
from logpipeline.generator import minutes

app = typer.Typer(no_args_is_help=True, help="Anomaly detection on per-minute series.")
console = Console(stderr=True, width=120)


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
    def make(settings: Settings) -> Scorer:
        return candidate.make(replace(settings, params=replace(settings.params, threshold=threshold)))

    return evaluate.Candidate(candidate.name, make)
