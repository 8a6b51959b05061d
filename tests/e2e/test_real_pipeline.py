"""The whole pipeline in real pods, as a user runs it: ``helm install``, ``kubectl apply`` a LogPipeline, then look.

It runs twice, once per Spark mode, each in its own namespace with its own Kafka broker and DynamoDB-API server:
``spark.mode: submit`` (the project's own driver Deployment) and ``spark.mode: operator`` (a SparkApplication run by
the Kubeflow Spark operator, installed from its own chart with the image built here); the submit-mode pipeline is a
regional one (``spec.region``), and both run the aggregates in real-time mode, the default. Every child pod (HDFS
NameNode and DataNode, sink, dashboard x2, Spark driver and executor, generator) becomes Running and Ready from the
images built from the project's Dockerfiles; the status reaches ``Running`` only then; generated events flow through
Kafka, Spark, the sink and the DynamoDB-API server; once the generator stops, the dashboard, opened in real Chromium
at its Service, shows per-level counts equal to what the generator put into the input topic; deleting the LogPipeline
leaves nothing of it behind.
"""

from __future__ import annotations

import datetime
import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from logpipeline import contracts
from logpipeline.config import Settings
from logpipeline.events.schema import LOG_LEVELS
from logpipeline_operator import constants
from support.dashboard import ARTIFACTS, chromium, sign_in
from support.node import config, images, pipeline, runner, sparkoperator
from support.node.fixtures import progress
from support.wait import wait_for

pytestmark = pytest.mark.e2e

NAME = "real"
RATE = 20
# Counts every event of the input topic by log level, from its beginning to its end offsets, and prints them as JSON.
COUNT_INPUT = """
import json, os
from confluent_kafka import Consumer, TopicPartition
topic = os.environ["LOGPIPELINE_INPUT_TOPIC"]
c = Consumer({"bootstrap.servers": os.environ["LOGPIPELINE_KAFKA_BOOTSTRAP"], "group.id": "e2e-count",
              "enable.auto.commit": False, "auto.offset.reset": "earliest"})
parts = c.list_topics(topic, timeout=30).topics[topic].partitions
ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in parts}
c.assign([TopicPartition(topic, p, 0) for p in parts])
counts, left = {}, {p: e for p, e in ends.items() if e > 0}
while left:
    for m in c.consume(500, timeout=5):
        if m.error() or m.partition() not in left:
            continue
        level = json.loads(m.value())["log_level"]
        counts[level] = counts.get(level, 0) + 1
        if m.offset() + 1 >= left[m.partition()]:
            del left[m.partition()]
print(json.dumps({"total": sum(ends.values()), "levels": counts}))
"""


@pytest.fixture(scope="module")
def installed(real_node: runner.Node, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pipeline.Images]:
    cache = Settings().cache
    built = pipeline.build_images(cache, real_node, progress)
    pipeline.install_operator(real_node, cache, tmp_path_factory.mktemp("helm"), built.operator)
    yield built


@dataclass(frozen=True)
class Run:
    """One pass of this module's tests: a Spark mode and the namespace its pipeline runs in."""

    mode: str
    ns: str
    region: str = ""  # a regional pipeline (``spec.region``): its items, alert states and anomalies under its keys


# The submit-mode pass is a regional pipeline in the region of its metrics store; it runs the batch jobs too.
RUNS = {"submit": Run("submit", "pipelines", "us-east-1"), "operator": Run("operator", "spark-jobs")}


