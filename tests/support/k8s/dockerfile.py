"""A small Dockerfile reader and the project's image rules, checked without a container engine (pure).

:func:`parse` splits a Dockerfile into ``(instruction, arguments)`` pairs (comments dropped, line
continuations joined, heredoc bodies kept with their ``RUN``). :func:`problems` lists every broken rule:
multi-stage; every base image pinned by a tag other than ``latest`` (or a digest), ``ARG``
defaults resolved; the final stage switches to a non-root ``USER``; no ``ADD`` of a URL or git
repository (downloads belong to a package tool in a ``RUN``); a ``HEALTHCHECK`` or ``CMD``/
``ENTRYPOINT`` in the final stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?")


@dataclass(frozen=True)
class Stage:
    image: str
    alias: str | None
    instructions: tuple[tuple[str, str], ...]


def parse(text: str) -> list[tuple[str, str]]:
    """The instructions of a Dockerfile, upper-cased, with their joined argument text."""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        while line.endswith("\\") and i < len(lines):
            line = line[:-1].rstrip()
            while i < len(lines) and lines[i].strip().startswith("#"):
                i += 1  # comment lines inside a continued instruction are dropped
            if i < len(lines):
                line += " " + lines[i].strip()
                i += 1
        marker = _HEREDOC.search(line)
        if marker:
            body = []
            while i < len(lines) and lines[i].strip() != marker.group(1):
                body.append(lines[i])
                i += 1
            i += 1
            line += "\n" + "\n".join(body)
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _substitute(value: str, args: dict[str, str]) -> str:
    return _VAR.sub(lambda m: args.get(m.group(1)) or (m.group(2) or ""), value)


def stages(instructions: list[tuple[str, str]]) -> list[Stage]:
    """The build stages, each with its resolved base image, its alias and its instructions."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    current: list[tuple[str, str]] | None = None
    image, alias = "", None
    for word, rest in instructions:
        if word == "FROM":
            if current is not None:
                result.append(Stage(image, alias, tuple(current)))
            tokens = [t for t in rest.split() if not t.startswith("--")]
            image = _substitute(tokens[0], global_args) if tokens else ""
            alias = tokens[2].lower() if len(tokens) >= 3 and tokens[1].upper() == "AS" else None
            current = []
        elif current is None and word == "ARG":
            name, _, default = rest.partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
        elif current is not None:
            current.append((word, rest))
    if current is not None:
        result.append(Stage(image, alias, tuple(current)))
    return result


def _pinned(image: str) -> bool:
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return False
    tag = name.split(":", 1)[1]
    return bool(tag) and tag != "latest" and "$" not in tag


def _user_is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in {"root", "0", ""}


def problems(text: str) -> list[str]:
    """Every way the Dockerfile breaks the project's image rules (empty: none)."""
    found: list[str] = []
    built = stages(parse(text))
    if len(built) < 2:
        found.append("not multi-stage: build in one stage, copy only the result into the final one")
    aliases: set[str] = set()
    for stage in built:
        if stage.image.lower() not in aliases and stage.image != "scratch" and not _pinned(stage.image):
            found.append(f"base image {stage.image!r} is not pinned to a tag (or digest) other than latest")
        if stage.alias:
            aliases.add(stage.alias)
        for word, rest in stage.instructions:
            if word == "ADD" and re.search(r"(^|\s)(https?://|git@|[\w.-]+\.git\b)", rest):
                found.append(f"ADD fetches a remote source ({rest.split()[0]}); use a package tool in RUN")
    if built:
        final = built[-1]
        users = [rest for word, rest in final.instructions if word == "USER"]
        if not users:
            found.append("the final stage never sets USER: the image would run as root")
        elif _user_is_root(users[-1]):
            found.append(f"the final stage runs as {users[-1]!r}: use a non-root user")
        elif not re.fullmatch(r"\d+(:\d+)?", users[-1].strip()):
            found.append(f"USER {users[-1]!r} is a name: use a numeric uid so runAsNonRoot can verify it")
        if (
            not any(word in {"CMD", "ENTRYPOINT"} for word, _ in final.instructions)
            and final.image.lower() not in aliases
        ):
            found.append("the final stage has no CMD or ENTRYPOINT")
    return found


def base_images(text: str) -> list[str]:
    """The external base images (stage aliases left out), resolved."""
    built = stages(parse(text))
    aliases = {s.alias for s in built if s.alias}
    return [s.image for s in built if s.image.lower() not in aliases]
