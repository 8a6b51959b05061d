"""Anomaly detection of ``spec.anomalies``: the scorer, a Deployment running ``logpipeline anomalies run``, and its
daily training, a CronJob running ``logpipeline_spark.train`` in the Spark app image (pure).

The scorer reads closed minutes from the metrics table, writes the anomalies table and topic (its own KafkaUser:
Write on that topic), and reads model files from the archive through WebHDFS. With alerting enabled and an
``alerting.anomalies`` section it mounts the alerting definition and notifies its receivers. The training reads
the closed-window archive (what the correction job writes) and writes the model files there, so it is built only
when the archive and the correction job are enabled; without them the scorer learns from the metrics table alone.
"""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import alerting, common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "anomalies"
TRAINING = "anomaly-training"
METRICS_PORT = contracts.ANOMALIES_HTTP_PORT
ENTRY = "/opt/logpipeline/spark-apps/logpipeline_spark/train.py"
DRIVER_MEMORY_MB = 1536


def enabled(lp: Body) -> bool:
    return bool(spec_of(lp)["anomalies"]["enabled"])


def trains(lp: Body) -> bool:
    """Whether the training CronJob is built: it needs the closed-window archive, which the correction job writes."""
    spec = spec_of(lp)
    return bool(
        spec["archive"]["enabled"] and spec["correction"]["enabled"] and spec["anomalies"]["training"]["enabled"]
    )


def notifies(lp: Body) -> bool:
    return alerting.enabled(lp) and bool(spec_of(lp)["alerting"].get("anomalies"))


def build_scorer_deployment(lp: Body) -> Manifest:
    spec = spec_of(lp)
    command = [
        "logpipeline", "anomalies", "run", "--http-host", "0.0.0.0", "--http-port", str(METRICS_PORT),
        "--settle", str(spec["anomalies"]["settleSeconds"]),
    ]  # fmt: skip
    if not trains(lp):
        command.append("--no-models")
    if spec["metricsStore"]["engine"] == "aws" and not spec["metricsStore"].get("endpoint"):
        command.append("--aws")
    env = [*credentials_env(lp), *kafka.client_env(lp, COMPONENT)]
    notices = notifies(lp)
    if notices:
        command += ["--alerting", f"{alerting.CONFIG_DIR}/{alerting.FILE}"]
        if spec["alerting"].get("snsEndpoint"):
            env.append({"name": contracts.ENV_SNS_ENDPOINT, "value": spec["alerting"]["snsEndpoint"]})
    main = common.service_container(lp, "scorer", command, METRICS_PORT, common.resources("100m", "256Mi", "1", "768Mi"),
                                    env=env)  # fmt: skip
    template = alerting.mounted(lp, main, COMPONENT) if notices else common.pod_template(lp, COMPONENT, [main])
    # one scorer: it keeps every series' state in memory and writes each minute once
    return common.deployment(lp, child_name(lp, "anomalies"), COMPONENT, 1, template)


def training_command(lp: Body) -> list[str]:
    training = spec_of(lp)["anomalies"]["training"]
    return [
        c.SPARK_SUBMIT, "--master", "local[2]", "--driver-memory", f"{DRIVER_MEMORY_MB}m",
        "--conf", "spark.ui.enabled=false", ENTRY, "--days", str(training["days"]), "--nice", "0",
    ]  # fmt: skip


def build_training_cronjob(lp: Body) -> Manifest:
    training = spec_of(lp)["anomalies"]["training"]
    return common.spark_batch_cronjob(
        lp, "training", TRAINING, "train", training_command(lp), training, memory_mb=DRIVER_MEMORY_MB,
        starting_deadline_s=3600,
    )  # fmt: skip


def build_anomalies(lp: Body) -> list[Manifest]:
    if not enabled(lp):
        return []
    out = [build_scorer_deployment(lp)]
    if trains(lp):
        out.append(build_training_cronjob(lp))
    return out
