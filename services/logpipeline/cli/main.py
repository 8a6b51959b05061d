"""Entry point of the ``logpipeline`` command; each capability registers its sub-commands here."""

from __future__ import annotations

import typer

from logpipeline.cli import stack

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Log Realtime Analysis pipeline.")
app.add_typer(stack.app, name="stack")
app.command("up")(stack.run_main)

if __name__ == "__main__":
    app()
