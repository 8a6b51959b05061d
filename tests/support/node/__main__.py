"""``python -m support.node build``: build the node's binaries, bases and the project's images into the cache.

``.ci/run`` calls it before the tests, so the first real-pod test does not spend its time compiling.
"""

from __future__ import annotations

import sys
import time

from logpipeline.config import Settings
from logpipeline_operator import constants
from support.node import binaries, images


def main(argv: list[str]) -> int:
    if argv[1:] != ["build"]:
        print("usage: python -m support.node build", file=sys.stderr)
        return 2
    cache = Settings().cache
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"node [{time.monotonic() - started:6.1f}s] {message}", flush=True)

    binaries.ensure(cache, progress)
    images.pause(cache, progress)
    images.python_base(cache, progress)
    for image in (images.OPERATOR, images.SERVICES):
        images.build(cache, image, constants.RELEASE, progress)
    progress("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
