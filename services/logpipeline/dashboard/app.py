"""The dashboard's WSGI app (``logpipeline.dashboard.app:server``): Dash Pages, dark theme, health and metrics.

``/healthz`` answers while the process runs; ``/readyz`` only while the metrics table answers; ``/metrics``
is Prometheus text. With ``LOGPIPELINE_DASHBOARD_METRICS_PORT`` set (in a cluster), these three answer only on that
port (gunicorn listens on it as well), so an Ingress or a Service in front of the dashboard's own port never exposes
them. Every other route needs a signed-in session (``logpipeline.dashboard.auth``). The Bootstrap theme (Bootswatch
"darkly") is served from the package's assets, so the page loads without any outside network.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import flask
from dash import Dash, html
from dash.development.base_component import Component
from flask import Response, request

from logpipeline import contracts, observability
from logpipeline.dashboard import (
    annotations_api,
    callbacks,
    components,
    data,
    settings_callbacks,
    slo_callbacks,
    tail_callbacks,
    telemetry,
    user_data,
)
from logpipeline.dashboard.auth import callbacks as auth_callbacks
from logpipeline.dashboard.auth import setup as auth
from logpipeline.dashboard.auth.session import WARMUP
from logpipeline.dashboard.pages import api, overview, settings, slos, tail
from logpipeline.dashboard.tail import stream as live_tail

ASSETS = Path(__file__).with_name("assets")
log = logging.getLogger("logpipeline.dashboard")


def with_prefs(layout: Callable[..., Component]) -> Callable[..., Component]:
    """A page's layout given the signed-in user's settings (the defaults outside a request)."""

    def page(**query: str | list[str]) -> Component:
        who = flask.g.get("principal") if flask.has_request_context() else None
        return layout(user_data.prefs_or_default(who.name if who else None), **query)

    return page


def create() -> Dash:
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="",
        assets_folder=str(ASSETS),
        title="Log Realtime Analysis",
        update_title=None,  # type: ignore[arg-type]
        suppress_callback_exceptions=True,
        serve_locally=True,
    )
    app.index_string = app.index_string.replace("<html>", '<html data-bs-theme="dark">', 1)
    dash.register_page(  # type: ignore[no-untyped-call]
        "overview", path=overview.PATH, layout=with_prefs(overview.layout), title="Log Realtime Analysis"
    )
    dash.register_page(  # type: ignore[no-untyped-call]
        "api", path=api.PATH, layout=with_prefs(api.layout), title="API · Log Realtime Analysis"
    )
    dash.register_page(  # type: ignore[no-untyped-call]
        "settings", path=settings.PATH, layout=settings.layout, title="Settings · Log Realtime Analysis"
    )
    dash.register_page(  # type: ignore[no-untyped-call]
        "tail", path=tail.PATH, layout=tail.layout, title="Live tail · Log Realtime Analysis"
    )
    dash.register_page(  # type: ignore[no-untyped-call]
        "slos", path=slos.PATH, layout=slos.layout, title="SLOs · Log Realtime Analysis"
    )
    app.layout = html.Div(
        [components.navbar(), dbc.Container(dash.page_container, fluid=True)],
        className="dbc",
    )
    callbacks.register(app)
    slo_callbacks.register(app)
    settings_callbacks.register(app)
    tail_callbacks.register(app)
    auth_callbacks.register(app)
    server = app.server
    auth.install(server, lambda: (data.source().ddb, data.source().settings.table))
    annotations_api.install(server)
    live_tail.install(server)

    def elsewhere() -> Response | None:
        """With a port of their own, the health and metrics endpoints answer there alone."""
        own = os.environ.get(contracts.ENV_DASHBOARD_METRICS_PORT, "").strip()
        if own and request.environ.get("SERVER_PORT") != own:
            return Response("not found\n", status=404, mimetype="text/plain")
        return None

    def healthz() -> Response:
        return elsewhere() or Response("ok\n", mimetype="text/plain")

    def readyz() -> Response:
        if refused := elsewhere():
            return refused
        ok, reason = data.source().ready()
        return Response(reason + "\n", status=200 if ok else 503, mimetype="text/plain")

    def metrics() -> Response:
        if refused := elsewhere():
            return refused
        body, content_type = telemetry.exposition()
        if data.regional():  # each region's freshness, read now (a single-region store has none to add)
            src, now_ms = data.source(), int(time.time() * 1000)
            try:
                body += telemetry.region_exposition(src.region_freshness(now_ms), now_ms, src.settings.stale_s)
            except Exception as exc:  # the table unreachable: the process's own metrics still answer
                log.warning("region freshness unreadable", extra={"fields": {"error": str(exc)[:200]}})
        return Response(body, content_type=content_type)

    server.add_url_rule("/healthz", "healthz", healthz)
    server.add_url_rule("/readyz", "readyz", readyz)
    server.add_url_rule("/metrics", "metrics", metrics)
    # Dash registers its script bundles' paths while rendering the index page: render it once here, so a
    # worker that has not served the index yet still serves the scripts (any worker answers any request).
    index = server.test_client().get("/", environ_overrides={WARMUP: True})
    if index.status_code != 200:
        raise RuntimeError(f"dashboard index page: HTTP {index.status_code}")
    return app


observability.configure_logging()
app = create()
server = app.server
