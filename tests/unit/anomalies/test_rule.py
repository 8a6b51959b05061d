"""The k-of-m rule: when an anomaly opens, what it is dated from, when it closes."""

from __future__ import annotations

import pytest

from logpipeline.anomalies.rule import Rule, RuleParams


def run(flags: str, k: int = 2, m: int = 3) -> list[int | None]:
    rule = Rule(RuleParams(k, m))
    return [rule.step(i, c == "x") for i, c in enumerate(flags)]


def test_one_flag_is_not_an_anomaly() -> None:
    assert run("..x...x...") == [None] * 10


def test_two_of_three_open_it_dated_from_the_first() -> None:
    assert run("..x.x...") == [None, None, None, None, 2, 2, 2, None]


def test_it_stays_open_until_m_clear_minutes() -> None:
    assert run("xx.x..x...") == [None, 0, 0, 0, 0, 0, 0, 0, 0, None]


def test_k_of_m_variants() -> None:
    assert run("x.x", k=2, m=2) == [None, None, None]
    assert run("xxx", k=3, m=5) == [None, None, 0]
    assert run("x", k=1, m=1) == [0]


def test_state_round_trips_and_bad_params_are_refused() -> None:
    rule = Rule(RuleParams())
    rule.step(0, True)
    copy = Rule.restore(rule.params, rule.state())
    assert copy.step(1, True) == rule.step(1, True) == 0
    with pytest.raises(ValueError, match="k=4, m=3"):
        RuleParams(4, 3)
    with pytest.raises(ValueError, match="recent"):
        Rule.restore(RuleParams(), {"recent": 3})
