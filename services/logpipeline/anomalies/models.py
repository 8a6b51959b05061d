"""Where the model files live and how the scorer reads them: ``<archive root>/<pipeline>/models/anomalies/``.

The training job writes ``model-<trained at, epoch ms>.json`` there, then ``LATEST`` (the newest file's name), and
keeps the last ``KEEP`` files. The scorer reads ``LATEST`` and that file: from disk for a ``file://`` root, through
WebHDFS (``LOGPIPELINE_WEBHDFS_URL``) for an ``hdfs://`` one. No model (a first start) is not an error: the scorer
learns from the metrics table instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from logpipeline.anomalies.modelfile import LATEST

KEEP = 7


class ModelStoreError(RuntimeError):
    """The model directory cannot be read; the message names where."""


def directory(root: str, pipeline: str) -> str:
    return "/".join([root.rstrip("/"), pipeline, "models", "anomalies"])


@dataclass(frozen=True)
class ModelStore:
    root: str
    pipeline: str
    webhdfs: str | None = None
    user: str = os.environ.get("HADOOP_USER_NAME") or "logpipeline"

    @property
    def where(self) -> str:
        return directory(self.root, self.pipeline)

    def _read(self, name: str) -> bytes | None:
        url = urlsplit(f"{self.where}/{name}")
        if url.scheme in ("", "file"):
            path = Path(url.path)
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise ModelStoreError(f"{path}: {exc.strerror or exc}") from None
        if url.scheme != "hdfs":
            raise ModelStoreError(f"{self.root}: expected a file:// or hdfs:// archive root")
        if not self.webhdfs:
            raise ModelStoreError(f"{self.root}: an hdfs:// root needs LOGPIPELINE_WEBHDFS_URL to read models")
        at = f"{self.webhdfs.rstrip('/')}/webhdfs/v1{url.path}"
        try:
            got = requests.get(at, params={"op": "OPEN", "user.name": self.user}, timeout=30)
        except requests.RequestException as exc:
            raise ModelStoreError(f"WebHDFS {at}: {exc}") from None
        if got.status_code == 404:
            return None
        if got.status_code != 200:
            raise ModelStoreError(f"WebHDFS OPEN {at}: HTTP {got.status_code} {got.text[:200]}")
        return got.content

    def latest(self) -> tuple[str, bytes] | None:
        """The newest model's file name and contents; None when no model was trained yet."""
        pointer = self._read(LATEST)
        if pointer is None:
            return None
        name = pointer.decode().strip()
        data = self._read(name)
        if data is None:
            raise ModelStoreError(f"{self.where}/{LATEST} names {name}, which is missing")
        return name, data
