"""The HDFS archive: NameNode and DataNode StatefulSets, their headless Services and configuration (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from logpipeline import contracts
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common
from logpipeline_operator.builders.common import Body, Manifest, child_name, metadata, spec_of

NAMENODE = "hdfs-namenode"
DATANODE = "hdfs-datanode"
CONF_DIR = "/etc/hadoop-conf"
NAMENODE_PORTS = {"rpc": contracts.NAMENODE_RPC_PORT_K8S, "http": contracts.NAMENODE_HTTP_PORT}
DATANODE_PORTS = {"data": 9866, "http": 9864, "ipc": 9867}


def _xml(properties: Mapping[str, str]) -> str:
    body = "".join(
        f"  <property><name>{key}</name><value>{value}</value></property>\n" for key, value in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def build_hdfs_config_map(lp: Body) -> Manifest:
    archive = spec_of(lp)["archive"]
    core = {"fs.defaultFS": f"hdfs://{child_name(lp, NAMENODE)}:{contracts.NAMENODE_RPC_PORT_K8S}"}
    hdfs = {
        "dfs.namenode.name.dir": "file:///data/name",
        "dfs.datanode.data.dir": "file:///data/data",
        "dfs.replication": str(min(3, archive["datanode"]["replicas"])),
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        "dfs.client.use.datanode.hostname": "true",
        "dfs.datanode.use.datanode.hostname": "true",
        "dfs.webhdfs.enabled": "true",
        # Listen on every address: the Service name in fs.defaultFS resolves to the pod only once it is published.
        "dfs.namenode.rpc-bind-host": "0.0.0.0",
        "dfs.namenode.servicerpc-bind-host": "0.0.0.0",
        "dfs.namenode.http-bind-host": "0.0.0.0",
        "dfs.namenode.https-bind-host": "0.0.0.0",
        # Permissions on: the archive's path belongs to the Spark jobs' user (build_namenode_statefulset), the
        # NameNode's own user is the superuser, nobody else writes.
        "dfs.permissions.enabled": "true",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(lp, child_name(lp, "hdfs-config"), NAMENODE),
        "data": {"core-site.xml": _xml(core), "hdfs-site.xml": _xml(hdfs)},
    }


def _statefulset(lp: Body, role: str, replicas: int, size: str, script: str, ports: Mapping[str, int]) -> Manifest:
    spec = spec_of(lp)
    archive = spec["archive"]
    main = common.container(
        role.removeprefix("hdfs-"),
        archive["image"],
        spec["imagePullPolicy"],
        ["sh", "-c", script],
        ports=ports,
        res=common.resources("250m", "1Gi", "1", "2Gi"),
        readiness=common.tcp_probe("http", 10),
        liveness=common.tcp_probe("http", 60),
        env=[{"name": "HADOOP_CONF_DIR", "value": CONF_DIR}, {"name": "HADOOP_LOG_DIR", "value": "/tmp/logs"}],
        mounts=[{"name": "data", "mountPath": "/data"}, {"name": "conf", "mountPath": CONF_DIR}],
    )
    volumes = [{"name": "conf", "configMap": {"name": child_name(lp, "hdfs-config")}}]
    claim: Manifest = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if archive.get("storageClassName"):
        claim["storageClassName"] = archive["storageClassName"]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(lp, child_name(lp, role), role),
        "spec": {
            "serviceName": child_name(lp, role),
            "replicas": replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": common.selector_labels(lp, role)},
            "template": common.pod_template(lp, role, [main], volumes, identity=True),
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim}],
            # The claims made from the template are not owned by the LogPipeline: without this they would
            # outlive it (deleting the pipeline must leave nothing); scaling down keeps a DataNode's data.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        },
    }


def namenode_script(lp: Body) -> str:
    """Format once, start the NameNode, then give the archive's path to the Spark jobs' user (as the superuser)."""
    path = spec_of(lp)["archive"]["path"]
    return "; ".join(
        [
            "[ -d /data/name/current ] || hdfs namenode -format -nonInteractive",
            "hdfs namenode & nn=$!",
            "trap 'kill -TERM $nn' TERM INT",
            "until hdfs dfsadmin -safemode wait >/dev/null 2>&1; do sleep 2; done",
            f"hdfs dfs -mkdir -p {path} && hdfs dfs -chown {c.ARCHIVE_WRITER} {path} && hdfs dfs -chmod 750 {path}"
            f" || echo 'could not prepare {path} for {c.ARCHIVE_WRITER}' >&2",
            "wait $nn",
        ]
    )


def _role_statefulset(lp: Body, role: str, key: str, script: str, ports: Mapping[str, int]) -> Manifest:
    node = spec_of(lp)["archive"][key]
    return _statefulset(lp, role, node["replicas"], node["storage"], script, ports)


def build_namenode_statefulset(lp: Body) -> Manifest:
    return _role_statefulset(lp, NAMENODE, "namenode", namenode_script(lp), NAMENODE_PORTS)


def build_datanode_statefulset(lp: Body) -> Manifest:
    return _role_statefulset(lp, DATANODE, "datanode", "exec hdfs datanode", DATANODE_PORTS)


def build_hdfs_services(lp: Body) -> list[Manifest]:
    return [
        common.service(lp, child_name(lp, role), role, {k: (v, v) for k, v in ports.items()}, headless=True)
        for role, ports in ((NAMENODE, NAMENODE_PORTS), (DATANODE, DATANODE_PORTS))
    ]


def build_hdfs(lp: Body) -> list[Manifest]:
    if not spec_of(lp)["archive"]["enabled"]:
        return []
    return [
        build_hdfs_config_map(lp),
        build_namenode_statefulset(lp),
        build_datanode_statefulset(lp),
        *build_hdfs_services(lp),
    ]
