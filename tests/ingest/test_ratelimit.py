import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.ingest.models import EventReceipt
from service.ingest.ratelimit import RateLimiter, ingest_limiter
from service.registry.models import App, IngestKey
from tests.factories import make_app, make_key
from tests.ingest.conftest import ClientFactory
from tests.ingest.helpers import all_rows
from tests.ingest.payloads import check_event, error_code, events_body, post_events


class FakeClock:
    """A monotonic clock that moves only when a test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def limited_client(
    client_with: ClientFactory, rate: float, burst: int
) -> tuple[TestClient, FakeClock]:
    """Build a client whose ingest limiter runs on a fake clock."""
    clock = FakeClock()
    client = client_with(ingest_rate_per_second=rate, ingest_rate_burst=burst)
    client.app.state.ingest_limiter = RateLimiter(rate, burst, clock=clock)
    return client, clock


def post_check(client: TestClient, key: str) -> Response:
    return post_events(client, key, events_body(check_event()))


def post_report(client: TestClient, key: str) -> Response:
    return client.post("/v1/reports", params={"key": key}, content=b"{}")


def test_limiter_allows_burst_then_rejects() -> None:
    limiter = RateLimiter(rate=1, burst=3, clock=FakeClock())

    decisions = [limiter.acquire("key_a") for _ in range(4)]

    assert [decision.allowed for decision in decisions] == [True, True, True, False]


def test_limiter_refills_at_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2, burst=1, clock=clock)
    limiter.acquire("key_a")

    clock.advance(0.4)
    early = limiter.acquire("key_a")
    clock.advance(0.1)
    refilled = limiter.acquire("key_a")

    assert not early.allowed
    assert refilled.allowed


def test_limiter_retry_after_is_time_to_next_token() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=0.25, burst=1, clock=clock)
    limiter.acquire("key_a")
    clock.advance(1)

    decision = limiter.acquire("key_a")

    assert decision.retry_after == pytest.approx(3.0)


def test_limiter_buckets_are_per_key() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=FakeClock())
    limiter.acquire("key_a")

    other = limiter.acquire("key_b")

    assert other.allowed


def test_limiter_flags_first_rejection_of_episode() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    limiter.acquire("key_a")

    first = limiter.acquire("key_a")
    second = limiter.acquire("key_a")
    clock.advance(1)
    limiter.acquire("key_a")
    after_recovery = limiter.acquire("key_a")

    assert first.starts_limiting
    assert not second.starts_limiting
    assert after_recovery.starts_limiting


def test_limiter_drops_refilled_buckets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)
    for index in range(5):
        limiter.acquire(f"key_{index}")

    clock.advance(2)
    limiter.acquire("key_new")

    assert len(limiter) == 1


def test_limiter_keeps_buckets_still_refilling() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=20, clock=clock)
    for index in range(5):
        limiter.acquire(f"key_{index}")

    clock.advance(1.9)
    limiter.acquire("key_new")

    assert len(limiter) == 6


def test_limiter_caps_bucket_count() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=FakeClock(), max_buckets=3)

    for index in range(10):
        limiter.acquire(f"key_{index}")

    assert len(limiter) == 3


def test_limiter_cap_drops_least_recently_used() -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=FakeClock(), max_buckets=2)
    limiter.acquire("key_a")
    limiter.acquire("key_b")
    limiter.acquire("key_a")

    limiter.acquire("key_c")

    assert not limiter.acquire("key_a").allowed
    assert limiter.acquire("key_b").allowed


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_limiter_rejects_invalid_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        RateLimiter(rate=rate, burst=burst)


def test_events_over_limit_get_429(client_with: ClientFactory, key: str) -> None:
    client, _clock = limited_client(client_with, rate=0.25, burst=2)
    post_check(client, key)
    post_check(client, key)

    response = post_check(client, key)

    assert response.status_code == 429
    assert error_code(response) == "rate_limited"
    assert response.headers["retry-after"] == "4"


def test_retry_after_is_at_least_one_second(
    client_with: ClientFactory, key: str
) -> None:
    client, clock = limited_client(client_with, rate=10, burst=1)
    post_check(client, key)
    clock.advance(0.09)

    response = post_check(client, key)

    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["message"].endswith("retry after 1 second.")


def test_limited_request_stores_nothing(
    client_with: ClientFactory, key: str, db: Session
) -> None:
    client, _clock = limited_client(client_with, rate=1, burst=1)
    post_check(client, key)
    body = events_body(check_event(id="over-the-limit"))

    response = post_events(client, key, body)

    stored = [row.event_id for row in all_rows(db, EventReceipt)]
    assert response.status_code == 429
    assert len(stored) == 1
    assert "over-the-limit" not in stored


def test_key_recovers_after_refill(client_with: ClientFactory, key: str) -> None:
    client, clock = limited_client(client_with, rate=1, burst=1)
    post_check(client, key)
    limited = post_check(client, key)

    clock.advance(1)
    recovered = post_check(client, key)

    assert limited.status_code == 429
    assert recovered.status_code == 202


def test_reports_share_bucket_with_events(client_with: ClientFactory, key: str) -> None:
    client, _clock = limited_client(client_with, rate=1, burst=2)
    post_check(client, key)
    post_report(client, key)

    events = post_check(client, key)
    report = post_report(client, key)

    assert events.status_code == 429
    assert report.status_code == 429
    assert error_code(report) == "rate_limited"
    assert int(report.headers["retry-after"]) >= 1
    assert report.headers["access-control-allow-origin"] == "*"


def test_other_key_is_not_limited(
    client_with: ClientFactory, key: str, db: Session
) -> None:
    other_app = make_app(db, "ios", "com.example.other")
    other_key = make_key(db, other_app)
    client, _clock = limited_client(client_with, rate=1, burst=1)
    post_check(client, key)
    post_check(client, key)

    body = events_body(check_event(), platform="ios", bundle_id="com.example.other")
    response = post_events(client, other_key, body)

    assert response.status_code == 202


def test_second_key_of_same_app_has_own_bucket(
    client_with: ClientFactory, key: str, db: Session, app_row: App
) -> None:
    second_key = make_key(db, app_row)
    client, _clock = limited_client(client_with, rate=1, burst=1)
    post_check(client, key)

    response = post_check(client, second_key)

    assert response.status_code == 202


def test_invalid_key_takes_no_token(client_with: ClientFactory, key: str) -> None:
    client, _clock = limited_client(client_with, rate=1, burst=1)
    unknown = post_check(client, "pwk_unknown")

    response = post_check(client, key)

    assert unknown.status_code == 401
    assert response.status_code == 202


def test_limiter_is_keyed_by_key_id(
    client_with: ClientFactory, key: str, db: Session
) -> None:
    client, _clock = limited_client(client_with, rate=1, burst=5)
    post_check(client, key)
    key_id = db.scalars(select(IngestKey.id)).one()

    limiter = client.app.state.ingest_limiter
    remaining = [limiter.acquire(key_id).allowed for _ in range(5)]

    assert remaining == [True, True, True, True, False]


def test_settings_configure_the_limiter(client_with: ClientFactory, key: str) -> None:
    client = client_with(ingest_rate_per_second=0.01, ingest_rate_burst=2)

    statuses = [post_check(client, key).status_code for _ in range(3)]

    assert statuses == [202, 202, 429]
    assert client.app.state.ingest_limiter.rate == 0.01


def test_zero_rate_turns_limit_off(client_with: ClientFactory, key: str) -> None:
    client = client_with(ingest_rate_per_second=0, ingest_rate_burst=1)

    statuses = [post_check(client, key).status_code for _ in range(5)]

    assert statuses == [202] * 5
    assert ingest_limiter(client.app) is None


def test_limit_is_declared_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "429" in paths["/v1/events"]["post"]["responses"]
    assert "429" in paths["/v1/reports"]["post"]["responses"]


def test_limit_applies_before_body_is_read(
    client_with: ClientFactory, key: str
) -> None:
    clock = FakeClock()
    client = client_with(max_body_bytes=100)
    client.app.state.ingest_limiter = RateLimiter(1, 1, clock=clock)
    post_check(client, key)
    oversized = events_body(*[check_event() for _ in range(20)])

    response = post_events(client, key, oversized)

    assert response.status_code == 429
