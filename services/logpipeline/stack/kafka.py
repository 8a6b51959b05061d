"""The local stack's Kafka broker: KRaft (broker and controller in one process) from the official jars."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

from logpipeline.config import Settings
from logpipeline.stack import artifacts, process
from logpipeline.stack.component import (
    Component,
    ProcessSpec,
    Progress,
    find_java,
    write_if_changed,
)
from logpipeline.stack.errors import StackError
from logpipeline.stack.process import run_once


def kafka_cluster_id(random_bytes: Callable[[], bytes] = lambda: uuid.uuid4().bytes) -> str:
    """A KRaft cluster id: 16 random bytes in unpadded URL-safe base64. One that starts with ``-`` is drawn again,
    as Kafka's own ``Uuid.randomUuid`` does: the storage tool would read it as an option and refuse to format."""
    while True:
        cluster_id = base64.urlsafe_b64encode(random_bytes()).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class Kafka(Component):
    """A single-node Apache Kafka broker in KRaft mode (broker and controller in one process)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("kafka", settings, ready_timeout=90.0)

    def ports(self) -> dict[str, int]:
        ports = self.settings.ports
        return {"broker": ports.kafka, "sasl": ports.kafka_sasl, "controller": ports.kafka_controller}

    def address(self) -> str:
        return self.settings.kafka_bootstrap

    def _properties(self) -> str:
        host, p = self.settings.host, self.settings.ports
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={host}:{p.kafka_controller}",
                f"listeners=PLAINTEXT://{host}:{p.kafka},SASL_PLAINTEXT://{host}:{p.kafka_sasl},"
                f"CONTROLLER://{host}:{p.kafka_controller}",
                f"advertised.listeners=PLAINTEXT://{host}:{p.kafka},SASL_PLAINTEXT://{host}:{p.kafka_sasl}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
                # SCRAM users (created through the Admin API) on the SASL listener, held to their ACLs; the plain
                # listener's clients (the local pipeline, tests, the stack's own checks) are the administrators.
                "sasl.enabled.mechanisms=SCRAM-SHA-512",
                "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users=User:ANONYMOUS",
                "allow.everyone.if.no.acl.found=false",
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
        write_if_changed(self.conf_dir / "server.properties", self._properties())
        write_if_changed(self.conf_dir / "log4j2.properties", self._log4j())
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
