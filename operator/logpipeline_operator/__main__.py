"""``python -m logpipeline_operator``: run the operator (the same as ``kopf run -m logpipeline_operator.handlers``)."""

from __future__ import annotations

import argparse
import importlib
import logging
from collections.abc import Sequence

import kopf


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="logpipeline-operator", description="Reconcile LogPipeline resources.")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", default=[], help="watch only this namespace (repeatable)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace (the default)")
    parser.add_argument("--liveness", default="http://0.0.0.0:8080/healthz", help="liveness endpoint URL")
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


# Libraries whose info lines are noise in the operator's log: the API client's, and the access line aiohttp writes for
# every liveness probe (one every few seconds); --verbose keeps them.
QUIET_LOGGERS = ("kubernetes", "aiohttp.access")


def quiet_libraries(verbose: bool) -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse(argv)
    kopf.configure(verbose=args.verbose, log_format=kopf.LogFormat.JSON, log_refkey="object")
    quiet_libraries(args.verbose)
    importlib.import_module("logpipeline_operator.handlers")
    kopf.run(
        clusterwide=not args.namespace,
        namespaces=args.namespace,
        liveness_endpoint=args.liveness,
        standalone=True,
    )


if __name__ == "__main__":
    main()
