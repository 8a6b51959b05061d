"""The dashboard's pages (Dash Pages): the overview at ``/`` and one API's drill-down at ``/api`` (pure layouts).

Each layout is built from the URL's query parameters (see ``viewstate``), so a bookmarked link opens the same
view; the controls then keep the URL in step.
"""

from __future__ import annotations

from logpipeline.dashboard.viewstate import View, parse


def view_of(query: dict[str, str | list[str]]) -> tuple[View, list[str]]:
    return parse(query)
