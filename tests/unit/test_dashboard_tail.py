"""The live tail's pure parts: filters read from a query (errors naming the parameter), a record judged once as the
pipeline would, exact counts under the lines-per-second limit, the "logs of this minute" link, and the minute read
back from a Parquet archive with its row groups pruned."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from logpipeline.dashboard import tail_callbacks
from logpipeline.dashboard.tail import archive, filters
from logpipeline.dashboard.tail.subscription import QUEUE, Subscription

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def event(api: str = "/api/v1/users", level: str = "INFO", status: int = 200, at: int = T0, **extra: object) -> bytes:
    body = {"id": f"e{at}", "timestamp": at, "api": api, "response_time": 12.5, "status_code": status,
            "log_level": level, **extra}  # fmt: skip
    return json.dumps(body).encode()


def test_a_query_becomes_a_filter_and_back() -> None:
    flt = filters.parse({"api": ["/a,/b"], "level": ["error", "CRITICAL"], "status": ["5xx", "404"], "q": ["Timeout"]})
    assert flt.apis == {"/a", "/b"} and flt.levels == {"ERROR", "CRITICAL"}
    assert flt.statuses == {404} and flt.classes == {5} and flt.text == "timeout"
    assert filters.parse(flt.query()) == flt


@pytest.mark.parametrize(
    ("args", "named"),
    [({"level": ["LOUD"]}, "level"), ({"status": ["6xx"]}, "status"), ({"status": ["abc"]}, "status"),
     ({"q": ["x" * 201]}, "q"), ({"api": [",".join(str(i) for i in range(51))]}, "api")],
)  # fmt: skip
def test_a_query_that_cannot_be_read_names_its_parameter(args: dict[str, list[str]], named: str) -> None:
    with pytest.raises(filters.FilterError, match=f"^{named}:"):
        filters.parse(args)


def test_records_are_judged_as_the_pipeline_judges_them() -> None:
    line = filters.line_of(event(level="warn", status=503))  # the original producer's aliases are repaired
    assert (line.api, line.level, line.status, line.invalid) == ("/api/v1/users", "WARNING", 503, None)
    bad = filters.line_of(b'{"api": "/x"')
    assert bad.invalid and bad.text == '{"api": "/x"'
    assert filters.line_of(None).invalid == "the record has no value"


def test_filters_match_on_every_dimension() -> None:
    err = filters.line_of(event(api="/pay", level="ERROR", status=503, message="upstream Timeout"))
    ok = filters.line_of(event(api="/pay", level="INFO", status=200))
    bad = filters.line_of(b"not json timeout")
    assert filters.parse({}).matches(bad)
    assert filters.parse({"q": ["TIMEOUT"]}).matches(err) and filters.parse({"q": ["timeout"]}).matches(bad)
    assert not filters.parse({"api": ["/pay"]}).matches(bad)  # a refused record has no API to match
    assert filters.parse({"status": ["5xx"]}).matches(err) and not filters.parse({"status": ["5xx"]}).matches(ok)
    assert filters.parse({"status": ["200"]}).matches(ok) and not filters.parse({"status": ["201"]}).matches(ok)
    assert not filters.parse({"level": ["ERROR"], "api": ["/other"]}).matches(err)
    assert filters.parse({"level": ["ERROR"], "api": ["/pay"]}).matches(err)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_over_the_rate_are_counted_as_sampled_out_exactly() -> None:
    clock = Clock()
    sub = Subscription(filters.parse({"level": ["ERROR"]}), per_second=500, clock=clock)
    errors = [(filters.line_of(event(level="ERROR", at=T0 + i)), 0, i) for i in range(800)]
    infos = [(filters.line_of(event(level="INFO", at=T0 + i)), 1, i) for i in range(300)]
    sub.offer(errors[:400] + infos)
    sub.offer(errors[400:])
    lines, counts = sub.take(0)
    assert (counts.scanned, counts.matched, counts.sent, counts.sampled_out) == (1100, 800, 500, 300)
    assert [line["o"] for line in lines] == list(range(500))  # the first ones, in order
    clock.now += 0.5  # half a second refills half the bucket
    sub.offer(errors[:400])
    lines, counts = sub.take(0)
    assert len(lines) == 250 and counts.sent == 750 and counts.sampled_out == 300 + 150
    assert counts.matched == counts.sent + counts.sampled_out


def test_a_page_that_reads_too_slowly_loses_lines_to_the_count_not_to_memory() -> None:
    clock = Clock()
    sub = Subscription(filters.parse({}), per_second=10 * QUEUE, clock=clock)
    batch = [(filters.line_of(event(at=T0 + i)), 0, i) for i in range(QUEUE + 10)]
    sub.offer(batch)
    clock.now += 10
    sub.offer(batch[:5])
    lines, counts = sub.take(0)
    assert len(lines) == QUEUE and counts.sampled_out == 15 and counts.matched == QUEUE + 15


def test_a_clicked_point_links_to_its_minute() -> None:
    text, href = tail_callbacks.minute_href({"points": [{"customdata": T0 + 61_234}]}, ["/api/v1/users"]) or ("", "")
    assert href == f"/tail?minute={T0 + 60_000}&api=%2Fapi%2Fv1%2Fusers"
    assert "2026-01-01 00:01 UTC" in text
    assert tail_callbacks.minute_href({"points": [{"x": 1}]}, []) is None
    assert tail_callbacks.minute_href(None, []) is None


def write_hour(root: Path, part: str, rows: list[dict[str, object]], name: str, group: int) -> None:
    where = root / "pipe" / part / "date=2026-01-01" / "hour=00"
    where.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), where / name, row_group_size=group)


def rows_between(start: int, end: int, step: int, **extra: object) -> list[dict[str, object]]:
    return [{"id": f"r{t}", "timestamp": t, "api": "/a" if i % 2 else "/b", "log_level": "INFO", "status_code": 200,
             "response_time": 1.0, "message": None, **extra} for i, t in enumerate(range(start, end, step))]  # fmt: skip


def test_a_minute_is_read_from_the_raw_archive_and_the_backfill(tmp_path: Path) -> None:
    write_hour(tmp_path, "raw", rows_between(T0, T0 + 180_000, 1000), "part-0.parquet", group=30)
    write_hour(tmp_path, "backfill", rows_between(T0 + 60_500, T0 + 61_000, 100), "part-1.parquet", group=100)
    write_hour(tmp_path, "raw", rows_between(T0, T0 + 10, 1), "_staging.parquet", group=10)  # never read
    found = archive.read_minute(tmp_path.as_uri(), "pipe", T0 + 90_000, filters.parse({}), limit=1000)
    assert found.start_ms == T0 + 60_000 and found.files == 2
    assert found.matched == 60 + 5
    assert [line.at for line in found.lines] == sorted(line.at for line in found.lines)
    assert all(T0 + 60_000 <= (line.at or 0) < T0 + 120_000 for line in found.lines)
    assert "message" not in json.loads(found.lines[0].text)  # missing fields are left out, not null
    only = archive.read_minute(tmp_path.as_uri(), "pipe", T0 + 60_000, filters.parse({"api": ["/b"]}), limit=7)
    assert only.matched == 30 + 3 and len(only.lines) == 7 and {line.api for line in only.lines} == {"/b"}


def test_an_empty_hour_and_a_wrong_root_are_told_apart(tmp_path: Path) -> None:
    assert archive.read_minute(tmp_path.as_uri(), "pipe", T0, filters.parse({})).matched == 0
    with pytest.raises(archive.ArchiveError, match="LOGPIPELINE_ARCHIVE_ROOT"):
        archive.read_minute("s3://bucket/x", "pipe", T0, filters.parse({}))
    with pytest.raises(archive.ArchiveError, match="LOGPIPELINE_WEBHDFS_URL"):
        archive.read_minute("hdfs://nn:8020/x", "pipe", T0, filters.parse({}), webhdfs=None)


def test_a_damaged_file_is_named_and_the_others_still_read(tmp_path: Path) -> None:
    write_hour(tmp_path, "raw", rows_between(T0 + 60_000, T0 + 70_000, 1000), "part-0.parquet", group=5)
    (tmp_path / "pipe" / "raw" / "date=2026-01-01" / "hour=00" / "part-9.parquet").write_bytes(b"PAR1 not parquet")
    found = archive.read_minute(tmp_path.as_uri(), "pipe", T0 + 60_000, filters.parse({}))
    assert found.matched == 10 and found.files == 2
    assert len(found.unreadable) == 1 and "part-9.parquet" in found.unreadable[0]


@pytest.mark.parametrize("minute", ["99999999999999999999", "-5", "noon"])
def test_a_minute_that_names_no_time_is_answered_with_a_message(minute: str) -> None:
    title, body = tail_callbacks.minute_view({"minute": minute})
    assert title == "Logs of a minute" and "minute: expected epoch milliseconds" in str(body)


def test_a_recent_minute_says_its_logs_may_still_be_on_their_way() -> None:
    minute = T0 + 60_000  # 00:01, ended at 00:02
    ended = (minute + 60_000) / 1000
    assert "is not over" in tail_callbacks.recent_note(minute, ended - 10)
    note = tail_callbacks.recent_note(minute, ended + 30)
    assert note.startswith("; the minute ended 30 s ago and the archive takes in logs every 60 s")
    assert note.endswith("(until 00:03:15 UTC)")
    assert tail_callbacks.recent_note(minute, ended + 75) == "", "complete once a side trigger and a write passed"
