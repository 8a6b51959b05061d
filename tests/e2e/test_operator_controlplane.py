"""The operator against a real control plane: kube-apiserver + etcd + controller-manager + scheduler + KWOK.

One LogPipeline goes through its life in order: applied with kubectl, children
created and owned, Running once the simulated pods are ready, changed, a child
deleted behind the operator's back, and finally deleted with everything it owned.
"""

from __future__ import annotations

import json
import time
import urllib.error
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from logpipeline import versions
from logpipeline.config import Settings
from logpipeline_operator.builders import plan
from support.cluster import kubectl_json, make_namespace
from support.controlplane.runner import ControlPlane
from support.crd import EXAMPLE_FILE
from support.wait import wait_for

NS = "pipelines"


@pytest.fixture(scope="module")
def namespace(control_plane: ControlPlane, operator: str) -> str:
    return make_namespace(control_plane, NS)


def _lp(cp: ControlPlane) -> dict[str, Any]:
    return kubectl_json(cp, "get", "logpipeline", "example", "-n", NS)


def _get(cp: ControlPlane, obj: dict[str, Any]) -> dict[str, Any] | None:
    path = plan.resource_path(obj["apiVersion"], obj["kind"], NS, obj["metadata"]["name"])
    try:
        return cp.get(path)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise


def _all_children(cp: ControlPlane) -> list[dict[str, Any]]:
    desired = plan.build_children(_lp(cp))
    found = [_get(cp, obj) for obj in desired]
    return [obj for obj in found if obj is not None] if all(found) else []


def _merge_patch(cp: ControlPlane, spec: dict[str, Any]) -> None:
    cp.kubectl("patch", "logpipeline", "example", "-n", NS, "--type=merge", "-p", json.dumps({"spec": spec}))


def test_operator_serves_its_liveness_endpoint(operator: str) -> None:
    import urllib.request

    with urllib.request.urlopen(operator, timeout=5) as resp:
        assert resp.status == 200


def test_apply_creates_every_child_with_owner_references(control_plane: ControlPlane, namespace: str) -> None:
    out = control_plane.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE_FILE))
    assert "logpipeline.logpipeline.io/example created" in out.stdout
    children = wait_for(lambda: _all_children(control_plane), 60, "every child of the LogPipeline")
    uid = _lp(control_plane)["metadata"]["uid"]
    kinds = {child["kind"] for child in children}
    assert {"KafkaTopic", "SparkApplication", "StatefulSet", "Deployment", "HorizontalPodAutoscaler"} <= kinds
    assert {"PodDisruptionBudget", "Ingress", "PersistentVolumeClaim", "ConfigMap", "Service"} <= kinds
    for child in children:
        refs = child["metadata"]["ownerReferences"]
        assert [(r["kind"], r["uid"], r["controller"]) for r in refs] == [("LogPipeline", uid, True)]


def test_status_reaches_running_once_simulated_pods_are_ready(control_plane: ControlPlane, namespace: str) -> None:
    def running() -> dict[str, Any] | None:
        lp = _lp(control_plane)
        return lp if lp.get("status", {}).get("phase") == "Running" else None

    lp = wait_for(running, 180, "phase Running")
    status = lp["status"]
    assert status["observedGeneration"] == lp["metadata"]["generation"]
    comps = status["components"]
    for name in ("dashboard", "sink", "dynamodb", "hdfs-namenode", "hdfs-datanode", "generator"):
        assert comps[name]["ready"] == "True", comps[name]
    # No Strimzi or Spark operator runs here: their resources report nothing yet, which is not a failure.
    assert comps["kafka-topics"]["ready"] == "Unknown" and comps["spark"]["ready"] == "Unknown"
    ready = next(cond for cond in status["conditions"] if cond["type"] == "Ready")
    assert ready["status"] == "True"
    table = control_plane.kubectl("get", "lp", "-n", namespace).stdout
    header, row = table.splitlines()[:2]
    assert header.split()[:6] == ["NAME", "READY", "PHASE", "INPUT", "TOPIC", "DASHBOARD"]
    assert row.split()[:5] == ["example", "True", "Running", "logging_info", "logs.example.local"]


def test_operator_records_events(control_plane: ControlPlane, namespace: str) -> None:
    events = kubectl_json(
        control_plane, "get", "events", "-n", namespace, "--field-selector=involvedObject.name=example"
    )
    reasons = {event["reason"] for event in events["items"] if event["involvedObject"]["kind"] == "LogPipeline"}
    assert "Reconciled" in reasons


