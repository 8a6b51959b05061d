"""The correction job: a CronJob that re-aggregates closed windows from the raw archive (pure).

Each run is ``logpipeline_spark.correct`` in the Spark app image, in local mode inside its pod (a scheduled run
reads only the hours that changed or closed since the previous one, whose state it keeps in the archive). It
publishes changed windows to the aggregates topic, so late events reach the table through the sink. Built when
``spec.correction.enabled`` and the archive is enabled (the raw archive is what it reads).
"""

from __future__ import annotations

from logpipeline_operator import constants as c
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "correction"
ENTRY = "/opt/logpipeline/spark-apps/logpipeline_spark/correct.py"
DRIVER_MEMORY_MB = 1536


def command(lp: Body) -> list[str]:
    correction = spec_of(lp)["correction"]
    return [
        c.SPARK_SUBMIT, "--master", "local[2]", "--driver-memory", f"{DRIVER_MEMORY_MB}m",
        "--conf", "spark.ui.enabled=false", ENTRY,
        "--lookback-hours", str(correction["lookbackHours"]),
        "--settle", str(correction["settleSeconds"]),
    ]  # fmt: skip


def build_correction_cronjob(lp: Body) -> Manifest:
    env = [*credentials_env(lp), *kafka.client_env(lp, COMPONENT)]
    return common.spark_batch_cronjob(
        lp, "correct", COMPONENT, "correct", command(lp), spec_of(lp)["correction"], memory_mb=DRIVER_MEMORY_MB,
        env=env, starting_deadline_s=600,
    )  # fmt: skip


def build_correction(lp: Body) -> list[Manifest]:
    spec = spec_of(lp)
    if not (spec["correction"]["enabled"] and spec["archive"]["enabled"]):
        return []
    return [build_correction_cronjob(lp)]
