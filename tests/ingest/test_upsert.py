"""Tests of the one insert-or-update statement, on SQLite and PostgreSQL."""

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.ingest.models import Certificate, FailureSignature, Install
from service.ingest.upsert import upsert
from tests.factories import make_app, make_release

EARLY = utcnow() - timedelta(hours=1)
LATE = utcnow()


def _move(excluded: Any) -> dict[str, Any]:
    return {"release_id": excluded.release_id, "last_seen_at": excluded.last_seen_at}


def install_row(
    app_id: int, digest: bytes, release_id: int, seen: Any
) -> dict[str, Any]:
    return {
        "app_id": app_id,
        "install_hash": digest,
        "release_id": release_id,
        "first_seen_at": seen,
        "last_seen_at": seen,
    }


def installs(db: Session) -> list[tuple[bytes, int, Any, Any]]:
    query = select(
        Install.install_hash,
        Install.release_id,
        Install.first_seen_at,
        Install.last_seen_at,
    ).order_by(Install.install_hash)
    return [tuple(row) for row in db.execute(query)]


def test_inserts_updates_and_returns_rows(db: Session) -> None:
    app = make_app(db)
    old = make_release(db, app, "1.0.0")
    new = make_release(db, app, "2.0.0")
    first = [install_row(app.id, b"a" * 16, old.id, EARLY)]
    upsert(db, Install, first, ["app_id", "install_hash"], _move)

    rows = [
        install_row(app.id, b"a" * 16, new.id, LATE),
        install_row(app.id, b"b" * 16, old.id, LATE),
    ]
    returning = [Install.install_hash, Install.release_id]
    returned = upsert(
        db, Install, rows, ["app_id", "install_hash"], _move, returning=returning
    )
    db.commit()

    assert sorted(tuple(row) for row in returned) == [
        (b"a" * 16, new.id),
        (b"b" * 16, old.id),
    ]
    assert installs(db) == [
        (b"a" * 16, new.id, EARLY, LATE),
        (b"b" * 16, old.id, LATE, LATE),
    ]


def test_without_update_keeps_the_stored_row(db: Session) -> None:
    app = make_app(db)
    old = make_release(db, app, "1.0.0")
    new = make_release(db, app, "2.0.0")
    upsert(
        db,
        Install,
        [install_row(app.id, b"a" * 16, old.id, EARLY)],
        ["app_id", "install_hash"],
    )

    again = [install_row(app.id, b"a" * 16, new.id, LATE)]
    upsert(db, Install, again, ["app_id", "install_hash"])
    db.commit()

    assert installs(db) == [(b"a" * 16, old.id, EARLY, EARLY)]


def test_returns_inserted_rows_but_not_skipped_ones(db: Session) -> None:
    app = make_app(db)
    release = make_release(db, app, "1.0.0")
    upsert(
        db,
        Install,
        [install_row(app.id, b"a" * 16, release.id, EARLY)],
        ["app_id", "install_hash"],
    )

    rows = [
        install_row(app.id, b"a" * 16, release.id, LATE),
        install_row(app.id, b"b" * 16, release.id, LATE),
    ]
    returned = upsert(
        db, Install, rows, ["app_id", "install_hash"], returning=[Install.install_hash]
    )

    assert [row.install_hash for row in returned] == [b"b" * 16]


def test_stores_json_columns(db: Session) -> None:
    rows = [
        {
            "signature": f"sig-{number}",
            "domain_id": None,
            "classification": "unknown_domain",
            "served_pins": [f"pin-{number}", "shared"],
            "first_seen_at": EARLY,
            "last_seen_at": LATE,
            "occurrences": number,
        }
        for number in (1, 2)
    ]

    upsert(db, FailureSignature, rows, ["signature"])
    db.commit()

    stored = db.execute(
        select(FailureSignature.signature, FailureSignature.served_pins).order_by(
            FailureSignature.signature
        )
    )
    assert [tuple(row) for row in stored] == [
        ("sig-1", ["pin-1", "shared"]),
        ("sig-2", ["pin-2", "shared"]),
    ]


def test_no_rows_write_nothing(db: Session) -> None:
    assert upsert(db, Install, [], ["app_id", "install_hash"], _move) == []
    assert installs(db) == []


def test_stores_all_null_column(db: Session) -> None:
    rows = [
        {
            "sha256": f"cert-{number}",
            "der": bytes([number]),
            "spki_sha256": "spki",
            "subject": "CN=example",
            "issuer": "CN=issuer",
            "not_before": None,
            "not_after": None,
            "first_seen_at": LATE,
        }
        for number in (1, 2)
    ]

    upsert(db, Certificate, rows, ["sha256"])
    db.commit()

    stored = db.execute(
        select(Certificate.sha256, Certificate.not_before, Certificate.der).order_by(
            Certificate.sha256
        )
    )
    assert [tuple(row) for row in stored] == [
        ("cert-1", None, b"\x01"),
        ("cert-2", None, b"\x02"),
    ]
