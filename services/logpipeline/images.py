"""What each container image installs from the project's dependencies, in one place.

The Dockerfiles install no hand-kept requirement lists: each runs this file (standard library only,
before the project is installed) to pick its lines from ``pyproject.toml``, so the pins live in one
place. ``python images.py pyproject.toml operator`` prints the operator image's requirements.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable

# image -> (include only these distributions, or None for all) and (leave these out)
IMAGES: dict[str, tuple[frozenset[str] | None, frozenset[str]]] = {
    # kopf and its Kubernetes client; of the project's services the operator imports only the contracts and the
    # topic client (logpipeline.kafka.topics, for topics it keeps itself), hence confluent-kafka.
    "operator": (frozenset({"kopf", "kubernetes", "confluent-kafka"}), frozenset()),
    # generator, ingest, sink, dashboard: everything but Spark, the local DynamoDB server and the operator.
    "services": (None, frozenset({"pyspark", "moto", "kopf", "kubernetes"})),
    # the Spark jobs run on the image's own Spark; the streaming job imports only orjson and prometheus-client
    # besides pyspark, the correction and backfill jobs also the Kafka and DynamoDB clients (backfill: PyYAML for
    # its field mappings), the anomaly training job pandas and pyarrow (its per-API tasks), the detectors' numpy
    # and sketches, and requests (the model store's WebHDFS client).
    "spark-app": (
        frozenset(
            {
                "orjson",
                "prometheus-client",
                "confluent-kafka",
                "boto3",
                "botocore",
                "pandas",
                "pyarrow",
                "numpy",
                "datasketches",
                "pyyaml",
                "requests",
            }
        ),
        frozenset(),
    ),
}


def distribution(requirement: str) -> str:
    """The normalised distribution name of a requirement line (``moto[server]==5`` -> ``moto``)."""
    name = re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def select(dependencies: Iterable[str], image: str) -> list[str]:
    """The dependency lines ``image`` installs, in pyproject order."""
    if image not in IMAGES:
        raise KeyError(f"unknown image {image!r}; known: {', '.join(sorted(IMAGES))}")
    include, exclude = IMAGES[image]
    return [
        dep
        for dep in dependencies
        if (include is None or distribution(dep) in include) and distribution(dep) not in exclude
    ]


def main(argv: list[str]) -> int:
    import tomllib

    if len(argv) != 2:
        print("usage: images.py PYPROJECT IMAGE", file=sys.stderr)
        return 2
    with open(argv[0], "rb") as handle:
        dependencies = tomllib.load(handle)["project"]["dependencies"]
    print("\n".join(select(dependencies, argv[1])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
