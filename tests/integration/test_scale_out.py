"""Two server processes on one PostgreSQL database count a fleet exactly once.

Every batch of a fleet goes to both servers at the same time, and some go to
one server twice more, so the same event ids race each other across
processes. Each event must be accepted once in total, every other copy
counted as a duplicate, and the counts in the database must equal those of
the fleet sent once. Both servers then return the same readiness.
"""

import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.core.migrate import upgrade
from service.ingest.models import (
    CheckCount,
    EventReceipt,
    FailureCount,
    FailureSignature,
    Install,
)
from tests.certs import Chain, make_chain
from tests.factories import add_pin, make_app, make_domain, make_key
from tests.ingest.payloads import DEVICE_TIME
from tests.integration.ingest import (
    HOSTNAME,
    REQUEST_SECONDS,
    Server,
    native_batch,
    pinwatch_server,
    server_env,
)

pytestmark = pytest.mark.slow

INSTALLS = 30
BATCHES_PER_INSTALL = 3
CHECKS_PER_BATCH = 5
# Every third batch also carries one failure, and every fourth goes to the
# first server twice more.
FAILURE_EVERY = 3
REPEAT_EVERY = 4
THREADS = 8
# A server may respond 503 under contention, and the client then retries with
# the same ids.
MAX_ATTEMPTS = 20


@pytest.fixture(scope="session")
def migrated_url(postgresql_url: str) -> str:
    """Several processes share one database only on PostgreSQL."""
    upgrade(postgresql_url)
    return postgresql_url


@dataclass(frozen=True)
class Fleet:
    batches: list[dict[str, Any]]

    def events(self) -> Iterator[dict[str, Any]]:
        for batch in self.batches:
            yield from batch["events"]


def check(event_id: str, count: int, known_pins: list[str], pin: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "pin_check",
        "time": DEVICE_TIME,
        "hostname": HOSTNAME,
        "known_pins": known_pins,
        "matched_pin": pin,
        "count": count,
    }


def failure(event_id: str, known_pins: list[str], chain: Chain) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "pin_failure",
        "time": DEVICE_TIME,
        "hostname": HOSTNAME,
        "port": 443,
        "served_chain": chain.pems(),
        "known_pins": known_pins,
        "result": "pin_mismatch",
        "action": "blocked",
    }


def is_upgraded(install: int) -> bool:
    return install % 3 != 0


def upgraded_installs() -> int:
    return sum(1 for install in range(INSTALLS) if is_upgraded(install))


def make_fleet(current: Chain, backup_pin: str, intercepting: Chain) -> Fleet:
    """Return the batches of every install; newer versions trust the backup pin."""
    batches = []
    for install in range(INSTALLS):
        upgraded = is_upgraded(install)
        version = "2.0.0" if upgraded else "1.0.0"
        known = [current.leaf.pin, backup_pin] if upgraded else [current.leaf.pin]
        for number in range(BATCHES_PER_INSTALL):
            prefix = f"fleet-{install:03d}-{number}"
            events = [
                check(f"{prefix}-{index}", 1 + index, known, current.leaf.pin)
                for index in range(CHECKS_PER_BATCH)
            ]
            if (install + number) % FAILURE_EVERY == 0:
                events.append(failure(f"{prefix}-failure", known, intercepting))
            batches.append(native_batch(f"install-{install:03d}", events, version))
    return Fleet(batches)


def deliveries(batch_count: int, servers: list[Server]) -> list[tuple[int, Server]]:
    """Return (batch index, server) pairs: each batch to both, some thrice more."""
    sends = [(index, server) for index in range(batch_count) for server in servers]
    sends += [
        (index, servers[0])
        for index in range(0, batch_count, REPEAT_EVERY)
        for _ in range(2)
    ]
    random.Random(7).shuffle(sends)
    return sends


def post_retrying_503(
    server: Server, key: str, batch: dict[str, Any]
) -> httpx.Response:
    """Post a batch, and post it again while the server responds with 503."""
    with httpx.Client(base_url=server.url, timeout=REQUEST_SECONDS) as http:
        for _ in range(MAX_ATTEMPTS):
            response = http.post(
                "/v1/events", json=batch, headers={"X-Pinwatch-Key": key}
            )
            if response.status_code != 503:
                return response
    pytest.fail(f"{batch['install_id']} got 503 {MAX_ATTEMPTS} times")


def send_concurrently(
    sends: list[tuple[int, Server]], key: str, fleet: Fleet
) -> list[httpx.Response]:
    """Post every (batch index, server) pair on THREADS threads, in order."""

    def send(pair: tuple[int, Server]) -> httpx.Response:
        index, server = pair
        return post_retrying_503(server, key, fleet.batches[index])

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, sends))


def readiness(server: Server, token: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/v1/domains/{HOSTNAME}/readiness",
        headers={"Authorization": f"Bearer {token}"},
        timeout=REQUEST_SECONDS,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body.pop("computed_at")
    return body


def scalar(db: Session, query: Any) -> int:
    db.commit()
    return int(db.scalar(query) or 0)


def test_two_servers_count_fleet_once(
    migrated_url: str, db: Session, reader_token: str, tmp_path: Path
) -> None:
    current = make_chain(HOSTNAME)
    backup_pin = make_chain(HOSTNAME).leaf.pin
    domain = make_domain(db, HOSTNAME, current.leaf.pin)
    add_pin(db, domain, backup_pin)
    key = make_key(db, make_app(db))
    fleet = make_fleet(current, backup_pin, make_chain(HOSTNAME))
    env = server_env(migrated_url)

    with (
        pinwatch_server(env, tmp_path) as first,
        pinwatch_server(env, tmp_path) as second,
    ):
        sends = deliveries(len(fleet.batches), [first, second])
        responses = send_concurrently(sends, key, fleet)
        readiness_first = readiness(first, reader_token)
        readiness_second = readiness(second, reader_token)

    accepted: Counter[int] = Counter()
    duplicates: Counter[int] = Counter()
    for (index, _server), response in zip(sends, responses, strict=True):
        accepted[index] += response.json()["accepted"]
        duplicates[index] += response.json()["duplicates"]
    copies = Counter(index for index, _server in sends)
    sizes = {index: len(batch["events"]) for index, batch in enumerate(fleet.batches)}
    events = list(fleet.events())
    failures = [event for event in events if event["type"] == "pin_failure"]
    checks = sum(event["count"] for event in events if event["type"] == "pin_check")
    assert [a.status_code for a in responses if a.status_code != 202] == []
    assert all(response.json()["rejected"] == [] for response in responses)
    assert dict(accepted) == sizes
    assert {i: duplicates[i] for i in sizes} == {
        i: sizes[i] * (copies[i] - 1) for i in sizes
    }
    assert scalar(db, select(func.count()).select_from(EventReceipt)) == len(events)
    assert scalar(db, select(func.count()).select_from(Install)) == INSTALLS
    assert scalar(db, select(func.sum(CheckCount.checks))) == checks
    assert scalar(db, select(func.sum(FailureCount.occurrences))) == len(failures)
    assert scalar(db, select(func.sum(FailureSignature.occurrences))) == len(failures)
    assert readiness_first == readiness_second
    assert readiness_first["rotate"][0]["apps"][0]["active_installs"] == INSTALLS
    assert readiness_first["rotate"][0]["apps"][0]["accepting"] == upgraded_installs()
