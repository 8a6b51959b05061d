"""Seeded metrics tables, independent ground truth, a gunicorn dashboard and headless Chromium for tests.

Imported by the dashboard's integration tests and its benchmark. The ground truth is computed straight from
the raw events that were aggregated and loaded, never through the query layer or the dashboard's code.
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logpipeline.accounts import directory
from logpipeline.accounts.roles import Role
from logpipeline.events.schema import ERROR_LEVELS, LOG_LEVELS
from logpipeline.metrics import store, synthetic
from logpipeline.stack.process import free_port
from support import leftovers
from support.wait import http_ok, wait_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = "/usr/bin/chromium"
MINUTE = 60_000
XSS_API = "<img src=x onerror=alert(1)>"
APIS = ["/api/v1/orders", "/api/v1/users", "/api/v1/payments", XSS_API]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class World:
    """A seeded table: blocks of minutes relative to ``now`` (minute-aligned) and the raw events in them."""

    table: str
    endpoint: str
    now: int
    events: list[synthetic.Event]
    blocks: dict[str, tuple[int, int]]

    def select(self, blocks: list[str], apis: list[str] | None = None) -> list[synthetic.Event]:
        spans = [self.blocks[b] for b in blocks]
        return [
            e for e in self.events if any(lo <= e.timestamp < hi for lo, hi in spans) and (not apis or e.api in apis)
        ]


def seed(endpoint: str, table: str, per_minute: int = 4) -> World:
    """Three blocks with gaps between them, so a range ending a few minutes later still holds the same blocks:
    ``recent`` (10..4 min ago: in 15m), ``hour`` (45..30 min ago: in 1h), ``old`` (4..3 h ago: in 6h)."""
    now = int(time.time() * 1000) // MINUTE * MINUTE
    blocks = {
        "recent": (now - 10 * MINUTE, now - 4 * MINUTE),
        "hour": (now - 45 * MINUTE, now - 30 * MINUTE),
        "old": (now - 240 * MINUTE, now - 180 * MINUTE),
    }
    events: list[synthetic.Event] = []
    for seed_no, (lo, hi) in enumerate(blocks.values(), 1):
        events += synthetic.events(lo, (hi - lo) // MINUTE, APIS, per_minute, seed=seed_no)
    ddb = store.client(endpoint)
    store.init_table(ddb, table)
    store.bulk_load(ddb, table, synthetic.aggregate_events(events, updated_at=now))
    return World(table, endpoint, now, events, blocks)


@contextmanager
def seeded(endpoint: str, prefix: str) -> Iterator[World]:
    """A world seeded into a new table ``<prefix>_<random>`` for the ``with`` block; the table is deleted after."""
    table = f"{prefix}_{leftovers.suffix()}"
    world = seed(endpoint, table)
    try:
        yield world
    finally:
        store.client(endpoint).delete_table(TableName=table)


@dataclass(frozen=True)
class Truth:
    totals: dict[str, int]
    total: int
    errors: int
    sla: float | None
    avg: dict[str, float]
    count: dict[str, int]
    top: list[tuple[str, int, float, float]]  # api, errors, error rate, avg response
    times: dict[str, list[float]]


def truth(events: list[synthetic.Event]) -> Truth:
    totals = dict.fromkeys(LOG_LEVELS, 0)
    times: dict[str, list[float]] = {}
    errors_by: dict[str, int] = {}
    for e in events:
        totals[e.log_level] += 1
        times.setdefault(e.api, []).append(e.response_time)
        errors_by[e.api] = errors_by.get(e.api, 0) + (e.log_level in ERROR_LEVELS)
    total = len(events)
    errors = sum(totals[level] for level in ERROR_LEVELS)
    avg = {api: math.fsum(t) / len(t) for api, t in times.items()}
    top = sorted(
        ((api, n, n / len(times[api]), avg[api]) for api, n in errors_by.items() if n),
        key=lambda r: (-r[1], -r[2], r[0]),
    )[:5]
    return Truth(
        totals,
        total,
        errors,
        (total - errors) / total if total else None,
        avg,
        {a: len(t) for a, t in times.items()},
        top,
        times,
    )


PASSWORD = "a-test-password-0123"
USERS = {"viewer": Role.VIEWER, "editor": Role.EDITOR, "admin": Role.ADMIN}


def refresh_request(range_name: str, tick: int = 1, apis: Sequence[str] = ()) -> dict[str, Any]:
    """The body Dash's renderer posts for the overview's refresh callback (every view in one answer)."""
    from logpipeline.dashboard.callbacks import OVERVIEW_OUTPUTS

    outs = [f"ov-{part}.{prop}" for part, prop in OVERVIEW_OUTPUTS]
    values = [
        ("range", range_name),
        ("start", None),
        ("end", None),
        ("apis", list(apis)),
        ("slo", 99),
        ("region", "all"),
    ]
    return {
        "output": ".." + "...".join(outs) + "..",
        "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]} for o in outs],
        "inputs": [{"id": "ov-tick", "property": "n_intervals", "value": tick}]
        + [{"id": f"ov-{k}", "property": "value", "value": v} for k, v in values],
        "state": [
            {"id": "ov-refresh", "property": "value", "value": "10"},
            {"id": "ov-paused", "property": "value", "value": False},
            {"id": "ov-zone", "property": "data", "value": "UTC"},
        ],
        "changedPropIds": ["ov-tick.n_intervals"],
    }


def whoami(http: Any, base: str) -> Any:
    """The navbar's account callback, as Dash's renderer posts it: who the session belongs to."""
    body = {
        "output": "..whoami.children...signout-csrf.value..",
        "outputs": [{"id": "whoami", "property": "children"}, {"id": "signout-csrf", "property": "value"}],
        "inputs": [{"id": "whoami", "property": "id", "value": "whoami"}],
        "changedPropIds": [],
        "state": [],
    }
    return http.post(f"{base}/_dash-update-component", json=body, timeout=30)


def ensure_users(endpoint: str, table: str) -> None:
    """The test users (``viewer``, ``editor``, ``admin``, all with ``PASSWORD``) in the table's accounts."""
    ddb = store.client(endpoint)
    directory.ensure_table(ddb, table)
    for name, role in USERS.items():
        if directory.get(ddb, table, name) is None:
            directory.add(ddb, table, name, role, PASSWORD)


