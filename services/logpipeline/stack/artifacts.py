"""Jars fetched by name through Maven into the shared cache directory.

A *bundle* is a set of Maven coordinates resolved together with their runtime
dependencies into ``<cache>/lib/<bundle>/``. A marker file records a complete
resolution, so a second start downloads nothing and does not even run Maven.
No repository host is named here: Maven uses whatever its settings say.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logpipeline import versions
from logpipeline.stack.errors import StackError


@dataclass(frozen=True)
class Bundle:
    name: str
    coordinates: tuple[str, ...]

    @property
    def key(self) -> str:
        digest = hashlib.sha256("\n".join(self.coordinates).encode()).hexdigest()[:10]
        return f"{self.name}-{digest}"


KAFKA = Bundle(
    "kafka",
    (
        f"org.apache.kafka:kafka_{versions.SCALA_BINARY}:{versions.KAFKA_VERSION}",
        f"org.apache.kafka:kafka-tools:{versions.KAFKA_VERSION}",
        f"org.apache.logging.log4j:log4j-core:{versions.LOG4J_VERSION}",
        f"org.apache.logging.log4j:log4j-slf4j2-impl:{versions.LOG4J_VERSION}",
    ),
)

HADOOP = Bundle(
    "hadoop",
    (
        f"org.apache.hadoop:hadoop-hdfs:{versions.HADOOP_VERSION}",
        f"org.apache.hadoop:hadoop-hdfs-client:{versions.HADOOP_VERSION}",
        f"org.apache.hadoop:hadoop-common:{versions.HADOOP_VERSION}",
    ),
)


def _pom(bundle: Bundle) -> str:
    deps = []
    for coord in bundle.coordinates:
        group, artifact, version = coord.split(":")
        deps.append(
            f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency>"
        )
    body = "\n".join(deps)
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.logpipeline.local</groupId>
  <artifactId>{bundle.name}-bundle</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{body}
  </dependencies>
</project>
"""


def bundle_dir(cache: Path, bundle: Bundle) -> Path:
    return cache / "lib" / bundle.key


def is_resolved(cache: Path, bundle: Bundle) -> bool:
    return (bundle_dir(cache, bundle) / ".complete").exists()


def resolve(
    cache: Path,
    bundle: Bundle,
    on_progress: Callable[[str], None] | None = None,
) -> Path:
    """Return the folder of the bundle's jars, resolving them with Maven the first time."""
    target = bundle_dir(cache, bundle)
    if is_resolved(cache, bundle):
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(bundle.name, "Maven ('mvn') is not on PATH; it is needed once to fetch the jars")
    work = cache / "maven" / bundle.key
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_pom(bundle))
    log = work / "resolve.log"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    cmd: Sequence[str] = [
        mvn,
        "-B",
        f"-Dmaven.repo.local={cache / 'm2'}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if on_progress and ("Downloaded" in line or "Copying" in line or "Building" in line):
                on_progress(line.strip()[:100])
        rc = proc.wait()
    if rc != 0:
        raise StackError(bundle.name, f"download failed: Maven exited with {rc}", log)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    (target / ".complete").write_text("\n".join(bundle.coordinates) + "\n")
    return target


def classpath(folder: Path, *extra: Path) -> str:
    return ":".join([*(str(p) for p in extra), str(folder / "*")])
