"""Images for the node, built here with buildah (no registry is reachable) and loaded into its containerd.

- The node's ``pause`` image: ``pause.c`` beside this file, compiled static, alone in the image.
- Bases equivalent to the official images a user pulls, from Debian's packages with ``mmdebstrap`` (the host's own
  apt sources, read from ``/etc/apt``), imported into buildah. The project's Dockerfiles take them as build
  arguments (``PYTHON_IMAGE``); their defaults stay the official images.
- The project's images, from its own Dockerfiles (``buildah bud``). A build's ``RUN`` steps use the host's network
  namespace and its CA bundle and pip settings (read-only mounts), as a build on this machine's host would.

buildah keeps its storage in the cache (``<cache>/node/buildah``), so layers and bases are built once.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from support.node import config

Progress = Callable[[str], None]
ROOT = Path(__file__).resolve().parents[3]
PAUSE_SOURCE = Path(__file__).with_name("pause.c")
PYTHON_BASE = "localhost/logpipeline-bases/python:3.11-bookworm"
PYTHON_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")
# For the servers the harness runs in pods (Kafka) and the archive's HDFS base: a Java runtime from Debian.
JAVA_BASE = "localhost/logpipeline-bases/java:17-bookworm"
JAVA_PACKAGES = ("openjdk-17-jre-headless", "ca-certificates")
PROJECT_PREFIX = "localhost/log-realtime-analysis"
# Mounted into every RUN step of a project build: the host's CA bundle (this machine reaches package registries
# through its own CA) and pip's site settings. Read-only, and not part of any layer.
BUILD_MOUNTS = ("/etc/ssl/certs:/etc/ssl/certs:ro", "/etc/pip.conf:/etc/pip.conf:ro")


@dataclass(frozen=True)
class ProjectImage:
    """One of the project's images: its Dockerfile and the build arguments that point it at a local base."""

    name: str
    dockerfile: str
    build_args: tuple[tuple[str, str], ...]

    def tag(self, release: str) -> str:
        return f"{PROJECT_PREFIX}/{self.name}:{release}"


OPERATOR = ProjectImage("operator", "operator/Dockerfile", (("PYTHON_IMAGE", PYTHON_BASE),))
SERVICES = ProjectImage("services", "services/Dockerfile", (("PYTHON_IMAGE", PYTHON_BASE),))
# Its bases' build arguments come from support.node.spark (built on demand).
SPARK_APP = ProjectImage("spark-app", "spark-apps/Dockerfile", ())


