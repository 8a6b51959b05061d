"""The pipeline in real pods against the embedded local mode, side by side, on this machine.

Prints: seconds from ``kubectl apply`` to every child pod Ready and to the first aggregate readable through the
query layer; the peak memory of the cluster (its processes and every pod's cgroup) plus the pipeline; freshness
(event → counted by the query layer, one probe a second for ``BENCH_SECONDS``) p50/p95 measured from a pod inside the
cluster, then the same probes against ``logpipeline up``'s local mode, and the ratio of the p95s.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline import config
from logpipeline.metrics import query, store
from logpipeline.pipeline import bench, processes
from logpipeline.stack import process
from logpipeline_operator import constants
from support import local_pipeline
from support.node import config as node_config
from support.node import pipeline, runner
from support.node.fixtures import progress, real_node
from support.wait import wait_for

__all__ = ["real_node"]
pytestmark = pytest.mark.benchmark

NS = "bench"
NAME = "bench"
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
PROBE = f"""
import json
from logpipeline import config
from logpipeline.kafka.producer import Sender
from logpipeline.metrics import query, store
from logpipeline.pipeline.bench import BenchConfig, probe_loop
s = config.load()
reader = query.Reader(store.client(s.dynamodb_endpoint), s.names.table)
sender = Sender.connect(s.kafka_bootstrap, s.names.input_topic)
print(json.dumps(probe_loop(sender, reader, BenchConfig(freshness_seconds={SECONDS}, probe_interval=1.0))))
"""
MEMORY_CGROUP = Path("/sys/fs/cgroup/memory/kubepods")


class PeakMemory(threading.Thread):
    """Every second: the RSS of the node's processes (pid files under its root) plus the pods' memory cgroup."""

    def __init__(self, node: runner.Node) -> None:
        super().__init__(daemon=True)
        self.node, self.peak, self.stopped = node, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            files = [*(self.node.root / "run").glob("*.pid"), *(self.node.cp.root / "run").glob("*.pid")]
            pids = [process.read_pid(f) for f in files]
            total = sum(process.rss_bytes(pid) for pid in pids if pid)
            usage = MEMORY_CGROUP / "memory.usage_in_bytes"
            total += int(usage.read_text()) if usage.exists() else 0
            self.peak = max(self.peak, total)


def _p(values: list[float], q: float) -> float:
    finite = sorted(v for v in values if math.isfinite(v))
    return bench.percentile(finite, q) if finite else float("inf")


def _pod_ready_all(node: runner.Node) -> bool:
    items = json.loads(
        node.cp.kubectl("get", "pods", "-n", NS, "-l", f"{constants.LABEL_INSTANCE}={NAME}", "-o", "json").stdout
    )["items"]
    components = {p["metadata"]["labels"].get(constants.LABEL_COMPONENT) for p in items}
    ready = all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []) for p in items
    )
    return ready and {"hdfs-namenode", "hdfs-datanode", "sink", "dashboard", "spark", "generator"} <= components


def _cluster_ip(node: runner.Node, service: str) -> str:
    got = json.loads(node.cp.kubectl("get", "service", service, "-n", NS, "-o", "json").stdout)
    return f"http://{got['spec']['clusterIP']}:{got['spec']['ports'][0]['port']}"


def _probe_in_pod(node: runner.Node, image: str) -> list[float]:
    security = node_config.RESTRICTED_CONTAINER
    env = [{"name": n, "valueFrom": {"secretKeyRef": {"name": pipeline.SECRETS[1], "key": n}}}
           for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]  # fmt: skip
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "probe", "namespace": NS},
           "spec": {"restartPolicy": "Never", "containers": [{
               "name": "probe", "image": image, "imagePullPolicy": "Never", "command": ["python", "-c", PROBE],
               "envFrom": [{"configMapRef": {"name": f"{NAME}-config"}}], "env": env, "securityContext": security}]}}  # fmt: skip
    node.cp.kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    done = ("Succeeded", "Failed")

    def phase() -> str:
        got = json.loads(node.cp.kubectl("get", "pod", "probe", "-n", NS, "-o", "json").stdout)
        return str(got["status"].get("phase"))

    wait_for(lambda: phase() in done, SECONDS + 300, "the probe pod")
    latencies: list[float] = json.loads(node.cp.kubectl("logs", "probe", "-n", NS).stdout.strip().splitlines()[-1])
    return latencies


@pytest.fixture()
def local_mode(stack: config.Settings) -> Iterator[config.Settings]:
    with local_pipeline.running("bench", processes.Options(generator=True, rate=20)) as settings:
        yield settings


def test_real_pods_against_the_local_mode(
    real_node: runner.Node, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    cache = config.load().cache
    built = pipeline.build_images(cache, real_node, progress)
    pipeline.install_operator(real_node, cache, tmp_path_factory.mktemp("helm"), built.operator)
    pipeline.prepare_namespace(real_node, NS, built)
    memory = PeakMemory(real_node)
    memory.start()
    body = {"apiVersion": constants.API_VERSION, "kind": constants.KIND, "metadata": {"name": NAME},
            "spec": pipeline.spec(NS, built, 20)}  # fmt: skip
    applied = time.monotonic()
    real_node.cp.kubectl("apply", "-n", NS, "-f", "-", input_text=json.dumps(body))
    wait_for(lambda: _pod_ready_all(real_node), 600, "every child pod Ready")
    ready_s = time.monotonic() - applied
    reader = query.Reader(store.client(_cluster_ip(real_node, "dynamodb")), "agg_system_logs")
    now = int(time.time() * 1000)
    wait_for(lambda: reader.windows(now - 3_600_000, now + 3_600_000), 600, "the first aggregate")
    first_s = time.monotonic() - applied
    pods = _probe_in_pod(real_node, built.services)
    memory.stopped.set()
    memory.join()
    real_node.cp.kubectl("delete", "logpipeline", NAME, "-n", NS, "--wait=true", "--timeout=180s")
    runner.down(real_node)  # the local mode gets the machine to itself
    local_settings = request.getfixturevalue("local_mode")
    local = bench.probe_loop(
        bench.Sender.connect(local_settings.kafka_bootstrap, local_settings.names.input_topic),
        query.Reader(store.client(local_settings.dynamodb_endpoint), local_settings.names.table),
        bench.BenchConfig(freshness_seconds=SECONDS, probe_interval=1.0),
    )
    figures: dict[str, Any] = {
        "apply_to_all_pods_ready_s": round(ready_s, 1),
        "apply_to_first_aggregate_s": round(first_s, 1),
        "peak_memory_cluster_and_pipeline_mib": round(memory.peak / 2**20),
        "freshness_pods_p50_s": round(_p(pods, 50), 2),
        "freshness_pods_p95_s": round(_p(pods, 95), 2),
        "freshness_local_p50_s": round(_p(local, 50), 2),
        "freshness_local_p95_s": round(_p(local, 95), 2),
    }
    figures["freshness_p95_ratio_pods_to_local"] = round(
        figures["freshness_pods_p95_s"] / figures["freshness_local_p95_s"], 2
    )
    print("\nreal pods vs local mode:", json.dumps(figures, indent=1), file=sys.stderr)
    assert len(pods) >= SECONDS * 0.8 and len(local) >= SECONDS * 0.8
