"""LogPipeline status from its children, CRD defaults and the operator's command line (pure)."""

from __future__ import annotations

import logging
from typing import Any

from logpipeline import versions
from logpipeline_operator import constants as c
from logpipeline_operator import status as st
from logpipeline_operator.__main__ import parse, quiet_libraries
from logpipeline_operator.builders import plan, policy
from support import crd
from support.crd import CRD

NOW = "2026-01-01T00:00:00Z"


def lp() -> dict[str, Any]:
    return crd.logpipeline({"generator": {"enabled": False}}, name="p", namespace="n", uid="u-1", generation=3)


def observed_ready(desired: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for obj in desired:
        got = {**obj, "metadata": {**obj["metadata"], "generation": 1}}
        if obj["kind"] in ("Deployment", "StatefulSet"):
            n = obj["spec"].get("replicas", 1)
            got["status"] = {"observedGeneration": 1, "availableReplicas": n, "readyReplicas": n}
        if obj["kind"] == "PersistentVolumeClaim":
            got["status"] = {"phase": "Bound"}
        out.append(got)
    return out


class TestCrd:
    def test_names_printer_columns_and_status_subresource(self) -> None:
        assert CRD["metadata"]["name"] == c.CRD_NAME
        assert CRD["spec"]["names"]["shortNames"] == ["lp"]
        version = CRD["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        columns = [col["name"] for col in version["additionalPrinterColumns"]]
        assert columns == ["Ready", "Phase", "Input Topic", "Dashboard Host", "Age"]

    def test_default_images_and_spark_version_match_the_release(self) -> None:
        spec = crd.logpipeline()["spec"]
        assert spec["image"] == c.SERVICES_IMAGE
        assert spec["spark"]["image"] == c.SPARK_APP_IMAGE
        assert spec["spark"]["version"] == versions.SPARK_VERSION
        assert spec["kafka"]["topics"]["input"] == {
            "name": "logging_info",
            "partitions": 3,
            "replicas": 1,
            "retentionMs": 604800000,
        }

    def test_defaults_do_not_override_given_values(self) -> None:
        schema = crd.crd_schema(CRD)["properties"]["spec"]
        assert schema["properties"]["spark"]["properties"]["mode"]["enum"] == ["operator", "submit"]
        spec = crd.logpipeline({"sink": {"replicas": 7}})["spec"]
        assert spec["sink"] == {"replicas": 7, "batchSize": 25}


class TestChildReadiness:
    def test_deployment_ready_only_when_available_and_observed(self) -> None:
        dep = {"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2}}
        assert st.child_readiness({**dep, "status": {"observedGeneration": 1, "availableReplicas": 2}})[0] == "False"
        assert st.child_readiness({**dep, "status": {"observedGeneration": 2, "availableReplicas": 1}}) == (
            "False",
            "1/2 ready",
        )
        assert st.child_readiness({**dep, "status": {"observedGeneration": 2, "availableReplicas": 2}})[0] == "True"

    def test_resources_of_other_operators(self) -> None:
        assert st.child_readiness({"kind": "KafkaTopic"})[0] == "Unknown"
        topic = {"kind": "KafkaTopic", "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
        assert st.child_readiness(topic)[0] == "True"
        app = {"kind": "SparkApplication", "status": {"applicationState": {"state": "FAILED"}}}
        assert st.child_readiness(app) == ("False", "FAILED")

    def test_a_spark_application_is_ready_when_its_executors_run_too(self) -> None:
        def app(executors: dict[str, str]) -> dict[str, Any]:
            status = {"applicationState": {"state": "RUNNING"}, "executorState": executors}
            return {"kind": "SparkApplication", "spec": {"executor": {"instances": 2}}, "status": status}

        assert st.child_readiness(app({})) == ("False", "RUNNING, 0/2 executors running")
        assert st.child_readiness(app({"e-1": "RUNNING", "e-2": "PENDING"}))[0] == "False"
        assert st.child_readiness(app({"e-1": "RUNNING", "e-2": "RUNNING"})) == (
            "True",
            "RUNNING, 2/2 executors running",
        )


class TestStatus:
    def test_running_when_every_workload_is_ready(self) -> None:
        desired = plan.build_children(lp())
        status = st.build_status(desired, observed_ready(desired), generation=3, previous={}, refusals=[], now=NOW)
        assert status["phase"] == "Running" and status["observedGeneration"] == 3
        assert status["components"]["dashboard"]["ready"] == "True"
        assert status["components"]["spark"]["ready"] == "Unknown"
        assert {cond["type"]: cond["status"] for cond in status["conditions"]} == {
            "Ready": "True",
            "SpecAccepted": "True",
            "Reconciled": "True",
        }

    def test_missing_child_is_creating_then_degraded(self) -> None:
        desired = plan.build_children(lp())
        observed = [o for o in observed_ready(desired) if o["metadata"]["name"] != "p-sink"]
        first = st.build_status(desired, observed, generation=3, previous={}, refusals=[], now=NOW)
        assert first["phase"] == "Creating" and first["components"]["sink"]["message"].endswith("missing")
        later = st.build_status(desired, observed, generation=3, previous={"phase": "Running"}, refusals=[], now=NOW)
        assert later["phase"] == "Degraded"

    def test_refusal_condition_and_transition_time_kept(self) -> None:
        desired = plan.build_children(lp())
        previous = {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2025-01-01T00:00:00Z"}]}
        status = st.build_status(
            desired, observed_ready(desired), generation=3, previous=previous, refusals=["spec.kafka... 2"], now=NOW
        )
        conds = {cond["type"]: cond for cond in status["conditions"]}
        assert conds["SpecAccepted"]["reason"] == "PartitionDecreaseRefused"
        assert conds["Ready"]["lastTransitionTime"] == "2025-01-01T00:00:00Z"


class TestOperatorKeptTopics:
    """``kafka.topicManagement: operator``: no KafkaTopic children; the broker's report is a component and a field."""

    def lp(self) -> dict[str, Any]:
        spec = {"generator": {"enabled": False}, "kafka": {"topicManagement": "operator", "authentication": "none"}}
        return crd.logpipeline(spec, name="p", namespace="n", uid="u-1", generation=3)

    def test_topics_reported_make_the_component_ready(self) -> None:
        desired = plan.build_children(self.lp())
        assert not [o for o in desired if o["kind"] in ("KafkaTopic", "KafkaUser")]
        report = [{"role": "input", "name": "logging_info", "partitions": 3, "lastChange": "created"}]
        status = st.build_status(
            desired, observed_ready(desired), generation=3, previous={}, refusals=[], now=NOW, topics=report
        )
        assert status["topics"] == report
        assert status["components"][st.TOPICS_COMPONENT]["ready"] == "True"
        assert status["phase"] == "Running"

    def test_an_unreachable_broker_keeps_the_pipeline_from_running(self) -> None:
        desired = plan.build_children(self.lp())
        error = "kafka at broker:9092: Local: Broker transport failure"
        status = st.build_status(
            desired, observed_ready(desired), generation=3, previous={}, refusals=[], now=NOW, topics=error
        )
        assert "topics" not in status
        assert status["components"][st.TOPICS_COMPONENT] == {
            "kind": "Topic",
            "name": "",
            "ready": "False",
            "message": error,
            "since": NOW,
        }
        assert status["phase"] == "Creating" and st.TOPICS_COMPONENT in status["message"]

    def test_the_crd_refuses_operator_kept_topics_with_scram(self) -> None:
        rules = crd.crd_schema(CRD)["properties"]["spec"]["properties"]["kafka"]["x-kubernetes-validations"]
        assert any("topicManagement" in r["rule"] and "authentication" in r["rule"] for r in rules)


class TestUnknownAndFailed:
    LATER = "2026-01-01T00:06:00Z"  # six minutes after NOW: past the grace period

    def test_unknown_is_healthy_only_within_the_grace_period(self) -> None:
        desired = plan.build_children(lp())
        first = st.build_status(desired, observed_ready(desired), generation=3, previous={}, refusals=[], now=NOW)
        assert first["phase"] == "Running" and first["components"]["spark"]["since"] == NOW
        later = st.build_status(
            desired, observed_ready(desired), generation=3, previous=first, refusals=[], now=self.LATER
        )
        assert later["components"]["spark"]["since"] == NOW  # still Unknown since then
        assert later["phase"] == "Degraded"
        ready = {cond["type"]: cond for cond in later["conditions"]}["Ready"]
        assert ready["status"] == "False"
        assert (
            "no status from the Spark operator or the Strimzi topic operator for 300 s (kafka-topics, spark)"
            in (ready["message"])
        )
        assert "is it installed and watching this namespace?" in ready["message"]

    def test_a_component_that_becomes_ready_restarts_its_clock(self) -> None:
        desired = plan.build_children(lp())
        first = st.build_status(desired, observed_ready(desired), generation=3, previous={}, refusals=[], now=NOW)
        answered = {
            "SparkApplication": {
                "applicationState": {"state": "RUNNING"},
                "executorState": {"lp-exec-1": "RUNNING", "lp-exec-2": "RUNNING"},
            },
            "KafkaTopic": {"conditions": [{"type": "Ready", "status": "True"}]},
            "KafkaUser": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        observed = [
            {**o, "status": answered[o["kind"]]} if o["kind"] in answered else o for o in observed_ready(desired)
        ]
        later = st.build_status(desired, observed, generation=3, previous=first, refusals=[], now=self.LATER)
        assert later["components"]["spark"] == {**later["components"]["spark"], "ready": "True", "since": self.LATER}
        assert later["phase"] == "Running"

    def test_failed_status_names_the_problems(self) -> None:
        status = st.failed_status(4, {"phase": "Running"}, ["spec.image: not allowed", "spec.x: bad"], NOW)
        assert status["phase"] == "Failed" and status["observedGeneration"] == 4
        conds = {cond["type"]: cond for cond in status["conditions"]}
        assert conds["Ready"]["reason"] == conds["SpecAccepted"]["reason"] == "InvalidSpec"
        assert conds["SpecAccepted"]["message"] == "spec.image: not allowed; spec.x: bad"

    def test_apply_failure_keeps_the_phase_and_says_when_it_retries(self) -> None:
        previous = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        status = st.apply_failed(4, previous, "API server answered 503: busy", 40, NOW)
        assert "phase" not in status and status["message"] == "API server answered 503: busy (retrying in 40 s)"
        assert [cond["type"] for cond in status["conditions"]] == ["Ready", "Reconciled"]
        assert status["conditions"][1]["status"] == "False" and status["conditions"][1]["reason"] == "ApplyFailed"

    def test_backoff_doubles_up_to_five_minutes(self) -> None:
        from logpipeline_operator import handlers

        assert [handlers.backoff(n) for n in range(8)] == [5, 10, 20, 40, 80, 160, 300, 300]
        assert handlers.backoff(10_000) == 300


class TestPolicy:
    def test_default_images_pass_and_others_are_named(self) -> None:
        assert policy.problems(lp(), policy.Policy()) == []
        bad = crd.logpipeline({"spark": {"image": "evil/miner:1"}, "archive": {"image": "me/hadoop:1"}})
        found = policy.problems(bad, policy.Policy())
        assert [p.split(":")[0] for p in found] == ["spec.spark.image", "spec.archive.image"]
        assert "LOGPIPELINE_OPERATOR_ALLOWED_IMAGES" in found[0]
        assert policy.problems(bad, policy.from_env({policy.ENV_IMAGES: "*"})) == []

    def test_secrets_need_the_allow_list(self) -> None:
        store = {
            "engine": "aws",
            "credentialsSecret": {"name": "aws-keys"},
            "readOnlyCredentialsSecret": {"name": "ro"},
        }
        aws = crd.logpipeline({"metricsStore": store})
        assert [p.split(":")[0] for p in policy.problems(aws, policy.Policy())] == [
            "spec.metricsStore.credentialsSecret.name",
            "spec.metricsStore.readOnlyCredentialsSecret.name",
        ]
        assert policy.problems(aws, policy.from_env({policy.ENV_SECRETS: "aws-keys, ro, other"})) == []
        assert policy.problems(aws, policy.from_env({policy.ENV_SECRETS: "other"})) != []

    def test_the_dashboards_and_receivers_secrets_need_the_allow_list_too(self) -> None:
        ref = {"name": "mine", "key": "k"}
        spec = {
            "dashboard": {"auth": {"sessionKeySecretRef": ref, "adminPasswordSecretRef": {"name": "first", "key": "k"}}},
            "alerting": {
                "enabled": True,
                "slos": [{"name": "a", "objective": "availability", "target": 0.99, "receivers": ["r", "h"]}],
                "receivers": [
                    {"name": "r", "email": {"to": ["a@example.org"], "from": "b@example.org",
                                            "smarthost": "smtp.example.org:587", "passwordSecretRef": ref}},
                    {"name": "h", "webhook": {"url": "https://h.example.org/x", "secretRef": {"name": "hook", "key": "k"}}},
                ],
            },
        }  # fmt: skip
        found = policy.problems(crd.logpipeline(spec), policy.Policy())
        assert [p.split(":")[0] for p in found] == [
            "spec.dashboard.auth.sessionKeySecretRef.name",
            "spec.dashboard.auth.adminPasswordSecretRef.name",
            "spec.alerting.receivers[0].email.passwordSecretRef.name",
            "spec.alerting.receivers[1].webhook.secretRef.name",
        ]
        allowed = policy.from_env({policy.ENV_SECRETS: "mine,first,hook"})
        assert policy.problems(crd.logpipeline(spec), allowed) == []


class TestCommandLine:
    def test_all_namespaces_by_default_or_named_ones(self) -> None:
        assert parse([]).namespace == []
        assert parse(["-n", "a", "-n", "b"]).namespace == ["a", "b"]
        assert parse(["--liveness", "http://127.0.0.1:9/healthz"]).liveness.endswith(":9/healthz")

    def test_liveness_probes_are_not_logged_unless_verbose(self) -> None:
        access = logging.getLogger("aiohttp.access")
        try:
            quiet_libraries(verbose=False)
            assert not access.isEnabledFor(logging.INFO) and access.isEnabledFor(logging.WARNING)
            quiet_libraries(verbose=True)
            assert access.level == logging.NOTSET
        finally:
            access.setLevel(logging.NOTSET)
