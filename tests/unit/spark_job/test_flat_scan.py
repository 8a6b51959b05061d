"""The fast path's scan (``FlatScan`` in the JVM part) decides every record as Jackson's parser alone does.

``EventRules`` reads the plainest records with a pass over their bytes and leaves the rest to Jackson's streaming
parser. Its verdict with the scan must equal its verdict with the parser alone, field for field and type for type, on
generated traffic, on the fast path's edge cases and on thousands of records damaged a byte at a time (each damage
seeded, so a failure names a record that fails again). The scan must also decide the records producers write: a
scan that gave up on them would leave the fast path as slow as before with no test failing.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyspark.sql import SparkSession
from test_clean_events import ARRIVAL, EDGES, _corpus, _json

from logpipeline.events import EVENT_FIELDS
from logpipeline_spark import jvm

MAX_AHEAD_MS = 300_000
# Bytes that change what a JSON reader sees: structure, escapes, number and literal characters, whitespace.
SIGNIFICANT = b'{}[]":,\\-+.eE0123456789tfnulrs \t\n\r\x01aZ'
DAMAGED = 4000
# Records with objects and arrays in fields that are not the event's, which the scan passes over: half the damage.
NESTED = [
    _json({"context": {"user": {"id": 7, "roles": ["a", "b"]}, "tags": [], "empty": {}}}),
    _json({"trace": [[1, 2.5e-3, -0], {"span": None, "ok": True}, "x"]}),
    _json({"deep": {"a": {"b": {"c": {"d": [False, None, {"e": "f"}]}}}}}),
]


def _damage(record: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(record) + 1)
    match rng.randrange(5):
        case 0:
            return record[:at] + record[at + 1 :]
        case 1:
            return record[:at] + bytes([rng.choice(SIGNIFICANT)]) + record[at:]
        case 2:
            return record[:at] + bytes([rng.choice(SIGNIFICANT)]) + record[at + 1 :]
        case 3:
            return record[:at]
        case _:
            span = record[at : at + rng.randrange(1, 12)]
            return record[:at] + span + record[at:]


def _damaged() -> list[bytes]:
    rng = random.Random(20261205)
    plain = [record for record in _corpus() if record]
    out = []
    for _ in range(DAMAGED):
        record = rng.choice(NESTED if rng.random() < 0.5 else plain)
        for _ in range(rng.randrange(1, 3)):
            record = _damage(record, rng)
        out.append(record)
    return out


@pytest.fixture(scope="module")
def rules(spark: SparkSession) -> Any:
    return getattr(spark._jvm, jvm.EVENT_RULES)(jvm.field_table(EVENT_FIELDS), MAX_AHEAD_MS)


def _disagreements(rules: Any, records: list[bytes | None]) -> list[tuple[bytes | None, str, str]]:
    out = []
    for record in records:
        scanned = rules.verdict(record, ARRIVAL * 1000, True)
        parsed = rules.verdict(record, ARRIVAL * 1000, False)
        if not scanned.equals(parsed) or scanned.toString() != parsed.toString():
            out.append((record, scanned.toString(), parsed.toString()))
    return out


def test_the_scan_and_the_parser_agree_on_the_corpus(rules: Any) -> None:
    assert _disagreements(rules, _corpus()) == []


def test_the_scan_and_the_parser_agree_on_damaged_records(rules: Any) -> None:
    damaged = _damaged()
    assert _disagreements(rules, damaged) == []
    decided = sum(rules.scanned(record) for record in damaged)
    assert decided > DAMAGED // 4, f"the scan decided only {decided} of {DAMAGED}: the test barely exercises it"


def test_the_scan_reads_what_producers_write(rules: Any) -> None:
    generated = _corpus()[: -len(EDGES)]
    assert all(rules.scanned(record) for record in generated)
    taken = [*NESTED, *(record for record, clean in EDGES if clean and b"\\u" not in record)]
    assert all(rules.scanned(record) for record in taken)
    escaped = [record for record, _ in EDGES if record and b"\\u" in record]
    assert escaped and not any(rules.scanned(record) for record in escaped)  # the parser reads escapes


def test_the_scan_reads_decimals_as_java_does(rules: Any) -> None:
    rng = random.Random(7)
    texts = ["0.1", "-0.0", "0.30000000000000004", "3599999.99999999", "123.4560000000000", "1e3", "2.5E-3", "7.0"]
    for _ in range(1500):
        whole, decimals = rng.randrange(3_600_000), rng.randrange(1, 12)
        texts.append(f"{whole}.{rng.randrange(10**decimals):0{decimals}d}")
    records = [_json({})[:-1] + b',"response_time":' + text.encode() + b"}" for text in texts]
    records = [record.replace(b'"response_time":12.5,', b"") for record in records]
    assert _disagreements(rules, records) == []
    assert all(rules.scanned(record) for record in records)
    values = [rules.verdict(record, ARRIVAL * 1000, True).getDouble(6) for record in records[8:]]
    assert values == [float(text) for text in texts[8:]]  # Python's float() rounds as Java's parseDouble
