"""The upstream CRDs of the operator's third-party children, fetched by name into the cache directory.

- **SparkApplication** (``sparkoperator.k8s.io/v1beta2``): the CRD file that the Kubeflow Spark operator's
  Go module carries, read from the module's folder after ``go mod download`` into ``<cache>/go/mod``.
- **KafkaTopic** and **KafkaUser** (``kafka.strimzi.io/v1``): Strimzi publishes no Maven artifact that holds its CRD YAML
  (the ``io.strimzi:api`` jar has the model classes only; its build writes the CRDs into the
  release's ``packaging/install`` folder, which is not published to Maven). It does publish
  ``io.strimzi:crd-generator``, the tool that writes them, and the ``api`` jar, so the CRDs are
  generated the way Strimzi's own build does it: its generator over its API classes with the
  options of the ``api`` module's pom. The generator needs Java 21 or newer.

:func:`ensure` fetches whichever file is missing (once, with progress) and returns both paths;
``python -m support.upstream`` does the same up front. No registry host is named here: ``go`` and
``mvn`` use whatever their environment and settings say.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logpipeline.stack.errors import StackError
from support import gobuild

# Pinned versions of the upstream projects whose CRDs the e2e tests install.
SPARK_OPERATOR_MODULE = "github.com/kubeflow/spark-operator/v2"
SPARK_OPERATOR_VERSION = "v2.5.0"
SPARK_OPERATOR_CRD = "config/crd/bases/sparkoperator.k8s.io_sparkapplications.yaml"
STRIMZI_VERSION = "1.2.0"
STRIMZI_ARTIFACTS = (f"io.strimzi:api:{STRIMZI_VERSION}", f"io.strimzi:crd-generator:{STRIMZI_VERSION}")
STRIMZI_JAVA = 21  # the class-file level of Strimzi's jars

# The options of the CRD generator's run in the ``api`` module's pom (``generate-crd-co-install-v1``).
_STRIMZI_GENERATOR_OPTIONS = (
    *("--label", "app:strimzi"),
    *("--label", "strimzi.io/crd-install:true"),
    *("--target-kube", "1.16+"),
    *("--crd-api-version", "v1"),
    *("--api-versions", "v1"),
    *("--storage-version", "v1"),
)
# kind -> (model class, CRD file name)
_STRIMZI_KINDS = {
    "KafkaTopic": ("io.strimzi.api.kafka.model.topic.KafkaTopic", "kafkatopics.kafka.strimzi.io.yaml"),
    "KafkaUser": ("io.strimzi.api.kafka.model.user.KafkaUser", "kafkausers.kafka.strimzi.io.yaml"),
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class UpstreamCrds:
    spark_application: Path
    kafka_topic: Path
    kafka_user: Path

    def files(self) -> list[Path]:
        return [self.kafka_topic, self.kafka_user, self.spark_application]


def crd_folder(cache: Path) -> Path:
    return cache / "crds"


def spark_application_path(cache: Path) -> Path:
    return (
        crd_folder(cache) / f"spark-operator-{SPARK_OPERATOR_VERSION}" / "sparkapplications.sparkoperator.k8s.io.yaml"
    )


def strimzi_path(cache: Path, kind: str) -> Path:
    return crd_folder(cache) / f"strimzi-{STRIMZI_VERSION}" / _STRIMZI_KINDS[kind][1]


def _run(what: str, cmd: Sequence[str], log: Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``cmd`` under ``nice``; append its output to ``log``; return its stdout or raise with the log."""
    nice = shutil.which("nice")
    full = [nice, "-n", "10", *cmd] if nice else list(cmd)
    proc = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise StackError(what, f"{Path(cmd[0]).name} failed with exit code {proc.returncode}", log)
    return proc.stdout


def _install(text: str, target: Path) -> Path:
    staging = target.with_name(target.name + ".partial")
    staging.write_text(text)
    staging.rename(target)
    return target


def spark_operator_source(cache: Path, progress: Progress | None = None) -> Path:
    """The pinned Kubeflow Spark operator module's source folder (its CRDs, chart and entrypoint), downloaded once."""
    go = shutil.which("go")
    if go is None:
        raise StackError("spark-operator module", "the Go toolchain ('go') is not on PATH; it is needed once")
    folder = crd_folder(cache) / f"spark-operator-{SPARK_OPERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    module = f"{SPARK_OPERATOR_MODULE}@{SPARK_OPERATOR_VERSION}"
    if progress:
        progress(f"downloading {module} (once)")
    out = _run(
        "spark-operator module",
        [go, "mod", "download", "-json", module],
        folder / "fetch.log",
        folder,
        gobuild.go_env(cache),
    )
    return Path(json.loads(out)["Dir"])


