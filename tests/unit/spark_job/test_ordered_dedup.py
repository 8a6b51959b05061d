"""The de-dup ordered by event time (``jvm.ordered_dedup``) drops what Spark's ``dropDuplicates`` drops, batch by
batch: repeats within a batch and across batches, and events older than the watermark (counted as late); and the
job tells which of the two de-dups a checkpoint holds state for (``upgrade.checkpoint_dedup``)."""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from logpipeline_spark import jvm, upgrade
from logpipeline_spark import transformations as tr
from logpipeline_spark.archive import Archive
from logpipeline_spark.options import parse_args
from logpipeline_spark.queries import ROCKSDB_CONF, aggregates_dedup, query_conf

PROVIDER = "spark.sql.streaming.stateStore.providerClass"
T0 = 1_767_225_600_000  # event times in ms from here
# Three micro-batches of (id, event time in s from T0), with a one-minute watermark
BATCHES = [
    [("a", 0.0), ("b", 1.5), ("a", 0.0), ("c", 30.0)],  # a repeat in the batch; the watermark stays at 0
    [("a", 0.0), ("d", 90.0), ("x", 5.0), ("x", 6.0)],  # a repeat of the first batch's; one id at two times
    # the watermark moves to 30 s (90 s - 1 min), but a batch drops late events by the one before it: b, a repeat
    [("b", 1.5), ("e", 95.0)],
    [("b", 1.5), ("f", 96.0)],  # b is older than the watermark: late
]
KEPT = [
    [("a", 0), ("b", 1500), ("c", 30_000)],
    [("d", 90_000), ("x", 5000), ("x", 6000)],
    [("e", 95_000)],
    [("f", 96_000)],
]
KEPT = [sorted((id_, T0 + ms) for id_, ms in batch) for batch in KEPT]


def _ordered(events: DataFrame) -> DataFrame:
    return jvm.ordered_dedup(events, "id", "timestamp", tr.EVENT_TIME)


