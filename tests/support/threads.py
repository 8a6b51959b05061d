"""Where a process tree's CPU goes, by thread name: the benchmarks print it beside a process's share of a core.

The JVM names its native threads after its Java threads (``Executor task l``, ``C2 CompilerThre``, ``G1 Conc#0``;
Linux keeps 15 characters), so ``/proc/<pid>/task/<tid>/stat`` tells the task threads from the JIT, the collector,
the Kafka clients and Python. Numbers in a name are folded (``G1 Conc#0`` and ``G1 Conc#1`` are one row).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter, defaultdict
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
    """CPU seconds per thread-name group between ``start()`` and ``stop()``, read every ``every`` seconds, so that a
    thread that starts and ends in the span (a real-time batch's shuffle threads, a micro-batch's tasks) is counted
    under its own name; what threads used after their last reading (gone from ``/proc`` but still counted in their
    process) is its own row, ``ENDED``. ``seconds``: the process tree's CPU seconds over the same span; ``started``:
    how many threads of each group began in it."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self._first: dict[tuple[int, int], tuple[str, float]] = {}
        self._last: dict[tuple[int, int], tuple[str, float]] = {}
        self._total = 0.0
        self._done = threading.Event()
        self._reader: threading.Thread | None = None
        self.seconds = 0.0
        self.started: Counter[str] = Counter()

    def _read(self) -> None:
        self._last.update(thread_cpu(self.pid))

    def _poll(self) -> None:
        while not self._done.wait(self.every):
            self._read()

    def start(self) -> None:
        self._first, self._total = thread_cpu(self.pid), cpu_seconds(self.pid)
        self._last = dict(self._first)
        self._done.clear()
        self._reader = threading.Thread(target=self._poll, name="thread-sampler", daemon=True)
        self._reader.start()

    def stop(self) -> dict[str, float]:
        self._done.set()
        if self._reader is not None:
            self._reader.join()
        self._read()
        total = cpu_seconds(self.pid)
        self.seconds = total - self._total
        groups: defaultdict[str, float] = defaultdict(float)
        self.started = Counter(name for key, (name, _) in self._last.items() if key not in self._first)
        for key, (name, seconds) in self._last.items():
            groups[name] += seconds - self._first.get(key, (name, 0.0))[1]  # a thread born in the span: all of it
        ended = self.seconds - sum(groups.values())
        if ended > 0:
            groups[ENDED] += ended
        return dict(groups)


def busiest(groups: dict[str, float], elapsed: float, top: int = 8, started: Counter[str] | None = None) -> list[str]:
    """The ``top`` groups as printable lines: name and share of one core over ``elapsed`` seconds, and how many of
    the group's threads began in the span (``started``, ``ThreadSampler.started``)."""
    ranked = sorted(groups.items(), key=lambda item: item[1], reverse=True)[:top]
    born = started or Counter()
    return [
        f"{name:24} {seconds / elapsed:6.1%}" + (f"  ({born[name]} threads started)" if born[name] else "")
        for name, seconds in ranked
        if seconds > 0
    ]


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
