"""The change signal of settled windows: which writes bump an hour, and what a reader sees as moved."""

from __future__ import annotations

from logpipeline.metrics import revisions
from logpipeline.metrics.records import Aggregate

H = revisions.HOUR_MS
T0 = 1_767_225_600_000


def _window(start: int) -> Aggregate:
    return Aggregate("/a", "INFO", start, start + 60_000, 1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1, 0, 0, 0, b"", 1)


def test_only_writes_to_windows_that_ended_long_enough_ago_bump_their_hour() -> None:
    now = T0 + H + 10 * 60_000
    written = [
        _window(T0 + 5 * 60_000),  # a late window of the previous hour
        _window(T0 + H + 2 * 60_000),  # ended 7 minutes ago
        _window(now - revisions.BUMP_AFTER_MS - 60_000),  # ended exactly BUMP_AFTER_MS ago
        _window(now - 60_000),  # the stream's own update of the window that just ended
    ]
    assert revisions.hours_to_bump(written, now) == [T0, T0 + H]
    assert revisions.hours_to_bump(written[3:], now) == []


def test_a_reader_sees_hours_whose_revision_moved_or_appeared() -> None:
    before = {T0: revisions.Revision(T0, 3, 1), T0 + H: revisions.Revision(T0 + H, 1, 1)}
    now = {**before, T0 + H: revisions.Revision(T0 + H, 2, 5), T0 + 2 * H: revisions.Revision(T0 + 2 * H, 1, 6)}
    assert revisions.moved(before, now) == [T0 + H, T0 + 2 * H]
    assert revisions.moved(now, now) == []


def test_requests_address_one_partition_by_hour() -> None:
    bump = revisions.bump_request("t_minutes", T0, T0 + 5, 30)
    assert bump["Key"] == {"pk": {"S": "rev"}, "sk": {"S": f"{T0:013d}"}}
    assert bump["ExpressionAttributeValues"][":exp"] == {"N": str((T0 + H) // 1000 + 30 * 86_400)}
    query = revisions.range_request("t_minutes", T0 + 5, T0 + 2 * H)
    values = query["ExpressionAttributeValues"]
    assert (values[":lo"]["S"], values[":hi"]["S"]) == (f"{T0:013d}", f"{T0 + H:013d}")
    assert revisions.bump_request("t_minutes", None, T0, 30)["Key"]["sk"] == {"S": "latest"}
    assert f"{4_102_444_800_000:013d}" < revisions.LATEST, "the latest item sorts after every hour"
    item = {"sk": {"S": f"{T0:013d}"}, "rev": {"N": "4"}, "changed_at": {"N": "9"}}
    assert revisions.from_item(item) == revisions.Revision(T0, 4, 9)
