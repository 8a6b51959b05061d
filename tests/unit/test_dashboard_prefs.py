"""A user's dashboard settings: checked when saved (problems name the field), read tolerantly, applied where a URL
names no range; the overview's panels in the chosen order; chart times in the chosen zone."""

from __future__ import annotations

from typing import Any

import numpy as np

from logpipeline.dashboard import figures, prefs
from logpipeline.dashboard.pages import overview


def ids(component: Any) -> list[str]:
    found = [component.id] if isinstance(getattr(component, "id", None), str) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += ids(child)
    return found


def test_a_good_form_round_trips_and_bad_fields_are_named() -> None:
    doc = {"range": "24h", "refresh": 60, "timezone": "Europe/Paris", "favourites": ["/a", "/a", "/b"],
           "panels": ["series", "kpis"]}  # fmt: skip
    chosen, problems = prefs.check(doc)
    assert problems == []
    assert chosen == prefs.Prefs("24h", 60, "Europe/Paris", ("/a", "/b"), ("series", "kpis"))
    assert prefs.check(chosen.to_doc()) == (chosen, [])
    bad, problems = prefs.check({"range": "2w", "refresh": 7, "timezone": "Mars/Olympus", "panels": ["pie"]})
    assert [p.split(":")[0] for p in problems] == ["range", "refresh", "timezone", "panels"]
    assert bad == prefs.Prefs()  # each bad field keeps its default
    assert prefs.read({"range": "2w", "refresh": 30}) == prefs.Prefs(refresh_s=30)


def test_the_users_range_stands_in_only_where_the_url_names_none() -> None:
    mine = prefs.Prefs(range="7d", refresh_s=60)
    assert prefs.apply({}, mine) == {"range": "7d", "refresh": "60"}
    assert prefs.apply({"api": "/a"}, mine) == {"api": "/a", "range": "7d", "refresh": "60"}
    assert prefs.apply({"range": "15m"}, mine) == {"range": "15m"}  # a link shows what it names


def test_the_overview_shows_the_chosen_panels_in_order_and_keeps_the_others_hidden() -> None:
    page = overview.layout(prefs.Prefs(panels=("series", "sla")))
    panel_ids = [i for i in ids(page) if i.startswith("ov-panel-")]
    assert panel_ids[:2] == ["ov-panel-series", "ov-panel-sla"]
    assert sorted(panel_ids) == sorted(f"ov-panel-{p}" for p in prefs.PANELS)
    for i in ("ov-kpis", "ov-sla", "ov-levels", "ov-top-errors", "ov-latency", "ov-series"):
        assert i in ids(page)  # every panel the refresh draws is still in the page
    hidden = [c for c in page.children[-1].children if c.style == {"display": "none"}]
    assert [c.id for c in hidden] == [f"ov-panel-{p}" for p in prefs.PANELS if p not in ("series", "sla")]


def test_the_overview_opens_at_the_users_range_unless_the_url_names_one() -> None:
    def range_of(page: Any) -> str:
        stack = [page]
        while stack:
            c = stack.pop()
            if getattr(c, "id", None) == "ov-range":
                return str(c.value)
            kids = getattr(c, "children", None)
            stack += kids if isinstance(kids, list) else [kids] if kids is not None else []
        raise AssertionError("no range control")

    assert range_of(overview.layout(prefs.Prefs(range="24h"))) == "24h"
    assert range_of(overview.layout(prefs.Prefs(range="24h"), range="6h")) == "6h"


def test_chart_times_follow_the_zone_with_summer_time() -> None:
    winter, summer = 1_767_225_600_000, 1_782_864_000_000  # 2026-01-01, 2026-07-01 00:00 UTC
    utc = figures.times([winter, summer])
    paris = figures.times([winter, summer], "Europe/Paris")
    assert (paris - utc).astype("timedelta64[h]").tolist() == [np.timedelta64(1, "h"), np.timedelta64(2, "h")]
    assert figures.level_series([winter], {}, "Europe/Paris")["layout"]["xaxis"]["title"]["text"] == "Europe/Paris"
