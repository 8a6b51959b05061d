"""The benchmarks' JFR profile (``support.jfr``) against a real JVM: a program that spends its time in one method."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from logpipeline.stack.component import find_java
from support.jfr import Profile, split

BUSY = """
public class Busy {
    static double spin(int n) { double x = 0; for (int i = 1; i < n; i++) { x += Math.sqrt(i) / i; } return x; }
    public static void main(String[] args) throws Exception {
        System.out.println("ready");
        double sum = 0;
        while (true) { sum += spin(100_000); if (sum < 0) { System.out.println(sum); } }
    }
}
"""


def test_the_profile_names_the_method_a_busy_jvm_spends_its_time_in(tmp_path: Path) -> None:
    source = tmp_path / "Busy.java"
    source.write_text(BUSY)
    proc = subprocess.Popen([find_java("test"), str(source)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        profile = Profile(proc.pid, tmp_path / "busy.jfr")
        assert profile.jvm == proc.pid
        profile.start()
        since = time.time()
        time.sleep(4)
        profile.stop(since)
        assert len(profile.stacks) > 50, len(profile.stacks)
        top = profile.hot(1)[0]
        assert top.endswith("Busy.spin"), profile.hot(5)
        share = float(top.split("%")[0]) / 100
        assert share > 0.8, profile.hot(5)
        assert profile.nearest(1, prefix="Busy.")[0].endswith("Busy.spin")
    finally:
        proc.kill()
        proc.wait(30)


def test_a_split_counts_each_sample_once_in_the_first_part_its_stack_is_in() -> None:
    stacks = [
        ["Dedup.next", "Aggregate.next", "ShuffleWriter.write"],  # the de-dup stage, under its shuffle write
        ["Parse.next", "ShuffleWriter.write"],
        ["Parse.next", "ShuffleWriter.write"],
        ["Planner.plan"],
    ]
    parts = {"de-dup": ("Dedup", "Aggregate"), "parse": ("ShuffleWriter",)}
    assert split(stacks, parts) == [" 25.0%  de-dup", " 50.0%  parse", " 25.0%  elsewhere"]
    assert split(stacks, {"parse": ("ShuffleWriter",), "de-dup": ("Dedup",)}, rest="driver") == [
        " 75.0%  parse",
        "  0.0%  de-dup",
        " 25.0%  driver",
    ]
