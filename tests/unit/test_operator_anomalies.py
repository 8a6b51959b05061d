"""The anomaly scorer and its daily training, as the operator builds them from ``spec.anomalies``: the Deployment
and CronJob, the scorer's Kafka user, its notices through ``alerting.anomalies``, and the network flows."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from logpipeline import contracts
from logpipeline.alerting.service import load_definition
from logpipeline_operator.builders import alerting, anomalies, config, kafka, network, plan
from support import crd

ALERTING: dict[str, Any] = {
    "enabled": True,
    "slos": [{"name": "checkout", "objective": "availability", "target": 0.999, "receivers": ["hook"]}],
    "receivers": [{"name": "hook", "webhook": {"url": "https://hooks.example.org:8443/a",
                                               "secretRef": {"name": "hook", "key": "hmac"}}}],
    "anomalies": {"receivers": ["hook"], "severity": "page", "metrics": ["error_rate", "p95"]},
}  # fmt: skip


def pipeline(**spec: Any) -> dict[str, Any]:
    return crd.logpipeline({"anomalies": {"enabled": True}, **spec})


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind)


def test_on_by_default_a_scorer_and_a_training_and_off_on_request() -> None:
    assert anomalies.build_anomalies(crd.logpipeline({"anomalies": {"enabled": False}})) == []
    built = anomalies.build_anomalies(crd.logpipeline({}))
    assert [o["kind"] for o in built] == ["Deployment", "CronJob"]
    assert {o["metadata"]["name"] for o in plan.build_children(pipeline())} >= {"lp1-anomalies", "lp1-training"}


def test_the_scorer_runs_the_cli_with_its_kafka_user_and_the_pipelines_config() -> None:
    dep = by_kind(anomalies.build_anomalies(pipeline(anomalies={"enabled": True, "settleSeconds": 20})), "Deployment")
    main = dep["spec"]["template"]["spec"]["containers"][0]
    assert main["command"][:3] == ["logpipeline", "anomalies", "run"]
    assert main["command"][main["command"].index("--settle") + 1] == "20"
    assert "--no-models" not in main["command"] and "--alerting" not in main["command"]
    assert dep["spec"]["replicas"] == 1
    assert {"name": contracts.ENV_KAFKA_USERNAME, "value": kafka.user_name(pipeline(), "anomalies")} in main["env"]
    assert main["envFrom"] == [{"configMapRef": {"name": "lp1-config"}}]
    assert config.endpoints(pipeline())[contracts.ENV_ANOMALIES_TOPIC] == contracts.ANOMALIES_TOPIC
    acls = kafka.user_acls(pipeline())["anomalies"]
    assert acls == [{"resource": {"type": "topic", "name": contracts.ANOMALIES_TOPIC, "patternType": "literal"},
                     "operations": ["Write", "Describe"]}]  # fmt: skip


def test_without_the_closed_window_archive_the_scorer_learns_from_the_table_and_nothing_trains() -> None:
    for spec in ({"archive": {"enabled": False}}, {"correction": {"enabled": False}},
                 {"anomalies": {"enabled": True, "training": {"enabled": False}}}):  # fmt: skip
        built = anomalies.build_anomalies(pipeline(**spec))
        assert [o["kind"] for o in built] == ["Deployment"], spec
        assert "--no-models" in built[0]["spec"]["template"]["spec"]["containers"][0]["command"], spec


def test_the_training_is_a_spark_submit_of_the_training_job_on_its_schedule() -> None:
    lp = pipeline(anomalies={"enabled": True, "training": {"schedule": "5 4 * * *", "days": 14}})
    job = by_kind(anomalies.build_anomalies(lp), "CronJob")
    assert job["spec"]["schedule"] == "5 4 * * *" and job["spec"]["concurrencyPolicy"] == "Forbid"
    main = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert main["command"][0].endswith("spark-submit") and anomalies.ENTRY in main["command"]
    assert main["command"][main["command"].index("--days") + 1] == "14"
    assert main["image"] == lp["spec"]["spark"]["image"]
    assert main["resources"]["requests"]["cpu"] == "500m" and main["resources"]["limits"]["cpu"] == "2"
    small = pipeline(anomalies={"enabled": True, "training": {"requestCores": "100m"}})
    small_main = by_kind(anomalies.build_anomalies(small), "CronJob")["spec"]["jobTemplate"]["spec"]["template"]
    assert small_main["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "100m"


def test_notices_mount_the_alerting_definition_whose_anomalies_section_the_scorer_reads(tmp_path: Path) -> None:
    lp = pipeline(alerting=copy.deepcopy(ALERTING))
    dep = by_kind(anomalies.build_anomalies(lp), "Deployment")
    main = dep["spec"]["template"]["spec"]["containers"][0]
    assert main["command"][main["command"].index("--alerting") + 1] == f"{alerting.CONFIG_DIR}/{alerting.FILE}"
    assert "logpipeline.io/alerting-checksum" in dep["spec"]["template"]["metadata"]["annotations"]
    text = alerting.build_alerting_config_map(lp)["data"][alerting.FILE]
    (tmp_path / "alerting.yaml").write_text(text)
    notices = load_definition(tmp_path / "alerting.yaml").anomalies
    assert notices is not None and (notices.receivers, notices.severity, notices.metrics) == (
        ("hook",), "page", ("error_rate", "p95"))  # fmt: skip
    assert json.loads(text)["anomalies"]["severity"] == "page"
    names = {p["metadata"]["name"]: p for p in network.build_network_policies(lp)}
    out = names["lp1-net-anomalies-out"]["spec"]["egress"][0]["ports"]
    assert out == [{"protocol": "TCP", "port": 8443}]


def test_network_flows_of_the_scorer_and_the_training() -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in network.build_network_policies(pipeline())}

    def selected(name: str) -> list[str]:
        return list(policies[name]["podSelector"]["matchExpressions"][0]["values"])

    assert anomalies.COMPONENT in selected("lp1-net-kafka")
    assert anomalies.COMPONENT in selected("lp1-net-dynamodb-out")
    assert anomalies.COMPONENT in selected("lp1-net-metrics")
    assert selected("lp1-net-anomalies-hdfs-out") == [anomalies.COMPONENT]
    assert anomalies.TRAINING in selected("lp1-net-hdfs-out")
    assert "lp1-net-anomalies-out" not in policies  # no notices, no way out
    off = {p["metadata"]["name"] for p in network.build_network_policies(pipeline(anomalies={"enabled": False}))}
    assert "lp1-net-anomalies-hdfs-out" not in off
