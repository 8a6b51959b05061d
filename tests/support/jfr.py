"""Where a JVM's CPU goes by method: a Java Flight Recorder recording over a benchmark's measured span, summarised.

``Profile(pid)`` finds the JVM among a process and its children (a local job's Python driver starts it), starts a
recording with the JDK's ``profile`` settings (a Java stack every 10 ms of each thread that runs Java code) with
``jcmd``, and ``stop(since)`` dumps it and reads it back with the JDK's ``jfr print --json``. ``hot(top)`` ranks the
methods where samples were taken (self), ``nearest(top, prefix)`` the method of a package nearest the sampled frame
(``org.apache.spark`` tells which part of Spark a sample's library code was called from), ``within(parts)`` the share
of samples in each named part of the code, with what it calls, and ``split(parts)`` each sample in one part only (the
first that its stack is in: a query's stages, say, whose stacks hold the stages beneath them). ``jcmd`` and ``jfr`` are
the JDK's that the stack's ``java`` belongs to (``find_java``).
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from logpipeline.stack.component import find_java
from logpipeline.stack.process import descendants


def jvm_of(pid: int) -> int:
    """The pid of the JVM that is ``pid`` or one of its children."""
    for p in [pid, *descendants(pid)]:
        try:
            if Path(f"/proc/{p}/comm").read_text().strip() == "java":
                return p
        except OSError:
            continue
    raise LookupError(f"no JVM among process {pid} and its children")


def _tool(name: str) -> str:
    """The JDK tool ``name`` beside the stack's ``java``."""
    return str(Path(find_java("profile")).resolve().parent / name)


def _frame(frame: dict[str, Any]) -> str:
    method = frame["method"]
    return f"{method['type']['name'].replace('/', '.')}.{method['name']}"


class Profile:
    """One recording of the JVM under ``pid``, written to ``path``."""

    def __init__(self, pid: int, path: Path) -> None:
        self.jvm, self.path = jvm_of(pid), path
        self.stacks: list[list[str]] = []

    def _jcmd(self, *args: str) -> None:
        subprocess.run([_tool("jcmd"), str(self.jvm), *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._jcmd("JFR.start", "name=bench", "settings=profile")

    def stop(self, since: float = 0.0) -> None:
        """Ends the recording and keeps the samples taken from ``since`` (seconds since the epoch) on."""
        self._jcmd("JFR.dump", "name=bench", f"filename={self.path}")
        self._jcmd("JFR.stop", "name=bench")
        out = subprocess.run(
            [_tool("jfr"), "print", "--json", "--stack-depth", "64", "--events", "jdk.ExecutionSample", str(self.path)],
            check=True,
            capture_output=True,
            timeout=600,
        ).stdout
        events = json.loads(out)["recording"]["events"]
        self.stacks = [
            [_frame(f) for f in e["values"]["stackTrace"]["frames"]]
            for e in events
            if datetime.fromisoformat(e["values"]["startTime"].replace("Z", "+00:00")).timestamp() >= since
        ]

    def hot(self, top: int = 15) -> list[str]:
        """The ``top`` methods that samples were taken in, with their share of all samples."""
        return self._rank(Counter(stack[0] for stack in self.stacks if stack), top)

    def nearest(self, top: int = 15, prefix: str = "org.apache.spark") -> list[str]:
        """The ``top`` methods named with ``prefix`` nearest the sampled frame: what of Spark's own code each sample
        was in, or called from."""
        counts = Counter(next((m for m in stack if m.startswith(prefix)), "(none)") for stack in self.stacks)
        return self._rank(counts, top)

    def within(self, parts: Mapping[str, str]) -> list[str]:
        """Each part's share of all samples: those whose stack holds a method with the part's text in its name
        (inclusive: a part's share counts what it calls)."""
        total = max(len(self.stacks), 1)
        return [
            _share(sum(any(text in m for m in stack) for stack in self.stacks), total, label)
            for label, text in parts.items()
        ]

    def split(self, parts: Mapping[str, tuple[str, ...]], rest: str = "elsewhere") -> list[str]:
        """``split`` of this recording's samples."""
        return split(self.stacks, parts, rest)

    def _rank(self, counts: Counter[str], top: int) -> list[str]:
        total = max(len(self.stacks), 1)
        return [_share(n, total, method) for method, n in counts.most_common(top)]


def split(stacks: list[list[str]], parts: Mapping[str, tuple[str, ...]], rest: str = "elsewhere") -> list[str]:
    """Each stack counted once: in the first part (in the order given) that holds a method with one of the part's
    texts in its name, else in ``rest``; each part's share of all stacks."""
    counts: Counter[str] = Counter({label: 0 for label in [*parts, rest]})
    for stack in stacks:
        label = next((k for k, texts in parts.items() if any(t in m for t in texts for m in stack)), rest)
        counts[label] += 1
    return [_share(n, max(len(stacks), 1), label) for label, n in counts.items()]


def _share(n: int, total: int, label: str) -> str:
    """One line of a summary: ``n`` of ``total`` samples as a share, and what they are."""
    return f"{n / total:6.1%}  {label}"
