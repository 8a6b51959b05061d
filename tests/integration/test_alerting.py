"""SLO alerting against real servers: per-minute aggregates written into a real table (moto's DynamoDB-API
server, which also serves SNS), evaluators on a clock the test controls, and notifications read back from a real
SMTP server (STARTTLS and AUTH), a webhook server that checks signatures, and the SNS requests the server got."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from logpipeline import contracts
from logpipeline.alerting import lifecycle, receivers, slo, state
from logpipeline.alerting.evaluator import Evaluator
from logpipeline.alerting.service import load_definition
from logpipeline.alerting.telemetry import Metrics
from logpipeline.dashboard import data
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.metrics import digest, query, store, synthetic
from logpipeline.metrics.records import Aggregate
from support.moto import MotoServer
from support.receivers import SmtpServer, WebhookServer, recorded_sms, start_recording

MINUTE = 60_000
T0 = 1_780_000_000_000 // 3_600_000 * 3_600_000
API = "/api/v1/checkout"
PER_MINUTE = 1000
SECRET = "webhook-signing-key-of-the-test"
PHONE = "+15555550100"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    moto = MotoServer(tmp_path_factory.mktemp("moto"))
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def sns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A second server for SNS alone, recording what it receives (its recorder is not safe under the parallel
    queries of the table's traffic)."""
    root = tmp_path_factory.mktemp("sns")
    moto = MotoServer(root, recording=root / "recording.jsonl")
    moto.start()
    start_recording(moto.endpoint)
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    with SmtpServer(tmp_path_factory.mktemp("smtp")) as running:
        yield running


@pytest.fixture()
def hook() -> Iterator[WebhookServer]:
    with WebhookServer(SECRET, stall_s=2.0) as running:
        yield running


def template(level: str, latency_ms: float) -> Aggregate:
    return synthetic.window_aggregate(API, level, 0, [latency_ms] * 20, [200 if level == "INFO" else 503] * 20, 1)


GOOD, BAD = template("INFO", 120.0), template("ERROR", 900.0)


def minute_aggregates(minute: int, bad: float, per_minute: int = PER_MINUTE) -> list[Aggregate]:
    start = T0 + minute * MINUTE
    n_bad = round(per_minute * bad)
    out = [GOOD._replace(window_start=start, window_end=start + MINUTE, log_count=per_minute - n_bad, updated_at=start)]
    if n_bad:
        out.append(BAD._replace(window_start=start, window_end=start + MINUTE, log_count=n_bad, status_5xx=n_bad,
                                updated_at=start))  # fmt: skip
    return out


DEFINITION = """
dashboardUrl: http://127.0.0.1:8050
repeatInterval: 4h
slos:
  - name: checkout-availability
    objective: availability
    target: 0.999
    window: 30d
    api: {api}
    minEvents: {min_events}
    receivers: [mail, hook, phone]
receivers:
  - name: mail
    email:
      to: [sre@example.org]
      from: alerts@example.org
      smarthost: "127.0.0.1:{smtp_port}"
      startTLS: true
      usernameFile: {tmp}/smtp-user
      passwordFile: {tmp}/smtp-password
      caFile: {cert}
  - name: hook
    webhook: {{url: "{hook}", secretFile: {tmp}/hook-secret, timeoutSeconds: 1, maxAttempts: 3}}
  - name: phone
    severities: [page]
    sms: {{phoneNumbers: ["{phone}"], region: us-east-1}}
"""


def definition(tmp: Path, smtp: SmtpServer, hook: WebhookServer, min_events: int = 50) -> slo.Definition:
    """The definition as a user writes it: a YAML file, credentials in files beside it."""
    (tmp / "smtp-user").write_text(smtp.user)
    (tmp / "smtp-password").write_text(smtp.password + "\n")
    (tmp / "hook-secret").write_text(SECRET)
    text = DEFINITION.format(api=API, min_events=min_events, smtp_port=smtp.port, tmp=tmp, cert=smtp.cert,
                             hook=hook.url, phone=PHONE)  # fmt: skip
    (tmp / "alerting.yaml").write_text(text)
    return load_definition(tmp / "alerting.yaml")


