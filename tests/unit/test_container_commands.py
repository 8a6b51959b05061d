"""Every container command the operator builds is accepted by the program it runs (the real CLI parsers)."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from logpipeline.cli.main import app
from logpipeline_operator.builders import config, plan
from logpipeline_spark import options as job
from support import crd


def children(**spec: Any) -> list[dict[str, Any]]:
    return plan.build_children(crd.logpipeline({"generator": {"enabled": True}, **spec}))


def commands(program: str, **spec: Any) -> list[list[str]]:
    out = []
    for obj in children(**spec):
        if obj["kind"] in ("Deployment", "StatefulSet"):
            for container in obj["spec"]["template"]["spec"]["containers"]:
                if container.get("command", [""])[0] == program:
                    out.append(container["command"])
    return out


def parse(argv: list[str]) -> None:
    """Parse ``logpipeline <argv>`` as the real command would; raises on an unknown command or option."""
    root: Any = typer.main.get_command(app)
    with root.make_context("logpipeline", list(argv)) as ctx:
        name, sub, args = root.resolve_command(ctx, list(argv))
        sub.make_context(name or "", args, parent=ctx)


def test_logpipeline_commands_parse() -> None:
    found = commands("logpipeline")
    assert {cmd[1] for cmd in found} >= {"sink", "generate"}
    for cmd in found:
        parse(cmd[1:])
    aws = commands("logpipeline", metricsStore={"engine": "aws", "credentialsSecret": {"name": "keys"}})
    [sink] = [cmd for cmd in aws if cmd[1] == "sink"]
    assert sink[-1] == "--aws"
    parse(sink[1:])
    with pytest.raises(Exception, match="No such option"):
        parse(["sink", "--port", "9108"])


def test_sink_serves_health_on_every_interface_in_a_pod() -> None:
    [sink] = [cmd for cmd in commands("logpipeline") if cmd[1] == "sink"]
    assert sink[sink.index("--http-host") + 1] == "0.0.0.0"


def test_spark_job_reads_the_config_map(monkeypatch: pytest.MonkeyPatch) -> None:
    [config_map] = [obj for obj in children() if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "lp1-config"]
    for key, value in config_map["data"].items():
        monkeypatch.setenv(key, value)
    opts = job.parse_args([])
    assert opts.bootstrap == config_map["data"]["LOGPIPELINE_KAFKA_BOOTSTRAP"]
    assert opts.archive_root.startswith(config_map["data"]["LOGPIPELINE_HDFS_URL"] + "/")
    assert opts.input_topic == config_map["data"]["LOGPIPELINE_INPUT_TOPIC"]
    assert opts.dlq_topic == config_map["data"]["LOGPIPELINE_DLQ_TOPIC"]
    assert opts.window == config_map["data"]["LOGPIPELINE_WINDOW"]
    assert opts.pipeline == "lp1"
    assert config.endpoints  # the ConfigMap builder is the one source of these names


def test_services_read_the_config_map(monkeypatch: pytest.MonkeyPatch) -> None:
    [config_map] = [obj for obj in children() if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "lp1-config"]
    for key, value in config_map["data"].items():
        monkeypatch.setenv(key, value)
    from logpipeline import config as settings_module

    settings = settings_module.load()
    assert settings.kafka_bootstrap == config_map["data"]["LOGPIPELINE_KAFKA_BOOTSTRAP"]
    assert settings.dynamodb_endpoint == "http://lp1-dynamodb:8000"
    assert settings.names.table == config_map["data"]["LOGPIPELINE_TABLE"]
    assert settings.names.dlq_topic == config_map["data"]["LOGPIPELINE_DLQ_TOPIC"]
