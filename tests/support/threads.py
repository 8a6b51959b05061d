"""Where a process tree's CPU goes, by thread name: the benchmarks print it beside a process's share of a core.

The JVM names its native threads after its Java threads (``Executor task l``, ``C2 CompilerThre``, ``G1 Conc#0``;
Linux keeps 15 characters), so ``/proc/<pid>/task/<tid>/stat`` tells the task threads from the JIT, the collector,
the Kafka clients and Python. Numbers in a name are folded (``G1 Conc#0`` and ``G1 Conc#1`` are one row).
"""

from __future__ import annotations

import os
import re
import time
from collections import defaultdict
from pathlib import Path

from logpipeline.stack.process import cpu_seconds, descendants

ENDED = "(threads that ended)"
JIT = "CN CompilerThre"  # HotSpot's C1 and C2 compiler threads, folded


def _group(name: str) -> str:
    return re.sub(r"\d+", "N", name.strip())


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def thread_cpu(pid: int) -> dict[tuple[int, int], tuple[str, float]]:
    """Every living thread of ``pid`` and its children: (pid, tid) -> (name group, CPU seconds so far)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[tuple[int, int], tuple[str, float]] = {}
    for p in [pid, *descendants(pid)]:
        for tid in _listdir(f"/proc/{p}/task"):
            try:
                stat = Path(f"/proc/{p}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat.rsplit(")", 1)[1].split()
            out[(p, int(tid))] = (_group(name), (int(fields[11]) + int(fields[12])) / tick)
    return out


class ThreadSampler:
    """CPU seconds per thread-name group between ``start()`` and ``stop()``; what ended threads used (gone from
    ``/proc`` but still counted in their process) is its own row. ``seconds``: the process tree's CPU seconds over
    the same span."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._threads: dict[tuple[int, int], tuple[str, float]] = {}
        self._total = 0.0
        self.seconds = 0.0

    def start(self) -> None:
        self._threads, self._total = thread_cpu(self.pid), cpu_seconds(self.pid)

    def stop(self) -> dict[str, float]:
        now, total = thread_cpu(self.pid), cpu_seconds(self.pid)
        self.seconds = total - self._total
        groups: defaultdict[str, float] = defaultdict(float)
        for key, (name, seconds) in now.items():
            groups[name] += seconds - self._threads.get(key, (name, 0.0))[1]
        ended = self.seconds - sum(groups.values())
        if ended > 0:
            groups[ENDED] += ended
        return dict(groups)


def busiest(groups: dict[str, float], elapsed: float, top: int = 8) -> list[str]:
    """The ``top`` groups as printable lines: name and share of one core over ``elapsed`` seconds."""
    ranked = sorted(groups.items(), key=lambda item: item[1], reverse=True)[:top]
    return [f"{name:24} {seconds / elapsed:6.1%}" for name, seconds in ranked if seconds > 0]


def settle(pid: int, quiet: float, longest: float, window: float = 30.0) -> tuple[float, float]:
    """Wait until the JIT compiler threads of ``pid`` use less than ``quiet`` of a core over a ``window``, or until
    ``longest`` seconds have passed: a JVM that runs new code compiles it for minutes, and that is a start-up cost,
    not what the process costs once warm. Returns (seconds waited, the last window's compiler share)."""
    began, share = time.monotonic(), float("nan")
    while time.monotonic() - began < longest:
        sampler = ThreadSampler(pid)
        sampler.start()
        start = time.monotonic()
        time.sleep(window)
        share = sampler.stop().get(JIT, 0.0) / (time.monotonic() - start)
        if share < quiet:
            break
    return time.monotonic() - began, share
