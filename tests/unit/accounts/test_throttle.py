"""The wait after failed sign-ins (pure): none for the first five, then doubling from the base, capped."""

from __future__ import annotations

from logpipeline.accounts import throttle


def test_the_wait_starts_after_five_failures_doubles_and_is_capped() -> None:
    assert [throttle.delay_s(n) for n in range(5)] == [0.0] * 5
    assert [throttle.delay_s(n, 30) for n in (5, 6, 7, 8)] == [30.0, 60.0, 120.0, 240.0]
    assert throttle.delay_s(9, 30) == 480.0 and throttle.delay_s(10, 30) == throttle.MAX_S == throttle.delay_s(
        10**6, 30
    )
