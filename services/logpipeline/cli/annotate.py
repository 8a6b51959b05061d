"""``logpipeline annotate``: mark a moment on the dashboard's time series (a deploy, an incident, a note)."""

from __future__ import annotations

import getpass
import time
from datetime import datetime

import typer
from rich.console import Console

from logpipeline.accounts import annotations as notes
from logpipeline.accounts import directory
from logpipeline.accounts.directory import AccountError
from logpipeline.dashboard import settings
from logpipeline.metrics import store

console = Console()


def annotate(
    text: str = typer.Argument(..., help="what happened, e.g. 'deploy 1.4.2'"),
    kind: str = typer.Option("deploy", help=f"one of {', '.join(notes.KINDS)}"),
    api: str | None = typer.Option(None, help="the API it is about (default: all)"),
    at: str | None = typer.Option(None, help="when: ISO 8601 with a zone, or epoch ms (default: now)"),
    by: str | None = typer.Option(None, help="who (default: the login name)"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="DynamoDB API URL; default: as the dashboard's"),
) -> None:
    """Mark a moment on the dashboard's time series."""
    try:
        when = int(time.time() * 1000) if at is None else int(at) if at.isdigit() else _iso(at)
        dashboard = settings.load()
        ddb = store.client(endpoint or dashboard.endpoint)
        directory.ensure_table(ddb, dashboard.table)
        made = notes.add(ddb, dashboard.table, when, kind, text, api, by or getpass.getuser())
    except (AccountError, ValueError, store.Denied) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"annotated {made.kind} at {made.at} ({made.id})", highlight=False)


def _iso(text: str) -> int:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"at: give a zone (e.g. 2026-12-01T10:00Z), got {text!r}")
    return int(parsed.timestamp() * 1000)
