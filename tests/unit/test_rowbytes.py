"""Vectorized record building: numbers without leading zeros, vocabulary picks, constants."""

from __future__ import annotations

import numpy as np

from logpipeline.generator import rowbytes


def test_rows_build_records() -> None:
    values = np.array([0, 9, 10, 999, 1000, 1_714_564_800_123, 5], dtype=np.int64)
    fraction = np.array([0, 5, 50, 99, 1, 10, 7], dtype=np.int64)
    table, lengths = rowbytes.vocabulary(["a", "bcd", ""])
    index = np.array([0, 1, 2, 0, 1, 2, 1], dtype=np.int64)
    rows = rowbytes.Rows(len(values))
    rows.const("[")
    rows.number(values, 13)
    rows.const(".")
    rows.number(fraction, 2, min_digits=2)
    rows.const(',"')
    rows.pick(table, lengths, index)
    rows.const('"]\n')
    got = rows.build()
    want = [f'[{v}.{f:02d},"{["a", "bcd", ""][i]}"]'.encode() for v, f, i in zip(values, fraction, index, strict=True)]
    assert got == want
