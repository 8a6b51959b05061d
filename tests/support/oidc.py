"""The tests' OpenID provider: node-oidc-provider from npm (pinned by ``oidc_provider/package-lock.json``, installed
once into the cache) serving configured users with passwords and groups on a free loopback port."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logpipeline import config
from logpipeline.stack.process import free_port
from support.wait import http_ok, wait_for

PACKAGE = Path(__file__).with_name("oidc_provider")
FILES = ("package.json", "package-lock.json")


@dataclass(frozen=True)
class User:
    password: str
    groups: list[str] = field(default_factory=list)
    email: str = ""


def install() -> Path:
    """``npm ci`` of the pinned provider into the cache (once per lock file); returns its directory."""
    digest = hashlib.sha256(b"".join((PACKAGE / f).read_bytes() for f in FILES)).hexdigest()[:12]
    root = config.cache_dir() / "npm"
    dest = root / f"oidc-provider-{digest}"
    if not (dest / "node_modules" / "oidc-provider" / "package.json").exists():
        staging = Path(tempfile.mkdtemp(prefix="oidc-provider-", dir=root if root.exists() else None))
        for name in FILES:
            shutil.copy(PACKAGE / name, staging / name)
        npm = ["npm", "ci", "--no-audit", "--no-fund", "--cache", str(root / "cache")]
        done = subprocess.run(npm, cwd=staging, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"npm ci of the OpenID provider failed: {done.stderr[-2000:]}")
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
    shutil.copy(PACKAGE / "provider.mjs", dest / "provider.mjs")  # node finds the packages beside the script
    return dest


@contextmanager
def provider(users: dict[str, User], client_id: str, client_secret: str, redirect_uris: list[str]) -> Iterator[str]:
    """The provider running for the ``with`` block; yields its issuer URL."""
    home = install()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    cfg = {
        "issuer": issuer,
        "port": port,
        "clients": [{"client_id": client_id, "client_secret": client_secret, "redirect_uris": redirect_uris,
                     "grant_types": ["authorization_code"], "response_types": ["code"]}],
        "users": {name: {"password": u.password, "groups": u.groups, "email": u.email or f"{name}@example.org"}
                  for name, u in users.items()},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="oidc-") as tmp:
        path = Path(tmp) / "provider.json"
        path.write_text(json.dumps(cfg))
        log = Path(tmp) / "provider.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                ["node", str(home / "provider.mjs"), str(path)], stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for(lambda: http_ok(f"{issuer}/.well-known/openid-configuration"), 60, "the OpenID provider", log)
            yield issuer
        finally:
            proc.terminate()
            proc.wait(10)


def sign_in(base: str, user: str, password: str) -> tuple[Any, Any]:
    """Single sign-on with ``requests``, as a browser follows it: the dashboard's start, the provider's form, the
    callback. Returns the session (with the CSRF header set when signed in) and the last answer."""
    import re

    import requests

    http = requests.Session()
    form = http.get(f"{base}/auth/oidc/start?next=/", timeout=30)
    uid = re.search(r'action="(/interaction/[^"]+/login)"', form.text)
    assert uid, (form.status_code, form.url, form.text[:500])
    issuer = form.url.split("/interaction/")[0]
    answer = http.post(f"{issuer}{uid.group(1)}", data={"login": user, "password": password}, timeout=30)
    if "_csrf_token" in http.cookies:
        http.headers["X-CSRFToken"] = http.cookies["_csrf_token"]
    return http, answer
