"""Anomaly detection against the real stack: 14 days of history in the closed-window archive, the Spark training
job, and the scorer reading the metrics table (the local DynamoDB-API server) and writing its table and Kafka topic,
on a clock the test drives minute by minute, each minute's windows written as the sink writes them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from confluent_kafka import Consumer

from logpipeline import config
from logpipeline.alerting import receivers, slo
from logpipeline.anomalies import modelfile, table
from logpipeline.anomalies.models import ModelStore
from logpipeline.anomalies.notify import Notifier
from logpipeline.anomalies.scoring import Minute
from logpipeline.anomalies.service import Scoring, ServiceConfig
from logpipeline.anomalies.telemetry import Metrics
from logpipeline.contracts import ERROR_RATE_METRIC, P95_METRIC
from logpipeline.dashboard import data, figures, model
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.generator import minutes
from logpipeline.kafka import topics
from logpipeline.kafka.producer import Sender
from logpipeline.metrics import store
from support import anomalies as history
from support.receivers import WebhookServer

MINUTE = 60_000
DAY = 1440
APIS = 6
LIVE_FROM = 14 * DAY + 10 * 60  # 10:00 of the 15th day: the archive ends, the live minutes begin
CLEAN_HOUR = range(LIVE_FROM, LIVE_FROM + 60)
ERRORS_AT, LATENCY_AT = LIVE_FROM + 90, LIVE_FROM + 100  # 11:30 and 11:40
SETTLE_S = 15.0
HOOK_SECRET = "anomaly-hook-signing-key"


@dataclass
class World:
    settings: config.Settings
    data: minutes.Minutes
    root: str
    table: str
    topic: str
    ddb: Any
    trained: dict[str, Any]


def with_incidents(clean: minutes.Minutes) -> minutes.Minutes:
    """The 15th day's two incidents: API 2's error rate to 5% from 11:30, API 3's p95 doubled from 11:40, 20 min."""
    rng = np.random.default_rng(7)
    errors, p95 = clean.errors.copy(), clean.p95.copy()
    span = slice(ERRORS_AT, ERRORS_AT + 20)
    errors[2, span] = rng.binomial(clean.events[2, span], 0.05)
    p95[3, LATENCY_AT : LATENCY_AT + 20] *= 2
    return replace(clean, errors=errors, p95=p95)