def _run(spark: SparkSession, tmp: Path, dedup: Callable[[DataFrame], DataFrame]) -> tuple[list[list[tuple]], int, str]:
    """Each batch's kept (id, ms) pairs, the rows dropped as late, and the checkpoint, of a stream of ``BATCHES``."""
    source = tmp / "in"
    source.mkdir(parents=True)
    for i, batch in enumerate(BATCHES):
        path = source / f"{i}.json"
        path.write_text("\n".join(json.dumps({"id": id_, "timestamp": T0 + int(s * 1000)}) for id_, s in batch))
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # the file source reads the oldest first
    stream = spark.readStream.schema("id string, timestamp long").option("maxFilesPerTrigger", 1).json(str(source))
    name = f"dedup_{tmp.name}"
    checkpoint = f"file://{tmp}/checkpoint"
    previous = spark.conf.get(PROVIDER)
    spark.conf.set(PROVIDER, ROCKSDB_CONF[PROVIDER])  # as the job sets it for the ordered de-dup
    try:
        query = (
            dedup(tr.with_event_time(stream, "1 minute"))
            .writeStream.format("memory")
            .queryName(name)
            .outputMode("append")
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        assert query.awaitTermination(180), "the stream ended"
    finally:
        spark.conf.set(PROVIDER, previous)
    progress = [p for p in query.recentProgress if p["numInputRows"]]
    assert len(progress) == len(BATCHES)
    late = sum(op.get("numRowsDroppedByWatermark", 0) for p in progress for op in p["stateOperators"])
    rows = spark.sql(f"select id, timestamp from {name}").collect()
    # the memory sink keeps no batch ids: split the rows by the batch whose events they are
    batch_of = {(id_, T0 + int(s * 1000)): i for i, batch in reversed(list(enumerate(BATCHES))) for id_, s in batch}
    kept: list[list[tuple]] = [[] for _ in BATCHES]
    for row in rows:
        kept[batch_of[(row["id"], row["timestamp"])]].append((row["id"], row["timestamp"]))
    return [sorted(batch) for batch in kept], late, checkpoint


def test_the_ordered_de_dup_keeps_and_drops_what_spark_s_de_dup_does(spark: SparkSession, tmp_path: Path) -> None:
    ordered, ordered_late, _ = _run(spark, tmp_path / "ordered", _ordered)
    spark_s, spark_late, _ = _run(spark, tmp_path / "spark", tr.deduplicate)
    assert spark_s == KEPT and spark_late == 1, "the reference: Spark's de-dup"
    assert ordered == KEPT, "every event once; a repeat in a batch or of an earlier batch's event dropped"
    assert ordered_late == 1, "the late event counted as dropped by the watermark"


def _modified_utf8(text: str) -> bytes:
    """``text`` as Java's ``DataOutput.writeUTF`` writes it: each UTF-16 unit in one to three bytes, NUL in two."""
    units = struct.unpack(f">{len(text.encode('utf-16-be')) // 2}H", text.encode("utf-16-be"))
    out = bytearray()
    for unit in units:
        if 0 < unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            out += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    return struct.pack(">H", len(out)) + bytes(out)


def _value(pairs: list[tuple[int, str | None]]) -> bytes:
    """A group's value as ``DataOutputStream`` lays it out: the count, then each pair's time, id flag and id."""
    out = struct.pack(">i", len(pairs))
    for millis, id_ in pairs:
        out += struct.pack(">q?", millis, id_ is not None) + (b"" if id_ is None else _modified_utf8(id_))
    return out


def test_a_group_s_value_keeps_its_layout_and_a_batch_appends_to_it(spark: SparkSession) -> None:
    group = spark._jvm.io.logpipeline.spark.DedupGroup  # type: ignore[union-attr]
    pairs = [(T0, "a"), (T0 + 1, "0f8fad5b-d9cb-469f-a165-70867728950e"), (T0, "é-ü"), (T0, "nul\0in"), (T0, "😀")]
    pairs += [(T0 + 2, None), (T0 + 1, "a")]
    first = group.read(None)
    assert [first.add(ms, id_) for ms, id_ in pairs + pairs[:3]] == [True] * len(pairs) + [False] * 3
    value = bytes(first.value())
    assert value == _value(pairs), "the layout of DataOutputStream, in which earlier checkpoints hold their groups"
    later = group.read(value)
    assert [later.add(ms, id_) for ms, id_ in [(T0, "😀"), (T0 + 2, None), (T0 + 3, "b")]] == [False, False, True]
    assert bytes(later.value()) == _value([*pairs, (T0 + 3, "b")]), "the new pair appended"
    assert list(group.pairs(value)) == [f"{ms}:{id_ or ''}" for ms, id_ in pairs], "read back"


def test_a_checkpoint_tells_which_de_dup_it_holds_state_for(spark: SparkSession, tmp_path: Path) -> None:
    archive = Archive(spark)
    assert upgrade.checkpoint_dedup(archive, f"file://{tmp_path}/none") is None, "a new checkpoint"
    assert upgrade.checkpoint_dedup(archive, _run(spark, tmp_path / "o", _ordered)[2]) == "ordered"
    assert upgrade.checkpoint_dedup(archive, _run(spark, tmp_path / "s", tr.deduplicate)[2]) == "spark"


def test_the_ordered_de_dup_is_micro_batch_mode_s_default_and_keeps_its_state_in_rocksdb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOGPIPELINE_DEDUP", raising=False)
    microbatch = parse_args(["--mode", "microbatch"])
    assert microbatch.dedup == "ordered"
    assert query_conf("aggregates", microbatch)[PROVIDER] == ROCKSDB_CONF[PROVIDER], "even with --state-store hdfs"
    spark_s = parse_args(["--mode", "microbatch", "--dedup", "spark"])
    assert query_conf("aggregates", spark_s)[PROVIDER].endswith(".HDFSBackedStateStoreProvider"), "--state-store's"
    monkeypatch.setenv("LOGPIPELINE_DEDUP", "spark")
    assert parse_args([]).dedup == "spark"


def test_a_restarted_query_keeps_its_checkpoint_s_de_dup_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    microbatch = parse_args(["--mode", "microbatch", "--pipeline", "p", "--archive-root", "file:///a"])
    realtime = parse_args(["--mode", "realtime"])
    with caplog.at_level(logging.WARNING, "logpipeline_spark.job"):
        assert aggregates_dedup(microbatch, None) == "ordered", "a new checkpoint takes --dedup"
        assert aggregates_dedup(microbatch, "ordered") == "ordered"
        assert aggregates_dedup(realtime, None) == aggregates_dedup(realtime, "spark") == "spark", "real-time: Spark's"
        assert not caplog.records, "nothing to say when the checkpoint holds the de-dup the mode runs"
        assert aggregates_dedup(microbatch, "spark") == "spark", "a checkpoint of Spark's de-dup keeps it"
    (record,) = caplog.records
    fields = record.__dict__["fields"]
    assert fields["dedup"] == "spark" and fields["checkpoint"] == "file:///a/p/checkpoints/aggregates"
    assert "--dedup ordered needs a new checkpoint" in fields["reason"]
