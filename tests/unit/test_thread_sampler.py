"""The benchmarks' per-thread CPU breakdown finds a busy thread by its native name, and names the threads that began
and ended in the span."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from support.threads import ENDED, ThreadSampler, busiest, settle

# A child whose thread "spin-worker-7" burns CPU while another sleeps, and whose short-lived "brief-N" threads
# burn 0.3 s of CPU each and end.
CHILD = textwrap.dedent(
    """
    import ctypes, sys, threading, time
    libc = ctypes.CDLL(None)
    def name(text):
        libc.prctl(15, text.encode(), 0, 0, 0)  # PR_SET_NAME: the thread's name in /proc
    def spin(label, seconds):  # until the thread itself has used ``seconds`` of CPU
        name(label)
        while time.thread_time() < seconds:
            pass
    def idle():
        name("idle-worker-1")
        time.sleep(60)
    threading.Thread(target=idle, daemon=True).start()
    threading.Thread(target=spin, args=("spin-worker-7", 60), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(3):
        t = threading.Thread(target=spin, args=(f"brief-{i}", 0.3))
        t.start()
        t.join()
    print("briefs done", flush=True)
    sys.stdin.readline()
    """
)


def test_the_busy_thread_leads_and_threads_that_began_and_ended_in_the_span_are_named() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        sampler = ThreadSampler(proc.pid, every=0.05)
        sampler.start()
        began = time.monotonic()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "briefs done"
        time.sleep(0.5)
        groups = sampler.stop()
        elapsed = time.monotonic() - began
    finally:
        proc.kill()
        proc.wait(10)
    assert max(groups, key=lambda g: groups[g]) == "spin-worker-N", groups
    assert groups["spin-worker-N"] > 0.2 * elapsed, groups
    assert groups.get("idle-worker-N", 0.0) < 0.05, groups
    # the three brief threads, gone from /proc at the end, under their name; only their last 50 ms are unnamed
    assert groups.get("brief-N", 0.0) > 0.6, groups
    assert groups.get(ENDED, 0.0) < 0.3, groups
    assert sampler.started == {"brief-N": 3}, sampler.started
    assert abs(sampler.seconds - sum(groups.values())) < 0.05, (sampler.seconds, groups)  # the tree's total
    lines = busiest(groups, elapsed, top=2, started=sampler.started)
    assert len(lines) == 2 and lines[0].startswith("spin-worker-N")
    assert lines[1].startswith("brief-N") and lines[1].endswith("(3 threads started)"), lines


# A child whose "C2 CompilerThread0" (named as HotSpot names it) works for about a second and then rests.
COMPILING = textwrap.dedent(
    """
    import ctypes, threading, time
    def compile_then_rest():
        ctypes.CDLL(None).prctl(15, b"C2 CompilerThread0", 0, 0, 0)
        while time.thread_time() < 1.0:
            pass
        time.sleep(60)
    threading.Thread(target=compile_then_rest, daemon=True).start()
    time.sleep(60)
    """
)


def test_settle_waits_for_the_compiler_threads_to_rest_and_gives_up_at_its_limit() -> None:
    proc = subprocess.Popen([sys.executable, "-c", COMPILING])
    try:
        time.sleep(0.2)
        busy_for, busy_share = settle(proc.pid, quiet=0.05, longest=0.5, window=0.4)
        assert busy_share > 0.2 and busy_for < 1.5, (busy_for, busy_share)  # still compiling at its limit
        waited, share = settle(proc.pid, quiet=0.05, longest=20, window=0.4)
    finally:
        proc.kill()
        proc.wait(10)
    assert share < 0.05 and waited < 10, (waited, share)