@pytest.fixture(scope="module", params=list(RUNS))
def run(
    request: pytest.FixtureRequest,
    real_node: runner.Node,
    installed: pipeline.Images,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    """The namespace with what a user brings; in operator mode the Spark operator too, from its own chart."""
    chosen = RUNS[request.param]
    pipeline.prepare_namespace(real_node, chosen.ns, installed)
    if chosen.mode == "operator":
        cache = Settings().cache
        image = sparkoperator.image(cache, progress)
        images.load(cache, real_node.layout, [image], progress)
        sparkoperator.install(real_node, cache, tmp_path_factory.mktemp("helm"), image, [chosen.ns])
        sparkoperator.wait_ready(real_node)
    yield chosen
    real_node.cp.kubectl("delete", "namespace", chosen.ns, "--wait=false")  # frees the node for the next pass


def _json(node: runner.Node, *args: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(node.cp.kubectl(*args, "-o", "json").stdout)
    return data


def _status(node: runner.Node, ns: str) -> dict[str, Any]:
    status: dict[str, Any] = _json(node, "get", "logpipeline", NAME, "-n", ns).get("status", {})
    return status


def _pipeline_pods(node: runner.Node, ns: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _json(node, "get", "pods", "-n", ns, "-l", f"{constants.LABEL_INSTANCE}={NAME}")[
        "items"
    ]
    return items


def _ready(pod: dict[str, Any]) -> bool:
    conditions = pod["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _diagnose(node: runner.Node, ns: str) -> str:
    pods = node.cp.kubectl("get", "pods", "-A", "-o", "wide", check=False).stdout
    events = node.cp.kubectl("get", "events", "-n", ns, "--sort-by=.lastTimestamp", check=False).stdout[-4000:]
    return f"status: {json.dumps(_status(node, ns), indent=1)[:4000]}\npods:\n{pods}\nevents:\n{events}"


def _instant(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _spark(pod: dict[str, Any]) -> bool:
    """A pod of the Spark job. In operator mode the status takes the Spark operator's word for these: its RUNNING
    follows the pods' phase, which a pod reaches before the kubelet reports it Ready."""
    return bool(pod["metadata"]["labels"].get(constants.LABEL_COMPONENT) == "spark")


def _executor(pod: dict[str, Any]) -> bool:
    name: str = pod["metadata"]["name"]
    return name.startswith(f"{NAME}-spark") and "exec" in name


def test_every_child_pod_runs_and_the_status_follows(
    real_node: runner.Node, installed: pipeline.Images, run: Run
) -> None:
    body = {
        "apiVersion": constants.API_VERSION,
        "kind": constants.KIND,
        "metadata": {"name": NAME},
        "spec": {**pipeline.spec(run.ns, installed, RATE, run.mode), **({"region": run.region} if run.region else {})},
    }
    started = time.monotonic()
    real_node.cp.kubectl("apply", "-n", run.ns, "-f", "-", input_text=json.dumps(body))
    components = ("hdfs-namenode", "hdfs-datanode", "sink", "dashboard", "spark", "generator", "alerts", "anomalies")

    early: list[str] = []  # pods not yet Ready while the status already said Running

    def all_ready() -> bool:
        status = _status(real_node, run.ns)
        phase = status.get("phase")
        # when the status last became Ready: a pod made later (a restart) is the next resync's to report
        since = next((c["lastTransitionTime"] for c in status.get("conditions") or [] if c["type"] == "Ready"), "")
        pods = _pipeline_pods(real_node, run.ns)
        present = {p["metadata"]["labels"].get(constants.LABEL_COMPONENT) for p in pods}
        started_executor = any(_executor(p) for p in pods)  # the driver starts it, after its own pod is Ready
        ready = (
            set(components) <= present
            and started_executor
            and all(_ready(p) for p in pods if p["status"].get("phase") != "Succeeded")
        )
        if phase == "Running" and not ready:
            early.extend(
                p["metadata"]["name"]
                for p in pods
                if not _ready(p)
                and (not since or _instant(p["metadata"]["creationTimestamp"]) <= _instant(since))
                and not (run.mode == "operator" and _spark(p))
            )
        return ready

    ready = wait_for(all_ready, 600, "every child pod Ready", fail=False)
    assert ready, _diagnose(real_node, run.ns)
    progress(f"every child pod Ready {time.monotonic() - started:.0f} s after kubectl apply")
    running = wait_for(lambda: _status(real_node, run.ns).get("phase") == "Running", 120, "phase Running", fail=False)
    assert running, _diagnose(real_node, run.ns)
    assert early == [], f"the status said Running before these pods were Ready: {sorted(set(early))}"
    pods = _pipeline_pods(real_node, run.ns)
    dashboards = [p for p in pods if p["metadata"]["labels"][constants.LABEL_COMPONENT] == "dashboard"]
    executors = [p for p in pods if _executor(p)]
    assert len(dashboards) == 2 and len(executors) == 1, [p["metadata"]["name"] for p in pods]
    assert all(p["status"]["podIP"].startswith("198.18.") for p in pods)
    driver = next(p["metadata"]["name"] for p in pods if _spark(p) and not _executor(p))

    # The Spark operator's driver pod has no readiness of the job's own: Ready as it runs, maybe before its queries
    # start (the job first waits for HDFS to leave safe mode, as just after the NameNode starts).
    def both_started() -> bool:
        return len(_started_queries(real_node, run.ns, driver)) == 2

    wait_for(both_started, 300, "both queries started", interval=2.0, fail=False)
    assert _started_queries(real_node, run.ns, driver) == {"aggregates": "realtime", "route": "microbatch"}


def _started_queries(node: runner.Node, ns: str, driver: str) -> dict[str, str]:
    """Each query the driver's log says it started, with its mode (its ``query started`` JSON lines)."""
    log = node.cp.kubectl("logs", driver, "-n", ns, check=False).stdout
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{") and '"query started"' in line]
    return {line["query"]: line["mode"] for line in lines}


def _count_input(node: runner.Node, ns: str) -> dict[str, Any]:
    """What the generator put into the input topic, counted by a pod of the services image."""
    security = config.RESTRICTED_CONTAINER
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "count-input", "namespace": ns},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "count",
                    "image": _json(node, "get", "logpipeline", NAME, "-n", ns)["spec"]["image"],
                    "imagePullPolicy": "Never",
                    "command": ["python", "-c", COUNT_INPUT],
                    "envFrom": [{"configMapRef": {"name": f"{NAME}-config"}}],
                    "securityContext": security,
                }
            ],
        },
    }
    node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    done = ("Succeeded", "Failed")
    wait_for(lambda: _json(node, "get", "pod", "count-input", "-n", ns)["status"].get("phase") in done, 180, "count")
    log = node.cp.kubectl("logs", "count-input", "-n", ns).stdout
    node.cp.kubectl("delete", "pod", "count-input", "-n", ns, "--wait=false")
    counted: dict[str, Any] = json.loads(log.strip().splitlines()[-1])
    return counted


def _pods_of(node: runner.Node, ns: str, component: str) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in _pipeline_pods(node, ns)
        if p["metadata"]["labels"].get(constants.LABEL_COMPONENT) == component
    ]


