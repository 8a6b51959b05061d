"""The dashboard's data access: owns the table ``Reader``, a per-process cache of settled buckets, the sink's lag.

A refresh of ``[start, end)`` at step ``s`` reads only what may still change. Minutes older than the settle
margin are final (the streaming job's watermark has passed them); whole buckets of final minutes are cached
(per step, as merged bucket aggregates), the partial bucket at the end is assembled from cached final minutes,
and only the unsettled tail is read from the table on every refresh. The cache holds derived data only:
any worker or replica rebuilds it from the table, so the app stays stateless. A bucket older than ``cache_s``
is answered from the cache and read again in the background. Late data (later than the settle margin: a
correction, a backfill, a sink catching up) bumps its hour's revision (``logpipeline.metrics.revisions``); every
``revision_check_s`` (2 s) a worker reads the one ``latest`` revision item and, when it moved, all revisions in
one Query, dropping the cached buckets and shared views of the hours that moved, so the next refresh shows the
new values. Each worker fills its caches for the preset ranges in the background when it starts (``warm``).

A store of regional pipelines (``DashboardSettings.regions``) has one ``Source`` per region, each with its own
reader (that region's keys), cache and revisions; the process's source is then the global view: it reads every
region's source side by side (in parallel) and shows their windows merged (``query.Regions``' rule: counts summed,
sketches merged), each region's own figures beside them, and which regions are stale.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from logpipeline.alerting import lifecycle
from logpipeline.alerting import state as alert_state
from logpipeline.anomalies import table as anomaly_table
from logpipeline.dashboard import buckets, model, timerange
from logpipeline.dashboard.settings import DashboardSettings
from logpipeline.dashboard.settings import load as load_settings
from logpipeline.metrics import query, revisions, store
from logpipeline.metrics.records import Aggregate

log = logging.getLogger("logpipeline.dashboard")
T = TypeVar("T")
MINUTE_MS = timerange.MINUTE_MS
SINK_TTL_S = 5.0
READY_TTL_S = 2.0
MAX_BUCKET_AGE_MS = 32 * timerange.DAY_MS
VIEW_KEEP_S = 600.0  # a view nobody asked for this long is dropped
BAND_MAX_MS = 86_400_000  # an API's expected ranges are drawn for ranges up to a day (minute by minute)
BOARD_TTL_S = 10.0  # the SLO board (alert states, silences, the evaluator's summaries) is read at most this often


class UnknownRegion(ValueError):
    def __init__(self, region: str, regions: list[str]) -> None:
        known = ", ".join(regions) or "none: a single-region store"
        super().__init__(f"region: {region!r} is not one of this store's regions ({known})")


class BucketCache:
    """Step -> bucket start -> (aggregates of that bucket, all APIs; time cached)."""

    def __init__(self, reader: query.Reader, ttl_s: float) -> None:
        self.reader, self.ttl_s = reader, ttl_s
        self._buckets: dict[int, dict[int, tuple[list[Aggregate], float]]] = {}
        self._fill = {step: threading.Lock() for step in (MINUTE_MS, *timerange.RESOLUTION_MS.values())}
        self._generation = 0  # bumped by ``invalidate``: a fill that began before keeps nothing

    def invalidate(self, lo: int, hi: int) -> int:
        """Drop every cached bucket (of any step) that overlaps ``[lo, hi)``; returns how many."""
        self._generation += 1
        dropped = 0
        for step, held in list(self._buckets.items()):
            for b in [b for b in held if b < hi and b + step > lo]:
                del held[b]
                dropped += 1
        return dropped

    def _held(self, step: int, wanted: range, found: dict[int, list[Aggregate]]) -> tuple[list[int], list[int]]:
        """Copy the cached buckets of ``wanted`` into ``found``; returns (those not cached, those expired)."""
        held, now, absent, expired = self._buckets.setdefault(step, {}), time.monotonic(), [], []
        for b in wanted:
            entry = held.get(b)
            if entry is None:
                absent.append(b)
                continue
            found[b] = entry[0]
            if now - entry[1] > self.ttl_s:
                expired.append(b)
        return absent, expired

    def _fill_buckets(self, step: int, missing: list[int], found: dict[int, list[Aggregate]]) -> None:
        generation = self._generation
        read = self.reader.windows(missing[0], missing[-1] + step)
        merged = buckets.coarsen(read, step) if step != MINUTE_MS else _by_minute(read)
        held, now = self._buckets[step], time.monotonic()
        for b in missing:
            found[b] = merged.get(b, [])
            if generation == self._generation:  # nothing changed while it read
                held[b] = (found[b], now)
        self._evict(held, int(time.time() * 1000))

    def _refresh(self, step: int, lock: threading.Lock, expired: list[int]) -> None:
        try:
            self._fill_buckets(step, expired, {})
        except Exception as exc:
            log.warning("cache refresh failed", extra={"fields": {"step_ms": step, "error": str(exc)}})
        finally:
            lock.release()

    def get(self, step: int, lo: int, hi: int) -> list[Aggregate]:
        """Aggregates of the whole buckets in ``[lo, hi)`` (both multiples of ``step``).

        Buckets not cached are read before answering; expired ones are answered from the cache and re-read
        in the background (one fill per step at a time)."""
        wanted = range(lo, hi, step)
        found: dict[int, list[Aggregate]] = {}
        absent, expired = self._held(step, wanted, found)
        lock = self._fill.setdefault(step, threading.Lock())
        if absent:
            with lock:
                absent, expired = self._held(step, wanted, found)
                if absent:
                    self._fill_buckets(step, absent, found)
        if expired and lock.acquire(blocking=False):
            threading.Thread(target=self._refresh, args=(step, lock, expired), daemon=True).start()
        return [w for b in wanted for w in found[b]]

    @staticmethod
    def _evict(held: dict[int, tuple[list[Aggregate], float]], newest: int) -> None:
        for b in [b for b in held if b < newest - MAX_BUCKET_AGE_MS]:
            del held[b]


def _by_minute(windows: list[Aggregate]) -> dict[int, list[Aggregate]]:
    out: dict[int, list[Aggregate]] = {}
    for w in windows:
        out.setdefault(w.window_start, []).append(w)
    return out


class Source:
    """Everything the callbacks read; one per process (see ``source``)."""

    def __init__(self, settings: DashboardSettings, ddb: Any | None = None, region: str = "") -> None:
        self.settings, self.region = settings, region
        self.ddb = ddb if ddb is not None else store.client(settings.endpoint, attempts=2, timeout=30.0)
        self.reader = query.Reader(self.ddb, settings.table, settings.shards, region=region)
        # the global view of regional pipelines: one source per region (each its own cache and revisions)
        self.regional = {r: Source(settings, self.ddb, r) for r in settings.regions} if not region else {}
        self._pool = ThreadPoolExecutor(max_workers=len(self.regional)) if self.regional else None
        self.cache = BucketCache(self.reader, settings.cache_s) if settings.cache_s > 0 else None
        self._sink: tuple[float, model.Sink] | None = None
        self._ready: tuple[float, bool, str] | None = None
        self._tail: dict[int, tuple[float, int, list[Aggregate]]] = {}
        self._tail_lock = threading.Lock()
        self._newest: tuple[float, int | None] | None = None
        self._views: dict[tuple[Any, ...], tuple[float, model.Snapshot]] = {}
        self._view_locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._views_lock = threading.Lock()
        self._job: list[tuple[int, float, float]] = []  # (epoch ms, late total, too_far_ahead total), a minute apart
        self._job_read = 0.0
        self._revisions: dict[int, revisions.Revision] | None = None
        self._revisions_checked = 0.0
        self._latest_revision = -1
        self._revisions_lock = threading.Lock()
        self._board: tuple[float, model.SloBoard] | None = None
        self._anomaly_views: dict[tuple[int, int, str | None, str | None], tuple[float, model.AnomalyView]] = {}

    def follow_revisions(self, now_ms: int) -> bool:
        """Every ``revision_check_s``: read the change signal (the ``latest`` item, and the hours' items when it
        moved); drop cached buckets and shared views of hours whose revision moved (late data, a correction, a
        backfill), so the next refresh reads them again. True when something was dropped."""
        if self.regional:  # the global view: each region follows its own, and a change anywhere drops its views
            moved = [s.follow_revisions(now_ms) for s in self.regional.values()]
            if any(moved):
                with self._views_lock:
                    self._views = {}
            return any(moved)
        if self.cache is None or time.monotonic() - self._revisions_checked < self.settings.revision_check_s:
            return False
        if not self._revisions_lock.acquire(blocking=False):
            return False
        try:
            latest = store.latest_revision(self.ddb, self.settings.table, self.region)
            self._revisions_checked = time.monotonic()
            if latest == self._latest_revision and self._revisions is not None:
                return False  # nothing changed anywhere since the last look: one GetItem
            start, end = now_ms - MAX_BUCKET_AGE_MS, now_ms + MINUTE_MS
            seen = store.read_revisions(self.ddb, self.settings.table, start, end, self.region)
            self._latest_revision = latest
            before, self._revisions = self._revisions, seen
            if before is None:
                return False
            hours = revisions.moved(before, seen)
            if not hours:
                return False
            dropped = sum(self.cache.invalidate(h, h + revisions.HOUR_MS) for h in hours)
            with self._tail_lock:  # the shared tail read may predate the change as well
                self._tail = {}
            with self._views_lock:
                self._views = {}
            fields = {"hours": hours, "buckets_dropped": dropped, "region": self.region}
            log.info("settled minutes changed", extra={"fields": fields})
            return True
        except Exception as exc:
            log.warning("revision check failed", extra={"fields": {"error": str(exc), "region": self.region}})
            return False
        finally:
            self._revisions_lock.release()

    def corrected_at(self, start_ms: int, end_ms: int) -> int | None:
        """When late or corrected data last changed an hour of ``[start_ms, end_ms)`` (epoch ms), if ever."""
        if self.regional:
            found = [s.corrected_at(start_ms, end_ms) for s in self.regional.values()]
            return max((f for f in found if f is not None), default=None)
        held = self._revisions or {}
        stamps = [r.changed_at for h, r in held.items() if h < end_ms and h + revisions.HOUR_MS > start_ms]
        return max(stamps, default=None)

    def windows(self, b: timerange.Bounds, now_ms: int) -> tuple[list[Aggregate], list[Aggregate]]:
        """(aggregates of ``b`` at its step, the raw minute windows read fresh from the table)."""
        if self.regional:
            parts = self.each(lambda s: s.windows(b, now_ms))
            return [w for out, _ in parts.values() for w in out], [w for _, fresh in parts.values() for w in fresh]
        step = b.step_ms
        if self.cache is None:
            fresh = self.reader.windows(b.start_ms, b.end_ms)
            return buckets.flatten(buckets.coarsen(fresh, step)), fresh
        settled = (now_ms - self.settings.settle_s * 1000) // MINUTE_MS * MINUTE_MS
        final_end = min(b.end_ms, settled)
        whole_end = b.start_ms + max(0, final_end - b.start_ms) // step * step
        out = self.cache.get(step, b.start_ms, whole_end)
        minutes_end = max(whole_end, final_end)
        if minutes_end > whole_end:
            minute_lo = whole_end // MINUTE_MS * MINUTE_MS
            out += buckets.flatten(buckets.coarsen(self.cache.get(MINUTE_MS, minute_lo, minutes_end), step))
        fresh = self.tail(minutes_end, b.end_ms, now_ms) if b.end_ms > minutes_end else []
        out += buckets.flatten(buckets.coarsen(fresh, step))
        return out, fresh

    def tail(self, lo: int, hi: int, now_ms: int) -> list[Aggregate]:
        """Unsettled windows in ``[lo, hi)``; a read reaching now is shared by the refreshes of the next
        ``tail_s`` seconds (every client of a worker refreshing at once costs one read)."""
        if hi < now_ms or self.settings.tail_s <= 0:
            return self.reader.windows(lo, hi)
        with self._tail_lock:
            held = self._tail.get(lo)
            if held is None or time.monotonic() - held[0] > self.settings.tail_s or held[1] < hi:
                reach = now_ms // MINUTE_MS * MINUTE_MS + MINUTE_MS
                held = (time.monotonic(), reach, self.reader.windows(lo, reach))
                self._tail = {lo: held}
        return [w for w in held[2] if w.window_start < hi]

    def snapshot(
        self, b: timerange.Bounds, apis: list[str], now_ms: int | None = None, drill: str | None = None
    ) -> model.Snapshot:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        self.follow_revisions(now)
        if self.regional:  # every region's windows side by side: the roll-ups merge them exactly
            parts = self.each(lambda s: s.read(b, now))
            windows = [w for found, _ in parts.values() for w in found]
            ends = {region: end for region, (_, end) in parts.items()}
            newest_end = max((e for e in ends.values() if e is not None), default=None)
            by_region = {region: found for region, (found, _) in parts.items()}
        else:
            windows, newest_end = self.read(b, now)
            ends, by_region = {self.region: newest_end}, {self.region: windows}
        # with regions, one merge per (region, API) gives both the latency by API and each region's p95
        latency, p95 = model.region_latency(by_region, apis) if self.settings.regions else (None, None)
        rows = (
            model.region_rows(by_region, ends, apis, now, self.settings.stale_s, p95) if self.settings.regions else []
        )
        corrected = self.corrected_at(b.start_ms, b.end_ms)
        arrivals = self.arrivals(b.start_ms, now) if b.end_ms >= now else model.Arrivals()
        snap = model.summarize(
            windows,
            b.start_ms,
            b.end_ms,
            now,
            b.resolution,
            b.step_ms,
            apis,
            newest_end,
            self.sink(),
            drill,
            corrected,
            arrivals,
            latency,
        )
        return replace(snap, region=self.region or None, regions=rows)

    def read(self, b: timerange.Bounds, now_ms: int) -> tuple[list[Aggregate], int | None]:
        """(aggregates of ``b`` at its step, the end of the newest stored window)."""
        windows, fresh = self.windows(b, now_ms)
        if fresh and b.end_ms >= now_ms:
            return windows, max(fresh, key=lambda w: w.window_start).window_end
        return windows, self.newest_end(now_ms)

    def each(self, read: Callable[[Source], T]) -> dict[str, T]:
        """``read`` of every region's source, in parallel (the global view)."""
        assert self._pool is not None, "a global view has regions"
        futures = {region: self._pool.submit(read, s) for region, s in self.regional.items()}
        return {region: f.result() for region, f in futures.items()}

    @property
    def items_read(self) -> int:
        return sum(s.items_read for s in self.regional.values()) if self.regional else self.reader.items_read

    def arrivals(self, start_ms: int, now_ms: int) -> model.Arrivals:
        """Late and too-far-ahead events the streaming job reported since ``start_ms`` (from its counters, sampled
        each minute by this worker; before the first sample: since the worker started watching)."""
        url = self.settings.job_metrics_url
        if not url:
            return model.Arrivals()
        if time.monotonic() - self._job_read >= SINK_TTL_S:
            self._job_read = time.monotonic()
            try:
                with urllib.request.urlopen(url, timeout=0.5) as response:
                    late, ahead = parse_arrivals(response.read().decode())
                if len(self._job) >= 2 and now_ms - self._job[-2][0] < MINUTE_MS:
                    self._job[-1] = (now_ms, late, ahead)  # the newest sample follows the counters
                else:
                    self._job.append((now_ms, late, ahead))
                self._job = [s for s in self._job if s[0] >= now_ms - MAX_BUCKET_AGE_MS] or self._job[-1:]
            except OSError:
                return model.Arrivals()
        if not self._job:
            return model.Arrivals()
        base = next((s for s in reversed(self._job) if s[0] <= start_ms), self._job[0])
        newest = self._job[-1]
        return model.Arrivals(int(max(0.0, newest[1] - base[1])), int(max(0.0, newest[2] - base[2])))

    def region_freshness(self, now_ms: int) -> dict[str, int | None]:
        """Each region's newest window end (the global view; empty for a single-region store)."""
        if self.regional:
            return self.each(lambda s: s.newest_end(now_ms))
        return {self.region: self.newest_end(now_ms)} if self.region else {}

    def newest_end(self, now_ms: int) -> int | None:
        """End of the newest stored window (shared by the refreshes of the next ``tail_s`` seconds)."""
        if self.regional:
            return max((e for e in self.region_freshness(now_ms).values() if e is not None), default=None)
        held = self._newest
        if held is None or time.monotonic() - held[0] > self.settings.tail_s:
            newest = self.reader.newest(now_ms)
            held = (time.monotonic(), None if newest is None else newest.window_end)
            self._newest = held
        return held[1]

    def view(
        self,
        range_name: str,
        start: str | None,
        end: str | None,
        apis: list[str],
        drill: str | None = None,
        region: str | None = None,
    ) -> model.Snapshot:
        """The snapshot of one region's view (``region``; None: the global view or a single-region store), as
        ``view`` below, with the regions side by side."""
        if region:
            if region not in self.regional:
                raise UnknownRegion(region, list(self.regional))
            return self.regional[region].view(range_name, start, end, apis, drill)
        return self._view(range_name, start, end, apis, drill)

    def _view(
        self, range_name: str, start: str | None, end: str | None, apis: list[str], drill: str | None = None
    ) -> model.Snapshot:
        """The snapshot of a view as the controls name it, computed by one thread at a time per view and shared
        for ``tail_s`` seconds; after that the previous one is answered while a thread computes the next (every
        client showing the same view then costs only its drawing, however slow the table)."""
        key = (range_name, start, end, tuple(apis), drill)
        self.follow_revisions(int(time.time() * 1000))
        with self._views_lock:
            held = self._views.get(key)
            lock = self._view_locks.setdefault(key, threading.Lock())
        if held is not None:
            if time.monotonic() - held[0] > self.settings.tail_s and lock.acquire(blocking=False):
                threading.Thread(target=self._compute, args=(key, lock), daemon=True).start()
            return aged(held[1])
        with lock:
            held = self._views.get(key)
            return held[1] if held is not None else self._compute(key, None)

    def _compute(self, key: tuple[Any, ...], lock: threading.Lock | None) -> model.Snapshot:
        range_name, start, end, apis, drill = key
        try:
            now_ms = int(time.time() * 1000)
            snap = self.snapshot(timerange.bounds(range_name, now_ms, start, end), list(apis), now_ms, drill)
            now = time.monotonic()
            with self._views_lock:
                self._views = {k: v for k, v in self._views.items() if now - v[0] <= VIEW_KEEP_S}
                self._views[key] = (now, snap)
                self._view_locks = {k: v for k, v in self._view_locks.items() if k in self._views or v.locked()}
            return snap
        except Exception as exc:
            if lock is None:
                raise
            log.warning("view refresh failed", extra={"fields": {"view": str(key), "error": str(exc)}})
            return self._views[key][1]
        finally:
            if lock is not None:
                lock.release()

    def sink(self) -> model.Sink:
        """The sink's total consumer lag from its Prometheus endpoint (cached a few seconds)."""
        url = self.settings.sink_metrics_url
        if not url:
            return model.Sink()
        now = time.monotonic()
        if self._sink and now - self._sink[0] < SINK_TTL_S:
            return self._sink[1]
        try:
            with urllib.request.urlopen(url, timeout=0.5) as response:
                body = response.read().decode()
            status = model.Sink("up", parse_lag(body))
        except OSError as exc:
            log.debug("sink metrics unreachable", extra={"fields": {"url": url, "error": str(exc)}})
            status = model.Sink("down")
        self._sink = (now, status)
        return status

    def slo_board(self) -> model.SloBoard:
        """Alert states, silences and where each SLO stands (the alerts service's last cycle; with regions, each
        region's, ``at`` the oldest of their cycles): Queries of the alerts table, at most every ``BOARD_TTL_S``; an
        empty board where alerting does not run."""
        now = time.monotonic()
        if self._board and now - self._board[0] < BOARD_TTL_S:
            return self._board[1]
        table = self.settings.table
        try:
            # each region's evaluator keeps its own states and summaries; the board shows every region's
            regions = list(self.regional) or [self.region]
            cycles = [alert_state.read_summaries(self.ddb, table, r) for r in regions]
            ats = [at for at, _ in cycles if at is not None]
            board = model.SloBoard(
                min(ats, default=None), [s for _, found in cycles for s in found],
                [st for r in regions for st in alert_state.read_states(self.ddb, table, r).values()],
                alert_state.read_silences(self.ddb, table),
            )  # fmt: skip
        except store.TableMissing:
            board = model.SloBoard(None, [], [], [], "alerting is not running (no alerts table)")
        except Exception as exc:
            log.warning("alerts table unreadable", extra={"fields": {"error": str(exc)[:200]}})
            board = model.SloBoard(None, [], [], [], f"alert state unreadable: {type(exc).__name__}")
        self._board = (now, board)
        return board

    def anomaly_view(
        self, start_ms: int, end_ms: int, api: str | None = None, region: str | None = None
    ) -> model.AnomalyView:
        """The anomalies that started in the range, the scorer's status and, with ``api``, that API's minute scores
        (ranges up to ``BAND_MAX_MS``): Queries of the anomalies table, at most every ``BOARD_TTL_S`` per range.
        Regional pipelines: every region's anomalies (each names its region), or ``region``'s alone; the scores of
        one region only (a band is one region's model: with several regions in view there are none); the status of
        every region's scorer together (``model.merged_status``).
        Never fails a page: a missing or unreadable table is a ``problem``."""
        key = (start_ms // 60_000, end_ms // 60_000, api, region)
        now = time.monotonic()
        with self._views_lock:
            held = self._anomaly_views.get(key)
        if held and now - held[0] < BOARD_TTL_S:
            return held[1]
        table = self.settings.table
        regions = [region] if region else (list(self.regional) or [self.region])
        try:
            found = [a for r in regions for a in anomaly_table.read_anomalies(self.ddb, table, start_ms, end_ms, r)]
            found.sort(key=lambda d: (-d["since"], d["api"], d["metric"], d.get("region", "")))
            status = model.merged_status([anomaly_table.read_status(self.ddb, table, r) for r in regions])
            scores = {}
            if len(regions) == 1 and api is not None and end_ms - start_ms <= BAND_MAX_MS:
                scores = anomaly_table.read_scores(self.ddb, table, api, start_ms, end_ms, regions[0])
            view = model.AnomalyView([a for a in found if api is None or a["api"] == api], status, scores)
        except store.TableMissing:
            view = model.AnomalyView(problem="anomaly detection is not running (no anomalies table)")
        except Exception as exc:
            log.warning("anomalies table unreadable", extra={"fields": {"error": str(exc)[:200]}})
            view = model.AnomalyView(problem=f"anomalies unreadable: {type(exc).__name__}")
        with self._views_lock:
            if len(self._anomaly_views) > 64:
                self._anomaly_views.clear()
            self._anomaly_views[key] = (now, view)
        return view

    def add_silence(self, silence: lifecycle.Silence) -> lifecycle.Silence:
        """Store a silence (the dashboard's form); store.Denied when its credentials may not write."""
        made = alert_state.add_silence(self.ddb, self.settings.table, silence)
        self._board = None
        return made

    def set_target(self, slo_name: str, api: str, target: float | None, by: str) -> None:
        """An SLO's target for one API (None: the definition's again); the evaluator uses it from its next cycle."""
        alert_state.write_target(self.ddb, self.settings.table, slo_name, api, target, by)
        self._board = None

    def ready(self) -> tuple[bool, str]:
        """Whether the table answers (DescribeTable; cached a moment so probes stay cheap)."""
        now = time.monotonic()
        if self._ready and now - self._ready[0] < READY_TTL_S:
            return self._ready[1], self._ready[2]
        try:
            ok = store.describe(self.ddb, self.settings.table) is not None
            reason = "ready" if ok else f"table {self.settings.table} does not exist"
        except Exception as exc:
            ok, reason = False, f"table {self.settings.table} unreachable: {type(exc).__name__}: {exc}"
        self._ready = (now, ok, reason)
        return ok, reason

    def warm(self, ranges: list[str]) -> None:
        """Fill the caches for preset ranges (a worker's first 7-day view then reads only the tail)."""
        began = time.monotonic()
        for name in ranges:
            now = int(time.time() * 1000)
            try:
                self.windows(timerange.bounds(name, now), now)
            except Exception as exc:
                log.warning("cache warm-up failed", extra={"fields": {"range": name, "error": str(exc)}})
                return
        took = round(time.monotonic() - began, 2)
        log.info("cache warm", extra={"fields": {"ranges": ranges, "seconds": took, "items": self.items_read}})


def aged(snap: model.Snapshot) -> model.Snapshot:
    """The snapshot with the newest window's age as of now (a shared snapshot may be a few seconds old)."""
    if snap.newest_window_end is None:
        return snap
    return replace(snap, age_seconds=max(0.0, time.time() - snap.newest_window_end / 1000))


def parse_arrivals(text: str) -> tuple[float, float]:
    """The streaming job's late events (aggregates query) and too-far-ahead dead letters, from its metrics."""
    late = ahead = 0.0
    for line in text.splitlines():
        if line.startswith('logpipeline_spark_late_events_total{query="aggregates"}'):
            late = float(line.split()[-1])
        elif line.startswith('logpipeline_spark_dead_letters_total{error_class="too_far_ahead"}'):
            ahead = float(line.split()[-1])
    return late, ahead


def parse_lag(text: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("logpipeline_sink_consumer_lag_total "):
            return float(line.split()[1])
    return None


_source: Source | None = None
_lock = threading.Lock()


def source() -> Source:
    """This process's source, created on first use (after gunicorn forks its workers)."""
    global _source
    with _lock:
        if _source is None:
            settings = load_settings()
            _source = Source(settings)
            _source.follow_revisions(int(time.time() * 1000))  # the signal as of before anything is cached
            if settings.warm and _source.cache is not None:
                threading.Thread(target=_source.warm, args=(settings.warm,), name="cache-warm", daemon=True).start()
        return _source


def regional() -> bool:
    """Whether this process shows regional pipelines (without making its source just to ask)."""
    with _lock:
        held = _source
    if held is not None:
        return bool(held.settings.regions)
    try:
        return bool(load_settings().regions)
    except ValueError:
        return False  # a bad setting is named where the source is made (the pages and /readyz)


def use(src: Source) -> None:
    """Make ``src`` this process's source (an app pointed at a given table)."""
    global _source
    with _lock:
        _source = src
