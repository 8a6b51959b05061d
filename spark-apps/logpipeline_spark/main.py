"""The file spark-submit runs: ``spark-submit --packages <connector> .../logpipeline_spark/main.py [options]``."""

import sys

from logpipeline_spark.job import main

if __name__ == "__main__":
    sys.exit(main())
