"""``python -m support.controlplane build``: build (once) every control-plane binary into the cache."""

from __future__ import annotations

import sys
import time

from logpipeline.config import Settings
from support.controlplane import binaries


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m support.controlplane build", file=sys.stderr)
        return 2
    start = time.monotonic()
    paths = binaries.ensure(
        Settings().cache, lambda msg: print(f"[{time.monotonic() - start:6.0f}s] {msg}", flush=True)
    )
    for name, path in vars(paths).items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
