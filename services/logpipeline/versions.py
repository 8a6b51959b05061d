"""Pinned versions of the external components, in one place.

``SPARK_VERSION`` must equal the pinned ``pyspark`` release: the job resolves the
``spark-sql-kafka-0-10_2.13`` connector for exactly this version. Spark 4.3 (whose real-time mode accepts the
aggregates query's de-dup and windows; 4.2's refuses every stateful operator) waits for its Maven artifacts: pyspark
4.3.0 is on the package index, but the Maven registry this project builds from serves no 4.3 connector yet.
"""

SPARK_VERSION = "4.2.0"
SCALA_BINARY = "2.13"
KAFKA_VERSION = "4.1.1"
HADOOP_VERSION = "3.4.2"
LOG4J_VERSION = "2.24.3"

SPARK_KAFKA_PACKAGE = f"org.apache.spark:spark-sql-kafka-0-10_{SCALA_BINARY}:{SPARK_VERSION}"
