"""Two regional pipelines' anomaly scorers on one anomalies table (what a global table's replica holds), against
the real DynamoDB-API server: each keeps its scores, anomalies and status under its own keys, the same API's
anomaly in both regions is two anomalies announced once each (through a real webhook server), and the dashboard
shows every region's anomalies, or one region's with its bands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from logpipeline.alerting import receivers, slo
from logpipeline.anomalies import table
from logpipeline.anomalies.detector import Scored
from logpipeline.anomalies.notify import Notifier
from logpipeline.anomalies.scoring import Anomaly, Score
from logpipeline.anomalies.telemetry import Metrics
from logpipeline.contracts import ERROR_RATE_METRIC
from logpipeline.dashboard import data
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.metrics import store
from support.moto import MotoServer, moto_server
from support.receivers import WebhookServer

MINUTE = 60_000
T0 = 1_790_000_000_000 // MINUTE * MINUTE
API = "/api/v1/pay"
REGIONS = ("eu-west-1", "us-east-1")
SECRET = "regional-anomaly-hook-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as running:
        yield running


def anomaly(observed: float) -> Anomaly:
    return Anomaly(API, ERROR_RATE_METRIC, T0, T0 + 2 * MINUTE, 0.01, observed, 0.01, observed, 6.5)


def score(minute: int, value: float) -> Score:
    scored = Scored(minute, value, 0.01, 0.0, 0.02, 6.5, True, "anomalous", T0)
    return Score(API, ERROR_RATE_METRIC, minute, scored, 20_000)


def test_each_regions_scorer_keeps_its_own_anomalies_and_each_is_announced_once(
    server: MotoServer, unique: str, tmp_path: Path
) -> None:
    ddb, name = store.client(server.endpoint), f"anom_{unique}"
    store.init_table(ddb, name)
    table.ensure_table(ddb, name)
    observed = {"eu-west-1": 0.08, "us-east-1": 0.2}
    for region in REGIONS:  # the same API, metric and minute in both regions
        assert table.put_anomaly(ddb, name, anomaly(observed[region]), region=region)  # new in each region
        table.write_scores(ddb, name, [score(T0 + i * MINUTE, observed[region]) for i in range(3)], region=region)
        table.write_status(ddb, name, {"learning": [{"api": API, "metric": "p95", "history_minutes": 10}],
                                       "series": 3, "warmup_minutes": 10_080, "written_until": T0}, region)  # fmt: skip
    assert not table.put_anomaly(ddb, name, anomaly(0.09), region="eu-west-1")  # an update, not a new one
    for region in REGIONS:
        [doc] = table.read_anomalies(ddb, name, T0, T0 + MINUTE, region)
        assert doc["region"] == region and doc["worst_observed"] == (0.09 if region == "eu-west-1" else 0.2)
        scores = table.read_scores(ddb, name, API, T0, T0 + 3 * MINUTE, region)
        assert [s[ERROR_RATE_METRIC]["value"] for s in scores.values()] == [observed[region]] * 3
    assert table.read_anomalies(ddb, name, T0, T0 + MINUTE) == []  # nothing under the region-less keys
    assert table.read_status(ddb, name) is None

    (tmp_path / "hook-secret").write_text(SECRET)
    with WebhookServer(SECRET) as hook:
        section: dict[str, Any] = {
            "receivers": [{"name": "hook", "webhook": {"url": hook.url, "secretFile": str(tmp_path / "hook-secret")}}],
            "anomalies": {"receivers": ["hook"], "severity": "ticket"},
        }
        notifiers = {r: Notifier(ddb, name, slo.parse(section), receivers.deliver, Metrics(), r) for r in REGIONS}
        assert notifiers["eu-west-1"].once(T0 + 3 * MINUTE) == 1  # eu-west-1's alone
        assert [d.body["region"] for d in hook.accepted] == ["eu-west-1"]
        assert notifiers["us-east-1"].once(T0 + 3 * MINUTE) == 1  # us-east-1's was left for its own notifier
        assert notifiers["eu-west-1"].once(T0 + 3 * MINUTE) == 0  # each announced once
        assert sorted(d.body["region"] for d in hook.accepted) == list(REGIONS)
        keys = [d.headers.get(receivers.IDEMPOTENCY_HEADER) for d in hook.accepted]
        assert len(set(keys)) == 2 and all(f"anomaly:{r}|{API}" in str(k) for r, k in zip(REGIONS, keys, strict=True))

    src = data.Source(DashboardSettings(name, server.endpoint, 4, None, 180, 0, regions=REGIONS))
    both = src.anomaly_view(T0, T0 + 10 * MINUTE, API)
    assert sorted(a["region"] for a in both.anomalies) == list(REGIONS)
    assert both.scores == {}  # a band is one region's model: none in the global view
    assert both.status is not None and both.status["series"] == 6 and len(both.status["learning"]) == 2
    eu = src.anomaly_view(T0, T0 + 10 * MINUTE, API, "eu-west-1")
    assert [a["region"] for a in eu.anomalies] == ["eu-west-1"]
    assert [s[ERROR_RATE_METRIC]["value"] for s in eu.scores.values()] == [0.08] * 3
