"""A user's dashboard settings (pure): default range and refresh, time zone, favourite APIs, and which overview
panels show in which order. Read tolerantly (a field that no longer makes sense falls back to its default); checked
strictly when saved (each problem names its field)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from logpipeline.dashboard import timerange, viewstate

# the overview's panels, in their default order
PANELS = {
    "kpis": "Counts per level",
    "sla": "SLA",
    "levels": "Log levels",
    "top-errors": "Top error-prone APIs",
    "latency": "Response time by API",
    "series": "Counts over time",
}
UTC, BROWSER = "UTC", "browser"
MAX_FAVOURITES = 20


@dataclass(frozen=True)
class Prefs:
    range: str = "1h"
    refresh_s: int = 10
    timezone: str = UTC  # UTC, "browser" (the browser's own zone) or an IANA name
    favourites: tuple[str, ...] = ()
    panels: tuple[str, ...] = tuple(PANELS)

    def to_doc(self) -> dict[str, Any]:
        return {"range": self.range, "refresh": self.refresh_s, "timezone": self.timezone,
                "favourites": list(self.favourites), "panels": list(self.panels)}  # fmt: skip


def zone_ok(name: str) -> bool:
    if name in (UTC, BROWSER):
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return name in available_timezones()


def check(doc: Mapping[str, Any]) -> tuple[Prefs, list[str]]:
    """Settings from a form or a stored document; problems name the field (the default stands for it)."""
    problems: list[str] = []
    default = Prefs()
    range_name = doc.get("range", default.range)
    if range_name not in timerange.PRESETS:
        problems.append(f"range: expected one of {', '.join(timerange.PRESETS)}, got {range_name!r}")
        range_name = default.range
    refresh = doc.get("refresh", default.refresh_s)
    if not isinstance(refresh, int) or refresh not in viewstate.REFRESH_CHOICES:
        choices = ", ".join(map(str, viewstate.REFRESH_CHOICES))
        problems.append(f"refresh: expected seconds, one of {choices}, got {refresh!r}")
        refresh = default.refresh_s
    zone = doc.get("timezone", default.timezone)
    if not isinstance(zone, str) or not zone_ok(zone):
        problems.append(f"timezone: expected UTC, browser or an IANA zone such as Europe/Paris, got {zone!r}")
        zone = default.timezone
    favourites = doc.get("favourites", [])
    if not isinstance(favourites, list) or not all(isinstance(a, str) and a for a in favourites):
        problems.append("favourites: expected a list of API names")
        favourites = []
    if len(favourites) > MAX_FAVOURITES:
        problems.append(f"favourites: at most {MAX_FAVOURITES}, got {len(favourites)}")
        favourites = favourites[:MAX_FAVOURITES]
    panels = doc.get("panels", list(PANELS))
    unknown = [p for p in panels if p not in PANELS] if isinstance(panels, list) else ["?"]
    if unknown or not panels:
        problems.append(f"panels: expected some of {', '.join(PANELS)}, got {panels!r}")
        panels = list(PANELS)
    prefs = Prefs(range_name, refresh, zone, tuple(dict.fromkeys(favourites)), tuple(dict.fromkeys(panels)))
    return prefs, problems


def read(doc: Mapping[str, Any]) -> Prefs:
    """Stored settings, tolerantly."""
    return check(doc)[0]


def apply(query: Mapping[str, str | list[str]], prefs: Prefs) -> dict[str, str | list[str]]:
    """A page's query with the user's defaults where the URL names none (a URL with a range is taken as it is)."""
    if query.get("range"):
        return dict(query)
    return {**query, "range": prefs.range, "refresh": str(prefs.refresh_s)}
