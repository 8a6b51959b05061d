"""``python -m support.node build``: build the node's binaries, bases and every image of the real-pod tests.

``.ci/run`` calls it before the tests, so no test spends its time compiling: kubelet, kube-proxy, CoreDNS, crictl
and Traefik from their Go modules; the pause image; the local bases (mmdebstrap); the project's images from its
Dockerfiles; the harness's Kafka broker, DynamoDB-API server and Hadoop images; the Kubeflow Spark operator's binary
and image. Each step prints its time.
"""

from __future__ import annotations

import sys
import time

from logpipeline.config import Settings
from logpipeline_operator import constants
from support.node import binaries, dynamodb, hadoop, images, ingress, kafka, spark, sparkoperator


def main(argv: list[str]) -> int:
    if argv[1:] != ["build"]:
        print("usage: python -m support.node build", file=sys.stderr)
        return 2
    cache = Settings().cache
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"node [{time.monotonic() - started:6.1f}s] {message}", flush=True)

    binaries.ensure(cache, progress)
    ingress.build(cache, progress)
    images.pause(cache, progress)
    images.python_base(cache, progress)
    for image in (images.OPERATOR, images.SERVICES):
        images.build(cache, image, constants.RELEASE, progress)
    images.build(cache, images.SPARK_APP, constants.RELEASE, progress, spark.build_args(cache, progress))
    for build in (hadoop.image, kafka.image, dynamodb.image, sparkoperator.image):
        build(cache, progress)
    progress("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
