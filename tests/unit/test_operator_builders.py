"""Builders of the LogPipeline operator: one class per child kind, pure (no API server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from logpipeline import contracts, versions
from logpipeline_operator import constants as c
from logpipeline_operator.builders import (
    config,
    correction,
    dashboard,
    dynamodb,
    generator,
    hdfs,
    kafka,
    names,
    plan,
    sink,
    spark,
)
from support import crd

UID = crd.UID


def pipeline(**spec: Any) -> dict[str, Any]:
    return crd.logpipeline(spec)


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "StatefulSet"):
        return dict(obj["spec"]["template"]["spec"])
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return None


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return list(spec["containers"]) if spec else []


class TestConfigMap:
    def test_a_regional_pipelines_region_reaches_every_component(self) -> None:
        assert contracts.ENV_REGION not in config.build_config_map(pipeline())["data"]  # a single-region store
        assert config.build_config_map(pipeline(region="eu-west-1"))["data"][contracts.ENV_REGION] == "eu-west-1"

    def test_addresses_point_at_the_pipelines_own_services(self) -> None:
        cm = config.build_config_map(pipeline())
        assert cm["metadata"]["name"] == "lp1-config"
        assert cm["data"]["LOGPIPELINE_INPUT_TOPIC"] == "logging_info"
        assert cm["data"]["LOGPIPELINE_DYNAMODB_ENDPOINT"] == "http://lp1-dynamodb:8000"
        assert cm["data"]["LOGPIPELINE_HDFS_URL"] == "hdfs://lp1-hdfs-namenode:8020"

    def test_aws_engine_has_no_local_endpoint_and_keys_come_from_the_secret(self) -> None:
        lp = pipeline(metricsStore={"engine": "aws", "credentialsSecret": {"name": "aws-keys"}})
        assert config.build_config_map(lp)["data"]["LOGPIPELINE_DYNAMODB_ENDPOINT"] == ""  # empty: AWS
        env = {e["name"]: e for e in config.credentials_env(lp)}
        assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "aws-keys",
            "key": "AWS_SECRET_ACCESS_KEY",
        }
        assert all("value" not in e for e in env.values())

    def test_the_dashboard_holds_only_the_read_only_keys(self) -> None:
        store = {
            "engine": "aws",
            "credentialsSecret": {"name": "writer"},
            "readOnlyCredentialsSecret": {"name": "reader"},
        }
        lp = pipeline(metricsStore=store)
        secrets = {}
        for obj in plan.build_children(lp):
            pod = (obj.get("spec") or {}).get("template", {}).get("spec") or (
                ((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get("template", {}).get("spec")
            )
            for container in (pod or {}).get("containers", []):
                refs = {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e
                        and "secretKeyRef" in e["valueFrom"]}  # fmt: skip
                if refs:
                    secrets[container["name"]] = refs
        # Besides its own Kafka password (Strimzi's Secret of its KafkaUser), each holds only the keys it needs.
        assert secrets == {
            "sink": {"writer", "lp1-kafka-sink"},
            "correct": {"writer", "lp1-kafka-correction"},
            "dashboard": {"reader", "lp1-kafka-dashboard"},  # its Kafka user only reads the input (live tail)
            "scorer": {"writer", "lp1-kafka-anomalies"},  # it writes the anomalies table
        }


class TestKafkaTopic:
    def test_four_topics_with_cluster_label_and_topic_name(self) -> None:
        topics = kafka.build_kafka_topics(pipeline())
        assert [t["spec"]["topicName"] for t in topics] == [
            "logging_info",
            "agg_logging_info",
            "logging_info.dlq",
            "anomalies_logging_info",
        ]
        first = topics[0]
        assert first["apiVersion"] == "kafka.strimzi.io/v1"
        assert first["metadata"]["name"] == "lp1-topic-input"
        assert first["metadata"]["labels"]["strimzi.io/cluster"] == "logpipeline-kafka"
        assert first["spec"]["partitions"] == 3
        assert first["spec"]["config"]["retention.ms"] == 604800000

    def test_partition_decrease_is_refused_and_named(self) -> None:
        lp = pipeline(kafka={"topics": {"input": {"partitions": 2}}})
        desired = kafka.build_kafka_topics(lp)
        kept, refusals = kafka.refuse_partition_decreases(lp, desired, {"lp1-topic-input": 6})
        assert kept[0]["spec"]["partitions"] == 6
        assert len(refusals) == 1 and refusals[0].startswith("spec.kafka.topics.input.partitions: 2")

    def test_partition_increase_goes_through(self) -> None:
        lp = pipeline(kafka={"topics": {"input": {"partitions": 8}}})
        kept, refusals = kafka.refuse_partition_decreases(lp, kafka.build_kafka_topics(lp), {"lp1-topic-input": 6})
        assert kept[0]["spec"]["partitions"] == 8 and refusals == []


class TestSparkApplication:
    def test_operator_mode_builds_a_python_spark_application(self) -> None:
        app = spark.build_spark_application(pipeline())
        assert (app["apiVersion"], app["kind"]) == ("sparkoperator.k8s.io/v1beta2", "SparkApplication")
        assert app["spec"]["type"] == "Python" and app["spec"]["sparkVersion"] == versions.SPARK_VERSION
        assert app["spec"]["image"] == c.SPARK_APP_IMAGE
        assert app["spec"]["executor"]["instances"] == 2
        assert app["spec"]["driver"]["serviceAccount"] == "lp1-spark"
        assert app["spec"]["sparkConf"]["spark.sql.streaming.checkpointLocation"].startswith("hdfs://lp1-hdfs-namenode")
        # The Spark operator's controller may not create NetworkPolicies: Spark's own step is left out (ours apply).
        excluded = app["spec"]["sparkConf"]["spark.kubernetes.driver.pod.excludedFeatureSteps"]
        assert excluded == "org.apache.spark.deploy.k8s.features.NetworkPolicyFeatureStep"
        # the JIT compiles the parse's huge generated method, in the driver and the executors
        conf = app["spec"]["sparkConf"]
        assert {k: conf[k] for k in contracts.SPARK_JAVA_OPTION_KEYS} == {
            "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods",
            "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods",
        }


class TestSparkSubmitDriver:
    def test_submit_mode_runs_client_mode_spark_submit_against_the_cluster(self) -> None:
        lp = pipeline(spark={"mode": "submit", "executor": {"instances": 3}})
        kinds = [obj["kind"] for obj in spark.build_spark(lp)]
        assert "SparkApplication" not in kinds and kinds.count("Deployment") == 1 and "Service" not in kinds
        driver = spark.build_spark_submit_driver(lp)
        pod = driver["spec"]["template"]["spec"]
        cmd = pod["containers"][0]["command"]
        assert cmd[:3] == ["/opt/spark/bin/spark-submit", "--master", "k8s://https://kubernetes.default.svc:443"]
        assert "spark.executor.instances=3" in cmd
        # Executors reach the driver at its pod IP, bound on every address: no Service that waits for readiness.
        assert {"spark.driver.host=$(POD_IP)", "spark.driver.bindAddress=0.0.0.0"} <= set(cmd)
        # the executors are told the pod IP, not the wildcard the driver binds to
        assert "spark.kubernetes.executor.useDriverPodIP=false" in cmd
        assert "spark.driver.extraJavaOptions=-XX:-DontCompileHugeMethods" in cmd  # the driver JVM spark-submit starts
        env = {e["name"]: e["valueFrom"] for e in pod["containers"][0]["env"] if "fieldRef" in e.get("valueFrom", {})}
        assert env == {"POD_NAME": {"fieldRef": {"fieldPath": "metadata.name"}},
                       "POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}}}  # fmt: skip
        assert pod["serviceAccountName"] == "lp1-spark"
        assert pod["securityContext"]["runAsUser"] == 185  # the Spark image's own user
        # Ready once the queries run and the executors registered (the job's /readyz), not when the UI listens
        assert cmd[-2:] == ["--metrics-port", str(contracts.SPARK_HTTP_PORT)]
        assert pod["containers"][0]["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}

    def test_a_small_cluster_requests_less_cpu_than_the_cores(self) -> None:
        small = {"driver": {"requestCores": "250m"}, "executor": {"requestCores": "0.5", "cores": 2}}
        driver = spark.build_spark_submit_driver(pipeline(spark={"mode": "submit", **small}))
        container = driver["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"]["requests"]["cpu"] == "250m" and container["resources"]["limits"]["cpu"] == "1"
        assert {"spark.kubernetes.executor.request.cores=0.5", "spark.kubernetes.executor.limit.cores=2"} <= set(
            container["command"]
        )
        app = spark.build_spark_application(pipeline(spark=small))["spec"]
        assert (app["driver"]["coreRequest"], app["executor"]["coreRequest"]) == ("250m", "0.5")
        plain = spark.build_spark_application(pipeline())["spec"]
        assert "coreRequest" not in plain["driver"]
        # the default executors: the task slots of real-time mode (3 cores each) for a request of 1 core each
        assert (plain["executor"]["cores"], plain["executor"]["coreRequest"]) == (3, "1")
        given = spark.build_spark_application(pipeline(spark={"executor": {"cores": 2}}))["spec"]
        assert "coreRequest" not in given["executor"], "executors given without requestCores request their cores"

    def test_executors_start_from_a_restricted_pod_template(self) -> None:
        lp = pipeline(spark={"mode": "submit"})
        templates = spark.build_spark_pod_templates(lp)
        executor = json.loads(templates["data"]["executor.json"])
        assert executor["spec"]["securityContext"]["runAsNonRoot"] is True
        assert executor["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        container = executor["spec"]["containers"][0]
        assert container["name"] == "executor"
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        cmd = spark.build_spark_submit_driver(lp)["spec"]["template"]["spec"]["containers"][0]["command"]
        assert "spark.kubernetes.executor.podTemplateFile=/opt/logpipeline/pod-templates/executor.json" in cmd
        mounts = spark.build_spark_submit_driver(lp)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {"name": "pod-templates", "mountPath": "/opt/logpipeline/pod-templates", "readOnly": True} in mounts


class TestSparkRbac:
    def test_the_driver_is_bound_to_the_pre_created_cluster_role_in_its_namespace(self) -> None:
        binding = spark.build_spark_role_binding(pipeline())
        assert binding["kind"] == "RoleBinding" and binding["metadata"]["namespace"] == "ns1"
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "logpipeline-spark-driver",
        }
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "lp1-spark", "namespace": "ns1"}]
        assert spark.build_spark_service_account(pipeline())["metadata"]["name"] == "lp1-spark"
        assert "Role" not in [obj["kind"] for obj in plan.build_children(pipeline())]


class TestDynamoDBLocal:
    def test_deployment_service_and_claim(self) -> None:
        objs = dynamodb.build_dynamodb(pipeline(metricsStore={"storage": "3Gi"}))
        assert [o["kind"] for o in objs] == ["PersistentVolumeClaim", "Deployment", "Service"]
        assert objs[0]["spec"]["resources"]["requests"]["storage"] == "3Gi"
        volumes = objs[1]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "lp1-dynamodb-data"}} in volumes

    def test_nothing_for_aws(self) -> None:
        assert (
            dynamodb.build_dynamodb(pipeline(metricsStore={"engine": "aws", "credentialsSecret": {"name": "k"}})) == []
        )


class TestHdfs:
    def test_namenode_and_datanode_statefulsets(self) -> None:
        objs = hdfs.build_hdfs(pipeline(archive={"datanode": {"replicas": 3}}))
        sets = {o["metadata"]["name"]: o for o in objs if o["kind"] == "StatefulSet"}
        assert sets["lp1-hdfs-datanode"]["spec"]["replicas"] == 3
        assert sets["lp1-hdfs-namenode"]["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"] == {
            "storage": "5Gi"
        }
        conf = next(o for o in objs if o["kind"] == "ConfigMap")
        assert "<value>3</value>" in conf["data"]["hdfs-site.xml"]
        assert all(s["spec"]["clusterIP"] == "None" for s in objs if s["kind"] == "Service")

    def test_disabled_archive_builds_nothing(self) -> None:
        assert hdfs.build_hdfs(pipeline(archive={"enabled": False})) == []


class TestSink:
    def test_sink_deployment(self) -> None:
        dep = sink.build_sink_deployment(pipeline(sink={"replicas": 4}))
        assert dep["spec"]["replicas"] == 4
        main = dep["spec"]["template"]["spec"]["containers"][0]
        assert main["image"] == c.SERVICES_IMAGE and main["command"][:2] == ["logpipeline", "sink"]
        assert main["envFrom"] == [{"configMapRef": {"name": "lp1-config"}}]
        assert contracts.ENV_REPLICA_REGIONS not in {e["name"] for e in main.get("env", [])}

    def test_replica_regions_reach_the_sink_which_sets_them_up_at_start(self) -> None:
        store = {"engine": "aws", "replicaRegions": ["eu-west-1", "ap-south-1"], "credentialsSecret": {"name": "w"},
                 "readOnlyCredentialsSecret": {"name": "r"}}  # fmt: skip
        main = sink.build_sink_deployment(pipeline(metricsStore=store))["spec"]["template"]["spec"]["containers"][0]
        assert {"name": contracts.ENV_REPLICA_REGIONS, "value": "eu-west-1,ap-south-1"} in main["env"]


class TestDashboardDeployment:
    def test_the_regions_of_the_global_view_and_the_stale_age(self) -> None:
        def env(lp: dict[str, Any]) -> dict[str, Any]:
            main = dashboard.build_dashboard_deployment(lp)["spec"]["template"]["spec"]["containers"][0]
            return {e["name"]: e.get("value") for e in main["env"]}

        plain = env(pipeline())
        assert contracts.ENV_DASHBOARD_REGIONS not in plain and plain[contracts.ENV_DASHBOARD_STALE_SECONDS] == "300"
        both = env(pipeline(region="eu-west-1", dashboard={"regions": ["eu-west-1", "us-east-1"], "staleSeconds": 120}))
        assert both[contracts.ENV_DASHBOARD_REGIONS] == "eu-west-1,us-east-1"
        assert both[contracts.ENV_DASHBOARD_STALE_SECONDS] == "120"

    def test_gunicorn_workers_and_replicas_left_to_the_hpa(self) -> None:
        dep = dashboard.build_dashboard_deployment(pipeline(dashboard={"gunicorn": {"workers": 3, "threads": 8}}))
        cmd = dep["spec"]["template"]["spec"]["containers"][0]["command"]
        assert (
            cmd[0] == "gunicorn" and cmd[cmd.index("--workers") + 1] == "3" and cmd[cmd.index("--threads") + 1] == "12"
        )  # 8 for pages and callbacks, 4 for the live tails a worker serves at most (liveTail.perWorker)
        env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert (
            env["LOGPIPELINE_DASHBOARD_LIVE_TAILS"] == "4"
            and env["LOGPIPELINE_DASHBOARD_LIVE_LINES_PER_SECOND"] == "500"
        )
        password = next(e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]
                        if e["name"] == "LOGPIPELINE_KAFKA_PASSWORD")  # fmt: skip
        assert password["valueFrom"]["secretKeyRef"] == {"name": "lp1-kafka-dashboard", "key": "password",
                                                         "optional": True}  # fmt: skip
        assert "replicas" not in dep["spec"]

    def test_fixed_replicas_without_autoscaling(self) -> None:
        dep = dashboard.build_dashboard_deployment(
            pipeline(dashboard={"replicas": 4, "autoscaling": {"enabled": False}})
        )
        assert dep["spec"]["replicas"] == 4


class TestDashboardService:
    def test_port_80_to_gunicorn(self) -> None:
        svc = dashboard.build_dashboard_service(pipeline())
        assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == c.DASHBOARD_PORT


class TestHorizontalPodAutoscaler:
    def test_cpu_target_and_bounds(self) -> None:
        hpa = dashboard.build_dashboard_hpa(pipeline(dashboard={"autoscaling": {"maxReplicas": 9}}))
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 9)
        assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70

    def test_no_hpa_when_disabled(self) -> None:
        kinds = [o["kind"] for o in dashboard.build_dashboard(pipeline(dashboard={"autoscaling": {"enabled": False}}))]
        assert "HorizontalPodAutoscaler" not in kinds


class TestDashboardExposure:
    def test_metrics_listen_apart_from_the_routed_port_and_tls_follows_the_certificate(self) -> None:
        lp = pipeline(dashboard={"ingress": {"enabled": True, "host": "logs.example.com", "tlsSecretName": "cert"}})
        objs = {o["kind"]: o for o in dashboard.build_dashboard(lp)}
        (main,) = objs["Deployment"]["spec"]["template"]["spec"]["containers"]
        assert "0.0.0.0:9112" in main["command"] and {"name": "metrics", "containerPort": 9112} in main["ports"]
        assert {"name": "LOGPIPELINE_DASHBOARD_METRICS_PORT", "value": "9112"} in main["env"]
        assert [p["name"] for p in objs["Service"]["spec"]["ports"]] == ["http"]
        (rule,) = objs["Ingress"]["spec"]["rules"]
        assert rule["http"]["paths"][0]["backend"]["service"]["port"] == {"name": "http"}
        assert objs["Ingress"]["spec"]["tls"] == [{"hosts": ["logs.example.com"], "secretName": "cert"}]


class TestPodDisruptionBudget:
    def test_evicts_one_dashboard_pod_at_a_time_and_never_blocks_a_drain(self) -> None:
        pdb = dashboard.build_dashboard_pdb(pipeline())
        assert pdb["spec"] == {**pdb["spec"], "maxUnavailable": 1} and "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["selector"]["matchLabels"][c.LABEL_COMPONENT] == "dashboard"


class TestIngress:
    def test_host_class_and_tls(self) -> None:
        ing = dashboard.build_dashboard_ingress(
            pipeline(dashboard={"ingress": {"host": "logs.example.org", "tlsSecretName": "logs-tls"}})
        )
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["spec"]["rules"][0]["host"] == "logs.example.org"
        assert ing["spec"]["tls"] == [{"hosts": ["logs.example.org"], "secretName": "logs-tls"}]


class TestGenerator:
    def test_only_when_enabled(self) -> None:
        assert generator.build_generator(pipeline()) == []
        dep = generator.build_generator_deployment(pipeline(generator={"enabled": True, "eventsPerSecond": 500}))
        assert "500" in dep["spec"]["template"]["spec"]["containers"][0]["command"]


class TestCorrection:
    def test_a_cronjob_runs_the_correction_in_local_mode_never_two_at_once(self) -> None:
        [job] = correction.build_correction(pipeline(correction={"schedule": "*/10 * * * *", "lookbackHours": 6}))
        assert (job["kind"], job["spec"]["schedule"], job["spec"]["concurrencyPolicy"]) == (
            "CronJob",
            "*/10 * * * *",
            "Forbid",
        )
        [ctr] = containers(job)
        assert ctr["command"][:3] == ["/opt/spark/bin/spark-submit", "--master", "local[2]"]
        assert ctr["command"][ctr["command"].index("--lookback-hours") + 1] == "6"
        assert ctr["command"][ctr["command"].index("--settle") + 1] == "210"
        assert ctr["envFrom"] == [{"configMapRef": {"name": "lp1-config"}}]
        assert job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        assert (ctr["resources"]["requests"]["cpu"], ctr["resources"]["limits"]["cpu"]) == ("500m", "2")
        [small] = correction.build_correction(pipeline(correction={"requestCores": "0.25"}))
        assert containers(small)[0]["resources"]["requests"]["cpu"] == "0.25"

    def test_nothing_without_the_archive_or_when_disabled(self) -> None:
        assert correction.build_correction(pipeline(archive={"enabled": False})) == []
        assert correction.build_correction(pipeline(correction={"enabled": False})) == []


class TestPlan:
    def test_every_child_is_owned_labelled_and_restricted(self) -> None:
        lp = crd.logpipeline(crd.example()["spec"], name="example")
        children = plan.build_children(lp)
        assert len({plan.key(o) for o in children}) == len(children)
        for obj in children:
            assert (obj["apiVersion"], obj["kind"]) in plan.KINDS
            ref = obj["metadata"]["ownerReferences"][0]
            assert ref["uid"] == UID and ref["controller"] is True and ref["kind"] == "LogPipeline"
            assert obj["metadata"]["labels"][c.LABEL_MANAGED_BY] == c.MANAGED_BY
            for ctr in containers(obj):
                assert ctr["resources"]["requests"] and ctr["resources"]["limits"]
                assert obj["kind"] == "CronJob" or (ctr["readinessProbe"] and ctr["livenessProbe"])
                assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
                assert ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]}
            spec = pod_spec(obj)
            if spec is not None:
                pod = spec["securityContext"]
                assert pod["runAsNonRoot"] is True and pod["seccompProfile"]["type"] == "RuntimeDefault"
        assert "CronJob" in {o["kind"] for o in children}, "the example archives, so it corrects late data"

    def test_prune_lists_what_the_spec_no_longer_wants(self) -> None:
        before = plan.build_children(pipeline())
        after = plan.build_children(pipeline(dashboard={"ingress": {"enabled": False}}))
        assert [(o["kind"], o["metadata"]["name"]) for o in plan.to_prune(after, before)] == [
            ("Ingress", "lp1-dashboard")
        ]

    @pytest.mark.parametrize("kind", ["Deployment", "KafkaTopic"])
    def test_resource_paths(self, kind: str) -> None:
        api = {"Deployment": "apps/v1", "KafkaTopic": "kafka.strimzi.io/v1"}[kind]
        path = plan.resource_path(api, kind, "ns1", "x")
        assert path == f"/apis/{api}/namespaces/ns1/{plan.KINDS[(api, kind)]}/x"


class TestWithoutArchive:
    def test_checkpoints_go_where_the_spec_says_and_nothing_is_archived(self) -> None:
        lp = pipeline(archive={"enabled": False}, spark={"checkpointRoot": "s3a://bucket/logs"})
        data = config.build_config_map(lp)["data"]
        assert data["LOGPIPELINE_CHECKPOINT_ROOT"] == "s3a://bucket/logs"
        assert data["LOGPIPELINE_QUERIES"] == "aggregates,dead_letters"
        assert "LOGPIPELINE_HDFS_URL" not in data and "LOGPIPELINE_ARCHIVE_ROOT" not in data
        app = spark.build_spark_application(lp)
        assert app["spec"]["sparkConf"]["spark.sql.streaming.checkpointLocation"] == "s3a://bucket/logs/checkpoints"

    def test_the_job_reads_its_queries_and_checkpoint_root_from_the_config_map(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from logpipeline_spark import options

        lp = pipeline(archive={"enabled": False}, spark={"checkpointRoot": "s3a://bucket/logs"})
        for key, value in config.build_config_map(lp)["data"].items():
            monkeypatch.setenv(key, value)
        opts = options.parse_args([])
        assert opts.queries == ("aggregates", "dead_letters")
        assert opts.checkpoint("aggregates") == "s3a://bucket/logs/lp1/checkpoints/aggregates"

    def test_the_job_reads_the_aggregates_mode_from_the_config_map(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from logpipeline_spark import options

        assert config.build_config_map(pipeline())["data"][contracts.ENV_AGGREGATES_MODE] == "realtime"
        lp = pipeline(spark={"aggregatesMode": "microbatch", "executor": {"instances": 2, "cores": 1}})
        for key, value in config.build_config_map(lp)["data"].items():
            monkeypatch.setenv(key, value)
        assert options.parse_args([]).mode == "microbatch"

    def test_the_job_reads_the_realtime_emit_interval_from_the_config_map(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from logpipeline_spark import options

        data = config.build_config_map(pipeline())["data"]
        assert data[contracts.ENV_REALTIME_EMIT_MS] == str(contracts.REALTIME_EMIT_MS)
        lp = pipeline(
            spark={"aggregatesMode": "realtime", "realtimeEmitMs": 0, "executor": {"instances": 2, "cores": 4}}
        )
        for key, value in config.build_config_map(lp)["data"].items():
            monkeypatch.setenv(key, value)
        assert options.parse_args([]).realtime_emit_ms == 0

    def test_the_crd_requires_a_checkpoint_root_without_the_archive(self) -> None:
        rules = crd.crd_schema(crd.CRD)["properties"]["spec"]["x-kubernetes-validations"]
        assert rules[0]["rule"] == (
            "!has(self.archive) || self.archive.enabled || (has(self.spark) && has(self.spark.checkpointRoot))"
        )
        assert rules[0]["fieldPath"] == ".spark.checkpointRoot"


class TestArchivePermissions:
    def test_the_archive_path_belongs_to_the_spark_jobs_user_and_permissions_are_on(self) -> None:
        lp = pipeline(archive={"path": "/logs"})
        site = hdfs.build_hdfs_config_map(lp)["data"]["hdfs-site.xml"]
        assert "<name>dfs.permissions.enabled</name><value>true</value>" in site
        script = hdfs.namenode_script(lp)
        assert "hdfs dfs -chown spark /logs" in script and "hdfs dfs -chmod 750 /logs" in script
        assert script.index("hdfs namenode &") < script.index("safemode wait") < script.index("-chown")
        assert config.build_config_map(lp)["data"]["HADOOP_USER_NAME"] == "spark"
        executor = json.loads(spark.build_spark_pod_templates(lp)["data"]["executor.json"])
        assert executor["spec"]["containers"][0]["envFrom"] == [{"configMapRef": {"name": "lp1-config"}}]


class TestTopicHandover:
    def test_a_renamed_topic_resource_is_released_before_it_is_pruned(self) -> None:
        lp = pipeline()
        desired = plan.build_children(lp)
        old = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
               "metadata": {"name": "lp1-topic-logging-info", "namespace": "ns1"}, "spec": {"topicName": "logging_info"}}  # fmt: skip
        gone = {"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
                "metadata": {"name": "lp1-topic-old", "namespace": "ns1"}, "spec": {"topicName": "old_topic"}}  # fmt: skip
        pruned = plan.to_prune(desired, [*desired, old, gone])
        assert [p["metadata"]["name"] for p in pruned] == ["lp1-topic-logging-info", "lp1-topic-old"]
        (release,) = kafka.released(pruned, desired)
        assert release["metadata"] == {"name": "lp1-topic-logging-info", "namespace": "ns1",
                                       "annotations": {"strimzi.io/managed": "false"}}  # fmt: skip


class TestKafkaUsers:
    def test_each_client_gets_a_user_allowed_its_own_topics_and_group_only(self) -> None:
        lp = pipeline(generator={"enabled": True})
        users = {u["metadata"]["name"]: u for u in kafka.build_kafka_users(lp)}
        assert sorted(users) == ["lp1-kafka-anomalies", "lp1-kafka-correction", "lp1-kafka-dashboard",
                                 "lp1-kafka-generator", "lp1-kafka-sink", "lp1-kafka-spark"]  # fmt: skip
        assert all(u["metadata"]["labels"]["strimzi.io/cluster"] == "logpipeline-kafka" for u in users.values())

        def grants(user: str) -> set[tuple[str, str, str]]:
            acls = users[user]["spec"]["authorization"]["acls"]
            return {(a["resource"]["type"], a["resource"]["name"], op) for a in acls for op in a["operations"]}

        assert grants("lp1-kafka-generator") == {
            ("topic", "logging_info", "Write"),
            ("topic", "logging_info", "Describe"),
        }
        assert ("topic", "logging_info", "Read") in grants("lp1-kafka-spark")
        assert ("topic", "logging_info", "Write") not in grants("lp1-kafka-spark")
        assert ("group", "lp1-sink", "Read") in grants("lp1-kafka-sink")
        assert not any(kind == "topic" and name == "logging_info" for kind, name, _ in grants("lp1-kafka-sink"))
        # the live tail: read the input, under group ids that start with its user's name, nothing else
        assert grants("lp1-kafka-dashboard") == {("topic", "logging_info", "Read"), ("topic", "logging_info", "Describe"),
                                                 ("group", "lp1-kafka-dashboard", "Read")}  # fmt: skip
        assert grants("lp1-kafka-correction") == {
            ("topic", "agg_logging_info", "Write"),
            ("topic", "agg_logging_info", "Describe"),
        }
        assert grants("lp1-kafka-anomalies") == {
            ("topic", "anomalies_logging_info", "Write"),
            ("topic", "anomalies_logging_info", "Describe"),
        }
        assert all(
            a["resource"]["patternType"] == "literal" for a in users["lp1-kafka-sink"]["spec"]["authorization"]["acls"]
        )
        data = config.build_config_map(lp)["data"]
        assert (data["LOGPIPELINE_KAFKA_SECURITY_PROTOCOL"], data["LOGPIPELINE_KAFKA_SASL_MECHANISM"]) == (
            "SASL_PLAINTEXT",
            "SCRAM-SHA-512",
        )
        (sink_container,) = sink.build_sink_deployment(lp)["spec"]["template"]["spec"]["containers"]
        assert "--group" in sink_container["command"] and "lp1-sink" in sink_container["command"]
        env = {e["name"]: e for e in sink_container["env"]}
        assert env["LOGPIPELINE_KAFKA_USERNAME"]["value"] == "lp1-kafka-sink"
        assert env["LOGPIPELINE_KAFKA_PASSWORD"]["valueFrom"] == {
            "secretKeyRef": {"name": "lp1-kafka-sink", "key": "password"}
        }

    def test_no_users_and_no_credentials_without_authentication(self) -> None:
        lp = pipeline(kafka={"authentication": "none"})
        assert kafka.build_kafka_users(lp) == []
        assert "LOGPIPELINE_KAFKA_SECURITY_PROTOCOL" not in config.build_config_map(lp)["data"]
        assert kafka.client_env(lp, "sink") == []


class TestNames:
    def test_the_crd_name_rule_states_the_budget_the_children_leave(self) -> None:
        full = {"generator": {"enabled": True}, "correction": {"enabled": True}}
        budgets = {
            names.max_name_length(plan.build_children, pipeline(**full, spark={"mode": mode}))
            for mode in ("submit", "operator")
        }
        rules = [
            v["rule"] for v in crd.CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-validations"]
        ]
        assert f"self.metadata.name.size() <= {min(budgets)}" in rules
        assert f"self.metadata.name.matches('{names.NAME_PATTERN}')" in rules
        assert min(budgets) == 38  # the HDFS StatefulSets' revision label: 63 - len("-hdfs-namenode-") - 10

    def test_a_name_at_the_budget_keeps_every_child_in_bounds(self) -> None:
        name = "a" * 38
        lp = crd.logpipeline({"spark": {"mode": "submit"}, "generator": {"enabled": True}}, name=name)
        children = plan.build_children(lp)
        assert names.budget(children, name) == 38
        for child in children:
            limit = names.LIMITS.get(child["kind"])
            assert limit is None or len(child["metadata"]["name"]) <= limit, child["metadata"]["name"]

    def test_topic_resources_are_named_by_role_so_kafka_names_cannot_collide(self) -> None:
        lp = pipeline(kafka={"topics": {"input": {"name": "a.b"}, "aggregates": {"name": "a_b_agg"}}})
        assert [t["metadata"]["name"] for t in kafka.build_kafka_topics(lp)] == [
            "lp1-topic-input",
            "lp1-topic-aggregates",
            "lp1-topic-deadletter",
            "lp1-topic-anomalies",
        ]
