"""From scored minutes to anomalies: k of the last m minutes flagged opens one, m clear minutes close it (pure).

A minute is *flagged* when the detector says it is outside the band in a direction that matters and past the
guards (enough events, a large enough change). The rule is the debounce between flags and what a person sees:
an anomaly opens on the minute the k-th of the last m minutes is flagged, and is dated from the first flagged
minute among them (its "since"); it stays open until m minutes in a row are clear.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleParams:
    k: int = 2
    m: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.m:
            raise ValueError(f"k={self.k}, m={self.m}: expected 1 <= k <= m")


class Rule:
    """The k-of-m state of one series."""

    __slots__ = ("open_since", "params", "recent")

    def __init__(self, params: RuleParams) -> None:
        self.params = params
        self.recent: list[int | None] = []  # the last m minutes: the minute's start when flagged, else None
        self.open_since: int | None = None

    def step(self, ts_ms: int, flagged: bool) -> int | None:
        """Take one minute; the start of the open anomaly (its first flagged minute), or None when there is none."""
        self.recent.append(ts_ms if flagged else None)
        if len(self.recent) > self.params.m:
            del self.recent[0]
        flags = [t for t in self.recent if t is not None]
        if self.open_since is None:
            if len(flags) >= self.params.k:
                self.open_since = flags[0]
        elif not flags and len(self.recent) == self.params.m:
            self.open_since = None
        return self.open_since

    def state(self) -> dict[str, object]:
        return {"recent": list(self.recent), "open_since": self.open_since}

    @classmethod
    def restore(cls, params: RuleParams, state: dict[str, object]) -> Rule:
        rule = cls(params)
        recent = state.get("recent")
        since = state.get("open_since")
        if not isinstance(recent, list) or not (since is None or isinstance(since, int)):
            raise ValueError("rule state: expected a list 'recent' and an integer or null 'open_since'")
        rule.recent = [t if isinstance(t, int) else None for t in recent][-params.m :]
        rule.open_since = since
        return rule
