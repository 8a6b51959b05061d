"""Regional pipelines on one local stack (``logpipeline up --regions eu-west-1,us-east-1``), pure: names, ports and
processes of each region, and the one dashboard over all of them.

Each region is a pipeline of its own, as it would be in its own AWS region: its input, aggregates and dead-letter
topics (``logging_info.<region>`` …), its streaming job (checkpoints under its own pipeline name
``<pipeline>-<region>``), its sink writing with the region in every key (``LOGPIPELINE_REGION``), its correction
and its traffic source (a seed of its own); with ``--alerting``, its own alerts service judging its region's SLOs
(``alerting.state``: its alert states under its own keys); its anomaly scorer and training job (``anomalies.table``:
its scores and anomalies under its own keys, its models in its own archive). All write the one metrics table, as
regional replicas of a global table hold every region's items; the local DynamoDB-API server serves one table to
all, which is what each replica holds once replication has caught up. One dashboard shows the global view. Region
``i``'s service ports are the pipeline's own plus ``PORT_STEP * (i + 1)``; its processes are named
``<service>.<region>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from logpipeline import contracts
from logpipeline.config import Settings
from logpipeline.pipeline.processes import SERVICE_PORTS, Options, Service, services

PORT_STEP = 100
# each region's own: alerts (with --alerting) judge its SLOs, the anomaly scorer and training its series
REGIONAL = ("sink", "spark", "correction", "alerts", "anomalies", "training", "generator")


def regional_settings(settings: Settings, region: str, index: int) -> Settings:
    """Region ``index``'s pipeline: its own names (the table is shared) and service ports."""
    names = settings.names
    names = replace(
        names,
        pipeline=f"{names.pipeline}-{region}",
        input_topic=f"{names.input_topic}.{region}",
        aggregates_topic=f"{names.aggregates_topic}.{region}",
        anomalies_topic=f"{names.anomalies_topic}.{region}",
    )
    offset = PORT_STEP * (index + 1)
    ports = replace(settings.ports, **{name: getattr(settings.ports, name) + offset for name in SERVICE_PORTS})
    return replace(settings, names=names, ports=ports)


def regional_env(regional: Settings, region: str) -> dict[str, str]:
    """What every process of a regional pipeline reads: its names and its region."""
    names = regional.names
    return {
        contracts.ENV_PIPELINE: names.pipeline,
        contracts.ENV_INPUT_TOPIC: names.input_topic,
        contracts.ENV_AGGREGATES_TOPIC: names.aggregates_topic,
        contracts.ENV_DLQ_TOPIC: contracts.dlq_topic(names.input_topic),
        contracts.ENV_ANOMALIES_TOPIC: names.anomalies_topic,
        contracts.ENV_REGION: region,
    }


def check(options: Options) -> None:
    """ValueError naming what ``--regions`` cannot do (yet)."""
    if options.ingest is not None:
        raise ValueError("--regions generates each region's traffic: --ingest feeds a single pipeline")


def plan(settings: Settings, options: Options, regions: Sequence[str], python: str, cli: str) -> list[Service]:
    """Every region's processes (sources last), then the dashboard's global view over them."""
    check(options)
    single = replace(options, dashboard=False)
    regional: list[Service] = []
    for index, region in enumerate(regions):
        own = regional_settings(settings, region, index)
        env = regional_env(own, region)
        for s in services(own, replace(single, seed=options.seed + index), python, cli):
            if s.name in REGIONAL:
                regional.append(replace(s, name=f"{s.name}.{region}", env={**s.env, **env}))
    sources = [s for s in regional if s.name.startswith("generator.")]
    out = [s for s in regional if s not in sources]
    if options.dashboard:
        board = next(
            s for s in services(settings, replace(options, anomalies=False), python, cli) if s.name == "dashboard"
        )
        env = {**board.env, contracts.ENV_DASHBOARD_REGIONS: ",".join(regions)}
        env |= {contracts.ENV_SINK_METRICS_URL: "off", contracts.ENV_JOB_METRICS_URL: "off"}  # one per region
        out.append(replace(board, env=env))
    return out + sources
