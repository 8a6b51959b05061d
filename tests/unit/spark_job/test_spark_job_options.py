"""The job's options: flags over environment defaults, derived names, and clear errors."""

from __future__ import annotations

import pytest

from logpipeline_spark.job import QUERIES, parse_args


def test_defaults_follow_the_input_topic_and_the_archive_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGPIPELINE_WINDOW", "5 minutes")
    monkeypatch.delenv("LOGPIPELINE_DLQ_TOPIC", raising=False)
    opts = parse_args(["--input-topic", "in_x", "--archive-root", "file:///tmp/a", "--pipeline", "p"])
    assert (opts.dlq_topic, opts.window, opts.queries) == ("in_x.dlq", "5 minutes", QUERIES)
    assert opts.path("raw") == "file:///tmp/a/p/raw"
    assert opts.checkpoint("aggregates") == "file:///tmp/a/p/checkpoints/aggregates"


def test_an_unknown_query_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--queries", "aggregates,bogus"])
    assert "--queries: unknown bogus" in capsys.readouterr().err