@dataclass
class World:
    """One table on the real server, minutes written on the test's clock, evaluators over it."""

    ddb: Any
    table: str
    definition: slo.Definition
    metrics: Metrics = field(default_factory=Metrics)

    def write(self, first: int, minutes: int, bad: float, per_minute: int = PER_MINUTE) -> None:
        aggs = [a for m in range(first, first + minutes) for a in minute_aggregates(m, bad, per_minute)]
        store.bulk_load(self.ddb, self.table, aggs)

    def write_digests(self, first: int, minutes: int, bad: float, per_minute: int = PER_MINUTE) -> None:
        """Only the minute digests (what the evaluator reads), for the long scenarios: half the writes."""
        items = []
        for m in range(first, first + minutes):
            entries = minute_aggregates(m, bad, per_minute)
            pk, sk = digest.key(entries[0])
            items.append({"PutRequest": {"Item": digest.item(pk, sk, entries, 1, 30)}})
        name = digest.table_name(self.table)
        for i in range(0, len(items), 25):
            pending = items[i : i + 25]
            while pending:
                pending = self.ddb.batch_write_item(RequestItems={name: pending}).get("UnprocessedItems", {}).get(name)

    def evaluator(self, deliver: Any = receivers.deliver) -> Evaluator:
        return Evaluator(self.ddb, self.table, self.definition, deliver, self.metrics)

    def states(self) -> dict[str, lifecycle.AlertState]:
        return state.read_states(self.ddb, self.table)


