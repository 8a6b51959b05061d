"""The line reader: bounded memory for oversized lines, CRLF, a last line without newline."""

from __future__ import annotations

from pathlib import Path

from logpipeline.ingest.reader import read_lines


def test_lines_sizes_and_oversized_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    big = b"y" * 5000
    path.write_bytes(b"first\r\n" + big + b"\n\nlast-without-newline")
    lines = list(read_lines(path, max_bytes=100))
    assert [(line.lineno, line.size) for line in lines] == [(1, 5), (2, 5000), (3, 0), (4, 20)]
    assert lines[0].data == b"first"
    assert lines[1].data == big[:101]  # kept only up to max_bytes + 1: enough to know it is too large
    assert lines[3].data == b"last-without-newline"


def test_follow_stops_on_request_and_waits_for_unfinished_lines(tmp_path: Path) -> None:
    path = tmp_path / "y.log"
    path.write_bytes(b"a\nhalf")
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            with path.open("ab") as f:
                f.write(b"-done\nb\n")
        return calls["n"] > 3

    got = [line.data for line in read_lines(path, max_bytes=100, follow=True, stop=stop, poll_s=0.01)]
    assert got == [b"a", b"half-done", b"b"]