def test_spec_changes_roll_out_to_children(control_plane: ControlPlane, namespace: str) -> None:
    _merge_patch(
        control_plane,
        {
            "sink": {"replicas": 3},
            "kafka": {"topics": {"input": {"partitions": 6}}},
            # real-time mode: 6 input partitions + 3 need 9 task slots, 3 executors of the example's 3 cores
            "spark": {"executor": {"instances": 3}},
            "dashboard": {"ingress": {"enabled": False}},
        },
    )
    app = {
        "apiVersion": "sparkoperator.k8s.io/v1beta2",
        "kind": "SparkApplication",
        "metadata": {"name": "example-stream"},
    }
    sink = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "example-sink"}}
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "example-topic-input"},
    }
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "example-dashboard"}}
    wait_for(lambda: (_get(control_plane, sink) or {}).get("spec", {}).get("replicas") == 3, 60, "sink replicas 3")
    wait_for(lambda: (_get(control_plane, topic) or {}).get("spec", {}).get("partitions") == 6, 60, "6 partitions")
    wait_for(lambda: _get(control_plane, ingress) is None, 60, "the Ingress pruned")
    wait_for(lambda: (_get(control_plane, app) or {})["spec"]["executor"]["instances"] == 3, 60, "3 executors")
    wait_for(
        lambda: (_get(control_plane, sink) or {}).get("status", {}).get("availableReplicas") == 3, 90, "3 sink pods"
    )


ALERTING = {
    "enabled": True,
    "slos": [{"name": "checkout", "objective": "availability", "target": 0.999, "per": "api", "receivers": ["hook"]}],
    "receivers": [{"name": "hook", "webhook": {"url": "https://hooks.example.org/slo",
                                               "secretRef": {"name": "hook-key", "key": "hmac"}}}],
}  # fmt: skip


def test_alerting_adds_its_service_and_turning_it_off_prunes_it(control_plane: ControlPlane, namespace: str) -> None:
    _merge_patch(control_plane, {"alerting": ALERTING})
    alerts = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "example-alerts"}}
    definition = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "example-alerting"}}
    wait_for(lambda: _get(control_plane, alerts) is not None, 60, "the alerts Deployment")
    doc = json.loads((_get(control_plane, definition) or {})["data"]["alerting.yaml"])
    assert doc["receivers"][0]["webhook"]["secretFile"].endswith("/hook/secretFile")
    sources = (_get(control_plane, alerts) or {})["spec"]["template"]["spec"]["volumes"][1]["projected"]["sources"]
    assert {"secret": {"name": "hook-key", "items": [{"key": "hmac", "path": "hook/secretFile"}]}} in sources
    wait_for(lambda: "alerts" in ((_lp(control_plane).get("status") or {}).get("components") or {}), 90,
             "the alerts component in the status")  # fmt: skip
    _merge_patch(control_plane, {"alerting": {"enabled": False}})
    wait_for(lambda: _get(control_plane, alerts) is None and _get(control_plane, definition) is None, 60, "pruned")


def test_partition_decrease_is_refused_with_a_condition(control_plane: ControlPlane, namespace: str) -> None:
    _merge_patch(control_plane, {"kafka": {"topics": {"input": {"partitions": 2}}}})

    def refused() -> dict[str, Any] | None:
        for cond in _lp(control_plane).get("status", {}).get("conditions") or []:
            if cond["type"] == "SpecAccepted" and cond["status"] == "False":
                return dict(cond)
        return None

    cond = wait_for(refused, 60, "SpecAccepted=False")
    assert cond["reason"] == "PartitionDecreaseRefused"
    assert "spec.kafka.topics.input.partitions: 2" in cond["message"] and "keeping 6" in cond["message"]
    topic = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {"name": "example-topic-input"},
    }
    assert (_get(control_plane, topic) or {})["spec"]["partitions"] == 6
    _merge_patch(control_plane, {"kafka": {"topics": {"input": {"partitions": 6}}}})


