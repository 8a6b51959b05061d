"""The events' parse alone, in one task, as a process: records judged per CPU second of its JVM.

``python -m support.parse_rate --java-options OPTS [--query aggregates|parse|route] [--barriers F,C] [--records N]
[--rounds R] [--fast-path on|off] [--repaired-every K]`` builds a local session whose JVM starts with ``OPTS`` (in
place of the product's ``contracts.SPARK_JAVA_OPTIONS``), caches ``N`` generated records in memory and runs the
query's parse over them ``R`` times (the aggregates': ``transformations.valid_events``, its slow path in one piece;
``parse``: ``transformations.parse``'s valid events, its slow path in the plan; the route query's: ``classify``;
written to Spark's no-op sink), with ``F`` repaired fields and ``C`` checks per barrier (default: the product's),
with the events' fast path or without it (``support.spark_parse``; the aggregates' then parse as ``parse`` does),
every ``K``-th record one to repair (its response time as text, its level in lower case; 0: none), printing one JSON
line per round: ``{"round": i, "records_per_cpu_s": …}``. The JVM's CPU comes from ``/proc``
(``stack.process.cpu_seconds``).
"""

from __future__ import annotations

import argparse
import random
import time
from contextlib import nullcontext

import orjson
from pyspark.sql import Row

from logpipeline import config, contracts
from logpipeline.stack.process import cpu_seconds
from logpipeline_spark import jvm
from logpipeline_spark import transformations as tr
from logpipeline_spark.session import build_session
from support.spark_parse import without_fast_path

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def main() -> None:
    p = argparse.ArgumentParser(prog="support.parse_rate")
    p.add_argument("--java-options", required=True)
    p.add_argument("--records", type=int, default=320_000)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--query", choices=("aggregates", "parse", "route"), default="aggregates")
    p.add_argument("--barriers", default=f"{tr.REPAIR_BARRIER_FIELDS},{tr.ERROR_BARRIER_CHECKS}")
    p.add_argument("--fast-path", choices=("on", "off"), default="on", help="off: the Spark expressions alone")
    p.add_argument("--repaired-every", type=int, default=0, help="every K-th record one to repair (0: none)")
    a = p.parse_args()
    fields, checks = (int(n) for n in a.barriers.split(","))
    tr.REPAIR_BARRIER_FIELDS, tr.ERROR_BARRIER_CHECKS = fields, checks
    extra = {key: a.java_options for key in contracts.SPARK_JAVA_OPTION_KEYS}
    extra["spark.jars"] = str(jvm.jar(config.load().cache))  # the parse's fast path
    spark = build_session(
        "parse-rate", master="local[1]", with_kafka=False, extra={"spark.ui.enabled": "false", **extra}
    )
    spark.sparkContext.setLogLevel("WARN")
    rng = random.Random(7)
    arrival = T0 + 1_000
    rows = [
        Row(
            key=None,
            value=orjson.dumps(_event(n, rng, a.repaired_every)),
            topic="in",
            partition=0,
            offset=n,
            timestamp=arrival,
        )
        for n in range(a.records // 16)
    ]
    schema = "key binary, value binary, topic string, partition int, offset long, timestamp long"
    raw = spark.createDataFrame(rows, schema)
    raw = raw.withColumn("timestamp", (raw["timestamp"] / 1000).cast("timestamp"))
    for _ in range(4):  # 16 copies: the records themselves come from the cache, not from Python
        raw = raw.unionByName(raw)
    raw = raw.cache()
    records = raw.count()
    pid = int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())  # type: ignore[union-attr]
    for i in range(a.rounds):
        began, cpu = time.monotonic(), cpu_seconds(pid)
        with nullcontext() if a.fast_path == "on" else without_fast_path():
            if a.query == "aggregates" and a.fast_path == "on":
                judged = tr.valid_events(raw)
            else:
                judged = tr.classify(raw) if a.query == "route" else tr.parse(raw).valid
        judged.write.format("noop").mode("overwrite").save()
        used = cpu_seconds(pid) - cpu
        line = {"round": i, "records": records, "cpu_s": round(used, 2), "wall_s": round(time.monotonic() - began, 2)}
        print(orjson.dumps({**line, "records_per_cpu_s": round(records / used)}).decode(), flush=True)
    spark.stop()


def _event(n: int, rng: random.Random, repaired_every: int) -> dict[str, object]:
    """A plain valid event; every ``repaired_every``-th one valid once repaired (a number as text, a level's case)."""
    level = "ERROR" if n % 20 == 0 else "INFO"
    rt: object = rng.random() * 100
    if repaired_every and n % repaired_every == 0:
        rt, level = f"{rt:.3f}", level.lower()
    return {
        "id": f"id-{n}",
        "timestamp": T0 + n % 60_000,
        "api": f"/api/{n % 12}",
        "response_time": rt,
        "status_code": 200 if n % 20 else 500,
        "log_level": level,
    }


if __name__ == "__main__":
    main()