def _uids(node: runner.Node, ns: str, names: set[str]) -> set[str]:
    return {p["metadata"]["uid"] for p in _pipeline_pods(node, ns) if p["metadata"]["name"] in names}


def _all_ready_again(node: runner.Node, ns: str, gone: set[str]) -> bool:
    """Every pod Ready, none of the deleted ones (by uid: a StatefulSet's pod comes back under its name), Running."""
    pods = _pipeline_pods(node, ns)
    uids = {p["metadata"]["uid"] for p in pods}
    return not (uids & gone) and all(_ready(p) for p in pods) and _status(node, ns).get("phase") == "Running"


def test_faults_with_real_pods_lose_nothing(real_node: runner.Node, run: Run) -> None:
    """While events flow: the Spark driver's pod deleted, the sink's pod restarted, a child Deployment deleted (the
    operator restores it) and the NameNode's pod restarted (the job resumes from its checkpoint on HDFS). The counts
    checked by the next test include every event sent meanwhile."""
    time.sleep(15)
    # submit mode: the driver Deployment's pod (real-spark-driver-<hash>); operator mode: real-stream-driver
    driver = [name for name in _pods_of(real_node, run.ns, "spark") if "-driver" in name]
    assert len(driver) == 1, _pods_of(real_node, run.ns, "spark")
    gone = _uids(
        real_node,
        run.ns,
        {*driver, *_pods_of(real_node, run.ns, "sink"), *_pods_of(real_node, run.ns, "hdfs-namenode")},
    )
    real_node.cp.kubectl("delete", "pod", "-n", run.ns, *driver, "--wait=false")
    time.sleep(10)
    real_node.cp.kubectl("delete", "pod", "-n", run.ns, *_pods_of(real_node, run.ns, "sink"), "--wait=false")
    real_node.cp.kubectl("delete", "deployment", f"{NAME}-dashboard", "-n", run.ns, "--wait=false")
    time.sleep(10)
    real_node.cp.kubectl("delete", "pod", "-n", run.ns, f"{NAME}-hdfs-namenode-0", "--wait=false")

    def dashboard_available() -> bool:
        got = real_node.cp.kubectl("get", "deployment", f"{NAME}-dashboard", "-n", run.ns, "-o", "json", check=False)
        return got.returncode == 0 and json.loads(got.stdout).get("status", {}).get("availableReplicas") == 2

    restored = wait_for(
        dashboard_available,  # NotFound until the operator has recreated it
        180,
        "the dashboard Deployment restored by the operator",
        fail=False,
    )
    assert restored, _diagnose(real_node, run.ns)
    again = wait_for(lambda: _all_ready_again(real_node, run.ns, gone), 600, "every pod Ready again", fail=False)
    assert again, _diagnose(real_node, run.ns)
    events = _json(real_node, "get", "events", "-n", run.ns, "--field-selector", "reason=Recreated")["items"]
    assert any(f"recreated Deployment {NAME}-dashboard" in e.get("message", "") for e in events), events


SENT = "logpipeline_alerts_notifications_sent_total"
METRICS = f"""
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:{contracts.ALERTS_HTTP_PORT}/metrics", timeout=5).read().decode())
"""


