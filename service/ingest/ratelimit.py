"""Per-key rate limit of the ingest endpoints: one token bucket per ingest key.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a second.
Each request takes one token, and a request that finds the bucket empty gets
``429 rate_limited`` with ``Retry-After``. The buckets live in the process, so
with R replicas or uvicorn workers a key may send R times the configured rate
in total. The limit guards the database against one flooding key; it is not
a quota.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from service.core.errors import TooManyRequests
from service.core.logging import get_logger
from service.core.settings import Settings

log = get_logger(__name__)

Clock = Callable[[], float]

# Ingest keys are created by admins, so few processes serve this many keys.
# The cap bounds memory even so.
MAX_BUCKETS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated_at: float
    rejecting: bool = False


@dataclass(frozen=True)
class Decision:
    """The outcome of one request against its key's bucket."""

    allowed: bool
    # Seconds until the bucket contains a whole token again, 0 when allowed.
    retry_after: float = 0.0
    # True for the first rejection after an allowed request, so that a
    # flooding key is logged once per episode, not once per request.
    starts_limiting: bool = False


class RateLimiter:
    """Token buckets by key: ``rate`` tokens a second, at most ``burst`` stored.

    A bucket left alone for ``burst / rate`` seconds is full, the same as a
    new one, so it is dropped. Past ``max_buckets`` the least recently used
    bucket is dropped too.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Clock = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_buckets = max_buckets
        self._refill_seconds = burst / rate
        # Least recently used first.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str) -> Decision:
        """Take one token from the key's bucket, or return how long to wait for one."""
        with self._lock:
            now = self._clock()
            self._evict_idle(now)
            bucket = self._refilled(key, now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                bucket.rejecting = False
                return Decision(allowed=True)

            starts = not bucket.rejecting
            bucket.rejecting = True
            wait = (1 - bucket.tokens) / self.rate
            return Decision(allowed=False, retry_after=wait, starts_limiting=starts)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            self._make_room()
            bucket = _Bucket(tokens=float(self.burst), updated_at=now)
        elapsed = max(0.0, now - bucket.updated_at)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.updated_at = now
        self._buckets[key] = bucket
        return bucket

    def _evict_idle(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated_at < self._refill_seconds:
                return
            self._buckets.popitem(last=False)

    def _make_room(self) -> None:
        # NOTE: a bucket dropped here before it refilled starts full again, so
        # a key can pass its rate only while more than max_buckets keys send.
        while len(self._buckets) >= self._max_buckets:
            self._buckets.popitem(last=False)


def ingest_limiter(app: FastAPI) -> RateLimiter | None:
    """Return the app's ingest rate limiter, or None when the limit is off.

    The limiter is created on the first ingest request from the app's
    settings. Tests may set ``app.state.ingest_limiter`` before that.
    """
    state = app.state
    if not hasattr(state, "ingest_limiter"):
        settings: Settings = state.settings
        rate = settings.ingest_rate_per_second
        state.ingest_limiter = (
            RateLimiter(rate, settings.ingest_rate_burst) if rate > 0 else None
        )
    limiter: RateLimiter | None = state.ingest_limiter
    return limiter


def _retry_after_seconds(wait: float) -> int:
    # Retry-After takes whole seconds, and 0 would invite an instant retry.
    return max(1, math.ceil(wait))


def check_rate_limit(limiter: RateLimiter | None, key_id: str) -> None:
    """Raise ``rate_limited`` (429) when the ingest key sends past its limit.

    The endpoints call it once the key is found registered and before the
    body is read, so a rejected request costs at most one key look-up.
    """
    if limiter is None:
        return
    decision = limiter.acquire(key_id)
    if decision.allowed:
        return

    seconds = _retry_after_seconds(decision.retry_after)
    if decision.starts_limiting:
        log.warning("ingest_rate_limited", key_id=key_id)
    raise TooManyRequests(
        f"This ingest key sent more than {limiter.rate:g} requests a second "
        f"(bursts of {limiter.burst}): retry after {seconds} "
        f"{'second' if seconds == 1 else 'seconds'}.",
        headers={"Retry-After": str(seconds)},
    )
