"""What the operator's configuration allows a LogPipeline to use: which images and which Secrets (pure).

Whoever may create a LogPipeline would otherwise choose any image to run and any Secret of the namespace to mount.
The allow-lists come from the operator's environment (the chart's ``operator.allowedImages`` and
``operator.allowedSecrets``): ``LOGPIPELINE_OPERATOR_ALLOWED_IMAGES``, comma-separated image prefixes (default: the
project's images and the default third-party ones; ``*``: any), and ``LOGPIPELINE_OPERATOR_ALLOWED_SECRETS``,
comma-separated Secret names (default: none; ``*``: any). A spec outside them is refused with the field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logpipeline_operator import constants as c
from logpipeline_operator.builders import alerting, dashboard
from logpipeline_operator.builders.common import Body, spec_of

ENV_IMAGES = "LOGPIPELINE_OPERATOR_ALLOWED_IMAGES"
ENV_SECRETS = "LOGPIPELINE_OPERATOR_ALLOWED_SECRETS"
DEFAULT_IMAGES = (f"{c.IMAGE_REGISTRY}/", "apache/hadoop:", "amazon/dynamodb-local:")


@dataclass(frozen=True)
class Policy:
    images: tuple[str, ...] = DEFAULT_IMAGES
    secrets: tuple[str, ...] = ()

    def image_allowed(self, image: str) -> bool:
        return "*" in self.images or any(image.startswith(prefix) for prefix in self.images)

    def secret_allowed(self, name: str) -> bool:
        return "*" in self.secrets or name in self.secrets


def _items(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(item.strip() for item in text.split(",") if item.strip())


def from_env(env: Mapping[str, str]) -> Policy:
    images, secrets = _items(env.get(ENV_IMAGES)), _items(env.get(ENV_SECRETS))
    return Policy(DEFAULT_IMAGES if images is None else images, () if secrets is None else secrets)


def images_in_use(lp: Body) -> dict[str, str]:
    """Field path -> image, for every image the spec's children would run."""
    spec = spec_of(lp)
    used = {"spec.image": spec["image"], "spec.spark.image": spec["spark"]["image"]}
    if spec["archive"]["enabled"]:
        used["spec.archive.image"] = spec["archive"]["image"]
    if spec["metricsStore"]["engine"] == "dynamodb-local":
        used["spec.metricsStore.image"] = spec["metricsStore"]["image"]
    return used


def secrets_in_use(lp: Body) -> dict[str, str]:
    """Field path -> Secret name, for every Secret the spec's children would mount or reference."""
    spec = spec_of(lp)
    used = {}
    for field in ("credentialsSecret", "readOnlyCredentialsSecret"):
        secret = spec["metricsStore"].get(field)
        if spec["metricsStore"]["engine"] == "aws" and secret:
            used[f"spec.metricsStore.{field}.name"] = secret["name"]
    tls = (spec["dashboard"].get("ingress") or {}).get("tlsSecretName")
    if tls:
        used["spec.dashboard.ingress.tlsSecretName"] = tls
    for ref, (secret, _, _) in dashboard.secret_refs(lp).items():
        used[f"spec.dashboard.auth.{ref}.name"] = secret["name"]
    if alerting.enabled(lp):
        for i, receiver in enumerate(spec["alerting"].get("receivers", [])):
            for kind in alerting.KINDS:
                for ref in alerting.REFS:
                    secret = receiver.get(kind, {}).get(ref)
                    if secret:
                        used[f"spec.alerting.receivers[{i}].{kind}.{ref}.name"] = secret["name"]
    return used


def problems(lp: Body, policy: Policy) -> list[str]:
    """Why the operator refuses this spec (empty: nothing to refuse); each names the field and the setting."""
    out = [
        f"{field}: image {image!r} is not allowed by the operator's configuration ({ENV_IMAGES}: "
        f"{', '.join(policy.images) or 'none'})"
        for field, image in images_in_use(lp).items()
        if not policy.image_allowed(image)
    ]
    out += [
        f"{field}: Secret {name!r} is not allowed by the operator's configuration ({ENV_SECRETS}: "
        f"{', '.join(policy.secrets) or 'none'})"
        for field, name in secrets_in_use(lp).items()
        if not policy.secret_allowed(name)
    ]
    return out
