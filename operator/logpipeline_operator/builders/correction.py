"""The correction job: a CronJob that re-aggregates closed windows from the raw archive (pure).

Each run is ``logpipeline_spark.correct`` in the Spark app image, in local mode inside its pod (a scheduled run
reads only the hours that changed or closed since the previous one, whose state it keeps in the archive). It
publishes changed windows to the aggregates topic, so late events reach the table through the sink. Built when
``spec.correction.enabled`` and the archive is enabled (the raw archive is what it reads).
"""

from __future__ import annotations

from logpipeline_operator import constants as c
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of
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
    spec = spec_of(lp)
    correction = spec["correction"]
    main = common.container(
        "correct",
        spec["spark"]["image"],
        spec["imagePullPolicy"],
        command(lp),
        ports={},
        res=common.resources(
            correction["requestCores"], f"{int(DRIVER_MEMORY_MB * 1.5)}Mi", "2", f"{int(DRIVER_MEMORY_MB * 1.5)}Mi"
        ),
        readiness={},
        liveness={},
        env=[*credentials_env(lp), *kafka.client_env(lp, COMPONENT)],
        env_from=common.config_env(lp),
    )
    for probe in ("readinessProbe", "livenessProbe", "ports"):  # a run-to-completion container serves nothing
        del main[probe]
    template = common.pod_template(lp, COMPONENT, [main], security=common.SPARK_POD_SECURITY_CONTEXT)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(lp, child_name(lp, "correct"), COMPONENT),
        "spec": {
            "schedule": correction["schedule"],
            "concurrencyPolicy": "Forbid",  # a run that overruns its period delays the next, never overlaps it
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 1, "activeDeadlineSeconds": correction["timeoutSeconds"], "template": template}
            },
        },
    }


def build_correction(lp: Body) -> list[Manifest]:
    spec = spec_of(lp)
    if not (spec["correction"]["enabled"] and spec["archive"]["enabled"]):
        return []
    return [build_correction_cronjob(lp)]
