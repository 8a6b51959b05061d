"""Topics, generator and file ingest against the real broker: idempotent topics, exact ground truth,
the Apache slice counted per status and api, and every malformed line in the dead-letter topic."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from confluent_kafka import Consumer, Message

from logpipeline import config, contracts
from logpipeline.events import codec
from logpipeline.generator import traffic, truth
from logpipeline.ingest import formats
from logpipeline.kafka import topics
from logpipeline.stack.process import free_port
from support import leftovers

DATA = Path(__file__).resolve().parents[1] / "data" / "apache_access_2015_head2000.log"
START = 1_714_564_800_000  # 2024-05-01T12:00:00Z


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("logpipeline")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout)


def _names(unique: str) -> config.Names:
    return config.Names(input_topic=f"in_{unique}", aggregates_topic=f"agg_{unique}")


def _ensure(settings: config.Settings, names: config.Names) -> None:
    topics.ensure(topics.admin_client(settings.kafka_bootstrap), topics.default_topics(names))


def consume(bootstrap: str, topic: str, expected: int, timeout: float = 60.0) -> list[Message]:
    """Every message of ``topic`` from the beginning, until ``expected`` arrived and 1 s passes quietly."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"t-{leftovers.suffix()}", "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    out: list[Message] = []
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = consumer.consume(10_000, timeout=0.5)
            for msg in batch:
                assert msg.error() is None, msg.error()
                out.append(msg)
            if batch:
                quiet_since = time.monotonic()
            elif len(out) >= expected and time.monotonic() - quiet_since > 1.0:
                break
    finally:
        consumer.close()
    return out


def _headers(msg: Message) -> dict[str, str]:
    return {k: (v or b"").decode() for k, v in (msg.headers() or [])}


def test_topics_ensure_is_idempotent_and_reports_changes(stack: config.Settings, unique: str) -> None:
    names = _names(unique)
    args = ["topics", "ensure", "--input-topic", names.input_topic, "--aggregates-topic", names.aggregates_topic]
    first = _cli(*args)
    assert first.returncode == 0, first.stderr
    actions = {c["topic"]: c["action"] for c in orjson.loads(first.stdout)["changes"]}
    anomalies = actions.pop(names.anomalies_topic)  # the pipeline's anomalies topic, shared by these names
    assert actions == {names.input_topic: "created", names.aggregates_topic: "created", names.dlq_topic: "created"}
    assert anomalies in ("created", "unchanged")
    again = _cli(*args)
    assert {c["action"] for c in orjson.loads(again.stdout)["changes"]} == {"unchanged"}
    grown = _cli(*args, "--partitions", "5", "--retention-days", "2")
    changes = orjson.loads(grown.stdout)["changes"]
    assert {(c["topic"], c["action"]) for c in changes} == {
        (names.input_topic, "partitions"),
        (names.input_topic, "config"),
        (names.aggregates_topic, "partitions"),
        (names.aggregates_topic, "config"),
        (names.dlq_topic, "unchanged"),
        (names.anomalies_topic, "unchanged"),  # its partitions and retention are the contract's
    }
    assert "retention.ms: 604800000 -> 172800000" in grown.stderr
    meta = topics.admin_client(stack.kafka_bootstrap).list_topics(timeout=10).topics
    assert len(meta[names.input_topic].partitions) == 5
    shrink = _cli(*args, "--partitions", "2", "--retention-days", "2")
    assert shrink.returncode == 2 and "cannot shrink" in shrink.stderr


