"""The traffic model: realistic, deterministic log events under a seed (pure, no I/O).

Events come in fixed blocks of ``BLOCK`` events; block ``b`` draws from its own generator
seeded with ``(seed, b)``, so a spec always yields the same events however they are consumed.
Per event: an API by catalogue weight; a status class from the API's shares (an ``errors``
incident multiplies the 5xx share by its factor, capped at 95%); a specific code; a log-normal
latency around the API's median scaled by the code (timeouts are slow) and by any ``latency``
incident; a level consistent with the status (catalogue.level_for_status, 2xx sometimes INFO or
DEBUG); a client from a pool of heavy and light hitters; a uuid4 ``id`` from the block's draws.

Event time: event ``i`` is at the instant where the cumulative rate reaches ``i``; the rate is
``rate`` (or ``nominal_rate`` when ``rate`` is None, i.e. as fast as possible) times the diurnal
curve ``1 + 0.5 sin(2 pi (hour - 8) / 24)`` (UTC; peak 14:00, trough 02:00) when ``diurnal``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from logpipeline.events.schema import LOG_LEVELS, MAX_RESPONSE_TIME_MS, SCHEMA_VERSION
from logpipeline.generator import rowbytes
from logpipeline.generator.catalogue import (
    DEFAULT_APIS,
    REGION_WEIGHTS,
    REGIONS,
    STATUS_TABLE,
    SUCCESS_LEVELS,
    Api,
    level_for_status,
)

BLOCK = 8192
DAY_S = 86_400.0
DIURNAL_AMPLITUDE = 0.5
CLIENTS = 4096
_SAFE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bytes2D = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Incident:
    """An error burst (``errors``: 5xx share times factor) or latency spike (``latency``: times factor)."""

    api: str
    kind: Literal["errors", "latency"]
    start_ms: int
    end_ms: int
    factor: float


@dataclass(frozen=True)
class TrafficSpec:
    """What to generate. ``start_ms`` None means now (then only event times differ between runs)."""

    seed: int = 0
    apis: Sequence[Api] = DEFAULT_APIS
    start_ms: int | None = None
    count: int | None = None
    duration_s: float | None = None
    rate: float | None = None
    nominal_rate: float = 1000.0
    diurnal: bool = True
    incidents: Sequence[Incident] = field(default_factory=tuple)

    @property
    def event_rate(self) -> float:
        return self.rate if self.rate is not None else self.nominal_rate


def _offsets_s(spec: TrafficSpec, index: Floats, start_s: float) -> Floats:
    """Seconds after start of the events with these indices (inverse of the cumulative rate)."""
    rate = spec.event_rate
    t = index / rate
    if not spec.diurnal:
        return t
    w = 2 * math.pi / DAY_S
    phase = start_s - 8 * 3600.0
    a = DIURNAL_AMPLITUDE / w
    base = math.cos(w * phase)
    for _ in range(6):  # Newton on L(t) = rate * (t + a (cos(w phase) - cos(w (phase + t)))) - index
        value = rate * (t + a * (base - np.cos(w * (phase + t)))) - index
        slope = rate * (1 + DIURNAL_AMPLITUDE * np.sin(w * (phase + t)))
        t = t - value / slope
    return t


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _uuids(rng: np.random.Generator, n: int) -> Bytes2D:
    """uuid4 text (n, 36) as ASCII bytes."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[raw >> 4]
    hexed[:, 1::2] = _HEX[raw & 0x0F]
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8], out[:, 9:13], out[:, 14:18] = hexed[:, 0:8], hexed[:, 8:12], hexed[:, 12:16]
    out[:, 19:23], out[:, 24:36] = hexed[:, 16:20], hexed[:, 20:32]
    return out


