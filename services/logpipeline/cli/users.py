"""``logpipeline users``: the dashboard's local accounts (Argon2id hashes in the metrics store) and their roles."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from logpipeline.accounts import directory, passwords, roles
from logpipeline.dashboard import settings
from logpipeline.metrics import store

app = typer.Typer(no_args_is_help=True, help="Dashboard users: add, list, change role or password, remove.")
console = Console()
ENDPOINT = typer.Option(None, "--endpoint", help="DynamoDB API URL; default: as the dashboard's")
STDIN = typer.Option(False, "--password-stdin", help="read the password from standard input (first line)")


def _ddb(endpoint: str | None) -> tuple[Any, str]:
    dashboard = settings.load()
    ddb = store.client(endpoint or dashboard.endpoint)
    directory.ensure_table(ddb, dashboard.table)
    return ddb, dashboard.table


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/] {exc}", highlight=False)
    return typer.Exit(2)


@app.command("add")
def add(
    name: str,
    role: str = typer.Option("viewer", help=f"one of {', '.join(roles.NAMES)}"),
    password_stdin: bool = STDIN,
    endpoint: str | None = ENDPOINT,
) -> None:
    """Add a user (refused if the name is taken)."""
    try:
        chosen = roles.parse(role)
        directory.check_name(name)
        secret = _password(password_stdin)
        passwords.check(secret)
        ddb, table = _ddb(endpoint)
        directory.add(ddb, table, name, chosen, secret)
    except (ValueError, store.Denied) as exc:
        raise _fail(exc) from None
    console.print(f"added {name} ({chosen.label})", highlight=False)


@app.command("list")
def list_users(endpoint: str | None = ENDPOINT) -> None:
    """Users and their roles."""
    ddb, table = _ddb(endpoint)
    out = Table("user", "role", "sessions valid after (UTC ms)")
    for account in sorted(directory.all_accounts(ddb, table), key=lambda a: a.name):
        out.add_row(account.name, account.role.label, str(account.valid_after))
    console.print(out)


def _change(endpoint: str | None, change: Callable[[Any, str], object], done: str) -> None:
    """Run ``change(ddb, table)``; an error naming the problem exits 2."""
    try:
        change(*_ddb(endpoint))
    except (ValueError, store.Denied) as exc:
        raise _fail(exc) from None
    console.print(done, highlight=False)


@app.command("set-role")
def set_role(name: str, role: str, endpoint: str | None = ENDPOINT) -> None:
    """Change a user's role (their sessions end)."""
    try:
        chosen = roles.parse(role)
    except ValueError as exc:
        raise _fail(exc) from None
    _change(endpoint, lambda ddb, table: directory.set_role(ddb, table, name, chosen), f"{name} is now {chosen.label}")


@app.command("set-password")
def set_password(name: str, password_stdin: bool = STDIN, endpoint: str | None = ENDPOINT) -> None:
    """Change a user's password (their sessions end)."""
    secret = _password(password_stdin)
    try:
        passwords.check(secret)
    except ValueError as exc:
        raise _fail(exc) from None
    _change(endpoint, lambda ddb, table: directory.set_password(ddb, table, name, secret), f"new password for {name}")


@app.command("remove")
def remove(name: str, endpoint: str | None = ENDPOINT) -> None:
    """Remove a user (their sessions end)."""
    _change(endpoint, lambda ddb, table: directory.remove(ddb, table, name), f"removed {name}")
