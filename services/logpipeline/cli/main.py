"""Entry point of the ``logpipeline`` command; each capability registers its sub-commands here."""

from __future__ import annotations

import typer

from logpipeline.cli import (
    alerts,
    annotate,
    anomalies,
    batch,
    bench,
    dashboard,
    generate,
    ingest,
    pipeline,
    stack,
    topics,
    users,
)
from logpipeline.cli import store as store_cli

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Log Realtime Analysis pipeline.")
app.add_typer(stack.app, name="stack")
app.command("up")(pipeline.up)
app.command("down")(pipeline.down)
app.command("bench")(bench.bench)
app.add_typer(store_cli.app, name="store")
app.command("sink")(store_cli.run_sink)
app.add_typer(topics.app, name="topics")
app.add_typer(alerts.app, name="alerts")
app.add_typer(anomalies.app, name="anomalies")
app.add_typer(users.app, name="users")
app.command("annotate")(annotate.annotate)
app.command("generate")(generate.generate)
app.command("ingest")(ingest.ingest_command)
app.command("dashboard")(dashboard.run)
app.command("correct", context_settings=batch.PASS_THROUGH, add_help_option=False)(batch.correct)
app.command("backfill", context_settings=batch.PASS_THROUGH, add_help_option=False)(batch.backfill)

if __name__ == "__main__":
    app()
