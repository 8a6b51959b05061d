"""What ``logpipeline up`` plans to run, for each choice of source and archive."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from logpipeline.config import Settings
from logpipeline.pipeline import launcher, processes, regions


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(state=tmp_path / "state", cache=tmp_path / "cache")


def _names(services: list[processes.Service]) -> list[str]:
    return [s.name for s in services]


class TestServices:
    def test_default_runs_sink_dashboard_job_generator_in_order(self, settings: Settings) -> None:
        services = processes.services(settings, processes.Options(), python="py", cli="lp")
        assert _names(services) == ["sink", "dashboard", "spark", "correction", "anomalies", "training", "generator"]
        assert all(s.ready_url and s.ready_url.endswith("/readyz") for s in services if s.name != "training")
        correction = services[3]
        assert correction.argv[correction.argv.index("--every") + 1] == "300.0"
        assert correction.argv[correction.argv.index("--archive-root") + 1] == settings.hdfs_url
        # the dashboard reads back the archive the job writes ("logs of this minute")
        assert services[1].env["LOGPIPELINE_ARCHIVE_ROOT"] == settings.hdfs_url
        local = processes.services(settings, processes.Options(archive="local"), python="py", cli="lp")[1]
        assert local.env["LOGPIPELINE_ARCHIVE_ROOT"] == (settings.state / "archive").as_uri()

    def test_the_anomaly_scorer_reads_models_where_the_daily_training_writes_them(self, settings: Settings) -> None:
        services = {s.name: s for s in processes.services(settings, processes.Options(), python="py", cli="lp")}
        scorer, training = services["anomalies"], services["training"]
        assert scorer.argv[:3] == ["lp", "anomalies", "run"]
        assert scorer.ready_url == f"http://{settings.host}:{settings.ports.anomalies_http}/readyz"
        assert training.argv[:3] == ["py", "-m", "logpipeline_spark.train"]
        assert training.argv[training.argv.index("--every") + 1] == "86400.0"
        root = [a.argv[a.argv.index("--archive-root") + 1] for a in (scorer, training)]
        assert root == [settings.hdfs_url, settings.hdfs_url]
        assert "--alerting" not in scorer.argv and scorer.env == {
            "LOGPIPELINE_SNS_ENDPOINT": settings.dynamodb_endpoint
        }
        alerting = processes.Options(alerting=Path("/defs/slo.yaml"))
        notified = {s.name: s for s in processes.services(settings, alerting, python="py", cli="lp")}["anomalies"]
        assert notified.argv[notified.argv.index("--alerting") + 1] == "/defs/slo.yaml"
        without = processes.services(settings, processes.Options(anomalies=False), python="py", cli="lp")
        assert {"anomalies", "training"}.isdisjoint(_names(without))

    def test_every_service_is_one_the_launcher_stops(self, settings: Settings, tmp_path: Path) -> None:
        options = processes.Options(alerting=tmp_path / "slo.yaml")
        every = {s.name for s in processes.services(settings, options, python="py", cli="lp")}
        every |= {
            s.name for s in processes.services(settings, processes.Options(ingest=tmp_path / "a.log"), "py", "lp")
        }
        assert every <= set(launcher.SERVICE_NAMES), every - set(launcher.SERVICE_NAMES)

    def test_the_chosen_mode_reaches_the_spark_job_and_its_parser_reads_it(self, settings: Settings) -> None:
        from logpipeline_spark import options as job_options

        for mode in ("realtime", "microbatch"):
            spark = {s.name: s for s in processes.services(settings, processes.Options(mode=mode), "py", "lp")}["spark"]
            assert spark.argv[:3] == ["py", "-m", "logpipeline_spark.job"]
            parsed = job_options.parse_args(spark.argv[3:])
            assert parsed.mode == mode
            assert parsed.starting_offsets == "earliest"
        default = {s.name: s for s in processes.services(settings, processes.Options(), "py", "lp")}["spark"]
        assert job_options.parse_args(default.argv[3:]).mode == "realtime", "the cheaper and fresher mode"

    def test_the_correction_service_can_be_left_out(self, settings: Settings) -> None:
        services = processes.services(settings, processes.Options(correct_every=0), python="py", cli="lp")
        assert "correction" not in _names(services)

    def test_an_alerting_definition_runs_the_alerts_service_after_the_dashboard(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        options = processes.Options(alerting=tmp_path / "slo.yaml", alerts_interval=5.0)
        services = processes.services(settings, options, python="py", cli="lp")
        assert _names(services)[:3] == ["sink", "dashboard", "alerts"]
        alerts = services[2]
        assert alerts.argv[:3] == ["lp", "alerts", "run"] and str(tmp_path / "slo.yaml") in alerts.argv
        assert alerts.argv[alerts.argv.index("--interval") + 1] == "5.0"
        assert alerts.env == {"LOGPIPELINE_SNS_ENDPOINT": settings.dynamodb_endpoint}  # moto serves SNS too
        assert alerts.ready_url == f"http://{settings.host}:{settings.ports.alerts_http}/readyz"

    def test_generator_gets_rate_seed_and_incidents(self, settings: Settings) -> None:
        options = processes.Options(rate=50.0, seed=7, incidents=("checkout:errors:0:60:20", "search:latency:0:30:5"))
        gen = processes.services(settings, options, python="py", cli="lp")[-1]
        assert gen.argv[:6] == ["lp", "generate", "--rate", "50.0", "--seed", "7"]
        assert gen.argv.count("--incident") == 2 and "search:latency:0:30:5" in gen.argv

    def test_ingest_replaces_the_generator(self, settings: Settings, tmp_path: Path) -> None:
        options = processes.Options(ingest=tmp_path / "a.log", ingest_format="json", ingest_speedup=10.0, follow=True)
        services = processes.services(settings, options, python="py", cli="lp")
        assert _names(services)[-1] == "ingest"
        assert services[-1].argv == [
            "lp",
            "ingest",
            str(tmp_path / "a.log"),
            "--format",
            "json",
            "--speedup",
            "10.0",
            "--follow",
        ]

    def test_bad_ingest_format_is_named(self, settings: Settings, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match=r"ingest format.*got 'xml'"):
            processes.services(
                settings, processes.Options(ingest=tmp_path / "a", ingest_format="xml"), python="py", cli="lp"
            )

    def test_job_archives_on_hdfs_or_local_disk(self, settings: Settings) -> None:
        hdfs = processes.services(settings, processes.Options(), python="py", cli="lp")[2]
        assert hdfs.argv[hdfs.argv.index("--archive-root") + 1] == settings.hdfs_url
        local = processes.services(settings, processes.Options(archive="local"), python="py", cli="lp")[2]
        assert local.argv[local.argv.index("--archive-root") + 1] == (settings.state / "archive").as_uri()

    def test_stack_needs_hdfs_only_for_the_hdfs_archive(self) -> None:
        assert "hdfs" in processes.stack_components(processes.Options())
        assert "hdfs" not in processes.stack_components(processes.Options(archive="local"))
        with pytest.raises(ValueError, match="archive: expected hdfs or local"):
            processes.archive_root(Settings(), processes.Options(archive="s3"))


def test_cpu_seconds_count_a_process_and_its_children() -> None:
    import subprocess
    import sys

    from logpipeline.stack.process import cpu_seconds

    busy = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'sum(range(3 * 10**7)); input()'])"
    parent = subprocess.Popen([sys.executable, "-c", busy], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while cpu_seconds(parent.pid) < 0.3:  # the child's loop, counted under its parent
            assert time.monotonic() < deadline, "the child's CPU time was not counted"
            time.sleep(0.1)
    finally:
        assert parent.stdin is not None
        parent.stdin.close()  # the child's input() ends, and with it both processes
        parent.wait(30)


class TestRegions:
    def test_each_region_runs_its_own_pipeline_and_one_dashboard_shows_them_all(self, settings: Settings) -> None:
        plan = regions.plan(settings, processes.Options(), ["eu-west-1", "us-east-1"], python="py", cli="lp")
        assert _names(plan) == [
            "sink.eu-west-1", "spark.eu-west-1", "correction.eu-west-1", "anomalies.eu-west-1", "training.eu-west-1",
            "sink.us-east-1", "spark.us-east-1", "correction.us-east-1", "anomalies.us-east-1", "training.us-east-1",
            "dashboard", "generator.eu-west-1", "generator.us-east-1",
        ]  # fmt: skip
        by = {s.name: s for s in plan}
        us = by["sink.us-east-1"]
        assert us.env["LOGPIPELINE_REGION"] == "us-east-1" and us.env["LOGPIPELINE_PIPELINE"] == "logpipeline-us-east-1"
        assert us.env["LOGPIPELINE_AGGREGATES_TOPIC"] == "agg_logging_info.us-east-1"
        assert us.env["LOGPIPELINE_DLQ_TOPIC"] == "logging_info.us-east-1.dlq"
        assert us.argv[us.argv.index("--http-port") + 1] == str(settings.ports.sink_http + 2 * regions.PORT_STEP)
        eu_job = by["spark.eu-west-1"]
        assert eu_job.argv[eu_job.argv.index("--ui-port") + 1] == str(settings.ports.spark_ui + regions.PORT_STEP)
        seeds = [
            by[f"generator.{r}"].argv[by[f"generator.{r}"].argv.index("--seed") + 1] for r in ("eu-west-1", "us-east-1")
        ]
        assert seeds == ["0", "1"]  # the same APIs and minutes, each region its own traffic
        assert by["dashboard"].env["LOGPIPELINE_DASHBOARD_REGIONS"] == "eu-west-1,us-east-1"
        scorer, training = by["anomalies.us-east-1"], by["training.us-east-1"]
        for own in (scorer, training):  # each scores and trains on its own region's windows and archive
            assert own.env["LOGPIPELINE_REGION"] == "us-east-1"
            assert own.env["LOGPIPELINE_PIPELINE"] == "logpipeline-us-east-1"
        assert scorer.argv[scorer.argv.index("--http-port") + 1] == str(
            settings.ports.anomalies_http + 2 * regions.PORT_STEP
        )
        ports = [int(s.ready_url.split(":")[2].split("/")[0]) for s in plan if s.ready_url]
        assert len(ports) == len(set(ports))  # no two processes on one port
        assert {s.name.split(".")[0] for s in plan} <= set(launcher.SERVICE_NAMES)

    def test_what_regions_cannot_do_yet_is_named(self, settings: Settings, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="--ingest feeds a single pipeline"):
            regions.plan(settings, processes.Options(ingest=tmp_path / "a.log"), ["eu-west-1"], "py", "lp")

    def test_each_region_runs_its_own_alerts_service(self, settings: Settings, tmp_path: Path) -> None:
        options = processes.Options(alerting=tmp_path / "a.yaml")
        plan = regions.plan(settings, options, ["eu-west-1", "us-east-1"], "py", "lp")
        alerts = {s.name: s for s in plan if s.name.startswith("alerts")}
        assert sorted(alerts) == ["alerts.eu-west-1", "alerts.us-east-1"]  # none without a region
        for i, region in enumerate(("eu-west-1", "us-east-1")):
            own = alerts[f"alerts.{region}"]
            assert own.env["LOGPIPELINE_REGION"] == region  # it judges and keeps its own region's alerts
            port = own.argv[own.argv.index("--http-port") + 1]
            assert port == str(settings.ports.alerts_http + (i + 1) * regions.PORT_STEP)

    def test_down_finds_every_regional_process(self, settings: Settings) -> None:
        settings.run.mkdir(parents=True)
        for name in ("sink", "sink.eu-west-1", "sink.us-east-1", "spark.eu-west-1"):
            (settings.run / f"logpipeline.{name}.pid").write_text("1")
        assert launcher.instances(settings, "sink") == ["sink", "sink.eu-west-1", "sink.us-east-1"]
        assert launcher.instances(settings, "generator") == ["generator"]