def sign_in(page: Any, base: str, user: str = "editor", password: str = PASSWORD, path: str = "/") -> None:
    """Through the sign-in form, as a person does; ends on ``path``."""
    page.goto(f"{base}{path}")
    page.wait_for_selector("#signin", timeout=30_000)
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#signin")
    page.wait_for_selector("#whoami:has-text('·')", timeout=30_000)


def session(base: str, user: str = "editor", password: str = PASSWORD) -> Any:
    """A signed-in ``requests`` session whose requests carry the CSRF header, as Dash's renderer sends it."""
    import re

    import requests

    http = requests.Session()
    form = http.get(f"{base}/auth/login", timeout=30)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, form.text[:500]
    answer = http.post(
        f"{base}/auth/login",
        data={"csrf_token": found.group(1), "username": user, "password": password, "next": "/"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, (answer.status_code, answer.text[:500])
    http.headers["X-CSRFToken"] = http.cookies["_csrf_token"]
    return http


def sign_in_test_client(client: Any, user: str = "viewer", password: str = PASSWORD) -> None:
    """Signs a Flask test client in (it keeps the cookies) and makes it send the CSRF header from then on."""
    import re

    form = client.get("/auth/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))
    assert found, form.status_code
    fields = {"csrf_token": found.group(1), "username": user, "password": password, "next": "/"}
    answer = client.post("/auth/login", data=fields)
    assert answer.status_code == 302, (answer.status_code, answer.get_data(as_text=True)[:500])
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie("_csrf_token").value


def headers_of(http: Any) -> dict[str, str]:
    """The Cookie and CSRF headers of a signed-in ``requests`` session, for a raw HTTP client."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    return {"Cookie": cookie, "X-CSRFToken": http.headers["X-CSRFToken"]}


@contextmanager
def gunicorn(
    table: str, endpoint: str, workers: int = 1, threads: int = 4, users: bool = True, port: int = 0, **env: str
) -> Iterator[str]:
    """A real gunicorn serving the dashboard on a free loopback port, with the test ``USERS`` unless ``users`` is
    False, on ``port`` if given; yields its base URL."""
    if users:
        ensure_users(endpoint, table)
    port = port or free_port()
    environ = {
        **os.environ,
        "LOGPIPELINE_TABLE": table,
        "LOGPIPELINE_DYNAMODB_ENDPOINT": endpoint,
        "LOGPIPELINE_DASHBOARD_BIND": f"127.0.0.1:{port}",
        "LOGPIPELINE_DASHBOARD_WORKERS": str(workers),
        "LOGPIPELINE_DASHBOARD_THREADS": str(threads),
        "LOGPIPELINE_SINK_METRICS_URL": env.pop("sink", "off"),
        **env,
    }
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tempfile.NamedTemporaryFile(prefix="dashboard-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:logpipeline.dashboard.gunicorn_conf"]
    proc = subprocess.Popen(
        [*argv, "logpipeline.dashboard.app:server"], env=environ, stdout=log, stderr=log, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited {proc.returncode}: {Path(log.name).read_text()[-2000:]}")
        return http_ok(f"{base}/healthz")

    try:
        wait_for(healthy, 60, "gunicorn's /healthz", Path(log.name), interval=0.3)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.move(log.name, ARTIFACTS / f"gunicorn-{port}.log")  # the server's JSON log lines, kept as an artifact


@contextmanager
def chromium(extra_args: Sequence[str] = ()) -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (no browser download), with a fresh profile directory; ``extra_args``
    (for example ``--host-resolver-rules``) are added to its command line."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dashboard-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            viewport={"width": 1600, "height": 1100},
        )
        try:
            yield context
        finally:
            context.close()
