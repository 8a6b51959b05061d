"""The reference of the streaming job's cost benchmarks: a count-only query over the input topic, as a process.

``python -m support.spark_count --bootstrap B --topic T --checkpoint DIR [--trigger "1 second"]`` reads the topic
with the job's own Kafka source options, counts the records of each micro-batch and writes nothing: the least a
micro-batch Spark job reading the topic can cost. SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import signal
import threading

from logpipeline_spark import queries
from logpipeline_spark.options import JobOptions
from logpipeline_spark.session import build_session


def main() -> None:
    p = argparse.ArgumentParser(prog="support.spark_count")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--trigger", default="1 second")
    a = p.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    opts = JobOptions(
        a.bootstrap, a.checkpoint, a.checkpoint, a.topic, "unused", "unused", "count", starting_offsets="latest"
    )
    spark = build_session("count-only", master=opts.master, extra={"spark.ui.enabled": "false"})
    spark.sparkContext.setLogLevel("WARN")
    spark.conf.set("spark.sql.streaming.noDataMicroBatches.enabled", "false")
    query = (
        queries.read_input(spark, opts)
        .writeStream.format("noop")
        .option("checkpointLocation", a.checkpoint)
        .trigger(processingTime=a.trigger)
        .start()
    )
    print("query started", flush=True)
    while not stop.wait(1.0) and query.isActive:
        pass
    query.stop()
    spark.stop()


if __name__ == "__main__":
    main()
