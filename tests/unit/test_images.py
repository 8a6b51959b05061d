"""The three Dockerfiles, checked without a container engine: rules, versions, users and installed packages."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from logpipeline import images, versions
from logpipeline_operator import constants as c
from logpipeline_operator.builders import common
from support.k8s import dockerfile

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {
    "operator": ROOT / "operator/Dockerfile",
    "services": ROOT / "services/Dockerfile",
    "spark-app": ROOT / "spark-apps/Dockerfile",
}
DEPENDENCIES: list[str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
SOURCE_ROOTS = [ROOT / "services", ROOT / "spark-apps", ROOT / "operator"]
PROJECT_PACKAGES = ("logpipeline", "logpipeline_spark", "logpipeline_operator")


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_follows_the_image_rules(image: str) -> None:
    assert dockerfile.problems(DOCKERFILES[image].read_text()) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("FROM python:3.12-slim\nUSER 10001\nCMD x\n", "not multi-stage"),
        ("FROM python AS b\nRUN x\nFROM python:latest\nUSER 1\nCMD x\n", "'python' is not pinned"),
        ("FROM a:1 AS b\nFROM python:latest\nUSER 1\nCMD x\n", "'python:latest' is not pinned"),
        ("FROM a:1 AS b\nFROM c:2\nADD https://example.org/x.tgz /x\nUSER 1\nCMD x\n", "ADD fetches a remote"),
        ("FROM a:1 AS b\nFROM c:2\nUSER 1\nUSER root\nCMD x\n", "runs as 'root'"),
        ("FROM a:1 AS b\nFROM c:2\nCMD x\n", "never sets USER"),
        ("FROM a:1 AS b\nFROM c:2\nUSER app\nCMD x\n", "use a numeric uid"),
        ("FROM a:1 AS b\nFROM c:2\nUSER 1\n", "no CMD or ENTRYPOINT"),
    ],
)
def test_broken_rules_are_named(text: str, problem: str) -> None:
    assert any(problem in p for p in dockerfile.problems(text)), dockerfile.problems(text)


def test_parser_joins_continuations_resolves_args_and_keeps_heredocs() -> None:
    text = (
        "ARG BASE=python:3.12-slim\n# comment\nFROM ${BASE} AS build\nRUN a \\\n  # inner comment\n  && b\n"
        'RUN <<EOF\necho hi\nEOF\nFROM build\nUSER 1\nCMD ["x"]\n'
    )
    built = dockerfile.stages(dockerfile.parse(text))
    assert [s.image for s in built] == ["python:3.12-slim", "build"]
    assert built[0].instructions[0] == ("RUN", "a && b")
    assert built[0].instructions[1][1].endswith("echo hi")
    assert dockerfile.base_images(text) == ["python:3.12-slim"]


def test_spark_image_and_connector_are_the_pinned_spark_release() -> None:
    text = DOCKERFILES["spark-app"].read_text()
    (maven, spark) = dict.fromkeys(dockerfile.base_images(text))  # the JVM part is compiled against Spark's jars
    assert spark.startswith(f"apache/spark:{versions.SPARK_VERSION}-scala{versions.SCALA_BINARY}-")
    assert maven.startswith("maven:")
    pom = ET.parse(ROOT / "spark-apps/connector/pom.xml").getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    (dep,) = pom.findall("m:dependencies/m:dependency", ns)
    coordinate = ":".join(dep.findtext(f"m:{k}", namespaces=ns) or "" for k in ("groupId", "artifactId", "version"))
    assert coordinate == versions.SPARK_KAFKA_PACKAGE
    assert dep.findtext("m:artifactId", namespaces=ns) in text  # kept by the copy step's include list
    assert c.SPARK_MAIN.removeprefix("local://").startswith("/opt/logpipeline/spark-apps/logpipeline_spark/")
    assert "COPY spark-apps/logpipeline_spark /opt/logpipeline/spark-apps/logpipeline_spark" in text
    assert "COPY spark-apps/jvm /src" in text and "COPY --from=jvm /jars/ /opt/spark/jars/" in text


def test_users_match_the_pod_security_contexts() -> None:
    values = yaml.safe_load((ROOT / "charts/logpipeline/values.yaml").read_text())
    for image in ("operator", "services"):
        users = [rest for word, rest in dockerfile.parse(DOCKERFILES[image].read_text()) if word == "USER"]
        uid = int(users[-1].split(":")[0])
        assert uid == values["podSecurityContext"]["runAsUser"] == common.POD_SECURITY_CONTEXT["runAsUser"]


def test_operator_image_runs_what_the_chart_runs() -> None:
    instructions = dict(dockerfile.parse(DOCKERFILES["operator"].read_text()))
    assert instructions["ENTRYPOINT"] == '["python", "-m", "logpipeline_operator"]'
    deployment = (ROOT / "charts/logpipeline/templates/deployment.yaml").read_text()
    assert 'command: ["python", "-m", "logpipeline_operator"]' in deployment
    values = yaml.safe_load((ROOT / "charts/logpipeline/values.yaml").read_text())
    chart = yaml.safe_load((ROOT / "charts/logpipeline/Chart.yaml").read_text())
    assert f"{values['image']['repository']}:{chart['appVersion']}" == c.OPERATOR_IMAGE


def test_requirements_come_from_pyproject() -> None:
    assert images.select(DEPENDENCIES, "operator") == [
        d for d in DEPENDENCIES if images.distribution(d) in {"kopf", "kubernetes", "confluent-kafka"}
    ]
    services = images.select(DEPENDENCIES, "services")
    assert not {images.distribution(d) for d in services} & {"pyspark", "moto", "kopf"}
    assert images.distribution("moto[server]==5.2.5") == "moto"
    assert images.distribution("Prometheus_Client>=1") == "prometheus-client"
    with pytest.raises(KeyError, match="unknown image 'nope'"):
        images.select(DEPENDENCIES, "nope")


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    for root in SOURCE_ROOTS:
        for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
            if candidate.exists():
                return candidate
    return None


def _third_party_imports(entry: list[str]) -> set[str]:
    """Top-level names of every non-project import reachable from the entry modules (static, conservative)."""
    seen: set[str] = set()
    pending = list(entry)
    found: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        # Importing a submodule runs its packages' __init__ too.
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        pending.extend(parents)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                top = target.split(".")[0]
                if top in PROJECT_PACKAGES:
                    pending.append(target)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    found.add(top)
    return found


def _with_dependencies(names: set[str]) -> set[str]:
    """``names`` and everything they install in turn (their non-extra requirements, transitively)."""
    out: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in out:
            continue
        out.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        pending.extend(images.distribution(r) for r in requires if "extra ==" not in r.replace('"', "").split(";")[-1])
    return out


def _distributions(tops: set[str]) -> set[str]:
    mapping = importlib.metadata.packages_distributions()
    return {images.distribution(mapping.get(top, [top])[0]) for top in tops}


@pytest.mark.parametrize(
    ("image", "entry", "provided"),
    [
        ("operator", ["logpipeline_operator.__main__", "logpipeline_operator.handlers"], set()),
        # every file spark-submit runs: the streaming job, and the correction, backfill, route and training jobs
        (
            "spark-app",
            [
                "logpipeline_spark.main",
                "logpipeline_spark.correct",
                "logpipeline_spark.backfill",
                "logpipeline_spark.route",
                "logpipeline_spark.train",
                "logpipeline_spark.upgrade",
            ],
            {"pyspark"},
        ),
        ("services", ["logpipeline.cli.main", c.DASHBOARD_APP.split(":")[0]], set()),
    ],
)
def test_each_image_installs_everything_its_entry_points_import(
    image: str, entry: list[str], provided: set[str]
) -> None:
    needed = _distributions(_third_party_imports(entry)) - provided
    installed = _with_dependencies({images.distribution(d) for d in images.select(DEPENDENCIES, image)})
    assert needed, "the import scan found nothing: it is broken"
    assert needed - installed == set(), f"{image} image lacks {sorted(needed - installed)}"
    for dep in images.select(DEPENDENCIES, image):
        assert re.match(r"^[A-Za-z0-9_.\-\[\]]+", dep)


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_each_dockerfile_runs_the_selection_it_is_named_for(image: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = DOCKERFILES[image].read_text()
    assert re.search(rf"images\.py \S*pyproject\.toml {re.escape(image)} > \S*requirements\.txt", text)
    assert images.main([str(ROOT / "pyproject.toml"), image]) == 0
    assert capsys.readouterr().out.splitlines() == images.select(DEPENDENCIES, image)
    assert images.main([]) == 2


def test_the_operator_image_ships_every_module_of_the_services_the_operator_imports() -> None:
    """The operator's image copies single files of the services package: each one the operator loads is there."""
    code = (
        "import sys, logpipeline_operator.handlers, logpipeline_operator.__main__; "
        "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.split('.')[0] == 'logpipeline'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = {str(Path(f).resolve().relative_to(ROOT)) for f in out.split()}
    copied = {
        word
        for instruction, rest in dockerfile.parse(DOCKERFILES["operator"].read_text())
        if instruction == "COPY"
        for word in rest.split()
        if word.startswith("services/")
    }
    assert loaded, "nothing of the services package was loaded: the check is broken"
    assert loaded - copied == set()
