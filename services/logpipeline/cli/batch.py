"""``logpipeline correct`` and ``logpipeline backfill``: the Spark batch jobs, run in this Python's Spark.

Both hand their arguments to the job's own entry point (``python -m logpipeline_spark.correct`` /
``logpipeline_spark.backfill``), whose ``--help`` lists every option.
"""

from __future__ import annotations

import os
import sys

import typer

PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _exec(module: str, args: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, "-m", module, *args])


def correct(ctx: typer.Context) -> None:
    """Re-aggregate closed windows from the raw archive and publish the changed ones (late data, backfills).

    --since ISO [--until ISO] corrects every hour of the range; without it, one scheduled run over the hours that
    changed or closed since the previous run (--every SECONDS: repeatedly). Options: logpipeline correct --help.
    """
    _exec("logpipeline_spark.correct", ctx.args)


def backfill(ctx: typer.Context) -> None:
    """Aggregate a historical log file in batch (FILE --format json|combined|nginx-json) into the archive and the
    metrics, without touching the live stream. Options: logpipeline backfill --help."""
    _exec("logpipeline_spark.backfill", ctx.args)
