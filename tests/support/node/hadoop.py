"""A local stand-in for the archive's image (``apache/hadoop``): the Java base, Hadoop's jars and an ``hdfs`` command.

The official image cannot be pulled here. This one has what the operator's HDFS StatefulSets run: ``hdfs namenode``
(``-format``), ``hdfs datanode``, ``hdfs dfsadmin`` and ``hdfs dfs``, each the Hadoop class the real ``hdfs`` script
runs, from the same Maven bundle as the local stack (:data:`logpipeline.stack.artifacts.HADOOP`), with the pod's
``HADOOP_CONF_DIR`` first on the class path. The base's Java is 17 (the official image's is 11), so the JVM gets the
local stack's ``--add-opens`` (without them WebHDFS answers 500: its JAXB cannot reach ``ClassLoader.defineClass``).
"""

from __future__ import annotations

from pathlib import Path

from logpipeline import versions
from logpipeline.stack import artifacts
from logpipeline.stack.component import JAVA_OPENS
from support.node import images

HDFS = (
    """#!/bin/sh
# hdfs SUBCOMMAND [ARGS]: the Hadoop class the real hdfs script runs for each subcommand the operator uses.
set -eu
command="${1:?usage: hdfs namenode|datanode|dfsadmin|dfs [args]}"
shift
case "$command" in
  namenode) class=org.apache.hadoop.hdfs.server.namenode.NameNode ;;
  datanode) class=org.apache.hadoop.hdfs.server.datanode.DataNode ;;
  dfsadmin) class=org.apache.hadoop.hdfs.tools.DFSAdmin ;;
  dfs) class=org.apache.hadoop.fs.FsShell ;;
  *) echo "hdfs: unknown subcommand $command" >&2; exit 2 ;;
esac
exec java -Xmx"${HADOOP_HEAPSIZE_MAX:-512m}" -Djava.net.preferIPv4Stack=true -Dhadoop.home.dir=/opt/hadoop \\
  """
    + " ".join(JAVA_OPENS)
    + """ \\
  -cp "${HADOOP_CONF_DIR:-/opt/hadoop/etc/hadoop}:/opt/hadoop/etc/log4j:/opt/hadoop/share:/opt/hadoop/lib/*" "$class" "$@"
"""
)
LOG4J = """log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{1}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
"""
# The NameNode's and DataNode's HTTP servers look up webapps/<name> on the class path; the jars do not ship them.
WEBAPPS = ("hdfs", "datanode", "secondary", "static")
WEB_XML = '<?xml version="1.0"?>\n<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="5.0"/>\n'


def image(cache: Path, progress: images.Progress) -> str:
    base = images.java_base(cache, progress)
    libs = artifacts.resolve(cache, artifacts.HADOOP, progress)
    containerfile = (
        f"FROM {base}\n"
        "COPY libs/ /opt/hadoop/lib/\n"
        "COPY log4j.properties /opt/hadoop/etc/log4j/log4j.properties\n"
        "COPY webapps/ /opt/hadoop/share/webapps/\n"
        "COPY hdfs /usr/local/bin/hdfs\n"
        "RUN chmod 0755 /usr/local/bin/hdfs && mkdir -p /opt/hadoop/etc/hadoop\n"
        "USER 10001:10001\n"
    )
    recipe = images.recipe_hash(containerfile, HDFS, LOG4J, WEB_XML, libs.name)
    tag = f"localhost/logpipeline-bases/hadoop:{versions.HADOOP_VERSION}-{recipe}"
    files: dict[str, Path | str] = {"libs": libs, "hdfs": HDFS, "log4j.properties": LOG4J}
    files.update({f"webapps/{app}/WEB-INF/web.xml": WEB_XML for app in WEBAPPS})
    return images.build_context(cache, tag, containerfile, files, progress)
