"""Read a file line by line, with bounded memory per line, optionally following it like ``tail -F``.

A line longer than ``max_bytes`` is returned truncated to ``max_bytes + 1`` bytes with its full size,
so the caller can reject it without holding it. In follow mode, the reader waits at the end of the file,
waits for an unfinished last line to be completed, and reopens the path when the file was rotated
(another inode at the path) or truncated (shorter than what was read); line numbers then restart at 1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20


@dataclass(frozen=True)
class Line:
    lineno: int  # 1-based within the current file
    data: bytes  # without the newline; at most max_bytes + 1 bytes
    size: int  # full size of the line without its newline


def _read_line(f: BinaryIO, max_bytes: int) -> tuple[bytes, int, bool]:
    """(data, full size, ended with a newline); skips the rest of an oversized line."""
    data = f.readline(max_bytes + 2)
    if data.endswith(b"\n"):
        line = data[:-1].removesuffix(b"\r")
        return line, len(line), True
    if len(data) <= max_bytes:
        return data, len(data), False
    size = len(data)
    while True:
        more = f.readline(CHUNK)
        if not more:
            return data[: max_bytes + 1], size, False
        if more.endswith(b"\n"):
            return data[: max_bytes + 1], size + len(more) - 1, True
        size += len(more)


def _rotated(path: Path, f: BinaryIO) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False  # moved away and not yet recreated: keep the old file
    return now.st_ino != os.fstat(f.fileno()).st_ino or now.st_size < f.tell()


def read_lines(
    path: Path,
    max_bytes: int,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
    poll_s: float = 0.2,
) -> Iterator[Line]:
    f = path.open("rb")
    lineno = 0
    try:
        while True:
            start = f.tell()
            data, size, complete = _read_line(f, max_bytes)
            if complete or (data and not follow):
                lineno += 1
                yield Line(lineno, data, size)
                continue
            if not follow:
                return
            f.seek(start)  # unfinished last line: read it again once complete
            if stop():
                return
            if _rotated(path, f):
                f.close()
                f = path.open("rb")
                lineno = 0
                continue
            time.sleep(poll_s)
    finally:
        f.close()
