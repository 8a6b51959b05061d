"""The three components of the local stack and how each one is prepared, started and checked.

A component owns one or more processes (HDFS has a NameNode and a DataNode), the
loopback ports they bind, and a health check that talks to the real server.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from logpipeline.config import Settings
from logpipeline.stack import artifacts, process
from logpipeline.stack.errors import StackError
from logpipeline.stack.process import run_once

Progress = Callable[[str], None]

JAVA_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in (
        "java.lang",
        "java.lang.reflect",
        "java.util",
        "java.io",
        "java.nio",
        "sun.nio.ch",
        "java.net",
    )
]


def kafka_cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A KRaft cluster id: 16 random bytes in unpadded URL-safe base64. One that starts with ``-`` is drawn again,
    as Kafka's own ``Uuid.randomUuid`` does: the storage tool would read it as an option and refuse to format."""
    while True:
        cluster_id = base64.urlsafe_b64encode(random_bytes()).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Component:
    """A part of the stack: prepare() once, then start its processes and poll healthy()."""

    name: str
    settings: Settings
    ready_timeout: float = 90.0

    def ports(self) -> dict[str, int]:
        raise NotImplementedError

    def address(self) -> str:
        raise NotImplementedError

    def prepare(self, progress: Progress) -> None:
        """Fetch artifacts and write configuration; safe to repeat."""

    def processes(self) -> list[ProcessSpec]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    @property
    def conf_dir(self) -> Path:
        return self.settings.state / "conf" / self.name

    @property
    def data_dir(self) -> Path:
        return self.settings.data / self.name

    def log_file(self, process: str) -> Path:
        return self.settings.logs / f"{process}.log"

    def pid_file(self, process: str) -> Path:
        return self.settings.run / f"{process}.pid"


def find_java(component: str) -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise StackError(component, "Java not found: install a JDK 17+ or set JAVA_HOME")
    return java


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _http_json(url: str, timeout: float = 2.0) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        data: dict[str, object] = json.loads(resp.read())
        return data