@pytest.fixture()
def world(server: MotoServer, sns: MotoServer, smtp: SmtpServer, hook: WebhookServer, tmp_path: Path, unique: str,
          monkeypatch: pytest.MonkeyPatch) -> World:  # fmt: skip
    monkeypatch.setenv(contracts.ENV_SNS_ENDPOINT, sns.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    ddb = store.client(server.endpoint)
    table = f"alerts_{unique}"
    store.init_table(ddb, table)
    state.ensure_table(ddb, table)
    smtp.inbox.messages.clear()
    made = World(ddb, table, definition(tmp_path, smtp, hook))
    made.write(-3 * 1440, 3 * 1440, 0.0)  # three clean days before T0
    return made


def run(w: World, ev: Evaluator, first: int, minutes: int, bad: float, every: int = 1) -> list[tuple[int, str]]:
    """Write minutes ``first..`` one by one (or ``every`` at a time) and evaluate after each; returns the minutes
    at which the alert's state changed, with the new status/severity."""
    seen, changes = None, []
    for m in range(first, first + minutes, every):
        w.write(m, min(every, first + minutes - m), bad)
        now = T0 + (m + min(every, first + minutes - m)) * MINUTE
        st = ev.cycle(now).get(f"checkout-availability|{API}")
        now_state = (st.status, st.severity) if st else ("inactive", None)
        if now_state != seen:
            changes.append((now // MINUTE - T0 // MINUTE, f"{now_state[0]}:{now_state[1]}"))
            seen = now_state
    return changes


def test_outage_pages_by_email_webhook_and_sms_then_resolves(world: World, smtp: SmtpServer, hook: WebhookServer,
                                                            sns: MotoServer) -> None:  # fmt: skip
    ev = world.evaluator()
    changes = run(world, ev, 0, 2, bad=1.0)
    fired = [m for m, s in changes if s == "firing:page"]
    assert fired and fired[0] <= 2, changes  # within 2 minutes of the first failing minute in the table
    page = [b for b in hook.bodies() if b["kind"] == "firing"]
    assert len(page) == 1 and page[0]["slo"] == "checkout-availability" and page[0]["api"] == API
    assert page[0]["severity"] == "page" and page[0]["burnRates"]["5m"] > 14.4
    assert 0 < page[0]["budgetConsumed"] < 1 and page[0]["exhaustionSeconds"] > 0
    assert page[0]["dashboard"].startswith("http://127.0.0.1:8050/api?name=")
    mails = smtp.messages
    assert len(mails) == 1 and mails[0]["Subject"].startswith("[PAGE] SLO checkout-availability")
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in mails[0].walk() if not p.is_multipart()}
    assert "error budget consumed" in parts["text/plain"] and "<a href=" in parts["text/html"]
    assert mails[0]["X-Idempotency-Key"].strip() == page[0]["idempotencyKey"]
    sms = [s for s in recorded_sms(sns.endpoint) if "checkout-availability" in s["Message"]]
    assert [s["PhoneNumber"] for s in sms] == [PHONE] and sms[0]["Message"].startswith("PAGE")

    changes = run(world, ev, 2, 10, bad=0.0)
    resolved = [m for m, s in changes if s.startswith("inactive")]
    assert resolved and resolved[0] - 2 <= 6, changes
    done = [b for b in hook.bodies() if b["kind"] == "resolved"]
    assert len(done) == 1 and done[0]["status"] == "resolved"
    assert len(smtp.messages) == 2 and smtp.messages[1]["Subject"].startswith("RESOLVED")
    texts = [s["Message"] for s in recorded_sms(sns.endpoint)]
    assert len(texts) == 2 and texts[1].startswith("RESOLVED")  # whoever was paged hears it is over
    assert world.metrics.sent.labels("hook", "resolved")._value.get() == 1


def test_constant_burn_15_pages_at_57_to_59_minutes(world: World, hook: WebhookServer) -> None:
    changes = run(world, world.evaluator(), 0, 62, bad=0.015)
    fired = [m for m, s in changes if s == "firing:page"]
    assert fired and 57 <= fired[0] <= 59, changes
    assert [b["kind"] for b in hook.bodies()] == ["firing"]


def test_burn_2_tickets_at_about_36_hours_and_never_pages(world: World, hook: WebhookServer) -> None:
    ev = world.evaluator()
    changes = run(world, ev, 0, 35 * 60, bad=0.002, every=30)
    changes += run(world, ev, 35 * 60, 2 * 60, bad=0.002)
    assert not any("page" in s for _, s in changes), changes
    ticket = [m for m, s in changes if s == "firing:ticket"]
    assert ticket and abs(ticket[0] - 36 * 60) <= 5, changes
    assert [b["severity"] for b in hook.bodies()] == ["ticket"]


def test_burn_0_9_for_30_days_fires_nothing(world: World, hook: WebhookServer) -> None:
    ev = world.evaluator()
    statuses = set()
    for hour in range(0, 30 * 24, 6):  # evaluated every 6 hours (the unit test judges every 15 minutes)
        world.write_digests(hour * 60, 6 * 60, bad=0.0009, per_minute=10_000)  # 9 bad a minute: 0.9 exactly
        statuses |= {s.status for s in ev.cycle(T0 + (hour + 6) * 60 * MINUTE).values()}
    assert statuses <= {"inactive"} and hook.bodies() == []
    remaining = world.metrics.budget.labels("checkout-availability", API)._value.get()
    assert 0.05 < remaining < 0.2  # 30 days at 0.9 of the budget's pace: about a tenth left


def test_fewer_events_than_the_guard_never_page(world: World, hook: WebhookServer, smtp: SmtpServer,
                                               tmp_path: Path) -> None:  # fmt: skip
    world.definition = definition(tmp_path, smtp, hook, min_events=700)
    ev = world.evaluator()
    for m in range(0, 10):
        world.write(m, 1, 1.0, per_minute=20)  # all failing: 100 events in 5 minutes, 600 in 30
        ev.cycle(T0 + (m + 1) * MINUTE)
    assert hook.bodies() == [] and f"checkout-availability|{API}" not in world.states()  # never even pending
    assert round(world.metrics.burn.labels("checkout-availability", API, "5m")._value.get()) == 1000  # all bad


def test_two_evaluators_at_once_notify_once(world: World, hook: WebhookServer, smtp: SmtpServer) -> None:
    a, b = world.evaluator(), world.evaluator()
    world.write(0, 3, 1.0)
    for m in (1, 2, 3):
        gate = threading.Barrier(2)

        def cycle(ev: Evaluator, minute: int = m, barrier: threading.Barrier = gate) -> None:
            barrier.wait()
            ev.cycle(T0 + minute * MINUTE)

        threads = [threading.Thread(target=cycle, args=(ev,)) for ev in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [x["kind"] for x in hook.bodies()] == ["firing"]
    assert len(smtp.messages) == 1


def test_restarted_evaluator_neither_repeats_nor_forgets(world: World, hook: WebhookServer) -> None:
    run(world, world.evaluator(), 0, 2, bad=1.0)  # two failing minutes: the 1 h / 5 min rule alone
    assert [x["kind"] for x in hook.bodies()] == ["firing"]
    # a new evaluator (the old one killed): only the store remembers the alert, and the repeat interval is 4 h
    fresh = world.evaluator()
    changes = run(world, fresh, 2, 3, bad=0.0)
    assert changes[0][1] == "firing:page" and [x["kind"] for x in hook.bodies()] == ["firing"]
    changes = run(world, world.evaluator(), 5, 5, bad=0.0)  # killed again, then the 5 min window clears
    assert changes[-1][1] == "inactive:None", changes
    assert [x["kind"] for x in hook.bodies()] == ["firing", "resolved"]


def test_an_evaluator_that_dies_mid_delivery_leaves_the_notice_to_the_next(world: World, hook: WebhookServer) -> None:
    class Died(BaseException):
        pass

    def die(*args: Any) -> None:
        raise Died

    world.write(0, 2, 1.0)
    dying = world.evaluator(deliver=die)
    dying.cycle(T0 + 1 * MINUTE)  # pending
    with pytest.raises(Died):
        dying.cycle(T0 + 2 * MINUTE)  # firing: the notice is written, then its evaluator dies delivering it
    outbox = world.states()[f"checkout-availability|{API}"].outbox
    assert outbox is not None and outbox.kind == "firing"
    later = world.evaluator()
    world.write(2, 1, 1.0)
    later.cycle(T0 + 3 * MINUTE)
    assert hook.bodies() == []  # the lease still holds: its owner may yet deliver
    world.write(3, 3, 1.0)
    later.cycle(T0 + 6 * MINUTE)  # the lease (2 minutes) expired
    bodies = hook.bodies()
    assert [x["kind"] for x in bodies] == ["firing"] and bodies[0]["idempotencyKey"] == outbox.key
    assert world.states()[f"checkout-availability|{API}"].outbox is None


@pytest.mark.parametrize("mode", ["fail", "stall"])
def test_failing_receivers_are_retried_then_counted_and_the_others_still_notified(
    world: World, hook: WebhookServer, smtp: SmtpServer, mode: str
) -> None:
    hook.mode = mode  # 500 every time, or an answer only after the client's 1 s timeout
    run(world, world.evaluator(), 0, 3, bad=1.0)
    assert hook.attempts == 3  # maxAttempts, with backoff between
    assert world.metrics.failed.labels("hook", "firing")._value.get() == 1
    assert world.metrics.sent.labels("mail", "firing")._value.get() == 1
    assert len(smtp.messages) == 1 and world.states()[f"checkout-availability|{API}"].outbox is None


def test_a_silence_holds_back_notices_until_it_ends(world: World, hook: WebhookServer) -> None:
    state.add_silence(world.ddb, world.table, lifecycle.Silence("", T0, T0 + 10 * MINUTE, slo="checkout-availability"))
    ev = world.evaluator()
    changes = run(world, ev, 0, 8, bad=1.0)
    assert changes[-1][1] == "firing:page" and hook.bodies() == []
    assert world.metrics.silenced.labels("checkout-availability")._value.get() > 0
    run(world, ev, 8, 4, bad=1.0)  # the silence ended at minute 10
    assert [x["kind"] for x in hook.bodies()] == ["firing"]


def test_a_target_set_for_one_api_replaces_the_definitions(world: World, hook: WebhookServer) -> None:
    """An editor relaxed the checkout SLO to 50% for this API (from the dashboard): a total outage burns its budget
    at 2x, which pages nobody; dropping the override brings back the 99.9% target, and the page."""
    state.write_target(world.ddb, world.table, "checkout-availability", API, 0.5, "editor")
    assert state.read_targets(world.ddb, world.table) == {("checkout-availability", API): 0.5}
    ev = world.evaluator()
    changes = run(world, ev, 0, 3, bad=1.0)
    assert [s for _, s in changes] == ["inactive:None"], changes
    summary = next(s for s in ev.summaries(ev.cycle(T0 + 3 * MINUTE), T0) if s["api"] == API)
    assert summary["target"] == 0.5
    state.write_target(world.ddb, world.table, "checkout-availability", API, None, "editor")
    changes = run(world, ev, 3, 2, bad=1.0)
    assert [s for _, s in changes] == ["pending:page", "firing:page"], changes  # after the pending minute
    with pytest.raises(ValueError, match="target: expected a share between 0 and 1"):
        state.write_target(world.ddb, world.table, "checkout-availability", API, 1.5, "editor")


def test_each_regions_evaluator_judges_and_keeps_its_own_alerts(world: World, hook: WebhookServer,
                                                                server: MotoServer) -> None:  # fmt: skip
    """Two regional pipelines' evaluators on one table (a global table's replica holds both regions' items):
    eu-west-1's outage pages with its region named, us-east-1 stays quiet on its clean traffic, neither writes the
    other's state, and a silence of us-east-1 alone holds back nothing of eu-west-1's."""
    regions = ("eu-west-1", "us-east-1")
    for region in regions:  # an hour of clean traffic in each region, under its own keys
        clean = [a for m in range(-60, 0) for a in minute_aggregates(m, 0.0)]
        store.bulk_load(world.ddb, world.table, clean, region=region)
    state.add_silence(world.ddb, world.table,
                      lifecycle.Silence("", T0, T0 + 60 * MINUTE, slo="checkout-availability", region="us-east-1"))  # fmt: skip
    evs = {r: Evaluator(world.ddb, world.table, world.definition, receivers.deliver, world.metrics, region=r)
           for r in regions}  # fmt: skip
    for m in range(0, 3):
        store.bulk_load(world.ddb, world.table, minute_aggregates(m, 1.0), region="eu-west-1")  # eu fails
        store.bulk_load(world.ddb, world.table, minute_aggregates(m, 0.0), region="us-east-1")
        for ev in evs.values():
            ev.cycle(T0 + (m + 1) * MINUTE)
    group = f"checkout-availability|{API}"
    eu, us = (state.read_states(world.ddb, world.table, r) for r in regions)
    assert (eu[group].status, eu[group].severity, eu[group].region) == ("firing", "page", "eu-west-1")
    assert group not in us  # us-east-1's clean minutes: never even pending
    assert state.read_states(world.ddb, world.table) == {}  # nothing under the region-less keys
    for region in regions:  # each cycle's summaries under the region's own key, of that region alone
        _, summaries = state.read_summaries(world.ddb, world.table, region)
        assert summaries and {s["region"] for s in summaries} == {region}
    page = [b for b in hook.bodies() if b["kind"] == "firing"]
    assert len(page) == 1 and page[0]["region"] == "eu-west-1" and "region=eu-west-1" in page[0]["dashboard"]
    for m in range(3, 6):  # now us-east-1 fails too: it fires, and its own silence holds its notice back
        for region in regions:
            store.bulk_load(world.ddb, world.table, minute_aggregates(m, 1.0), region=region)
        for ev in evs.values():
            ev.cycle(T0 + (m + 1) * MINUTE)
    us = state.read_states(world.ddb, world.table, "us-east-1")
    assert us[group].status == "firing" and [b["region"] for b in hook.bodies()] == ["eu-west-1"]
    board = data.Source(DashboardSettings(world.table, server.endpoint, 4, None, 180, 0, regions=regions)).slo_board()
    assert sorted((s["region"], s["status"]) for s in board.summaries) == [("eu-west-1", "firing"),
                                                                           ("us-east-1", "firing")]  # fmt: skip
    assert sorted(s.region for s in board.paging()) == list(regions)


def test_a_regional_evaluator_takes_over_the_states_kept_before_they_were_per_region(
    world: World, hook: WebhookServer
) -> None:
    """An upgrade: a regional pipeline's evaluator kept its states under the region-less keys. The new one copies
    them to its region's keys on its first cycle, so the alert firing before the upgrade goes on firing without a
    second notice, and resolves with one."""
    region = "eu-west-1"
    # three clean days first, as the region-less store has them (the ticket rule looks back 3 days)
    failing = [a for m in range(-3 * 1440, 2) for a in minute_aggregates(m, 1.0 if m >= 0 else 0.0)]
    store.bulk_load(world.ddb, world.table, failing, region=region)
    before = world.evaluator()  # as before the upgrade: its region's windows, region-less state keys
    before.reader = query.Reader(world.ddb, world.table, region=region)
    for m in (1, 2):
        before.cycle(T0 + m * MINUTE)
    group = f"checkout-availability|{API}"
    assert world.states()[group].status == "firing" and [b["kind"] for b in hook.bodies()] == ["firing"]
    after = Evaluator(world.ddb, world.table, world.definition, receivers.deliver, world.metrics, region=region)
    store.bulk_load(world.ddb, world.table, minute_aggregates(2, 0.0), region=region)
    after.cycle(T0 + 3 * MINUTE)  # the failing minutes are still in its 5-minute window: firing
    moved = state.read_states(world.ddb, world.table, region)[group]
    assert (moved.status, moved.region, moved.fired_at) == ("firing", region, world.states()[group].fired_at)
    assert [b["kind"] for b in hook.bodies()] == ["firing"]  # not notified again
    for m in range(3, 12):
        store.bulk_load(world.ddb, world.table, minute_aggregates(m, 0.0), region=region)
        after.cycle(T0 + (m + 1) * MINUTE)
    assert [b["kind"] for b in hook.bodies()] == ["firing", "resolved"]


def test_the_alerts_commands_silence_and_show_one_region(world: World, server: MotoServer,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from logpipeline.cli.main import app

    monkeypatch.setenv(contracts.ENV_TABLE, world.table)
    monkeypatch.delenv(contracts.ENV_REGION, raising=False)
    firing = lifecycle.AlertState(
        "checkout-availability", API, lifecycle.FIRING, "page", fired_at=T0, region="eu-west-1"
    )
    state.write_state(world.ddb, world.table, firing)
    runner, at = CliRunner(), ["--endpoint", server.endpoint]
    made = runner.invoke(app, ["alerts", "silence", "--for", "1h", "--region", "us-east-1", *at])
    assert made.exit_code == 0, made.output
    [silence] = state.read_silences(world.ddb, world.table)
    assert silence.region == "us-east-1" and not silence.matches(firing, "page", silence.starts)
    refused = runner.invoke(app, ["alerts", "silence", "--region", "us#east", *at])
    assert refused.exit_code == 2 and "not an AWS region name" in refused.output
    eu = runner.invoke(app, ["alerts", "status", "--region", "eu-west-1", *at], terminal_width=200)
    assert eu.exit_code == 0 and "firing" in eu.output and "region=us-east-1" in eu.output
    plain = runner.invoke(app, ["alerts", "status", *at], terminal_width=200)
    assert plain.exit_code == 0 and "firing" not in plain.output  # the region-less store has no state