def _iso_times(ms: Ints) -> Bytes2D:
    """ISO 8601 UTC with milliseconds (n, 24) as ASCII bytes, e.g. 2024-05-01T12:00:00.250Z."""
    seconds, millis = np.divmod(ms, 1000)
    unique, inverse = np.unique(seconds, return_inverse=True)
    prefix = np.datetime_as_string(unique.astype("datetime64[s]"), unit="s").astype("S19")
    out = np.empty((len(ms), 24), dtype=np.uint8)
    out[:, :19] = prefix.view(np.uint8).reshape(len(unique), 19)[inverse]
    out[:, 19] = ord(".")
    for pos, div in ((20, 100), (21, 10), (22, 1)):
        out[:, pos] = (millis // div) % 10 + ord("0")
    out[:, 23] = ord("Z")
    return out


def _texts(chars: Bytes2D) -> list[str]:
    """Rows of ASCII bytes to Python strings, without a Python loop."""
    width = chars.shape[1]
    as_text: list[str] = np.ascontiguousarray(chars).view(f"S{width}").ravel().astype(f"U{width}").tolist()
    return as_text


def _clients(seed: int) -> tuple[str, ...]:
    rng = np.random.default_rng([seed, 1 << 31])
    octets = rng.integers(1, 255, size=(CLIENTS, 4))
    firsts = np.array([10, 172, 192, 81, 93, 185, 203], dtype=np.int64)
    octets[:, 0] = firsts[rng.integers(0, len(firsts), CLIENTS)]
    return tuple(".".join(map(str, row)) for row in octets.tolist())


class _Vocab:
    """Strings by index: as a Python object array (for dicts) and as padded bytes (for fast JSON)."""

    def __init__(self, words: Sequence[str]) -> None:
        self.objects = np.array(list(words), dtype=object)
        self.table, self.lengths = rowbytes.vocabulary(tuple(words))


@dataclass(frozen=True)
class _Model:
    apis: Sequence[Api]
    names: _Vocab
    methods: _Vocab
    services: _Vocab
    clients: _Vocab
    weights: Floats
    mu: Floats
    sigma: Floats
    p5: Floats
    p4: Floats
    p3: Floats


def _model(spec: TrafficSpec) -> _Model:
    apis = tuple(spec.apis)
    if not apis:
        raise ValueError("apis: expected at least one API")
    for a in apis:
        for text in (a.name, a.method, a.service):
            if not _SAFE.fullmatch(text):
                raise ValueError(f"api {a.name!r}: names must be printable ASCII without quotes or backslashes")
    w = np.array([a.weight for a in apis], dtype=np.float64)
    return _Model(
        apis=apis,
        names=_Vocab([a.name for a in apis]),
        methods=_Vocab([a.method for a in apis]),
        services=_Vocab([a.service for a in apis]),
        clients=_Vocab(_clients(spec.seed)),
        weights=w / w.sum(),
        mu=np.log(np.array([a.median_ms for a in apis])),
        sigma=np.array([a.sigma for a in apis]),
        p5=np.array([a.error_rate for a in apis]),
        p4=np.array([a.client_error_rate for a in apis]),
        p3=np.array([a.redirect_rate for a in apis]),
    )


_CODES = np.zeros((6, 4), dtype=np.int64)
_CODE_CUM = np.ones((6, 4), dtype=np.float64)
_CODE_LATENCY = np.ones(600, dtype=np.float64)
for _cls, _rows in STATUS_TABLE.items():
    _shares = np.cumsum([r[1] for r in _rows])
    _CODES[_cls, : len(_rows)] = [r[0] for r in _rows]
    _CODE_CUM[_cls, : len(_rows)] = _shares / _shares[-1]
    for _code, _share, _lat in _rows:
        _CODE_LATENCY[_code] = _lat
_LEVELS = _Vocab(LOG_LEVELS)
_LEVEL_BY_CODE = np.array([LOG_LEVELS.index(level_for_status(c)) for c in range(600)], dtype=np.int64)
_SUCCESS_LEVELS = np.array([LOG_LEVELS.index(name) for name, _ in SUCCESS_LEVELS], dtype=np.int64)
_SUCCESS_CUM = np.cumsum([share for _, share in SUCCESS_LEVELS])
_REGIONS = _Vocab(REGIONS)
_REGION_CUM = np.cumsum(REGION_WEIGHTS)
_STATUS_TEXT = np.array([str(i) for i in range(600)], dtype=object)


@dataclass(frozen=True)
class Block:
    """Up to ``BLOCK`` consecutive events as columns (numpy): indices into the model's vocabularies and values."""

    model: _Model
    id: Bytes2D  # (n, 36) uuid text
    timestamp: Ints
    human: Bytes2D  # (n, 24) ISO text
    api: Ints
    client: Ints
    hundredths: Ints  # response_time in 1/100 ms; response_time = hundredths / 100
    status: Ints
    level: Ints
    region: Ints

    def __len__(self) -> int:
        return len(self.timestamp)

    def head(self, n: int) -> Block:
        return self.part(0, n)

    def part(self, start: int, stop: int) -> Block:
        cut = {name: getattr(self, name)[start:stop] for name in Block.__dataclass_fields__ if name != "model"}
        return Block(model=self.model, **cut)

    def api_keys(self) -> list[str]:
        """The Kafka key of each event: its api."""
        names: list[str] = self.model.names.objects[self.api].tolist()
        return names

    def encode(self) -> list[bytes]:
        """The JSON of each event, equal (as parsed JSON) to ``codec.encode`` of ``block_events``."""
        m, rows = self.model, rowbytes.Rows(len(self))
        rows.const('{"id":"')
        rows.chars(self.id)
        rows.const('","timestamp":')
        rows.number(self.timestamp, 13)
        rows.const(',"timestamp_human":"')
        rows.chars(self.human)
        rows.const('","api":"')
        rows.pick(m.names.table, m.names.lengths, self.api)
        rows.const('","ip_address":"')
        rows.pick(m.clients.table, m.clients.lengths, self.client)
        rows.const('","response_time":')
        rows.number(self.hundredths // 100, 7)
        rows.const(".")
        rows.number(self.hundredths % 100, 2, min_digits=2)
        rows.const(',"status_code":')
        rows.number(self.status, 3)
        rows.const(',"response_code":"')
        rows.number(self.status, 3)
        rows.const('","log_level":"')
        rows.pick(_LEVELS.table, _LEVELS.lengths, self.level)
        rows.const(f'","schema_version":{SCHEMA_VERSION},"method":"')
        rows.pick(m.methods.table, m.methods.lengths, self.api)
        rows.const('","path":"')
        rows.pick(m.names.table, m.names.lengths, self.api)
        rows.const('","service":"')
        rows.pick(m.services.table, m.services.lengths, self.api)
        rows.const('","region":"')
        rows.pick(_REGIONS.table, _REGIONS.lengths, self.region)
        rows.const('"}\n')
        return rows.build()

    def events(self) -> Iterator[dict[str, Any]]:
        m = self.model
        api = m.names.objects[self.api].tolist()
        columns = zip(
            _texts(self.id),
            self.timestamp.tolist(),
            _texts(self.human),
            api,
            m.clients.objects[self.client].tolist(),
            (self.hundredths / 100.0).tolist(),
            self.status.tolist(),
            _STATUS_TEXT[self.status].tolist(),
            _LEVELS.objects[self.level].tolist(),
            m.methods.objects[self.api].tolist(),
            m.services.objects[self.api].tolist(),
            _REGIONS.objects[self.region].tolist(),
            strict=True,
        )
        for i, ts, human, name, ip, rt, status, code, level, method, service, region in columns:
            yield {
                "id": i,
                "timestamp": ts,
                "timestamp_human": human,
                "api": name,
                "ip_address": ip,
                "response_time": rt,
                "status_code": status,
                "response_code": code,
                "log_level": level,
                "schema_version": SCHEMA_VERSION,
                "method": method,
                "path": name,
                "service": service,
                "region": region,
            }


def _block(spec: TrafficSpec, model: _Model, start_ms: int, b: int, n: int) -> Block:
    rng = np.random.default_rng([spec.seed, b])
    index = np.arange(b * BLOCK, b * BLOCK + n, dtype=np.float64)
    ts = (start_ms + np.floor(_offsets_s(spec, index, start_ms / 1000.0) * 1000.0)).astype(np.int64)
    api = np.searchsorted(np.cumsum(model.weights), rng.random(n) * model.weights.sum(), side="right")
    api = np.minimum(api, len(model.apis) - 1)
    p5, latency = model.p5[api].copy(), np.ones(n)
    for inc in spec.incidents:
        hit = (model.names.objects[api] == inc.api) & (ts >= inc.start_ms) & (ts < inc.end_ms)
        if inc.kind == "errors":
            p5[hit] = np.minimum(p5[hit] * inc.factor, 0.95)
        else:
            latency[hit] *= inc.factor
    u = rng.random(n)
    p4, p3 = model.p4[api], model.p3[api]
    cls = np.where(u < p5, 5, np.where(u < p5 + p4, 4, np.where(u < p5 + p4 + p3, 3, 2)))
    pick = (rng.random(n)[:, None] >= _CODE_CUM[cls]).sum(axis=1)
    status = _CODES[cls, pick]
    rt = np.exp(model.mu[api] + model.sigma[api] * rng.standard_normal(n)) * _CODE_LATENCY[status] * latency
    hundredths = np.rint(np.clip(rt, 0.05, MAX_RESPONSE_TIME_MS) * 100).astype(np.int64)
    level = _LEVEL_BY_CODE[status]
    ok = cls == 2
    level[ok] = _SUCCESS_LEVELS[np.searchsorted(_SUCCESS_CUM, rng.random(int(ok.sum())) * _SUCCESS_CUM[-1])]
    client = (CLIENTS * rng.random(n) ** 3).astype(np.int64)
    region = np.searchsorted(_REGION_CUM, rng.random(n) * _REGION_CUM[-1]).astype(np.int64)
    return Block(model, _uuids(rng, n), ts, _iso_times(ts), api, client, hundredths, status, level, region)


def blocks(spec: TrafficSpec) -> Iterator[Block]:
    """The events of ``spec`` as column blocks (the fast path for producers)."""
    start_ms = spec.start_ms if spec.start_ms is not None else int(time.time() * 1000)
    end_ms = start_ms + spec.duration_s * 1000.0 if spec.duration_s is not None else math.inf
    model = _model(spec)
    b = 0
    while True:
        n = BLOCK if spec.count is None else min(BLOCK, spec.count - b * BLOCK)
        if n <= 0:
            return
        block = _block(spec, model, start_ms, b, n)
        if block.timestamp[-1] >= end_ms:
            yield block.head(int(np.searchsorted(block.timestamp, end_ms)))
            return
        yield block
        b += 1


def events(spec: TrafficSpec) -> Iterator[dict[str, Any]]:
    """Every event of ``spec`` as a dict that passes ``codec.validate`` unchanged."""
    for block in blocks(spec):
        yield from block.events()