def test_a_topic_resource_of_an_earlier_name_lets_go_of_its_topic_before_it_is_pruned(
    control_plane: ControlPlane, namespace: str
) -> None:
    """Topic resources used to be named after the topic: such a leftover is released (Strimzi then leaves the topic
    and its records in Kafka) and only then deleted. A finalizer of the test's holds it to look at."""
    lp = _lp(control_plane)
    labels = {"app.kubernetes.io/instance": "example", "app.kubernetes.io/managed-by": "logpipeline-operator",
              "app.kubernetes.io/name": "logpipeline", "app.kubernetes.io/component": "kafka-topics",
              "strimzi.io/cluster": "logpipeline-kafka"}  # fmt: skip
    owner = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "name": "example",
             "uid": lp["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}  # fmt: skip
    old = {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaTopic",
        "metadata": {
            "name": "example-topic-logging-info",
            "namespace": NS,
            "labels": labels,
            "ownerReferences": [owner],
            "finalizers": ["test.logpipeline.io/hold"],
        },
        "spec": {"topicName": "logging_info", "partitions": 6, "replicas": 1},
    }
    control_plane.kubectl("apply", "-f", "-", input_text=json.dumps(old))
    _merge_patch(control_plane, {"sink": {"replicas": 2}})  # any change: the operator reconciles and prunes

    def released() -> dict[str, Any] | None:
        got = _get(control_plane, old)
        return got if got and got["metadata"].get("deletionTimestamp") else None

    held = wait_for(released, 60, "the old topic resource deleted")
    assert held["metadata"]["annotations"]["strimzi.io/managed"] == "false"
    control_plane.kubectl("patch", "kafkatopic", "example-topic-logging-info", "-n", NS, "--type=json",
                          "-p", json.dumps([{"op": "remove", "path": "/metadata/finalizers"}]))  # fmt: skip
    wait_for(lambda: _get(control_plane, old) is None, 30, "the old topic resource gone")
    assert (_get(control_plane, {**old, "metadata": {"name": "example-topic-input"}}) or {})["spec"]["topicName"] == (
        "logging_info"
    )
    _merge_patch(control_plane, {"sink": {"replicas": 3}})


def test_a_deleted_child_is_recreated(control_plane: ControlPlane, namespace: str) -> None:
    def settled() -> bool:
        lp = _lp(control_plane)
        return bool(lp.get("status", {}).get("observedGeneration") == lp["metadata"]["generation"])

    wait_for(settled, 60, "the last spec change handled")
    sink = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "example-sink"}}
    old_uid = (_get(control_plane, sink) or {})["metadata"]["uid"]
    control_plane.kubectl("delete", "deployment", "example-sink", "-n", namespace, "--wait=true")

    def recreated() -> bool:
        got = _get(control_plane, sink)
        return got is not None and got["metadata"]["uid"] != old_uid

    wait_for(recreated, 60, "the sink Deployment recreated")

    def recreated_event() -> bool:
        events = kubectl_json(control_plane, "get", "events", "-n", namespace, "--field-selector=reason=Recreated")
        return any("recreated Deployment example-sink" in event["message"] for event in events["items"])

    wait_for(recreated_event, 30, "a Recreated event")


def test_a_spec_outside_the_allow_lists_fails_once_and_recovers_when_fixed(
    control_plane: ControlPlane, namespace: str
) -> None:
    """Accepted by the API server, refused by the operator's policy: Failed with the field named, one Warning
    Event, no child and no retry loop; fixing the spec brings it up."""
    body = {
        "apiVersion": "logpipeline.io/v1alpha1",
        "kind": "LogPipeline",
        "metadata": {"name": "refused", "namespace": namespace},
        "spec": {"spark": {"image": "someone/else:1"}},
    }
    control_plane.kubectl("apply", "-f", "-", input_text=json.dumps(body))

    def failed() -> dict[str, Any] | None:
        status = kubectl_json(control_plane, "get", "lp", "refused", "-n", namespace).get("status") or {}
        return status if status.get("phase") == "Failed" else None

    status = wait_for(failed, 60, "phase Failed")
    ready = {cond["type"]: cond for cond in status["conditions"]}["Ready"]
    assert ready["status"] == "False" and ready["reason"] == "InvalidSpec"
    assert ready["message"].startswith("spec.spark.image: image 'someone/else:1' is not allowed")
    time.sleep(8)  # long enough for several retries of a hot loop: none may come
    events = kubectl_json(
        control_plane, "get", "events", "-n", namespace, "--field-selector=involvedObject.name=refused"
    )["items"]
    invalid = [e for e in events if e["reason"] == "InvalidSpec"]
    assert len(invalid) == 1 and invalid[0].get("count", 1) == 1 and invalid[0]["type"] == "Warning"
    assert not [e for e in events if e["reason"] == "Reconciled"]
    children = kubectl_json(control_plane, "get", "all", "-n", namespace, "-l", "app.kubernetes.io/instance=refused")
    assert children["items"] == []

    control_plane.kubectl(
        "patch",
        "lp",
        "refused",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"spark": {"image": None}}}),
    )
    wait_for(lambda: (failed() is None) and _phase(control_plane, namespace, "refused") in ("Creating", "Running"),
             60, "recovered once the spec is fixed")  # fmt: skip
    control_plane.kubectl("delete", "lp", "refused", "-n", namespace, "--wait=true")


