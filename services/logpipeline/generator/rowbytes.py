"""Build many JSON records at once as one byte matrix (pure numpy, no Python loop per record).

Each record is a row of segments: constant text, fixed-width characters, strings picked from a small
vocabulary, or decimal numbers. Every segment fills a fixed column range of a (rows, width) byte matrix,
padded with zero bytes; dropping the zero bytes of the whole matrix in row order and splitting at the
newline ending each row gives the records. Strings must contain neither a zero byte nor a newline.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Bytes2D = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]

_TRIPLES = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8)
_POWERS = 10 ** np.arange(19, dtype=np.int64)


def vocabulary(words: list[str] | tuple[str, ...]) -> tuple[Bytes2D, Ints]:
    """Padded UTF-8 bytes of each word and their lengths, for ``Rows.pick``."""
    encoded = [w.encode() for w in words]
    width = max(1, *(len(e) for e in encoded))
    table = np.zeros((len(encoded), width), dtype=np.uint8)
    for i, e in enumerate(encoded):
        table[i, : len(e)] = np.frombuffer(e, dtype=np.uint8)
    return table, np.array([len(e) for e in encoded], dtype=np.int64)


class Rows:
    def __init__(self, n: int) -> None:
        self.n = n
        self.parts: list[Bytes2D] = []

    def const(self, text: str) -> None:
        row = np.frombuffer(text.encode(), dtype=np.uint8)
        self.parts.append(np.broadcast_to(row, (self.n, len(row))))

    def chars(self, matrix: Bytes2D) -> None:
        self.parts.append(matrix)

    def pick(self, table: Bytes2D, lengths: Ints, index: Ints) -> None:
        self.parts.append(table[index])

    def number(self, values: Ints, width: int, min_digits: int = 1) -> None:
        """Non-negative integers below 10**width in decimal, without leading zeros beyond ``min_digits``."""
        groups = -(-width // 3)
        out = np.empty((self.n, groups * 3), dtype=np.uint8)
        rest = values
        for j in range(groups - 1, -1, -1):
            rest, group = np.divmod(rest, 1000)
            out[:, 3 * j : 3 * j + 3] = _TRIPLES[group]
        digits = out[:, groups * 3 - width :]
        if width > min_digits:
            count = np.searchsorted(_POWERS[min_digits:width], values, side="right") + min_digits
            digits[np.arange(width) < (width - count)[:, None]] = 0
        self.parts.append(digits)

    def build(self) -> list[bytes]:
        """The records (the caller ends each row with a newline ``const``)."""
        packed = np.concatenate(self.parts, axis=1).tobytes().translate(None, b"\x00")
        records = packed.split(b"\n")
        records.pop()
        return records
