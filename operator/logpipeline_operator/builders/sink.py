"""The sink Deployment: aggregates topic -> metrics table (pure)."""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, spec_of
from logpipeline_operator.builders.config import credentials_env

COMPONENT = "sink"
METRICS_PORT = contracts.SINK_HTTP_PORT


def build_sink_deployment(lp: Body) -> Manifest:
    spec = spec_of(lp)
    command = [
        "logpipeline", "sink", "--batch-size", str(spec["sink"]["batchSize"]), "--group", kafka.sink_group(lp),
        "--http-host", "0.0.0.0", "--http-port", str(METRICS_PORT),
    ]  # fmt: skip
    if spec["metricsStore"]["engine"] == "aws" and not spec["metricsStore"].get("endpoint"):
        command.append("--aws")  # AWS's own endpoint; with metricsStore.endpoint the config's endpoint is used
    res = common.resources("100m", "256Mi", "500m", "512Mi")
    env = [*credentials_env(lp), *kafka.client_env(lp, COMPONENT)]
    regions = spec_of(lp)["metricsStore"].get("replicaRegions") or []
    if regions:  # global tables: the sink requests the missing replicas at start
        env.append({"name": contracts.ENV_REPLICA_REGIONS, "value": ",".join(regions)})
    main = common.service_container(lp, "sink", command, METRICS_PORT, res, env=env)
    template = common.pod_template(lp, COMPONENT, [main])
    return common.deployment(lp, child_name(lp, "sink"), COMPONENT, spec["sink"]["replicas"], template)
