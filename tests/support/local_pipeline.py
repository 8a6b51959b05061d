"""``logpipeline up``'s local mode on private topics, table and ports, for the tests and benchmarks that run it.

:func:`running` sets the environment that names them (restored afterwards), starts the pipeline on the local stack
and stops it again; the stack itself stays. The job's route query runs every :data:`SIDE_TRIGGER`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence

from logpipeline import config, contracts
from logpipeline.pipeline import launcher, processes
from logpipeline.stack import process
from support import leftovers

SIDE_TRIGGER = "10 seconds"


@contextlib.contextmanager
def running(prefix: str, options: processes.Options, regions: Sequence[str] = ()) -> Iterator[config.Settings]:
    """With ``regions``: one pipeline per region and the dashboard over them (``logpipeline up --regions``)."""
    run = f"{prefix}{leftovers.suffix()}"
    env = {
        "LOGPIPELINE_INPUT_TOPIC": f"{run}_logging_info",
        "LOGPIPELINE_AGGREGATES_TOPIC": f"{run}_agg_logging_info",
        "LOGPIPELINE_TABLE": f"{run}_agg_system_logs",
        "LOGPIPELINE_PIPELINE": run,
        # The route query every 10 s, not the product's minute: the archive and the dead letters the tests wait for
        # arrive sooner, and a job's read rate over half a minute is not lumpy with a minute's batch of the archive.
        contracts.ENV_SIDE_TRIGGER: SIDE_TRIGGER,
        **{f"LOGPIPELINE_{name.upper()}_PORT": str(process.free_port()) for name in processes.SERVICE_PORTS},
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    settings = config.load()
    try:
        launcher.up(settings, options, lambda component, message: None, regions)
        yield settings
    finally:
        launcher.down(settings, lambda component, message: None, stack=False)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
