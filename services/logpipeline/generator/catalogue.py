"""The default API catalogue and the status/level tables of the traffic model (pure data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Api:
    """One API: its traffic share, log-normal latency (median ms, sigma of ln) and base status mix."""

    name: str
    method: str
    service: str
    weight: float
    median_ms: float
    sigma: float
    error_rate: float  # share of 5xx responses
    client_error_rate: float  # share of 4xx responses
    redirect_rate: float = 0.0  # share of 3xx responses


DEFAULT_APIS: tuple[Api, ...] = (
    Api("/api/v1/products", "GET", "catalog", 20, 35.0, 0.50, 0.002, 0.015, 0.05),
    Api("/api/v1/search", "GET", "search", 16, 85.0, 0.80, 0.003, 0.010),
    Api("/api/v1/users", "GET", "users", 14, 22.0, 0.45, 0.002, 0.020, 0.02),
    Api("/api/v1/recommendations", "GET", "recs", 10, 160.0, 0.65, 0.008, 0.005),
    Api("/api/v1/cart", "PUT", "cart", 9, 40.0, 0.50, 0.003, 0.020),
    Api("/api/v1/orders", "POST", "orders", 8, 120.0, 0.60, 0.006, 0.030),
    Api("/api/v1/inventory", "GET", "inventory", 7, 55.0, 0.55, 0.004, 0.010),
    Api("/api/v1/auth/login", "POST", "auth", 6, 45.0, 0.50, 0.004, 0.080),
    Api("/api/v1/payments", "POST", "payments", 5, 280.0, 0.70, 0.010, 0.020),
    Api("/api/v1/notifications", "POST", "notify", 5, 30.0, 0.40, 0.002, 0.010),
)

REGIONS: tuple[str, ...] = ("eu-west-1", "us-east-1", "ap-southeast-1")
REGION_WEIGHTS: tuple[float, ...] = (0.45, 0.40, 0.15)

# Specific codes within each status class, with their shares, and the latency multiplier of each
# (a 304 or a rejected request is cheap, a 504 is a timeout).
STATUS_TABLE: dict[int, tuple[tuple[int, float, float], ...]] = {
    2: ((200, 0.85, 1.0), (201, 0.10, 1.2), (204, 0.05, 0.8)),
    3: ((301, 0.30, 0.3), (304, 0.70, 0.4)),
    4: ((400, 0.30, 0.5), (401, 0.15, 0.3), (404, 0.45, 0.6), (429, 0.10, 0.1)),
    5: ((500, 0.50, 1.5), (502, 0.20, 2.0), (503, 0.20, 0.3), (504, 0.10, 10.0)),
}

# Level of a 2xx response: mostly SUCCESS, some INFO and DEBUG lines.
SUCCESS_LEVELS: tuple[tuple[str, float], ...] = (("SUCCESS", 0.85), ("INFO", 0.10), ("DEBUG", 0.05))


def level_for_status(status: int) -> str:
    """The documented status-to-level rule: 5xx ERROR (503/504 CRITICAL), 4xx WARNING, 3xx/1xx INFO, 2xx SUCCESS."""
    if status >= 500:
        return "CRITICAL" if status in (503, 504) else "ERROR"
    if status >= 400:
        return "WARNING"
    if 200 <= status < 300:
        return "SUCCESS"
    return "INFO"
