"""Sign-in through an OpenID provider: the authorization code flow with PKCE, state and nonce (Authlib's Flask
client; the ID token's signature, issuer, audience and nonce are checked against the provider's discovery document
and keys; the UserInfo endpoint adds the claims the ID token leaves out). The role comes from the groups claim; a
user whose groups map to no role is refused, by name."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth

from logpipeline import contracts
from logpipeline.accounts import roles
from logpipeline.accounts.roles import Role
from logpipeline.dashboard.auth.session import Principal, Sessions

log = logging.getLogger("logpipeline.dashboard.auth")


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    roles: dict[Role, list[str]]
    groups_claim: str = "groups"
    label: str = "single sign-on"


def parse_roles(text: str) -> dict[Role, list[str]]:
    """``{"admin": ["ops-leads"], "editor": ["sre"], "viewer": ["*"]}``: errors name the variable and the problem."""
    name = contracts.ENV_DASHBOARD_OIDC_ROLES
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not doc:
        raise ValueError(f'{name}: expected an object such as {{"viewer": ["*"]}}, got {text!r}')
    out: dict[Role, list[str]] = {}
    for key, groups in doc.items():
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise ValueError(f"{name}: {key!r} must list group names")
        out[roles.parse(key)] = groups
    return out


def load() -> OidcSettings | None:
    """From the environment; None when no issuer is set."""
    issuer = os.environ.get(contracts.ENV_DASHBOARD_OIDC_ISSUER, "").strip().rstrip("/")
    if not issuer:
        return None
    client_id = os.environ.get(contracts.ENV_DASHBOARD_OIDC_CLIENT_ID, "").strip()
    secret_file = os.environ.get(contracts.ENV_DASHBOARD_OIDC_CLIENT_SECRET_FILE, "").strip()
    if not client_id or not secret_file:
        raise ValueError(
            f"{contracts.ENV_DASHBOARD_OIDC_ISSUER} is set: {contracts.ENV_DASHBOARD_OIDC_CLIENT_ID} and "
            f"{contracts.ENV_DASHBOARD_OIDC_CLIENT_SECRET_FILE} are needed too"
        )
    return OidcSettings(
        issuer,
        client_id,
        Path(secret_file).read_text().strip(),
        parse_roles(os.environ.get(contracts.ENV_DASHBOARD_OIDC_ROLES, '{"viewer": ["*"]}')),
        os.environ.get(contracts.ENV_DASHBOARD_OIDC_GROUPS_CLAIM, "").strip() or "groups",
        os.environ.get(contracts.ENV_DASHBOARD_OIDC_LABEL, "").strip() or "single sign-on",
    )


def principal_of(claims: dict[str, Any], cfg: OidcSettings) -> Principal | str:
    """The signed-in user of an ID token's claims, or why they may not sign in."""
    name = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "")
    groups = claims.get(cfg.groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    role = roles.from_groups([str(g) for g in groups], cfg.roles)
    if not name:
        return "the provider named no user (no preferred_username, email or sub)"
    if role is None:
        return f"{name} is in no group that has a role here"
    return Principal(name, role, cfg.issuer)


def install(
    server: flask.Flask, sessions: Sessions, cfg: OidcSettings, refused: Callable[[str, int], flask.Response],
    safe_next: Callable[[str | None], str], signed_in: Callable[[str, str], None],
) -> None:  # fmt: skip
    oauth = OAuth(server)
    client: Any = oauth.register(
        "provider",
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        server_metadata_url=f"{cfg.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": f"openid email profile {cfg.groups_claim}", "code_challenge_method": "S256"},
    )

    def start() -> Any:
        flask.session["next"] = safe_next(flask.request.args.get("next"))
        return client.authorize_redirect(flask.url_for("oidc_callback", _external=True))

    def callback() -> Any:
        try:
            token = client.authorize_access_token()
        except OAuthError as exc:
            signed_in("refused", "oidc")
            log.info("single sign-on refused", extra={"fields": {"error": str(exc)}})
            return refused(f"Single sign-on failed: {exc.description or exc.error}.", 401)
        claims = dict(token.get("userinfo") or {})  # the ID token's, checked
        try:  # groups and names often come from the UserInfo endpoint only; its sub must be the ID token's
            extra = dict(client.userinfo(token=token))
        except Exception as exc:
            log.warning("userinfo unavailable", extra={"fields": {"error": str(exc)}})
            extra = {}
        if extra.get("sub") == claims.get("sub"):
            claims = {**extra, **claims}
        who = principal_of(claims, cfg)
        if isinstance(who, str):
            signed_in("refused", "oidc")
            log.info("single sign-on refused", extra={"fields": {"reason": who}})
            return refused(f"Single sign-on refused: {who}.", 403)
        target = flask.session.get("next", "/")
        sessions.begin(who)
        signed_in("ok", "oidc")
        log.info("signed in", extra={"fields": {"user": who.name, "role": who.role.label, "via": cfg.issuer}})
        return flask.redirect(safe_next(target))

    server.add_url_rule("/auth/oidc/start", "oidc_start", start)
    server.add_url_rule("/auth/oidc/callback", "oidc_callback", callback)
