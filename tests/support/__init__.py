"""The development harness of the tests and CI: never installed, never in an image.

A real control plane and the Go builds of its binaries (``controlplane``, ``gobuild``), helm and
kubeconform (``charttools``), the upstream CRDs of the children's third-party kinds (``upstream``),
manifest checks (``k8s``), CRD defaults and LogPipeline objects (``crd``), and the helpers the tests share. Importable as ``support`` with ``tests`` on the path
(pytest's ``pythonpath``; ``PYTHONPATH=tests`` for ``python -m support.controlplane build``).
Nothing under ``services/``, ``spark-apps/`` or ``operator/`` may import it.
"""