def spark_application_crd(cache: Path, progress: Progress | None = None) -> Path:
    """The SparkApplication CRD of the pinned Kubeflow Spark operator module, downloaded the first time."""
    target = spark_application_path(cache)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with gobuild.locked(target.parent / ".lock"):
        if target.is_file():
            return target
        source = spark_operator_source(cache, progress) / SPARK_OPERATOR_CRD
        if not source.is_file():
            raise StackError("spark-operator CRD", f"{SPARK_OPERATOR_MODULE} has no {SPARK_OPERATOR_CRD}")
        return _install(source.read_text(), target)


def _java_major(java: str) -> int:
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not found:
        return 0
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def java_at_least(major: int) -> str | None:
    """A ``java`` of at least ``major``: JAVA_HOME's, the one on PATH, then any JDK under /usr/lib/jvm."""
    candidates: list[str] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(str(shutil.which("java")))
    candidates += sorted(str(p) for p in Path("/usr/lib/jvm").glob("*/bin/java"))
    for java in candidates:
        if Path(java).is_file() and _java_major(java) >= major:
            return java
    return None


def _maven_copy(cache: Path, artifact: str, folder: Path, log: Path) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Strimzi CRD", "Maven ('mvn') is not on PATH; it is needed once to fetch Strimzi's jars")
    cmd = [
        mvn,
        "-B",
        f"-Dmaven.repo.local={cache / 'm2'}",
        "dependency:copy",
        f"-Dartifact={artifact}",
        f"-DoutputDirectory={folder}",
    ]
    _run("Strimzi CRD", cmd, log, folder)
    _, name, version = artifact.split(":")
    jar = folder / f"{name}-{version}.jar"
    if not jar.is_file():
        raise StackError("Strimzi CRD", f"Maven copied no {jar.name}", log)
    return jar


def strimzi_crds(cache: Path, progress: Progress | None = None) -> dict[str, Path]:
    """The KafkaTopic and KafkaUser CRDs of the pinned Strimzi release, generated from its published jars the first
    time."""
    targets = {kind: strimzi_path(cache, kind) for kind in _STRIMZI_KINDS}
    if all(path.is_file() for path in targets.values()):
        return targets
    java = java_at_least(STRIMZI_JAVA)
    if java is None:
        raise StackError(
            "Strimzi CRD",
            f"Strimzi's CRD generator needs Java {STRIMZI_JAVA}+; set JAVA_HOME to such a JDK (none was found)",
        )
    folder = targets["KafkaTopic"].parent
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "fetch.log"
    with gobuild.locked(folder / ".lock"):
        if all(path.is_file() for path in targets.values()):
            return targets
        jar_folder = folder / "jars"  # copies out of the Maven repository, removed once the CRDs are written
        jar_folder.mkdir(exist_ok=True)
        jars = []
        for artifact in STRIMZI_ARTIFACTS:
            if progress:
                progress(f"fetching {artifact} with Maven")
            jars.append(_maven_copy(cache, artifact, jar_folder, log))
        if progress:
            progress(
                f"generating the {' and '.join(_STRIMZI_KINDS)} CRDs with Strimzi's CRD generator {STRIMZI_VERSION}"
            )
        classpath = ":".join(str(jar) for jar in jars)
        generator = [java, "-cp", classpath, "io.strimzi.crdgenerator.CrdGenerator", *_STRIMZI_GENERATOR_OPTIONS]
        staging = {kind: folder / f"generated-{kind}.yaml" for kind in _STRIMZI_KINDS}
        outputs = [arg for kind, (cls, _) in _STRIMZI_KINDS.items() for arg in ("--yaml", f"{cls}={staging[kind]}")]
        _run("Strimzi CRD", [*generator, *outputs], log, folder)
        for kind, path in staging.items():
            text = path.read_text()
            path.unlink()
            if f"kind: {kind}" not in text or not re.search(r"^  - name: v1$", text, re.MULTILINE):
                raise StackError("Strimzi CRD", f"the generator wrote no {kind} CRD with version v1", log)
            _install(text, targets[kind])
        shutil.rmtree(jar_folder)
        return targets


def ensure(cache: Path, progress: Progress | None = None) -> UpstreamCrds:
    """The CRD files, each fetched the first time only."""
    strimzi = strimzi_crds(cache, progress)
    return UpstreamCrds(
        spark_application=spark_application_crd(cache, progress),
        kafka_topic=strimzi["KafkaTopic"],
        kafka_user=strimzi["KafkaUser"],
    )


def _stderr(msg: str) -> None:
    print(f"upstream CRDs: {msg}", file=sys.stderr, flush=True)


def main() -> int:
    from logpipeline.config import cache_dir

    for path in ensure(cache_dir(), _stderr).files():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
