"""How every Kafka client of the pipeline authenticates, from the environment (pure but for reading it).

Unset or ``PLAINTEXT``: no authentication. ``SASL_PLAINTEXT`` or ``SASL_SSL``: SASL with
``LOGPIPELINE_KAFKA_SASL_MECHANISM`` (default SCRAM-SHA-512), ``LOGPIPELINE_KAFKA_USERNAME`` and
``LOGPIPELINE_KAFKA_PASSWORD`` (in a cluster: the pipeline component's Strimzi ``KafkaUser`` and its Secret).
``client_config`` is for librdkafka clients (producers, the sink's consumer, admin clients), ``spark_options`` for
the Spark Kafka source and sink.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from logpipeline import contracts

SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")


class KafkaSecurityError(ValueError):
    """The authentication settings are incomplete or unknown; the message names the variable."""


def _settings(env: Mapping[str, str]) -> tuple[str, str, str, str] | None:
    protocol = env.get(contracts.ENV_KAFKA_SECURITY_PROTOCOL, "").strip().upper()
    if protocol in ("", "PLAINTEXT"):
        return None
    if protocol not in SASL_PROTOCOLS:
        raise KafkaSecurityError(
            f"{contracts.ENV_KAFKA_SECURITY_PROTOCOL}: expected PLAINTEXT, {' or '.join(SASL_PROTOCOLS)}, got {protocol!r}"
        )
    mechanism = env.get(contracts.ENV_KAFKA_SASL_MECHANISM, "").strip().upper() or contracts.SCRAM
    user, password = env.get(contracts.ENV_KAFKA_USERNAME, ""), env.get(contracts.ENV_KAFKA_PASSWORD, "")
    if not user or not password:
        missing = contracts.ENV_KAFKA_USERNAME if not user else contracts.ENV_KAFKA_PASSWORD
        raise KafkaSecurityError(f"{missing}: required with {contracts.ENV_KAFKA_SECURITY_PROTOCOL}={protocol}")
    return protocol, mechanism, user, password


def client_config(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """librdkafka settings (empty without authentication)."""
    found = _settings(os.environ if env is None else env)
    if found is None:
        return {}
    protocol, mechanism, user, password = found
    return {
        "security.protocol": protocol,
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def spark_options(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Options of the Spark Kafka source and sink (``kafka.``-prefixed Java client settings)."""
    found = _settings(os.environ if env is None else env)
    if found is None:
        return {}
    protocol, mechanism, user, password = found
    module = (
        "org.apache.kafka.common.security.plain.PlainLoginModule"
        if mechanism == "PLAIN"
        else "org.apache.kafka.common.security.scram.ScramLoginModule"
    )
    return {
        "kafka.security.protocol": protocol,
        "kafka.sasl.mechanism": mechanism,
        "kafka.sasl.jaas.config": f"{module} required username={_quoted(user)} password={_quoted(password)};",
    }