@pytest.fixture(scope="module")
def generated(stack: config.Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    names = _names("gen" + leftovers.suffix())
    _ensure(stack, names)
    truth_path = tmp_path_factory.mktemp("gen") / "truth.jsonl"
    incident = "/api/v1/payments:errors:60:120:30"
    run = _cli(
        *("generate", "--count", "30000", "--seed", "11", "--start-ms", str(START), "--nominal-rate", "200"),
        *("--incident", incident, "--topic", names.input_topic, "--truth", str(truth_path)),
    )
    assert run.returncode == 0, run.stderr
    messages = consume(stack.kafka_bootstrap, names.input_topic, 30_000)
    return {"summary": orjson.loads(run.stdout), "messages": messages, "truth": truth.read_ground_truth(truth_path)}


def test_generator_messages_match_the_ground_truth(generated: dict[str, Any]) -> None:
    events, aggregates = generated["truth"]
    messages: list[Message] = generated["messages"]
    assert generated["summary"]["sent"] == 30_000 and generated["summary"]["failed"] == 0
    assert len(messages) == 30_000
    decoded = [codec.decode(m.value() or b"") for m in messages]
    assert all(m.key() == d["api"].encode() for m, d in zip(messages, decoded, strict=True))
    assert sorted(decoded, key=lambda e: e["id"]) == sorted(events, key=lambda e: e["id"])
    assert sorted(truth.minute_aggregates(decoded), key=lambda a: a["id"]) == aggregates
    assert events == list(
        traffic.events(
            traffic.TrafficSpec(
                seed=11,
                start_ms=START,
                count=30_000,
                nominal_rate=200,
                incidents=(traffic.Incident("/api/v1/payments", "errors", START + 60_000, START + 120_000, 30.0),),
            )
        )
    )


def test_generator_incident_is_visible_in_the_aggregates(generated: dict[str, Any]) -> None:
    _, aggregates = generated["truth"]

    def errors(minute: int) -> int:
        return sum(
            a["status_5xx"]
            for a in aggregates
            if a["api"] == "/api/v1/payments" and a["window_start"] == START + minute * 60_000
        )

    assert errors(1) > 10 * max(1, errors(0))


def _slice_expectations() -> tuple[Counter[int], Counter[str]]:
    status: Counter[int] = Counter()
    api: Counter[str] = Counter()
    pattern = re.compile(r'"[A-Z]+ (/[^ ?]*)\S* HTTP/[0-9.]+" (\d{3}) ')
    for line in DATA.read_text().splitlines():
        m = pattern.search(line)
        assert m is not None, line
        status[int(m.group(2))] += 1
        first = next((s for s in m.group(1).split("/") if s), "")
        api["/" + first] += 1
    return status, api


def test_apache_slice_ingests_with_the_right_counts(stack: config.Settings, unique: str) -> None:
    names = _names(unique)
    _ensure(stack, names)
    run = _cli("ingest", str(DATA), "--format", "combined", "--topic", names.input_topic)
    assert run.returncode == 0, run.stderr
    summary = orjson.loads(run.stdout)
    assert (summary["lines"], summary["produced"], summary["dead_lettered"], summary["failed"]) == (2000, 2000, 0, 0)
    events = [codec.decode(m.value() or b"") for m in consume(stack.kafka_bootstrap, names.input_topic, 2000)]
    want_status, want_api = _slice_expectations()
    assert Counter(e["status_code"] for e in events) == want_status
    assert Counter(e["api"] for e in events) == want_api
    stamps = {e["timestamp"] for e in events}
    assert 1_431_857_103_000 in stamps  # line 1, 17/May/2015:10:05:03: the original event time is kept
    assert all(1_431_820_800_000 <= t < 1_431_993_600_000 for t in stamps)  # all on 2015-05-17 or 18
    assert len({e["id"] for e in events}) == 2000


def _fuzz_lines() -> tuple[list[bytes], dict[int, str]]:
    """Valid JSON events interleaved with malformed lines; returns lines and {line number: error class}."""
    valid = list(traffic.events(traffic.TrafficSpec(seed=4, start_ms=START, count=40)))
    good = valid[0]
    bad: list[tuple[bytes, str]] = [
        (b"this is not json", "not_json"),
        (codec.encode(good)[:-15], "not_json"),
        (b"{}" + b"}" * 3, "not_json"),
        ('{"api": "caf\xe9"}'.encode("latin-1"), "not_utf8"),
        (b'{"id": "\xff\xfe"}', "not_utf8"),
        (b"[1, 2, 3]", "not_object"),
        (b'"just a string"', "not_object"),
        (codec.encode({**good, "status_code": "2OO"}), "wrong_type"),
        (codec.encode({**good, "response_time": "fast"}), "wrong_type"),
        (codec.encode({**good, "timestamp": True}), "wrong_type"),
        (codec.encode({k: v for k, v in good.items() if k != "api"}), "missing_field"),
        (codec.encode({k: v for k, v in good.items() if k != "timestamp"}), "missing_field"),
        (codec.encode({**good, "log_level": None}), "missing_field"),
        (codec.encode({**good, "response_time": -5}), "out_of_range"),
        (codec.encode({**good, "status_code": 999}), "out_of_range"),
        (codec.encode({**good, "timestamp": 9 * 10**18}), "out_of_range"),
        (codec.encode({**good, "timestamp": int(time.time() * 1000) + 7_200_000}), "too_far_ahead"),
        (codec.encode({**good, "log_level": "LOUD"}), "not_allowed"),
        (codec.encode({**good, "api": "a" * 5000}), "too_long"),
        (codec.encode({**good, "message": "x" * (1 << 20)}), "too_large"),
        (b"{" + b" " * (3 << 20) + b"}", "too_large"),
        (b"[" + b"1," * (5 << 20) + b"1]", "too_large"),  # 10 MiB: kept truncated, with its size
    ]
    lines: list[bytes] = []
    classes: dict[int, str] = {}
    for i, event in enumerate(valid):
        lines.append(codec.encode(event))
        if i < len(bad):
            lines.append(bad[i][0])
            classes[len(lines)] = bad[i][1]
    return lines, classes


def test_every_malformed_line_lands_in_the_dead_letter_topic(
    stack: config.Settings, unique: str, tmp_path: Path
) -> None:
    names = _names(unique)
    _ensure(stack, names)
    lines, classes = _fuzz_lines()
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n\n")
    run = _cli("ingest", str(path), "--format", "json", "--topic", names.input_topic)
    assert run.returncode == 0, run.stderr
    summary = orjson.loads(run.stdout)
    assert summary["produced"] == 40 and summary["dead_lettered"] == len(classes) == 22 and summary["blank"] == 1
    assert summary["dead_lettered_by_class"] == dict(sorted(Counter(classes.values()).items()))
    dead = consume(stack.kafka_bootstrap, names.dlq_topic, len(classes))
    assert len(dead) == len(classes)
    seen = {}
    for msg in dead:
        h = _headers(msg)
        line_no = int(h[contracts.DLQ_POSITION])
        seen[line_no] = h[contracts.DLQ_ERROR_CLASS]
        assert h[contracts.DLQ_SOURCE] == str(path) and h[contracts.DLQ_STAGE] == "ingest"
        assert re.match(r"^\w+: expected .+, got .+", h[contracts.DLQ_REASON]), h
        original = lines[line_no - 1]
        if len(original) > 8 << 20:
            assert int(h[contracts.DLQ_ORIGINAL_SIZE]) == len(original)
            assert original.startswith(msg.value() or b"-") and len(msg.value() or b"") >= 8_000_000
        else:
            assert msg.value() == original
    assert seen == classes
    passed = consume(stack.kafka_bootstrap, names.input_topic, 40)
    assert len(passed) == 40 and all(codec.parse(m.value() or b"") for m in passed)


def test_the_original_systems_format_is_accepted_and_normalized(
    stack: config.Settings, unique: str, tmp_path: Path
) -> None:
    """Integer codes, epoch seconds or RFC 3339 times, lower-case and alias levels: every line becomes an event."""
    names = _names(unique)
    _ensure(stack, names)
    base = traffic.events(traffic.TrafficSpec(seed=8, start_ms=START, count=30))
    originals = []
    for i, e in enumerate(base):
        when = [e["timestamp"] / 1000, str(e["timestamp"]), codec.iso_ms(int(e["timestamp"]))][i % 3]
        level = {"WARNING": "warn", "CRITICAL": "fatal"}.get(str(e["log_level"]), str(e["log_level"]).lower())
        originals.append({**e, "timestamp": when, "response_code": e["status_code"], "log_level": level})
    path = tmp_path / "original.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in originals) + b"\n")
    run = _cli("ingest", str(path), "--format", "json", "--topic", names.input_topic)
    assert run.returncode == 0, run.stderr
    summary = orjson.loads(run.stdout)
    assert (summary["produced"], summary["dead_lettered"]) == (30, 0)
    produced = {
        (e := orjson.loads(m.value() or b""))["id"]: e for m in consume(stack.kafka_bootstrap, names.input_topic, 30)
    }
    for original in base:
        e = produced[str(original["id"])]
        assert (e["timestamp"], e["log_level"], e["status_code"]) == (
            original["timestamp"],
            original["log_level"],
            original["status_code"],
        )
        assert e["response_code"] == str(original["status_code"])


def test_ecs_documents_and_a_user_mapping_are_ingested(stack: config.Settings, unique: str, tmp_path: Path) -> None:
    """Filebeat-style ECS lines (nested and dotted), then the same events under a user's own field names."""
    names = _names(unique)
    _ensure(stack, names)
    base = list(traffic.events(traffic.TrafficSpec(seed=12, start_ms=START, count=20)))
    ecs = [
        {
            "@timestamp": codec.iso_ms(int(e["timestamp"])),
            "event": {"id": e["id"], "duration": int(float(e["response_time"]) * 1_000_000)},
            "log.level": str(e["log_level"]).lower(),
            "http": {"response": {"status_code": e["status_code"]}},
            "url.path": f"{e['api']}/items",
        }
        for e in base
    ]
    own = [
        {"uid": e["id"], "ts": e["timestamp"] / 1000, "route": e["api"], "code": str(e["status_code"]),
         "lat_us": float(e["response_time"]) * 1000, "sev": e["log_level"]}
        for e in base
    ]  # fmt: skip
    (tmp_path / "ecs.jsonl").write_bytes(b"\n".join(orjson.dumps(x) for x in ecs) + b"\n")
    (tmp_path / "own.jsonl").write_bytes(b"\n".join(orjson.dumps(x) for x in own) + b"\n")
    (tmp_path / "map.yaml").write_text(
        "fields:\n  id: uid\n  timestamp: ts\n  api: route\n  status_code: code\n"
        "  response_time: {from: lat_us, scale: 0.001}\n  log_level: sev\n"
    )
    for args in (["--format", "ecs"], ["--format", "json", "--mapping", str(tmp_path / "map.yaml")]):
        source = tmp_path / ("ecs.jsonl" if "ecs" in args else "own.jsonl")
        run = _cli("ingest", str(source), *args, "--topic", names.input_topic)
        assert run.returncode == 0, run.stderr
        assert orjson.loads(run.stdout)["produced"] == 20 and orjson.loads(run.stdout)["dead_lettered"] == 0
    got = [codec.decode(m.value() or b"") for m in consume(stack.kafka_bootstrap, names.input_topic, 40)]
    assert len(got) == 40
    for e in got:
        want = next(b for b in base if b["id"] == e["id"])
        assert (e["timestamp"], e["status_code"], e["log_level"]) == (
            want["timestamp"],
            want["status_code"],
            want["log_level"],
        )
        assert e["response_time"] == pytest.approx(want["response_time"])
        if "path" in e:  # ECS: the api is the first segment of url.path, as for access logs
            assert (e["path"], e["api"]) == (f"{want['api']}/items", formats.api_of(str(want["api"])))
        else:
            assert e["api"] == want["api"]
    (tmp_path / "bad.json").write_text('{"columns": {"ts": "timestamp"}}')
    bad = _cli(
        "ingest", str(tmp_path / "own.jsonl"), "--mapping", str(tmp_path / "bad.json"), "--topic", names.input_topic
    )
    said = " ".join(re.sub(r"[│╭╮╰╯─]", " ", bad.stderr).split())  # the error box wraps the line
    assert bad.returncode != 0 and "mapping: expected an object with a non-empty 'fields' object" in said, said


def test_follow_reads_a_growing_and_rotated_file(stack: config.Settings, unique: str, tmp_path: Path) -> None:
    names = _names(unique)
    _ensure(stack, names)
    log = tmp_path / "access.log"
    source = DATA.read_bytes().splitlines(keepends=True)
    log.write_bytes(b"".join(source[:50]))
    exe = Path(sys.executable).with_name("logpipeline")
    port = free_port()
    args = ["ingest", str(log), "--format", "combined", "--follow", "--topic", names.input_topic]
    proc = subprocess.Popen(
        [str(exe), *args, "--metrics-port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(1.5)
        with log.open("ab") as f:
            f.write(b"".join(source[50:80]))
            f.write(source[80][:40])  # half a line: must wait for the rest
            f.flush()
            time.sleep(0.6)
            f.write(source[80][40:])
        time.sleep(0.6)
        log.rename(tmp_path / "access.log.1")
        log.write_bytes(b"".join(source[81:120]))
        got = consume(stack.kafka_bootstrap, names.input_topic, 120, timeout=30)
        health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert len(got) == 120
    want = Counter(formats.parse_combined(line.rstrip(b"\n"), "x", 1)["timestamp"] for line in source[:120])  # type: ignore[index]
    assert Counter(codec.decode(m.value() or b"")["timestamp"] for m in got) == want
    assert orjson.loads(out)["produced"] == 120
    assert health.status_code == 200
    assert "logpipeline_ingest_events_total 120.0" in metrics and "logpipeline_ingest_lines_total 120.0" in metrics


def test_missing_topic_or_broker_is_a_one_line_error(stack: config.Settings, unique: str) -> None:
    missing = _cli("generate", "--count", "10", "--topic", f"absent_{unique}")
    assert missing.returncode == 1
    assert f"topic(s) absent_{unique} missing" in missing.stderr and "topics ensure" in missing.stderr
    down = _cli("ingest", str(DATA), "--format", "combined", "--bootstrap", "127.0.0.1:1", timeout=60)
    assert down.returncode == 1 and "cannot reach 127.0.0.1:1" in down.stderr
    assert "Traceback" not in missing.stderr + down.stderr


def test_replay_keeps_the_original_pace_times_the_speedup(stack: config.Settings, unique: str, tmp_path: Path) -> None:
    names = _names(unique)
    _ensure(stack, names)
    lines = [
        codec.encode(e)
        for e in traffic.events(traffic.TrafficSpec(seed=9, start_ms=START, count=60, rate=10.0, diurnal=False))
    ]  # 5.9 s of event time
    path = tmp_path / "paced.jsonl"
    path.write_bytes(b"\n".join(lines))
    began = time.monotonic()
    run = _cli("ingest", str(path), "--speedup", "4", "--topic", names.input_topic)
    assert run.returncode == 0, run.stderr
    assert time.monotonic() - began >= 5.9 / 4
    assert orjson.loads(run.stdout)["produced"] == 60


def test_ingest_sink_reuses_dead_letters_from_python(stack: config.Settings, unique: str) -> None:
    """The dead-letter producer is a library piece: a consumer stage can dead-letter a message the same way."""
    from logpipeline.kafka.deadletters import DeadLetters
    from logpipeline.kafka.producer import Sender

    names = _names(unique)
    _ensure(stack, names)
    dead = DeadLetters(Sender.connect(stack.kafka_bootstrap, names.dlq_topic), stage="sink")
    problem = codec.parse(b"{oops")
    assert isinstance(problem, codec.Invalid)
    dead.send(b"{oops", problem, "agg_logging_info", "2:17")
    assert dead.sender.flush() == 0
    (msg,) = consume(stack.kafka_bootstrap, names.dlq_topic, 1)
    assert _headers(msg)[contracts.DLQ_POSITION] == "2:17" and _headers(msg)[contracts.DLQ_STAGE] == "sink"
