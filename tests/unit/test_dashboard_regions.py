"""The dashboard's regions (pure parts): the setting, the URL's region, each region's row beside the others, the
stale banner, the freshness gauges of ``/metrics`` and each region's alerts on the SLO page."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from logpipeline.alerting import lifecycle
from logpipeline.alerting.lifecycle import AlertState
from logpipeline.dashboard import components, model, settings, slo_components, telemetry, viewstate
from logpipeline.events.schema import ERROR_LEVELS
from logpipeline.metrics import rollup, synthetic
from logpipeline.metrics.records import Aggregate

T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z
MIN = 60_000


def test_the_regions_setting_defaults_to_the_pipelines_own_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGPIPELINE_DASHBOARD_REGIONS", raising=False)
    monkeypatch.delenv("LOGPIPELINE_REGION", raising=False)
    assert settings.load().regions == ()
    monkeypatch.setenv("LOGPIPELINE_REGION", "eu-west-1")
    assert settings.load().regions == ("eu-west-1",)
    monkeypatch.setenv("LOGPIPELINE_DASHBOARD_REGIONS", " us-east-1, eu-west-1,us-east-1 ")
    assert settings.load().regions == ("us-east-1", "eu-west-1")
    monkeypatch.setenv("LOGPIPELINE_DASHBOARD_REGIONS", "eu-west-1,moon")
    with pytest.raises(ValueError, match="LOGPIPELINE_DASHBOARD_REGIONS: 'moon' is not an AWS region name"):
        settings.load()
    monkeypatch.setenv("LOGPIPELINE_DASHBOARD_REGIONS", "eu-west-1")
    monkeypatch.setenv("LOGPIPELINE_DASHBOARD_STALE_SECONDS", "10")
    with pytest.raises(ValueError, match="LOGPIPELINE_DASHBOARD_STALE_SECONDS must be >= 60"):
        settings.load()


def test_the_url_keeps_the_region_and_names_a_bad_one() -> None:
    view, problems = viewstate.parse({"range": "6h", "region": "us-east-1"})
    assert view.region == "us-east-1" and not problems
    assert viewstate.query(view) == "range=6h&region=us-east-1"
    assert viewstate.parse({"region": "us#east"}) == (viewstate.View(), ["region: expected a region name like "
                                                                         "eu-west-1, got 'us#east'"])  # fmt: skip
    assert viewstate.from_controls("1h", None, None, [], 99, 10, False, region="eu-west-1").region == "eu-west-1"
    assert viewstate.from_controls("1h", None, None, [], 99, 10, False, region="").region is None


def _windows(seed: int, minutes: int = 5) -> tuple[list[synthetic.Event], list[Aggregate]]:
    events = synthetic.events(T0, minutes, synthetic.api_names(4), per_minute=20, seed=seed)
    return events, list(synthetic.aggregate_events(events, updated_at=T0))


def test_each_region_has_its_own_row_and_a_silent_region_is_stale() -> None:
    eu_events, eu = _windows(1)
    us_events, us = _windows(2)
    now = T0 + 12 * MIN
    ends = {"eu-west-1": now - 30_000, "us-east-1": T0 + 5 * MIN, "ap-south-1": None}
    rows = {r.region: r for r in model.region_rows({"eu-west-1": eu, "us-east-1": us, "ap-south-1": []}, ends, [],
                                                   now, 300)}  # fmt: skip
    assert rows["eu-west-1"].requests == len(eu_events) and rows["us-east-1"].requests == len(us_events)
    errors = sum(e.log_level in ERROR_LEVELS for e in us_events)
    assert rows["us-east-1"].errors == errors and rows["us-east-1"].error_rate == pytest.approx(errors / len(us_events))
    assert [r.region for r in rows.values() if r.stale] == ["us-east-1", "ap-south-1"]
    assert rows["us-east-1"].age_seconds == 7 * 60 and rows["ap-south-1"].age_seconds is None
    assert rows["ap-south-1"].error_rate is None and rows["ap-south-1"].requests == 0
    times = sorted(e.response_time for e in eu_events)
    assert times[int(0.93 * len(times))] <= rows["eu-west-1"].p95 <= times[min(len(times) - 1, int(0.97 * len(times)))]
    one_api = model.region_rows({"eu-west-1": eu}, ends, ["/api/v1/service-01"], now, 300)[0]
    assert one_api.requests == sum(e.api == "/api/v1/service-01" for e in eu_events)


def test_the_regions_table_marks_a_stale_region_and_the_banner_names_it() -> None:
    _, eu = _windows(1)
    now = T0 + 12 * MIN
    rows = model.region_rows({"eu-west-1": eu, "us-east-1": eu}, {"eu-west-1": now, "us-east-1": T0}, [], now, 300)
    out = components.regions_table(rows, None)
    banner, table = out[0], out[1]
    assert banner.id == "stale-regions" and "Region us-east-1 is stale" in banner.children
    assert "global view misses" in banner.children
    html = str(table)
    assert "table-danger" in html and "region-row-us-east-1" in html
    assert components.regions_table([], None) == []
    fresh = model.region_rows({"eu-west-1": eu}, {"eu-west-1": now}, [], now, 300)
    assert len(components.regions_table(fresh, "eu-west-1")) == 1  # no banner: nothing is stale


def test_metrics_say_each_regions_age_and_whether_it_is_stale() -> None:
    now = T0 + 12 * MIN
    body = telemetry.region_exposition({"eu-west-1": now - 20_000, "us-east-1": now - 400_000, "ap-south-1": None},
                                       now, 300).decode()  # fmt: skip
    samples = {(s.name, s.labels["region"]): s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert samples[("logpipeline_dashboard_region_stale", "eu-west-1")] == 0
    assert samples[("logpipeline_dashboard_region_stale", "us-east-1")] == 1
    assert samples[("logpipeline_dashboard_region_stale", "ap-south-1")] == 1
    assert samples[("logpipeline_dashboard_region_newest_window_age_seconds", "us-east-1")] == 400
    assert ("logpipeline_dashboard_region_newest_window_age_seconds", "ap-south-1") not in samples


def test_the_global_latency_merges_each_region_and_api_once_and_equals_one_pass_over_all_windows() -> None:
    eu_events, eu = _windows(1)
    us_events, us = _windows(2)
    latency, p95 = model.region_latency({"eu-west-1": eu, "us-east-1": us}, [])
    once = rollup.latency_by_api(eu + us)
    assert [lat.api for lat in latency] == list(once)
    for lat in latency:
        ref = once[lat.api]
        assert (lat.count, lat.min, lat.max) == (ref.count, ref.min, ref.max)
        assert lat.avg == pytest.approx(ref.avg)
        times = sorted(e.response_time for e in eu_events + us_events if e.api == lat.api)
        for q, value in ((0.5, lat.p50), (0.95, lat.p95), (0.99, lat.p99)):
            assert abs(sum(t <= value for t in times) / len(times) - q) <= 0.03, (lat.api, q)
    for region, events in (("eu-west-1", eu_events), ("us-east-1", us_events)):
        times = sorted(e.response_time for e in events)
        assert abs(sum(t <= p95[region] for t in times) / len(times) - 0.95) <= 0.03, region
    only, _ = model.region_latency({"eu-west-1": eu, "us-east-1": us}, ["/api/v1/service-02"])
    assert [lat.api for lat in only] == ["/api/v1/service-02"]


def test_the_slo_page_lists_each_regions_alerts_and_the_banner_names_the_region() -> None:
    def row(region: str, left: float) -> dict[str, object]:
        return {"slo": "checkout", "api": "/pay", "objective": "availability", "target": 0.999, "window": "30d",
                "status": "firing" if left < 0.5 else "inactive", "severity": None, "burn": {}, "events": {},
                "budgetRemaining": left, "exhaustionSeconds": None, "history": [], "region": region}  # fmt: skip

    eu = AlertState("checkout", "/pay", lifecycle.FIRING, "page", fired_at=T0, region="eu-west-1")
    board = model.SloBoard(T0, [row("us-east-1", 0.9), row("eu-west-1", 0.1)], [eu], [])
    assert [r["region"] for r in board.rows()] == ["eu-west-1", "us-east-1"]  # the least budget left first
    table = str(slo_components.slo_table(board.rows()))
    assert "'region'" in table and "eu-west-1" in table and "us-east-1" in table
    assert len(slo_components.target_options(board.summaries)) == 1  # a target holds in every region
    banner = str(slo_components.alert_banner(board.paging()))
    assert "checkout (/pay in eu-west-1)" in banner
    single = str(slo_components.slo_table([{**row("", 0.9)} | {"region": ""}]))
    assert "'region'" not in single  # a single-region store's table has no region column
    silences = [lifecycle.Silence("s1", T0, T0 + MIN, slo="checkout", region="us-east-1")]
    assert "us-east-1" in str(slo_components.silences_table(silences))


def test_the_silence_form_names_one_of_the_stores_regions_or_every_region() -> None:
    from logpipeline.alerting import slo
    from logpipeline.dashboard import slo_callbacks

    regions = ("eu-west-1", "us-east-1")
    made = slo_callbacks.make_silence(None, " /pay ", "1h", "drill", T0, "ed", "eu-west-1", regions)
    assert (made.region, made.api, made.slo, made.ends - made.starts) == ("eu-west-1", "/pay", None, 3_600_000)
    assert slo_callbacks.make_silence(None, None, "1h", None, T0, "ed", None, regions).region is None
    assert slo_callbacks.make_silence(None, None, "1h", None, T0, "ed", "", regions).region is None
    with pytest.raises(slo.InvalidDefinition, match="region: 'ap-south-1' is not one of this store's regions"):
        slo_callbacks.make_silence(None, None, "1h", None, T0, "ed", "ap-south-1", regions)
    with pytest.raises(slo.InvalidDefinition, match="none: a single-region store"):
        slo_callbacks.make_silence(None, None, "1h", None, T0, "ed", "eu-west-1")
    assert slo_callbacks.region_choice(regions) == ([{"label": r, "value": r} for r in regions], {})
    assert slo_callbacks.region_choice(()) == ([], {"display": "none"})
