"""The settings of one view and their URL form, so a view can be bookmarked and shared (pure).

Query parameters: ``range`` (15m|1h|6h|24h|7d|custom), ``start``/``end`` (custom, UTC ``YYYY-MM-DDTHH:MM``),
``api`` (repeated: the API filter), ``slo`` (target %, e.g. 99.5), ``refresh`` (seconds), ``paused`` (1),
``region`` (one regional pipeline's figures; absent: every region merged) and, on the drill-down page, ``name``
(the API). A bad value falls back to its default with a problem message
naming the parameter, so an old or hand-edited link still opens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from logpipeline import contracts
from logpipeline.dashboard import timerange

REFRESH_CHOICES = (5, 10, 30, 60, 300)
ALL_REGIONS = "all"  # the region control's value for the global view (every region merged)
MAX_APIS = 50


@dataclass(frozen=True)
class View:
    range: str = "1h"
    start: str | None = None
    end: str | None = None
    apis: tuple[str, ...] = ()
    slo: float = 99.0
    refresh_s: int = 10
    paused: bool = False
    name: str | None = None
    region: str | None = None


def _one(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[-1] if value else None
    return value


def _many(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    return tuple(dict.fromkeys(v for v in values if v))


def parse(params: Mapping[str, str | list[str]]) -> tuple[View, list[str]]:
    """A view from URL query parameters, and the problems found (each names its parameter)."""
    problems: list[str] = []
    view = View()
    range_name = _one(params.get("range")) or view.range
    start, end = _one(params.get("start")) or None, _one(params.get("end")) or None
    if range_name not in timerange.RANGES:
        problems.append(f"range: expected one of {', '.join(timerange.RANGES)}, got {range_name!r}")
        range_name = view.range
    elif range_name == timerange.CUSTOM:
        try:
            timerange.bounds(range_name, 0, start, end)
        except ValueError as exc:
            problems.append(str(exc))
            range_name, start, end = view.range, None, None
    view = replace(view, range=range_name, start=start, end=end)
    apis = _many(params.get("api"))
    if len(apis) > MAX_APIS:
        problems.append(f"api: at most {MAX_APIS} APIs, got {len(apis)}")
        apis = apis[:MAX_APIS]
    view = replace(view, apis=apis, name=_one(params.get("name")) or None)
    slo_text = _one(params.get("slo"))
    if slo_text:
        try:
            view = replace(view, slo=check_slo(float(slo_text)))
        except ValueError:
            problems.append(f"slo: expected a percentage between 0 and 100, got {slo_text!r}")
    refresh_text = _one(params.get("refresh"))
    if refresh_text:
        if refresh_text.isdigit() and int(refresh_text) in REFRESH_CHOICES:
            view = replace(view, refresh_s=int(refresh_text))
        else:
            choices = ", ".join(map(str, REFRESH_CHOICES))
            problems.append(f"refresh: expected seconds, one of {choices}, got {refresh_text!r}")
    view = replace(view, paused=_one(params.get("paused")) in ("1", "true", "yes"))
    region = _one(params.get("region")) or None
    region = None if region == ALL_REGIONS else region
    try:
        region = contracts.check_region(region) if region else None
    except ValueError:
        problems.append(f"region: expected a region name like eu-west-1, got {region!r}")
        region = None
    return replace(view, region=region), problems


def check_slo(value: float) -> float:
    if not 0 < value <= 100:
        raise ValueError(f"slo: expected a percentage in (0, 100], got {value}")
    return value


def query(view: View) -> str:
    """The URL query string of a view (without ``?``); defaults are left out but the range, which a reader's own
    default would otherwise replace."""
    default = View()
    pairs: list[tuple[str, str]] = []
    if view.name:
        pairs.append(("name", view.name))
    pairs.append(("range", view.range))
    if view.range == timerange.CUSTOM:
        pairs += [("start", view.start or ""), ("end", view.end or "")]
    pairs += [("api", api) for api in view.apis]
    if view.slo != default.slo:
        pairs.append(("slo", f"{view.slo:g}"))
    if view.refresh_s != default.refresh_s:
        pairs.append(("refresh", str(view.refresh_s)))
    if view.paused:
        pairs.append(("paused", "1"))
    if view.region:
        pairs.append(("region", view.region))
    return urlencode(pairs)


def href(path: str, view: View) -> str:
    text = query(view)
    return f"{path}?{text}" if text else path


def from_controls(
    range_name: str | None,
    start: str | None,
    end: str | None,
    apis: list[str] | None,
    slo: float | str | None,
    refresh_s: int | str | None,
    paused: bool | None,
    name: str | None = None,
    region: str | None = None,
) -> View:
    """The view the page's controls show (control values are strings or None while being edited)."""
    params: dict[str, str | list[str]] = {"range": range_name or "", "start": start or "", "end": end or ""}
    params["api"] = list(apis or [])
    params["slo"] = "" if slo is None else str(slo)
    params["refresh"] = "" if refresh_s is None else str(refresh_s)
    params["paused"] = "1" if paused else ""
    params["name"] = name or ""
    params["region"] = region or ""
    view, _ = parse(params)
    return view
