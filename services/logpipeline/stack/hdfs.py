"""The local stack's HDFS: a NameNode and a DataNode from the Hadoop jars, WebHDFS on."""

from __future__ import annotations

from pathlib import Path

from logpipeline.config import Settings
from logpipeline.stack import artifacts
from logpipeline.stack.component import (
    JAVA_OPENS,
    Component,
    ProcessSpec,
    Progress,
    find_java,
    http_json,
    write_if_changed,
)
from logpipeline.stack.errors import StackError
from logpipeline.stack.process import run_once


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
        write_if_changed(
            self.conf_dir / "core-site.xml",
            self._site(
                {
                    "fs.defaultFS": self.settings.hdfs_url,
                    "hadoop.tmp.dir": str(self.data_dir / "tmp"),
                }
            ),
        )
        write_if_changed(
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
        write_if_changed(
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
            write_if_changed(
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
            state = http_json(base + "FSNamesystemState")["beans"]
            info = http_json(base + "NameNodeInfo")["beans"]
        except Exception:
            return False
        if not state or not info:
            return False
        live = int(state[0].get("NumLiveDataNodes", 0))  # type: ignore[index]
        safemode = info[0].get("Safemode", "")  # type: ignore[index]
        return live >= 1 and not safemode