def _phase(cp: ControlPlane, namespace: str, name: str) -> str:
    return str((kubectl_json(cp, "get", "lp", name, "-n", namespace).get("status") or {}).get("phase", ""))


INVALID_SPECS: list[tuple[str, dict[str, Any], str]] = [
    # (metadata.name, spec, the field the API server's message names)
    ("bad", {"kafka": {"topics": {"input": {"partitions": 0}}}}, "spec.kafka.topics.input.partitions"),
    ("bad", {"kafka": {"topics": {"input": {"partitions": "three"}}}}, "spec.kafka.topics.input.partitions"),
    ("bad", {"kafka": {"topics": {"input": {"retentionMs": 1000}}}}, "spec.kafka.topics.input.retentionMs"),
    ("bad", {"kafka": {"topics": {"aggregates": {"name": "logging_info"}}}}, "spec.kafka.topics.aggregates.name"),
    ("bad", {"kafka": {"topics": {"deadLetter": {"name": "logging.info"}}}}, "spec.kafka.topics.deadLetter.name"),
    ("bad", {"kafka": {"topics": {"input": {"name": "bad topic"}}}}, "spec.kafka.topics.input.name"),
    ("bad", {"kafka": {"topic": {"input": {"name": "x"}}}}, "spec.kafka.topic"),
    ("bad", {"replicas": 2}, "spec.replicas"),
    ("bad", {"imagePullPolicy": "Sometimes"}, "spec.imagePullPolicy"),
    ("bad", {"spark": {"mode": "yarn"}}, "spec.spark.mode"),
    ("bad", {"generator": {"enabled": "yes"}}, "spec.generator.enabled"),
    ("bad", {"dashboard": {"replicas": 500}}, "spec.dashboard.replicas"),
    ("bad", {"metricsStore": {"engine": "aws"}}, "spec.metricsStore.credentialsSecret"),
    ("bad", {"metricsStore": {"engine": "aws", "credentialsSecret": {"name": "k"}}},
     "spec.metricsStore.readOnlyCredentialsSecret"),
    ("bad", {"dashboard": {"autoscaling": {"minReplicas": 9, "maxReplicas": 3}}}, "spec.dashboard.autoscaling.minReplicas"),
    ("bad", {"dashboard": {"ingress": {"host": "Not A Host"}}}, "spec.dashboard.ingress.host"),
    ("bad", {"correction": {"schedule": "* *"}}, "spec.correction.schedule"),
    ("bad", {"archive": {"enabled": False}}, "spec.spark.checkpointRoot"),
    ("bad", {"kafka": {"topicManagement": "operator"}}, "spec.kafka.authentication"),
    ("bad", {"metricsStore": {"endpoint": "http://store:8000"}}, "spec.metricsStore.endpoint"),
    ("bad", {"metricsStore": {"engine": "aws", "credentialsSecret": {"name": "a"},
                              "readOnlyCredentialsSecret": {"name": "b"}, "endpoint": "store:8000"}},
     "spec.metricsStore.endpoint"),
    ("bad", {"kafka": {"topicManagement": "zookeeper"}}, "spec.kafka.topicManagement"),
    ("bad", {"archive": {"enabled": False}, "spark": {"checkpointRoot": "not a uri"}}, "spec.spark.checkpointRoot"),
    ("bad", {"alerting": {"enabled": True}}, "alerting.enabled needs at least one SLO"),
    ("bad", {"alerting": {"slos": [{"name": "a", "objective": "availability", "target": 0.99, "receivers": ["x"]}]}},
     "spec.alerting.slos"),
    ("bad", {"alerting": {"slos": [{"name": "a", "objective": "latency", "target": 0.99, "receivers": ["x"]}],
                          "receivers": [{"name": "x", "sms": {"phoneNumbers": ["+15555550100"]}}]}},
     "a latency SLO needs thresholdMs"),
    ("bad", {"alerting": {"slos": [{"name": "a", "objective": "availability", "target": 1, "receivers": ["x"]}]}},
     "spec.alerting.slos[0].target"),
    ("bad", {"alerting": {"receivers": [{"name": "x", "sms": {"phoneNumbers": ["+1"]}, "webhook": {"url": "https://h"}}]}},
     "a receiver has exactly one of email, sms, webhook"),
    ("bad", {"alerting": {"receivers": [{"name": "x", "webhook": {"url": "https://h", "secret": "plain"}}]}},
     "spec.alerting.receivers[0].webhook.secret"),
    ("bad", {"alerting": {"receivers": [{"name": "x", "sms": {"phoneNumbers": ["555-0100"]}}]}},
     "spec.alerting.receivers[0].sms.phoneNumbers[0]"),
    ("bad", {"alerting": {"receivers": [{"name": "x", "sms": {"phoneNumbers": ["+15555550100"]}}],
                          "anomalies": {"receivers": ["y"]}}},
     "every alerting.anomalies.receivers entry must name one of alerting.receivers"),
    ("bad", {"anomalies": {"training": {"requestCores": "half"}}}, "spec.anomalies.training.requestCores"),
    ("bad", {"metricsStore": {"replicaRegions": ["eu-west-1"]}}, "metricsStore.replicaRegions is for engine aws"),
    ("bad", {"region": "eu#west"}, "spec.region"),
    ("bad", {"spark": {"executor": {"instances": 2}}},  # real-time by default; 2 executors x 1 core, 3 partitions
     "spark.aggregatesMode realtime needs spark.executor.instances x spark.executor.cores of at least"),
    ("bad", {"spark": {"aggregatesMode": "continuous"}}, "spec.spark.aggregatesMode"),
    ("bad", {"dashboard": {"regions": ["eu-west-1", "Mars"]}}, "spec.dashboard.regions[1]"),
    ("bad", {"dashboard": {"staleSeconds": 10}}, "spec.dashboard.staleSeconds"),
    ("bad", {"metricsStore": {"engine": "aws", "credentialsSecret": {"name": "a"},
                              "readOnlyCredentialsSecret": {"name": "b"}, "replicaRegions": ["Europe"]}},
     "spec.metricsStore.replicaRegions[0]"),
    ("bad.name", {}, "metadata.name"),
    ("1bad", {}, "metadata.name"),
    ("x" * 39, {}, "metadata.name"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "spec", "field"), INVALID_SPECS)
