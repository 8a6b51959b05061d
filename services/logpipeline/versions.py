"""Pinned versions of the external components, in one place.

``SPARK_VERSION`` must equal the pinned ``pyspark`` release (pyproject), the Spark app image's base and the
operator's ``sparkVersion``. From 4.3, Spark's real-time mode accepts the aggregates query's de-dup, windows and
sketch aggregate (4.2's refused every stateful operator).

``SPARK_KAFKA_CONNECTOR_VERSION`` is the ``spark-sql-kafka-0-10`` connector's release. It should equal
``SPARK_VERSION``; it lags behind it because the Maven registry this project builds from serves no 4.3 connector yet
(4.3.0 and 4.2.1 not found; 4.2.0 is the newest served). The 4.2.0 connector runs under Spark 4.3.0 as source and
sink in both trigger modes (the whole test suite, SASL and pods included, is that check). Set it to
``SPARK_VERSION`` once the registry serves that release.
"""

SPARK_VERSION = "4.3.0"
SPARK_KAFKA_CONNECTOR_VERSION = "4.2.0"
SCALA_BINARY = "2.13"
KAFKA_VERSION = "4.1.1"
HADOOP_VERSION = "3.4.2"
LOG4J_VERSION = "2.24.3"

SPARK_KAFKA_PACKAGE = f"org.apache.spark:spark-sql-kafka-0-10_{SCALA_BINARY}:{SPARK_KAFKA_CONNECTOR_VERSION}"
