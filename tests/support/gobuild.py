"""Go binaries built from their modules by name and version into the shared cache directory.

A :class:`GoTool` names a package to build (``helm.sh/helm/v3/cmd/helm``) at one module version.
:func:`build` compiles it once into ``<cache>/bin/<name>-<version>/<name>`` with the ordinary
``go`` command and returns that path; a second call only checks that the file is there.
Tools whose module cannot be installed directly (``replace`` directives, staging modules) are
built from a small wrapper module that requires the tool's module and adds the given
``replace`` lines. Module downloads land in ``<cache>/go/mod``; no proxy host is named here:
``go`` uses whatever its environment says. Builds run under ``nice`` and one at a time per
tool (a lock file), because they are CPU-heavy.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from logpipeline.stack.errors import StackError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class GoTool:
    """One binary: ``package`` built at ``module@version``.

    ``replace`` holds ``(module, target)`` pairs written as ``replace module => target`` into a
    wrapper module (``target`` is ``path version`` or a local folder), ``exclude`` holds module versions
    (``path version``) the tool's own go.mod excludes; ``ldflags`` and ``tags`` are passed to ``go build``.
    """

    name: str
    module: str
    version: str
    package: str
    replace: tuple[tuple[str, str], ...] = ()
    exclude: tuple[str, ...] = ()
    ldflags: str = "-s -w"
    tags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = field(default=(("CGO_ENABLED", "0"),))

    @property
    def key(self) -> str:
        recipe = "\n".join(
            [
                self.module,
                self.version,
                self.package,
                self.ldflags,
                *self.tags,
                *(f"{a}={b}" for a, b in self.replace),
                *(f"!{e}" for e in self.exclude),
            ]
        )
        return f"{self.name}-{self.version}-{hashlib.sha256(recipe.encode()).hexdigest()[:8]}"


def binary_path(cache: Path, tool: GoTool) -> Path:
    return cache / "bin" / tool.key / tool.name


def is_built(cache: Path, tool: GoTool) -> bool:
    return binary_path(cache, tool).is_file()


def go_env(cache: Path) -> dict[str, str]:
    """The environment every Go build of the project uses: module cache and GOPATH inside the cache dir."""
    env = dict(os.environ)
    env["GOMODCACHE"] = str(cache / "go" / "mod")
    env["GOPATH"] = str(cache / "go" / "path")
    env.setdefault("GOCACHE", str(cache / "go" / "cache"))
    env.setdefault("GOFLAGS", "-buildvcs=false")
    env.setdefault("GOTOOLCHAIN", "local")
    return env


@contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wrapper_files(tool: GoTool, go_version: str) -> dict[str, str]:
    """The go.mod and tools.go of a wrapper module that builds ``tool`` (pure)."""
    replaces = "".join(f"replace {mod} => {target}\n" for mod, target in tool.replace)
    replaces += "".join(f"exclude {module}\n" for module in tool.exclude)
    go_mod = (
        f"module logpipeline.local/build/{tool.name}\n\ngo {go_version}\n\n"
        f"require {tool.module} {tool.version}\n\n{replaces}"
    )
    tools_go = f'//go:build tools\n\npackage tools\n\nimport _ "{tool.package}"\n'
    return {"go.mod": go_mod, "tools.go": tools_go}


def _run(
    cmd: Sequence[str], cwd: Path, env: dict[str, str], log: Path, on_progress: Callable[[str], None] | None
) -> int:
    nice = shutil.which("nice")
    full = [nice, "-n", "10", *cmd] if nice else list(cmd)
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if on_progress and line.startswith("go: downloading"):
                on_progress(line.strip()[:100])
        return proc.wait()


def _go_version(go: str) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    parts = out.removeprefix("go").split(".")
    return ".".join(parts[:2])


def build(cache: Path, tool: GoTool, on_progress: Callable[[str], None] | None = None) -> Path:
    """Return the path of the tool's binary, building it the first time."""
    target = binary_path(cache, tool)
    if target.is_file():
        return target
    go = shutil.which("go")
    if go is None:
        raise StackError(tool.name, "the Go toolchain ('go') is not on PATH; it is needed once to build this binary")
    work = cache / "go" / "build" / tool.key
    log = work / "build.log"
    with locked(cache / "go" / "locks" / f"{tool.key}.lock"):
        if target.is_file():
            return target
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = go_env(cache)
        env.update(dict(tool.env))
        staging = target.with_name(target.name + ".partial")
        staging.parent.mkdir(parents=True, exist_ok=True)
        flags = ["-trimpath", f"-ldflags={tool.ldflags}"]
        if tool.tags:
            flags.append("-tags=" + ",".join(tool.tags))
        if on_progress:
            on_progress(f"building {tool.package}@{tool.version} (a few minutes, once)")
        for name, text in wrapper_files(tool, _go_version(go)).items():
            (work / name).write_text(text)
        steps: list[list[str]] = [
            [go, "mod", "tidy"],
            [go, "build", *flags, "-o", str(staging), tool.package],
        ]
        for step in steps:
            rc = _run(step, work, env, log, on_progress)
            if rc != 0:
                raise StackError(tool.name, f"'go {step[1]}' failed with exit code {rc}", log)
        staging.rename(target)
    return target