def test_invalid_specs_are_rejected_naming_the_field(
    control_plane: ControlPlane, namespace: str, name: str, spec: dict[str, Any], field: str
) -> None:
    """Each refused by the API server itself (schema, CEL rules, strict field validation): nothing is stored."""
    body = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "metadata": {"name": name}, "spec": spec}
    out = control_plane.kubectl(
        "apply", "--validate=strict", "-n", namespace, "-f", "-", input_text=json.dumps(body), check=False
    )
    assert out.returncode != 0
    assert field in out.stderr, out.stderr
    assert control_plane.kubectl("get", "lp", name, "-n", namespace, check=False).returncode != 0


def test_a_real_time_pipeline_with_a_slot_for_each_long_running_task_is_accepted(
    control_plane: ControlPlane, namespace: str
) -> None:
    """3 input partitions + 2 x 1 state partition + 1 for the route query: 6 executor cores are enough."""
    spark = {"aggregatesMode": "realtime", "executor": {"instances": 2, "cores": 3, "requestCores": "500m"}}
    body = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "metadata": {"name": "realtime"},
            "spec": {"spark": spark, "generator": {"enabled": False}}}  # fmt: skip
    out = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-", input_text=json.dumps(body)
    )
    stored = json.loads(out.stdout)["spec"]
    assert stored["spark"]["aggregatesMode"] == "realtime" and stored["spark"]["version"] == versions.SPARK_VERSION
    body["spec"]["kafka"] = {"topics": {"input": {"partitions": 4}}}  # one more long-running task than cores
    refused = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", "-", input_text=json.dumps(body), check=False
    )
    assert refused.returncode != 0 and "spark.aggregatesMode realtime needs" in refused.stderr, refused.stderr


