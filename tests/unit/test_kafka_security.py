"""Kafka authentication settings from the environment: librdkafka's and the Spark Kafka connector's forms."""

from __future__ import annotations

import pytest

from logpipeline import contracts
from logpipeline.kafka import security

SASL = {
    contracts.ENV_KAFKA_SECURITY_PROTOCOL: "SASL_PLAINTEXT",
    contracts.ENV_KAFKA_USERNAME: "lp1-kafka-spark",
    contracts.ENV_KAFKA_PASSWORD: 'p"w\\d',
}


def test_no_authentication_by_default() -> None:
    assert (
        security.client_config({}) == {} == security.spark_options({contracts.ENV_KAFKA_SECURITY_PROTOCOL: "PLAINTEXT"})
    )


def test_scram_for_librdkafka_and_for_spark() -> None:
    assert security.client_config(SASL) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "lp1-kafka-spark",
        "sasl.password": 'p"w\\d',
    }
    options = security.spark_options(SASL)
    assert options["kafka.security.protocol"] == "SASL_PLAINTEXT" and options["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    # JAAS quoting: the password's quote and backslash escaped, so it cannot end the value early.
    assert options["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required username="lp1-kafka-spark" '
        'password="p\\"w\\\\d";'
    )


def test_the_streaming_job_uses_them_and_a_consumer_group_named_after_its_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from logpipeline_spark.options import parse_args
    from logpipeline_spark.queries import source_options

    for key, value in SASL.items():
        monkeypatch.setenv(key, value)
    options = source_options(parse_args([]))
    assert options["kafka.sasl.mechanism"] == "SCRAM-SHA-512" and options["groupIdPrefix"] == "lp1-kafka-spark"


def test_incomplete_or_unknown_settings_are_named() -> None:
    with pytest.raises(security.KafkaSecurityError, match=contracts.ENV_KAFKA_PASSWORD):
        security.client_config({**SASL, contracts.ENV_KAFKA_PASSWORD: ""})
    with pytest.raises(security.KafkaSecurityError, match="expected PLAINTEXT, SASL_PLAINTEXT or SASL_SSL"):
        security.client_config({contracts.ENV_KAFKA_SECURITY_PROTOCOL: "KERBEROS"})