@pytest.fixture(scope="module")
def world(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    run = f"anom{int(time.time())}"
    data = with_incidents(minutes.generate(seed=11, apis=APIS, days=15))
    root = tmp_path_factory.mktemp("archive").as_uri()
    history.write_archive(Path(root.removeprefix("file://")), run, data, 0, LIVE_FROM)
    job = subprocess.run(
        [sys.executable, "-m", "logpipeline_spark.train", "--archive-root", root, "--pipeline", run, "--nice", "0",
         "--until", str(data.start_ms + LIVE_FROM * MINUTE), "--driver-memory", "1g"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert job.returncode == 0, job.stderr[-3000:]
    trained = json.loads(job.stdout.strip().splitlines()[-1])
    ddb = store.client(stack.dynamodb_endpoint)
    name = f"{run}_agg_system_logs"
    store.init_table(ddb, name)
    table.ensure_table(ddb, name)
    topic = f"{run}_anomalies"
    topics.ensure(topics.admin_client(stack.kafka_bootstrap), [topics.TopicSpec(topic, 1)])
    yield World(stack, data, root, name, topic, ddb, trained)


def drive(w: World, scorer: Scoring, first: int, end: int, write: bool = True) -> dict[int, list[Minute]]:
    """Minute by minute: the minute's windows into the table, then a cycle 16 s after it ends."""
    done: dict[int, list[Minute]] = {}
    for m in range(first, end):
        if write:
            history.write_minutes(w.ddb, w.table, history.aggregates(w.data, m, m + 1))
        done[m] = scorer.cycle(w.data.start_ms + (m + 1) * MINUTE + int(SETTLE_S * 1000) + 1000)
    return done


def test_training_learns_every_series_from_the_archive(world: World) -> None:
    assert world.trained["series"] == APIS * 3 and world.trained["apis"] == APIS
    assert world.trained["history_until"] == world.data.start_ms + LIVE_FROM * MINUTE
    found = ModelStore(world.root, world.trained["model"].split("/")[-4]).latest()
    assert found is not None and found[0] == world.trained["model"].rsplit("/", 1)[-1]
    scorer, header = modelfile.decode(found[1])
    assert header["history_from"] == world.data.start_ms
    assert scorer.learning() == []  # 14 days: every series past its week of warm-up


def new_anomalies(scorer: Scoring, metric: str) -> float:
    value = scorer.metrics.registry.get_sample_value("logpipeline_anomalies_opened_total", {"metric": metric})
    return value or 0.0


def test_a_clean_hour_flags_nothing_and_incidents_are_flagged_within_three_minutes(world: World) -> None:
    pipeline = world.trained["model"].split("/")[-4]
    sender = Sender.connect(world.settings.kafka_bootstrap, world.topic)

    def publish(records: list[tuple[str, bytes]]) -> None:
        for key, value in records:
            sender.send(key, value)

    cfg = ServiceConfig(table=world.table, endpoint=None, models=ModelStore(world.root, pipeline), settle_s=SETTLE_S)
    first = Scoring(cfg, world.ddb, publish)
    done = drive(world, first, LIVE_FROM, LATENCY_AT + 5)
    scored = [out.minute for outs in done.values() for out in outs]
    assert scored == [world.data.start_ms + m * MINUTE for m in range(LIVE_FROM, LATENCY_AT + 5)]
    clean = [a for m in CLEAN_HOUR for out in done[m] for a in out.opened]
    assert clean == [], f"false alarms in the clean hour: {clean}"
    assert all(s.scored.status == "normal" for m in CLEAN_HOUR for out in done[m] for s in out.scores)
    opened = {(a.api, a.metric): (m, a) for m, outs in done.items() for out in outs for a in out.opened}
    api2, api3 = world.data.apis[2], world.data.apis[3]
    assert set(opened) == {(api2, ERROR_RATE_METRIC), (api3, P95_METRIC)}, opened
    at, errors = opened[(api2, ERROR_RATE_METRIC)]
    assert at - ERRORS_AT < 3, f"flagged {at - ERRORS_AT + 1} minutes after the error step began"
    assert errors.since == world.data.start_ms + ERRORS_AT * MINUTE
    assert errors.observed > 0.03 and errors.expected is not None and errors.expected < 0.015
    at, latency = opened[(api3, P95_METRIC)]
    assert at - LATENCY_AT < 3 and latency.observed > 1.6 * (latency.expected or 0)
    assert new_anomalies(first, P95_METRIC) == 1 and new_anomalies(first, ERROR_RATE_METRIC) == 1

    # a restarted scorer (nothing in memory) resumes where the table says and announces nothing twice
    second = Scoring(cfg, world.ddb, publish)
    later = drive(world, second, LATENCY_AT + 5, LIVE_FROM + 125)
    assert (
        next(out.minute for outs in later.values() for out in outs) == world.data.start_ms + (LATENCY_AT + 5) * MINUTE
    )
    assert new_anomalies(second, P95_METRIC) == 0
    status = table.read_status(world.ddb, world.table)
    assert status is not None and status["learning"] == []
    assert status["written_until"] == world.data.start_ms + (LIVE_FROM + 125) * MINUTE

    # what was written: the table's anomalies (both over by now) and minutes, the topic's records
    stored = table.read_anomalies(world.ddb, world.table, world.data.start_ms, world.data.start_ms + 15 * DAY * MINUTE)
    assert {(d["api"], d["metric"]) for d in stored} == set(opened)
    assert not any(d["open"] for d in stored)
    minute = world.data.start_ms + (ERRORS_AT + 5) * MINUTE
    row = table.read_scores(world.ddb, world.table, api2, minute, minute + MINUTE)[minute][ERROR_RATE_METRIC]
    assert row["status"] == "anomaly" and row["value"] > row["upper"] and row["since"] == errors.since
    assert sender.flush(30) == 0 and not sender.failed
    sender.close()
    consumer = Consumer({"bootstrap.servers": world.settings.kafka_bootstrap, "group.id": world.topic,
                         "auto.offset.reset": "earliest"})  # fmt: skip
    consumer.subscribe([world.topic])
    kinds: list[str] = []
    deadline = time.monotonic() + 30
    while len(kinds) < 125 * APIS * 3 and time.monotonic() < deadline:
        for message in consumer.consume(1000, 1.0):
            if message.error() is None and message.value() is not None:
                kinds.append(json.loads(message.value() or b"{}")["kind"])
    consumer.close()
    assert kinds.count("score") == 125 * APIS * 3 and kinds.count("anomaly") >= 4

    # what the dashboard reads of it: the API's expected ranges and anomalous minutes, the list, the marks
    source = data.Source(DashboardSettings(world.table, world.settings.dynamodb_endpoint, 4, None, 180, 0))
    lo, hi = world.data.start_ms + LIVE_FROM * MINUTE, world.data.start_ms + (LIVE_FROM + 125) * MINUTE
    view = source.anomaly_view(lo, hi, api2)
    assert len(view.scores) == 125 and [a["metric"] for a in view.anomalies] == [ERROR_RATE_METRIC]
    band = figures.anomaly_band(view.scores, ERROR_RATE_METRIC)
    assert len(band["data"][-1]["x"]) >= 15  # the step's minutes, marked
    overview = source.anomaly_view(lo, hi)
    marks = model.anomaly_marks(overview.anomalies, lo, hi)
    assert {(m.api, m.at) for m in marks} == {(errors.api, errors.since), (latency.api, latency.since)}


def test_anomalies_notify_through_the_alerting_receivers_once_each(world: World, tmp_path: Path) -> None:
    """The anomalies table is the outbox: both anomalies opened and ended, so four notices wait; a webhook that
    fails keeps them waiting, one that answers gets each once, with its idempotency key and signature."""
    (tmp_path / "hook-secret").write_text(HOOK_SECRET)
    with WebhookServer(HOOK_SECRET) as hook:
        doc = {"receivers": [{"name": "hook", "webhook": {"url": hook.url, "secretFile": str(tmp_path / "hook-secret"),
                                                          "timeoutSeconds": 1, "maxAttempts": 1}}],
               "anomalies": {"receivers": ["hook"], "severity": "ticket"}}  # fmt: skip
        notifier = Notifier(world.ddb, world.table, slo.parse(doc), receivers.deliver, Metrics())
        now = world.data.start_ms + (LIVE_FROM + 130) * MINUTE
        hook.mode = "fail"
        assert notifier.once(now) == 0
        hook.mode = "ok"
        assert notifier.once(now) == 4
        assert notifier.once(now) == 0
        bodies = [d.body for d in hook.accepted]
        seen = sorted((b["api"], b["metric"], b["status"]) for b in bodies)
        api2, api3 = world.data.apis[2], world.data.apis[3]
        assert seen == sorted([(api2, ERROR_RATE_METRIC, "firing"), (api2, ERROR_RATE_METRIC, "resolved"),
                               (api3, P95_METRIC, "firing"), (api3, P95_METRIC, "resolved")])  # fmt: skip
        assert all(b["type"] == "anomaly" and b["severity"] == "ticket" for b in bodies)
        keys = {d.headers.get(receivers.IDEMPOTENCY_HEADER) for d in hook.accepted}
        assert len(keys) == 4 and all(str(k).startswith("anomaly:") for k in keys)


def test_without_a_usable_model_the_scorer_learns_and_says_so(world: World, unique: str) -> None:
    name = f"cold{unique}_agg_system_logs"
    store.init_table(world.ddb, name)
    table.ensure_table(world.ddb, name)
    cold = replace(world, table=name)
    unreadable = ModelStore("hdfs://127.0.0.1:9000/", "nowhere", webhdfs=None)  # no WebHDFS address: not readable
    cfg = ServiceConfig(table=name, endpoint=None, models=unreadable, settle_s=SETTLE_S)
    scorer = Scoring(cfg, world.ddb, lambda records: None)
    done = drive(cold, scorer, ERRORS_AT - 2, ERRORS_AT + 8)
    outs = [out for outs in done.values() for out in outs]
    assert outs and all(s.scored.status == "learning" for out in outs for s in out.scores)
    assert not any(out.opened for out in outs)  # the error step passes unjudged: no history, no verdict
    status = table.read_status(world.ddb, name)
    assert status is not None and len(status["learning"]) == APIS * 3 and status["model"] is None
    assert all(entry["history_minutes"] <= 10 for entry in status["learning"])
    assert (scorer.metrics.registry.get_sample_value("logpipeline_anomalies_model_errors_total") or 0) >= 1
