"""Settings come from the environment, with loopback defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from logpipeline import config


def test_defaults_are_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in config.Ports.__dataclass_fields__:
        monkeypatch.delenv(f"LOGPIPELINE_{name.upper()}_PORT", raising=False)
    settings = config.Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.hdfs_url == "hdfs://127.0.0.1:9000"
    assert settings.dynamodb_endpoint == "http://127.0.0.1:8000"


def test_ports_and_dirs_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOGPIPELINE_KAFKA_PORT", "19092")
    monkeypatch.setenv("LOGPIPELINE_STATE", str(tmp_path / "s"))
    monkeypatch.setenv("LOGPIPELINE_CACHE", str(tmp_path / "c"))
    settings = config.Settings()
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.state == tmp_path / "s"
    assert settings.cache == tmp_path / "c"
    assert settings.logs == tmp_path / "s" / "logs"


def test_bad_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPELINE_DYNAMODB_PORT", "eight")
    with pytest.raises(ValueError, match="LOGPIPELINE_DYNAMODB_PORT"):
        config.Ports.from_env()
