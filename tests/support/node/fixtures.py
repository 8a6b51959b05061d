"""The pytest fixture of the real-pod tests: one node for a test module, with the project's images loaded.

Imported by ``tests/e2e/conftest.py``. The node's teardown is checked: a leftover (link, chain, mount, process)
fails the module's last test instead of passing silently.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from logpipeline.config import Settings
from logpipeline_operator import constants
from support.node import images, runner


def progress(message: str) -> None:
    print(f"node [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@pytest.fixture(scope="module")
def real_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[runner.Node]:
    cache = Settings().cache
    images.python_base(cache, progress)
    tags = [images.build(cache, image, constants.RELEASE, progress) for image in (images.OPERATOR, images.SERVICES)]
    node = runner.up(tmp_path_factory.mktemp("node"), cache, load=tags, progress=progress)
    try:
        yield node
    finally:
        runner.down(node)
