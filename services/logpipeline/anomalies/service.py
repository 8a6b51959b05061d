"""``logpipeline anomalies run``: the scorer on a loop, with ``/healthz``, ``/readyz`` and ``/metrics``.

Every ``interval`` seconds it scores each minute that closed at least ``settle`` seconds ago (the metrics table has
its windows by then) and was not scored yet: the minute's windows are read from the metrics table (Query only),
every series is scored, and the scores and anomalies are written to the anomalies table and topic.

At start, and whenever the training job points ``LATEST`` at a new model, it loads the model and replays, without
writing, the minutes from the model's last one up to the last minute scored (the metrics table holds them): the
model learns what the archive did not have yet. Without a model it replays the last ``bootstrap_days`` of the
metrics table, and series without enough history say so (``learning``) instead of judging. A scorer that was down
for longer than ``catch_up_minutes`` scores only that many of the minutes it missed, and counts the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from logpipeline import observability
from logpipeline.alerting import receivers
from logpipeline.alerting.slo import Definition
from logpipeline.anomalies import modelfile, table, training
from logpipeline.anomalies.models import ModelStore, ModelStoreError
from logpipeline.anomalies.notify import Notifier
from logpipeline.anomalies.scoring import Minute, Scorer
from logpipeline.anomalies.series import Figures, by_minute
from logpipeline.anomalies.telemetry import Metrics
from logpipeline.metrics import query, store

log = logging.getLogger("logpipeline.anomalies")
MINUTE_MS = 60_000
DAY_MS = 86_400_000
READ_CHUNK_MINUTES = 180
Publish = Callable[[list[tuple[str, bytes]]], None]


@dataclass(frozen=True)
class ServiceConfig:
    table: str
    endpoint: str | None
    models: ModelStore | None
    interval_s: float = 5.0
    settle_s: float = 15.0
    bootstrap_days: float = 7.0
    catch_up_minutes: int = 24 * 60
    model_check_s: float = 60.0  # a WebHDFS read of LATEST a minute; a new model loads within one
    warmup_minutes: int | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 9114
    region: str = ""  # a regional pipeline scores its own region's windows (metrics.layout)
    definition: Definition | None = None  # the alerting definition: its anomalies section says who is notified


class Scoring:
    """The scorer and where it reads and writes; ``cycle(now_ms)`` is one pass (tests drive the clock)."""

    def __init__(self, cfg: ServiceConfig, ddb: Any, publish: Publish, metrics: Metrics | None = None) -> None:
        self.cfg, self.ddb, self.publish = cfg, ddb, publish
        self.metrics = metrics or Metrics()
        self.reader = query.Reader(ddb, cfg.table, region=cfg.region)
        self.scorer = Scorer(warmup_minutes=cfg.warmup_minutes)
        self.model_name: str | None = None
        self.model_checked = 0.0
        self.written_until: int | None = None  # the minute after the last one written
        self.stale = False  # the scorer learnt a minute whose writes failed: replay before going on

    # -- the model ----------------------------------------------------------------------------------------------
    def _figures(self, start_ms: int, end_ms: int) -> dict[int, dict[str, Figures]]:
        out: dict[int, dict[str, Figures]] = {}
        for lo in range(start_ms, end_ms, READ_CHUNK_MINUTES * MINUTE_MS):
            hi = min(end_ms, lo + READ_CHUNK_MINUTES * MINUTE_MS)
            out.update(by_minute(self.reader.windows(lo, hi)))
        return out

    def _latest(self) -> tuple[str, Scorer, dict[str, Any]] | None:
        """The newest usable model (name, its scorer, its header); None when there is none or it cannot be used."""
        if self.cfg.models is None:
            return None
        try:
            found = self.cfg.models.latest()
            if found is None:
                return None
            scorer, header = modelfile.decode(found[1], self.cfg.warmup_minutes)
            return found[0], scorer, header
        except (ModelStoreError, modelfile.BadModel) as exc:
            log.warning("the model cannot be read or used", extra={"fields": {"error": str(exc)[:300]}})
            self.metrics.model_errors.inc()
            return None

    def load(self, now_ms: int) -> None:
        """Take the newest model (or none: the metrics table's recent days) and replay up to what was written."""
        self.model_checked = time.monotonic()
        latest = self._latest()
        running = self.written_until is not None and not self.stale
        if running and (latest is None or latest[0] == self.model_name):
            return  # the model in use stays until a newer one comes
        status = table.read_status(self.ddb, self.cfg.table, self.cfg.region)
        if status is None and self.cfg.region:  # kept under the region-less key before the status was per region
            status = table.read_status(self.ddb, self.cfg.table)
        status = status or {}
        written = status.get("written_until") or self.written_until
        until = int(written) if written else self._closed_until(now_ms)
        bootstrap = until - int(self.cfg.bootstrap_days * DAY_MS)
        if latest is None:
            name, scorer, trained_at, start = None, Scorer(warmup_minutes=self.cfg.warmup_minutes), 0, bootstrap
        else:
            name, scorer, header = latest
            trained_at = int(header["trained_at"])
            history_until = int(header["history_until"] or until)
            if not written:  # a first start: the minutes after the model's are scored and written, not replayed
                until = max(history_until, until - self.cfg.catch_up_minutes * MINUTE_MS)
            start = max(history_until, bootstrap)
        replayed = training.replay(scorer, start, until, self._figures(start, until)) if start < until else 0
        self.scorer, self.model_name, self.written_until, self.stale = scorer, name, until, False
        self.metrics.model_trained_at.set(trained_at / 1000)
        log.info(
            "model loaded",
            extra={"fields": {"model": name or "none (learning from the metrics table)", "replayed_minutes": replayed,
                              "series": len(scorer.detectors), "until": until}},
        )  # fmt: skip

    # -- a cycle ------------------------------------------------------------------------------------------------
    def _closed_until(self, now_ms: int) -> int:
        """The end of the last minute that closed ``settle`` seconds ago or more."""
        return (now_ms - int(self.cfg.settle_s * 1000) - MINUTE_MS) // MINUTE_MS * MINUTE_MS + MINUTE_MS

    def cycle(self, now_ms: int) -> list[Minute]:
        if self.stale or self.written_until is None or time.monotonic() - self.model_checked > self.cfg.model_check_s:
            self.load(now_ms)
        assert self.written_until is not None
        closed_until = self._closed_until(now_ms)
        first = self.written_until
        if closed_until - first > self.cfg.catch_up_minutes * MINUTE_MS:
            skipped = (closed_until - first) // MINUTE_MS - self.cfg.catch_up_minutes
            self.metrics.skipped.inc(skipped)
            log.warning("down too long: minutes left unscored", extra={"fields": {"minutes": skipped}})
            first = closed_until - self.cfg.catch_up_minutes * MINUTE_MS
            self.scorer.last_minute = first - MINUTE_MS
        if first >= closed_until:
            return []
        figures = self._figures(first, closed_until)
        done = []
        for minute in range(first, closed_until, MINUTE_MS):
            out = self.scorer.score(minute, figures.get(minute, {}))
            try:
                self._write(out)
            except Exception:
                self.stale = True  # the next cycle replays this minute from the model, then writes it again
                raise
            self.written_until = minute + MINUTE_MS
            done.append(out)
            self.metrics.delay.observe(max(0.0, (time.time() * 1000 - (minute + MINUTE_MS)) / 1000))
        self._status()
        return done

    def _write(self, out: Minute) -> None:
        table.write_scores(self.ddb, self.cfg.table, out.scores, region=self.cfg.region)
        records: list[tuple[str, bytes]] = [
            (f"{s.api}|{s.metric}", orjson.dumps({"kind": "score", **s.doc()})) for s in out.scores
        ]
        for anomaly in [*out.opened, *out.updated, *out.closed]:
            new = table.put_anomaly(self.ddb, self.cfg.table, anomaly, region=self.cfg.region)
            if new:
                self.metrics.opened.labels(anomaly.metric).inc()
                log.info("anomaly", extra={"fields": anomaly.doc()})
            records.append((f"{anomaly.api}|{anomaly.metric}", orjson.dumps({"kind": "anomaly", **anomaly.doc()})))
        self.publish(records)
        self.metrics.minutes.inc()
        self.metrics.series_scored.inc(len(out.scores))
        self.metrics.last_minute.set(out.minute / 1000)

    def _status(self) -> None:
        learning = self.scorer.learning()
        self.metrics.learning.set(len(learning))
        self.metrics.series.set(len(self.scorer.detectors))
        self.metrics.open_now.set(len(self.scorer.open))
        warmup = next(iter(self.scorer.detectors.values())).settings.warmup_minutes if self.scorer.detectors else None
        table.write_status(self.ddb, self.cfg.table, {
            "written_until": self.written_until, "model": self.model_name, "warmup_minutes": warmup,
            "learning": [{"api": a, "metric": m, "history_minutes": h} for a, m, h in learning],
            "series": len(self.scorer.detectors), "at": int(time.time() * 1000),
        }, self.cfg.region)  # fmt: skip


class AnomalyService:
    def __init__(self, cfg: ServiceConfig, publish: Publish, stop: threading.Event, flush: Callable[[], None]) -> None:
        self.cfg, self.stop, self.flush = cfg, stop, flush
        self.ddb = store.client(cfg.endpoint, attempts=2, timeout=10.0)
        self.scoring = Scoring(cfg, self.ddb, publish)
        self.last_ok = 0.0

    def ready(self) -> bool:
        return not self.stop.is_set() and time.monotonic() - self.last_ok < 3 * self.cfg.interval_s + 60

    def run(self) -> None:
        server = observability.serve(self.cfg.http_host, self.cfg.http_port, self.scoring.metrics.registry, self.ready)
        log.info(
            "anomaly scorer started", extra={"fields": {"table": self.cfg.table, "http_port": server.server_address[1]}}
        )
        try:
            table.ensure_table(self.ddb, self.cfg.table)
            definition = self.cfg.definition
            if definition is not None and definition.anomalies is not None:
                notifier = Notifier(
                    self.ddb, self.cfg.table, definition, receivers.deliver, self.scoring.metrics, self.cfg.region
                )
                threading.Thread(target=notifier.run, args=(self.stop,), name="anomaly-notices", daemon=True).start()
            while not self.stop.is_set():
                try:
                    self.scoring.cycle(int(time.time() * 1000))
                    self.flush()
                    self.last_ok = time.monotonic()
                except store.Denied:
                    raise
                except store.TableMissing as exc:
                    self.scoring.metrics.errors.inc()
                    log.error("a table is missing; the next cycle retries",
                              extra={"fields": {"metrics_table": self.cfg.table, "error": str(exc)[:200]}})  # fmt: skip
                except Exception as exc:
                    self.scoring.metrics.errors.inc()
                    log.error("scoring failed; the next cycle retries", extra={"fields": {"error": str(exc)[:300]}})
                self.stop.wait(self.cfg.interval_s)
        finally:
            server.shutdown()
            log.info("anomaly scorer stopped")