def _notified(node: runner.Node, ns: str) -> float:
    """Firing notices the alerts pods sent to the SMS receiver (their own /metrics, read inside each pod)."""
    total = 0.0
    for pod in _pods_of(node, ns, "alerts"):
        out = node.cp.kubectl("exec", "-n", ns, pod, "--", "python", "-c", METRICS, check=False).stdout
        for line in out.splitlines():
            if line.startswith(SENT) and 'receiver="oncall"' in line and 'kind="firing"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_the_alerts_pod_pages_by_sms_through_sns(real_node: runner.Node, run: Run) -> None:
    """The generator's 1% of 5xx on payments breaks a 99.99% SLO: the alerts pod pages through the SNS API of the
    namespace's DynamoDB-API server, as it would through AWS's."""
    sent = wait_for(lambda: _notified(real_node, run.ns) >= 1, 300, "an SMS page sent", fail=False)
    assert sent, _diagnose(real_node, run.ns)


def test_through_the_ingress_pages_need_sign_in_and_health_and_metrics_are_not_routed(
    real_node: runner.Node, run: Run
) -> None:
    def status(path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", real_node.ingress_port, timeout=30)
        conn.request("GET", path, headers={"Host": pipeline.DASHBOARD_HOST, "Accept": "text/html"})
        answer = conn.getresponse()
        conn.close()
        return answer.status, answer.getheader("Location") or ""

    assert status("/") == (302, "/auth/login?next=/")
    assert status("/auth/login")[0] == 200
    for path in ("/healthz", "/readyz", "/metrics"):
        assert status(path)[0] == 404, path


def test_the_dashboard_shows_what_the_generator_sent(real_node: runner.Node, run: Run) -> None:
    """Through the Ingress controller, in Chromium: the per-level counts equal what the generator put into Kafka."""
    time.sleep(15)  # events after the faults too
    real_node.cp.kubectl(
        "patch", "lp", NAME, "-n", run.ns, "--type=merge", "-p", '{"spec":{"generator":{"enabled":false}}}'
    )
    wait_for(
        lambda: (
            not [
                p
                for p in _pipeline_pods(real_node, run.ns)
                if p["metadata"]["labels"][constants.LABEL_COMPONENT] == "generator"
            ]
        ),
        120,
        "the generator pod gone",
    )
    truth = _count_input(real_node, run.ns)
    assert truth["total"] > RATE * 10, truth
    expected = {level: f"{truth['levels'].get(level, 0):,}" for level in LOG_LEVELS}
    site = f"http://{pipeline.DASHBOARD_HOST}:{real_node.ingress_port}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium([f"--host-resolver-rules=MAP {pipeline.DASHBOARD_HOST} 127.0.0.1"]) as browser:
        page = browser.new_page()
        sign_in(page, site, "admin", pipeline.ADMIN_PASSWORD, path="/?range=1h")  # the first user, from its Secret
        try:
            page.wait_for_function(
                "w => Object.entries(w).every(([lv, v]) => document.getElementById(`ov-kpi-${lv}`)?.textContent === v)",
                arg=expected,
                timeout=240_000,
            )
        finally:
            page.screenshot(path=str(ARTIFACTS / "real-pods-dashboard.png"), full_page=True)
        shown = page.evaluate(
            "levels => Object.fromEntries(levels.map(lv => [lv, document.getElementById(`ov-kpi-${lv}`)?.textContent]))",
            list(LOG_LEVELS),
        )
    assert shown == expected


SCORER_METRICS = f"""
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:{contracts.ANOMALIES_HTTP_PORT}/metrics", timeout=5).read().decode())
"""


def _scorer(node: runner.Node, ns: str) -> dict[str, float]:
    """The anomaly scorer's unlabelled figures, from its own /metrics read inside its pod."""
    (pod,) = _pods_of(node, ns, "anomalies")
    out = node.cp.kubectl("exec", "-n", ns, pod, "--", "python", "-c", SCORER_METRICS, check=False).stdout
    figures = {}
    for line in out.splitlines():
        if line.startswith("logpipeline_anomalies_") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            figures[name] = float(value)
    return figures


def test_the_scorer_pod_scores_every_closed_minute(real_node: runner.Node, run: Run) -> None:
    """Each closed minute of every API's three series is scored into the anomalies table and topic (no model yet:
    every series says it is learning), minute after minute, without failing cycles once it runs (a cycle before
    the sink created the table fails and is counted)."""
    figures: dict[str, float] = {}

    def scored(at_least: float) -> bool:
        figures.update(_scorer(real_node, run.ns))
        return figures.get("logpipeline_anomalies_minutes_scored_total", 0) >= at_least

    assert wait_for(lambda: scored(2), 180, "minutes scored", fail=False), (figures, _diagnose(real_node, run.ns))
    assert figures["logpipeline_anomalies_series"] >= 3 and figures["logpipeline_anomalies_series"] % 3 == 0, figures
    assert figures["logpipeline_anomalies_series_learning"] == figures["logpipeline_anomalies_series"], figures
    before = dict(figures)
    later = before["logpipeline_anomalies_minutes_scored_total"] + 1
    assert wait_for(lambda: scored(later), 120, "the next minute scored", fail=False), figures
    for name in ("logpipeline_anomalies_cycle_errors_total", "logpipeline_anomalies_records_undelivered_total"):
        assert figures.get(name, 0) == before.get(name, 0), (name, before, figures)


def _run_job_of(node: runner.Node, ns: str, cronjob: str) -> str:
    """A Job of ``cronjob`` created now, as ``kubectl create job --from`` does; its log once it has succeeded."""
    job = f"{cronjob.removeprefix(NAME + '-')}-now"
    node.cp.kubectl("create", "job", job, f"--from=cronjob/{cronjob}", "-n", ns)

    def ended() -> bool:
        status = _json(node, "get", "job", job, "-n", ns).get("status", {})
        return bool(status.get("succeeded") or status.get("failed"))

    wait_for(ended, 900, f"the Job {job} ended")
    log = node.cp.kubectl("logs", f"job/{job}", "-n", ns, "--tail=400", check=False).stdout
    succeeded = _json(node, "get", "job", job, "-n", ns)["status"].get("succeeded")
    assert succeeded, f"{job} failed:\n{log[-4000:]}\n{_diagnose(node, ns)}"
    return log


def _summary(log: str) -> dict[str, Any]:
    """The training run's summary, the one JSON line of its standard output with the model's figures."""
    for line in reversed(log.splitlines()):
        if line.startswith("{") and '"series"' in line:
            data: dict[str, Any] = json.loads(line)
            return data
    raise AssertionError(f"no training summary in:\n{log[-4000:]}")


def test_the_training_job_learns_the_archive_and_the_scorer_takes_its_model(real_node: runner.Node, run: Run) -> None:
    """The correction job archives the closed windows on HDFS, the training job (its CronJob's pod, spark-submit in
    local mode) learns every API's series from them into a model file on HDFS, and the scorer loads that model
    within a minute, through WebHDFS."""
    if run.mode == "operator":
        pytest.skip("the batch jobs do not depend on the Spark mode: they run in the submit-mode pass")
    errors = _scorer(real_node, run.ns).get("logpipeline_anomalies_model_errors_total", 0)  # e.g. HDFS starting
    started = time.monotonic()
    _run_job_of(real_node, run.ns, f"{NAME}-correct")
    progress(f"correction Job done in {time.monotonic() - started:.0f} s")
    started = time.monotonic()
    summary = _summary(_run_job_of(real_node, run.ns, f"{NAME}-training"))
    progress(f"training Job done in {time.monotonic() - started:.0f} s: {json.dumps(summary)}")
    assert summary["series"] >= 3 and summary["series"] % 3 == 0, summary
    assert summary["model"].startswith("hdfs://") and "/models/anomalies/model-" in summary["model"], summary
    trained_at = int(summary["model"].rsplit("model-", 1)[1].removesuffix(".json")) / 1000
    figures: dict[str, float] = {}

    def taken() -> bool:
        figures.update(_scorer(real_node, run.ns))
        return figures.get("logpipeline_anomalies_model_trained_at_seconds") == trained_at

    assert wait_for(taken, 150, "the scorer on the new model", fail=False), (figures, trained_at)
    assert figures.get("logpipeline_anomalies_model_errors_total", 0) == errors, figures
    assert figures["logpipeline_anomalies_series"] >= summary["series"], (figures, summary)


def test_deleting_the_logpipeline_leaves_nothing_of_it(real_node: runner.Node, run: Run) -> None:
    real_node.cp.kubectl("delete", "logpipeline", NAME, "-n", run.ns, "--wait=true", "--timeout=180s")
    selector = f"{constants.LABEL_INSTANCE}={NAME}"
    kinds = "deployments,statefulsets,pods,services,configmaps,persistentvolumeclaims,cronjobs,jobs,networkpolicies"
    wait_for(
        lambda: not _json(real_node, "get", kinds, "-n", run.ns, "-l", selector)["items"],
        180,
        "every child of the pipeline gone",
    )