def _buildah(cache: Path, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
    storage = cache / "node" / "buildah"
    cmd = ["buildah", f"--root={storage / 'storage'}", f"--runroot={storage / 'run'}", *args]
    result = subprocess.run(cmd, capture_output=capture, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"`buildah {' '.join(args)}` failed ({result.returncode}): {(result.stderr or '')[-2000:]}")
    return result


def image_id(cache: Path, tag: str) -> str | None:
    """buildah's ID of an image, or None when it has none by that name."""
    result = _buildah(cache, "inspect", "--type=image", "--format={{.FromImageID}}", tag, check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def _commit_rootfs(cache: Path, tar: Path, tag: str, config_args: Sequence[str]) -> None:
    ctr = _buildah(cache, "from", "scratch").stdout.strip()
    try:
        _buildah(cache, "add", ctr, str(tar), "/")
        _buildah(cache, "config", *config_args, ctr)
        _buildah(cache, "commit", "--quiet", ctr, tag)
    finally:
        _buildah(cache, "rm", ctr, check=False)


def pause(cache: Path, progress: Progress) -> str:
    """The node's sandbox image (tiny: one static binary)."""
    if image_id(cache, config.PAUSE_IMAGE):
        return config.PAUSE_IMAGE
    progress("building the pause image")
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "pause"
        subprocess.run(["cc", "-static", "-O2", "-o", str(binary), str(PAUSE_SOURCE)], check=True)
        tar = Path(tmp) / "pause.tar"
        subprocess.run(["tar", "-C", tmp, "-cf", str(tar), "pause"], check=True)
        _commit_rootfs(cache, tar, config.PAUSE_IMAGE, ["--entrypoint", '["/pause"]'])
    return config.PAUSE_IMAGE


def _apt_sources() -> str:
    """The host's apt sources (deb822 and one-line files), which mmdebstrap reads on standard input."""
    apt = Path("/etc/apt")
    files = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*.sources"))]
    files += sorted((apt / "sources.list.d").glob("*.list"))
    return "\n".join(f.read_text() for f in files if f.is_file() and "debian" in f.read_text())


def python_base(cache: Path, progress: Progress) -> str:
    """Debian bookworm with Python 3.11 as ``python`` and venv: stands in for ``python:3.12-slim-bookworm``."""
    return debian_base(cache, PYTHON_BASE, PYTHON_PACKAGES, ["--cmd", "python3"], progress)


def java_base(cache: Path, progress: Progress) -> str:
    """Debian bookworm with OpenJDK 17's runtime (the Kafka broker's and HDFS's base here)."""
    return debian_base(cache, JAVA_BASE, JAVA_PACKAGES, ["--cmd", "java"], progress)


def debian_base(cache: Path, tag: str, packages: Sequence[str], config_args: Sequence[str], progress: Progress) -> str:
    """A Debian bookworm root file system with ``packages`` (minbase, no docs), committed as ``tag`` once."""
    if image_id(cache, tag):
        return tag
    progress(f"making {tag} with mmdebstrap (about a minute, once)")
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "rootfs.tar"
        cmd = [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            f"--include={','.join(packages)}",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            # man pages go, their folders stay (a JRE's alternatives link into /usr/share/man/man1)
            "--dpkgopt=path-exclude=/usr/share/man/*/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--aptopt=Acquire::Check-Valid-Until false",
            "bookworm",
            str(tar),
            "-",
        ]
        made = subprocess.run(cmd, input=_apt_sources(), text=True, capture_output=True)
        if made.returncode != 0:
            raise RuntimeError(f"mmdebstrap failed ({made.returncode}) making {tag}: {made.stderr[-3000:]}")
        env = ["--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--env", "LANG=C.UTF-8"]
        _commit_rootfs(cache, tar, tag, [*env, *config_args])
    return tag


def build_context(
    cache: Path,
    tag: str,
    containerfile: str,
    files: dict[str, Path | str],
    progress: Progress,
    network: bool = False,
) -> str:
    """An image of the harness's own (a server the tests run in pods) from a Containerfile and its context files
    (a Path is copied, folders whole; a str is written); skipped when ``tag`` exists (tags carry a recipe hash).
    ``network``: its RUN steps reach the package registries as the project's builds do."""
    if image_id(cache, tag):
        return tag
    progress(f"building {tag}")
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for name, source in files.items():
            if isinstance(source, str):
                (context / name).parent.mkdir(parents=True, exist_ok=True)
                (context / name).write_text(source)
            elif source.is_dir():
                shutil.copytree(source, context / name, ignore=shutil.ignore_patterns(".complete"))
            else:
                shutil.copy2(source, context / name)
        (context / "Containerfile").write_text(containerfile)
        args = ["bud", "--quiet", "--layers", f"--file={context / 'Containerfile'}", f"--tag={tag}"]
        if network:
            args += ["--network=host", *(f"--volume={mount}" for mount in BUILD_MOUNTS)]
        _buildah(cache, *args, str(context))
    _drop_older_recipes(cache, tag)
    return tag


def _drop_older_recipes(cache: Path, tag: str) -> None:
    """Remove the images of ``tag``'s repository made from an earlier recipe (another tag), so the cache does not
    grow by a whole image per recipe change."""
    repository = tag.rsplit(":", 1)[0]
    listing = ["images", "--format={{.Name}}:{{.Tag}}", f"--filter=reference={repository}"]
    for other in _buildah(cache, *listing, check=False).stdout.split():
        if other.rsplit(":", 1)[0] == repository and other != tag:
            _buildah(cache, "rmi", other, check=False)


def containers(cache: Path) -> set[str]:
    """The IDs of buildah's working containers."""
    listing = _buildah(cache, "containers", "--quiet", "--notruncate", check=False).stdout
    return set(listing.split())


def recipe_hash(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def build(
    cache: Path, image: ProjectImage, release: str, progress: Progress, build_args: Sequence[tuple[str, str]] = ()
) -> str:
    """Build one of the project's images from its own Dockerfile (layers cached); returns its tag."""
    tag = image.tag(release)
    before = image_id(cache, tag)
    progress(f"building {tag} from {image.dockerfile}")
    args = ["bud", "--quiet", "--layers", "--network=host", f"--file={ROOT / image.dockerfile}", f"--tag={tag}"]
    args += [f"--volume={mount}" for mount in BUILD_MOUNTS]
    args += [f"--build-arg={key}={value}" for key, value in (*image.build_args, *build_args)]
    working = containers(cache)
    try:
        _buildah(cache, *args, str(ROOT))
    finally:
        # buildah 1.28 keeps the working container of a stage that only serves ``COPY --from`` (spark-app's
        # ``FROM ${SPARK_IMAGE} AS spark``), and a failed build's: each one holds a whole image's layers
        for leftover in containers(cache) - working:
            _buildah(cache, "rm", leftover, check=False)
    if before is not None and before != image_id(cache, tag):
        # the superseded image (now untagged) and its layers no other image uses: a rebuild does not grow the cache
        _buildah(cache, "rmi", before, check=False)
    return tag


def load(cache: Path, layout: config.Layout, tags: Sequence[str], progress: Progress) -> None:
    """Import images into the node's containerd (namespace k8s.io) unless that exact image is already there."""
    marks = layout.images / "logpipeline-imported"
    marks.mkdir(parents=True, exist_ok=True)
    for tag in tags:
        ident = image_id(cache, tag)
        if ident is None:
            raise RuntimeError(f"no image {tag} to load: build it first")
        mark = marks / hashlib.sha256(tag.encode()).hexdigest()[:16]
        if mark.is_file() and mark.read_text() == ident and _in_containerd(layout, tag):
            continue
        progress(f"loading {tag} into the node")
        with tempfile.TemporaryDirectory(dir=layout.root) as tmp:
            archive = Path(tmp) / "image.tar"
            _buildah(cache, "push", "--quiet", tag, f"docker-archive:{archive}:{tag}")
            _ctr(layout, "images", "import", str(archive))
        mark.write_text(ident)


def _ctr(layout: config.Layout, *args: str) -> subprocess.CompletedProcess[str]:
    ctr = shutil.which("ctr") or "ctr"
    cmd = [ctr, f"--address={layout.containerd_socket}", "--namespace=k8s.io", *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True)


def _in_containerd(layout: config.Layout, tag: str) -> bool:
    return tag in _ctr(layout, "images", "list", "--quiet").stdout.split()