class Kafka(Component):
    """A single-node Apache Kafka broker in KRaft mode (broker and controller in one process)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("kafka", settings, ready_timeout=90.0)

    def ports(self) -> dict[str, int]:
        return {"broker": self.settings.ports.kafka, "controller": self.settings.ports.kafka_controller}

    def address(self) -> str:
        return self.settings.kafka_bootstrap

    def _properties(self) -> str:
        host, p = self.settings.host, self.settings.ports
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={host}:{p.kafka_controller}",
                f"listeners=PLAINTEXT://{host}:{p.kafka},CONTROLLER://{host}:{p.kafka_controller}",
                f"advertised.listeners=PLAINTEXT://{host}:{p.kafka}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        )

    def _log4j(self) -> str:
        return "\n".join(
            [
                "status = warn",
                "appender.console.type = Console",
                "appender.console.name = STDOUT",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = %d{ISO8601} %p [%c{1}] %m%n",
                "rootLogger.level = info",
                "rootLogger.appenderRef.stdout.ref = STDOUT",
                "logger.kafka.name = kafka",
                "logger.kafka.level = warn",
                "logger.state.name = state.change.logger",
                "logger.state.level = warn",
                "",
            ]
        )

    def prepare(self, progress: Progress) -> None:
        java = find_java(self.name)
        lib = artifacts.resolve(self.settings.cache, artifacts.KAFKA, progress)
        _write(self.conf_dir / "server.properties", self._properties())
        _write(self.conf_dir / "log4j2.properties", self._log4j())
        if (self.data_dir / "meta.properties").exists():
            return
        progress("formatting KRaft storage")
        cluster_id = kafka_cluster_id()
        rc = run_once(
            [
                java,
                *self._jvm(),
                "-cp",
                artifacts.classpath(lib),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.conf_dir / "server.properties"),
                "--standalone",
                "--ignore-formatted",
            ],
            self.log_file("kafka"),
        )
        if rc != 0:
            raise StackError(self.name, f"formatting the KRaft storage failed (exit {rc})", self.log_file("kafka"))

    def _jvm(self) -> list[str]:
        return [
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}",
        ]

    def processes(self) -> list[ProcessSpec]:
        java = find_java(self.name)
        lib = artifacts.bundle_dir(self.settings.cache, artifacts.KAFKA)
        return [
            ProcessSpec(
                "kafka",
                [
                    java,
                    *self._jvm(),
                    "-cp",
                    artifacts.classpath(lib),
                    "kafka.Kafka",
                    str(self.conf_dir / "server.properties"),
                ],
            )
        ]

    def healthy(self) -> bool:
        from confluent_kafka.admin import AdminClient

        if not process.port_is_open(self.settings.host, self.settings.ports.kafka):
            return False  # no broker: a client would only log its reconnect attempts
        try:
            admin = AdminClient({"bootstrap.servers": self.address(), "socket.timeout.ms": 2000})
            meta = admin.list_topics(timeout=2)
        except Exception:
            return False
        return len(meta.brokers) >= 1


class Hdfs(Component):
    """A real HDFS NameNode and DataNode from the Hadoop jars, with WebHDFS on."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("hdfs", settings, ready_timeout=120.0)

    def ports(self) -> dict[str, int]:
        p = self.settings.ports
        return {
            "namenode-rpc": p.namenode_rpc,
            "namenode-http": p.namenode_http,
            "datanode": p.datanode,
            "datanode-http": p.datanode_http,
            "datanode-ipc": p.datanode_ipc,
        }

    def address(self) -> str:
        return f"{self.settings.hdfs_url} · {self.settings.webhdfs_url}"

    def _site(self, props: dict[str, str]) -> str:
        rows = "\n".join(f"  <property><name>{k}</name><value>{v}</value></property>" for k, v in props.items())
        return f'<?xml version="1.0"?>\n<configuration>\n{rows}\n</configuration>\n'

    def prepare(self, progress: Progress) -> None:
        java = find_java(self.name)
        lib = artifacts.resolve(self.settings.cache, artifacts.HADOOP, progress)
        host, p = self.settings.host, self.settings.ports
        _write(
            self.conf_dir / "core-site.xml",
            self._site(
                {
                    "fs.defaultFS": self.settings.hdfs_url,
                    "hadoop.tmp.dir": str(self.data_dir / "tmp"),
                }
            ),
        )
        _write(
            self.conf_dir / "hdfs-site.xml",
            self._site(
                {
                    "dfs.namenode.name.dir": str(self.data_dir / "name"),
                    "dfs.datanode.data.dir": str(self.data_dir / "data"),
                    "dfs.replication": "1",
                    "dfs.webhdfs.enabled": "true",
                    "dfs.permissions.enabled": "false",
                    "dfs.namenode.rpc-address": f"{host}:{p.namenode_rpc}",
                    "dfs.namenode.http-address": f"{host}:{p.namenode_http}",
                    "dfs.datanode.address": f"{host}:{p.datanode}",
                    "dfs.datanode.http.address": f"{host}:{p.datanode_http}",
                    "dfs.datanode.ipc.address": f"{host}:{p.datanode_ipc}",
                    "dfs.datanode.hostname": host,
                    "dfs.client.use.datanode.hostname": "true",
                    "dfs.namenode.safemode.extension": "0",
                    "dfs.namenode.safemode.min.datanodes": "1",
                    "dfs.heartbeat.interval": "1",
                }
            ),
        )
        _write(
            self.conf_dir / "log4j.properties",
            "\n".join(
                [
                    "log4j.rootLogger=INFO,console",
                    "log4j.appender.console=org.apache.log4j.ConsoleAppender",
                    "log4j.appender.console.layout=org.apache.log4j.PatternLayout",
                    "log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{1}: %m%n",
                    "log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR",
                    "log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN",
                    "log4j.logger.BlockStateChange=WARN",
                    "",
                ]
            ),
        )
        # The HTTP servers look up webapps/<name> on the classpath; the jars do not ship them.
        for app in ("hdfs", "datanode", "secondary", "static"):
            _write(
                self.conf_dir / "webapps" / app / "WEB-INF" / "web.xml",
                '<?xml version="1.0"?>\n<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="5.0"/>\n',
            )
        if (self.data_dir / "name" / "current" / "VERSION").exists():
            return
        progress("formatting the NameNode")
        rc = run_once(
            [
                java,
                *self._jvm(),
                "-cp",
                self._cp(lib),
                "org.apache.hadoop.hdfs.server.namenode.NameNode",
                "-format",
                "-nonInteractive",
                "-force",
            ],
            self.log_file("namenode"),
        )
        if rc != 0:
            raise StackError(self.name, f"formatting the NameNode failed (exit {rc})", self.log_file("namenode"))

    def _cp(self, lib: Path) -> str:
        return artifacts.classpath(lib, self.conf_dir)

    def _jvm(self) -> list[str]:
        return [
            "-Xmx384m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dhadoop.home.dir={self.data_dir}",
            "-Djava.net.preferIPv4Stack=true",
            *JAVA_OPENS,
        ]

    def processes(self) -> list[ProcessSpec]:
        java = find_java(self.name)
        cp = self._cp(artifacts.bundle_dir(self.settings.cache, artifacts.HADOOP))
        return [
            ProcessSpec("namenode", [java, *self._jvm(), "-cp", cp, "org.apache.hadoop.hdfs.server.namenode.NameNode"]),
            ProcessSpec("datanode", [java, *self._jvm(), "-cp", cp, "org.apache.hadoop.hdfs.server.datanode.DataNode"]),
        ]

    def healthy(self) -> bool:
        base = f"{self.settings.webhdfs_url}/jmx?qry=Hadoop:service=NameNode,name="
        try:
            state = _http_json(base + "FSNamesystemState")["beans"]
            info = _http_json(base + "NameNodeInfo")["beans"]
        except Exception:
            return False
        if not state or not info:
            return False
        live = int(state[0].get("NumLiveDataNodes", 0))  # type: ignore[index]
        safemode = info[0].get("Safemode", "")  # type: ignore[index]
        return live >= 1 and not safemode


class DynamoDb(Component):
    """A DynamoDB-API server on loopback (moto's standalone server), reached by boto3 via an endpoint URL."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("dynamodb", settings, ready_timeout=45.0)

    def ports(self) -> dict[str, int]:
        return {"api": self.settings.ports.dynamodb}

    def address(self) -> str:
        return self.settings.dynamodb_endpoint

    def processes(self) -> list[ProcessSpec]:
        return [
            ProcessSpec(
                "dynamodb",
                [
                    sys.executable,
                    "-m",
                    "moto.server",
                    "-H",
                    self.settings.host,
                    "-p",
                    str(self.settings.ports.dynamodb),
                ],
                env={"AWS_DEFAULT_REGION": "us-east-1", "MOTO_ALLOW_NONEXISTENT_REGION": "true"},
            )
        ]

    def healthy(self) -> bool:
        body = json.dumps({}).encode()
        req = urllib.request.Request(
            self.settings.dynamodb_endpoint,
            data=body,
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                "SignedHeaders=host, Signature=0",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                return "TableNames" in json.loads(resp.read())
        except Exception:
            return False


def all_components(settings: Settings) -> list[Component]:
    return [Kafka(settings), Hdfs(settings), DynamoDb(settings)]
