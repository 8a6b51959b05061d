"""The optional synthetic log generator Deployment (pure)."""

from __future__ import annotations

from logpipeline import contracts
from logpipeline_operator.builders import common, kafka
from logpipeline_operator.builders.common import Body, Manifest, child_name, spec_of

COMPONENT = "generator"
METRICS_PORT = contracts.GENERATOR_HTTP_PORT


def build_generator_deployment(lp: Body) -> Manifest:
    spec = spec_of(lp)
    gen = spec["generator"]
    command = ["logpipeline", "generate", "--rate", str(gen["eventsPerSecond"]), "--metrics-port", str(METRICS_PORT)]
    res = common.resources("100m", "128Mi", "500m", "256Mi")
    main = common.service_container(lp, "generator", command, METRICS_PORT, res, env=kafka.client_env(lp, COMPONENT))
    template = common.pod_template(lp, COMPONENT, [main])
    return common.deployment(lp, child_name(lp, "generator"), COMPONENT, gen["replicas"], template)


def build_generator(lp: Body) -> list[Manifest]:
    return [build_generator_deployment(lp)] if spec_of(lp)["generator"]["enabled"] else []
