"""Tests of the shared per-app and per-domain rows written at the end of a request."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.ingest.context import Origin
from service.ingest.models import AppDomain, CheckCount, ServedKeyCount
from service.ingest.shared_rows import SharedRows, write_shared_rows
from service.registry.models import App, Domain
from tests.factories import make_app, make_domain

RECEIVED = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
PIN_A = "A" * 43 + "="
PIN_B = "B" * 43 + "="


def update_shared_rows(
    db: Session,
    origin: Origin,
    domain_ids: set[int],
    checks: Counter[int],
    served: Counter[tuple[int, str]],
) -> None:
    """Write the shared rows of one request, as a batch of one."""
    shared = SharedRows()
    shared.add(origin, domain_ids, checks, served)
    write_shared_rows(db, shared)


def make_origin(app: App, received_at: datetime = RECEIVED) -> Origin:
    return Origin(app.id, 1, b"\x00" * 16, None, received_at)


def arrange(db: Session) -> tuple[App, Domain, Domain]:
    app = make_app(db)
    return app, make_domain(db, "api.example.com"), make_domain(db, "cdn.example.com")


def test_links_app_to_domains(db: Session) -> None:
    app, api, cdn = arrange(db)

    update_shared_rows(db, make_origin(app), {api.id, cdn.id}, Counter(), Counter())
    db.commit()

    links = db.scalars(select(AppDomain).order_by(AppDomain.domain_id)).all()
    assert [link.domain_id for link in links] == [api.id, cdn.id]
    assert links[0].last_event_at == RECEIVED


def test_later_request_moves_last_event(db: Session) -> None:
    app, api, _ = arrange(db)
    later = RECEIVED + timedelta(minutes=5)

    update_shared_rows(db, make_origin(app), {api.id}, Counter(), Counter())
    update_shared_rows(db, make_origin(app, later), {api.id}, Counter(), Counter())
    db.commit()

    link = db.scalars(select(AppDomain)).one()
    assert link.first_seen_at == RECEIVED
    assert link.last_event_at == later


def test_adds_check_counts_to_the_hour(db: Session) -> None:
    app, api, cdn = arrange(db)
    checks = Counter({api.id: 5, cdn.id: 2})

    update_shared_rows(db, make_origin(app), {api.id, cdn.id}, checks, Counter())
    update_shared_rows(db, make_origin(app), {api.id}, Counter({api.id: 3}), Counter())
    db.commit()

    rows = db.execute(select(CheckCount.domain_id, CheckCount.hour, CheckCount.checks))
    counted = {domain_id: (hour, total) for domain_id, hour, total in rows}
    hour = RECEIVED.replace(minute=0)
    assert counted == {api.id: (hour, 8), cdn.id: (hour, 2)}


def test_adds_served_key_counts(db: Session) -> None:
    app, api, _ = arrange(db)
    served = Counter({(api.id, PIN_A): 4, (api.id, PIN_B): 1})

    update_shared_rows(db, make_origin(app), {api.id}, Counter(), served)
    update_shared_rows(db, make_origin(app), {api.id}, Counter(), served)
    db.commit()

    rows = db.execute(select(ServedKeyCount.spki_sha256, ServedKeyCount.checks))
    assert dict(rows.all()) == {PIN_A: 8, PIN_B: 2}


def test_nothing_to_write_adds_no_rows(db: Session) -> None:
    app, _, _ = arrange(db)

    update_shared_rows(db, make_origin(app), set(), Counter(), Counter())
    db.commit()

    assert db.scalars(select(AppDomain)).all() == []
    assert db.scalars(select(CheckCount)).all() == []


def test_batch_link_keeps_first_and_last_event(db: Session) -> None:
    app, api, _cdn = arrange(db)
    later = RECEIVED + timedelta(minutes=5)
    shared = SharedRows()
    shared.add(make_origin(app, later), {api.id}, Counter(), Counter())
    shared.add(make_origin(app), {api.id}, Counter(), Counter())

    write_shared_rows(db, shared)
    db.commit()

    [link] = db.scalars(select(AppDomain)).all()
    assert link.first_seen_at == RECEIVED
    assert link.last_event_at == later
