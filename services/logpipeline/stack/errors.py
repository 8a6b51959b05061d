"""The one error type of the local stack: it names the component, the cause and the log file."""

from __future__ import annotations

from pathlib import Path


class StackError(RuntimeError):
    """A component failed to start or could not be prepared."""

    def __init__(self, component: str, cause: str, log: Path | None = None) -> None:
        self.component = component
        self.cause = cause
        self.log = log
        where = f" (log: {log})" if log else ""
        super().__init__(f"{component}: {cause}{where}")