def test_a_pipeline_without_executors_runs_in_real_time_with_a_slot_per_task(
    control_plane: ControlPlane, namespace: str
) -> None:
    """The defaults: real-time mode, two executors of 3 cores (6 slots for 3 input partitions) requesting 1 core."""
    body = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "metadata": {"name": "defaults"},
            "spec": {"generator": {"enabled": False}}}  # fmt: skip
    out = control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-o", "json", "-f", "-", input_text=json.dumps(body)
    )
    stored = json.loads(out.stdout)["spec"]
    assert stored["spark"]["aggregatesMode"] == "realtime"
    assert stored["spark"]["executor"] == {"instances": 2, "cores": 3, "requestCores": "1", "memory": "2g"}
    assert stored["kafka"]["topics"]["input"]["partitions"] == 3


def test_a_pipelines_region_cannot_change(control_plane: ControlPlane, namespace: str) -> None:
    """Its items carry the region in their keys: the API server refuses a change (a CEL transition rule)."""
    body = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "metadata": {"name": "regional"},
            "spec": {"region": "eu-west-1", "generator": {"enabled": False}}}  # fmt: skip
    try:
        control_plane.kubectl("apply", "-n", namespace, "-f", "-", input_text=json.dumps(body))
        moved = json.dumps({"spec": {"region": "us-east-1"}})
        out = control_plane.kubectl(
            "patch", "lp", "regional", "-n", namespace, "--type=merge", "-p", moved, check=False
        )
        assert out.returncode != 0 and "spec.region is immutable" in out.stderr, out.stderr
        region = control_plane.kubectl("get", "lp", "regional", "-n", namespace, "-o", "jsonpath={.spec.region}")
        assert region.stdout == "eu-west-1"
    finally:
        control_plane.kubectl("delete", "lp", "regional", "-n", namespace, "--wait=false", check=False)


def test_deleting_the_logpipeline_garbage_collects_everything(control_plane: ControlPlane, namespace: str) -> None:
    desired = plan.build_children(_lp(control_plane))
    control_plane.kubectl("delete", "logpipeline", "example", "-n", namespace, "--wait=true")
    wait_for(lambda: all(_get(control_plane, obj) is None for obj in desired), 120, "every child gone")
    selector = "app.kubernetes.io/instance=example"
    for kind in ("pods", "persistentvolumeclaims", "replicasets"):
        wait_for(
            lambda kind=kind: not kubectl_json(control_plane, "get", kind, "-n", namespace, "-l", selector)["items"],
            120,
            f"every {kind} of the pipeline gone",
        )


def test_the_operator_keeps_the_topics_itself_on_a_plain_kafka(
    control_plane: ControlPlane, namespace: str, stack: Settings, unique: str
) -> None:
    """``kafka.topicManagement: operator`` against the local stack's broker: no KafkaTopic, the topics on Kafka, and
    the broker's report in the status."""
    names = {"input": f"in-{unique}", "aggregates": f"agg-{unique}", "deadLetter": f"in-{unique}.dlq",
             "anomalies": f"anom-{unique}"}  # fmt: skip
    kafka = {
        "topicManagement": "operator",
        "authentication": "none",
        "bootstrapServers": stack.kafka_bootstrap,
        "topics": {role: {"name": name, "partitions": 2} for role, name in names.items()},
    }
    body = {"apiVersion": "logpipeline.io/v1alpha1", "kind": "LogPipeline", "metadata": {"name": "plain"},
            "spec": {"kafka": kafka, "generator": {"enabled": False}}}  # fmt: skip
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input_text=json.dumps(body))

    def reported() -> list[dict[str, Any]]:
        status = kubectl_json(control_plane, "get", "logpipeline", "plain", "-n", namespace).get("status", {})
        topics: list[dict[str, Any]] = status.get("topics") or []
        return topics if status.get("components", {}).get("kafka-topics", {}).get("ready") == "True" else []

    topics = wait_for(reported, 90, "status.topics from the broker")
    assert {t["name"]: t["partitions"] for t in topics} == dict.fromkeys(names.values(), 2)
    assert set(names.values()) <= set(
        AdminClient({"bootstrap.servers": stack.kafka_bootstrap}).list_topics(timeout=10).topics
    )
    kinds = kubectl_json(
        control_plane, "get", "kafkatopics,kafkausers", "-n", namespace, "-l", "app.kubernetes.io/instance=plain"
    )
    assert kinds["items"] == []
    control_plane.kubectl("delete", "logpipeline", "plain", "-n", namespace, "--wait=true")
