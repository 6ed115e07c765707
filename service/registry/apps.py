"""Apps and their ingest keys."""

import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.db import utcnow
from service.core.errors import Conflict, NotFound
from service.core.security import INGEST_KEY_PREFIX, hash_secret, new_secret
from service.registry.models import App, IngestKey

# Platforms an app can be registered for; the first part of an app reference.
PLATFORMS = ("ios", "android")
# Bundle ids (iOS) and package names (Android) that an app can be registered with.
BUNDLE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _app_exists(ref: str) -> Conflict:
    return Conflict(f"app {ref!r} is already registered", code="app_exists")


def create_app(session: Session, platform: str, bundle_id: str, name: str) -> App:
    """Register an app; raise Conflict when the platform and bundle id exist."""
    app = App(platform=platform, bundle_id=bundle_id, name=name)
    existing = session.scalars(
        select(App).where(App.platform == platform, App.bundle_id == bundle_id)
    ).first()
    if existing is not None:
        raise _app_exists(app.ref)

    session.add(app)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request registered the same app since the look-up above.
        raise _app_exists(app.ref) from exc
    return app


def list_apps(session: Session) -> Sequence[App]:
    return session.scalars(select(App).order_by(App.platform, App.bundle_id)).all()


def create_ingest_key(session: Session, app: App) -> tuple[IngestKey, str]:
    """Store a new ingest key's hash; return the row and the key itself."""
    key = new_secret(INGEST_KEY_PREFIX)
    row = IngestKey(
        id="key_" + secrets.token_hex(8), app_id=app.id, key_hash=hash_secret(key)
    )
    session.add(row)
    session.flush()
    return row, key


def list_ingest_keys(session: Session, app: App) -> Sequence[IngestKey]:
    query = (
        select(IngestKey)
        .where(IngestKey.app_id == app.id)
        .order_by(IngestKey.created_at, IngestKey.id)
    )
    return session.scalars(query).all()


def get_ingest_key(session: Session, app: App, key_id: str) -> IngestKey:
    key = session.get(IngestKey, key_id)
    if key is None or key.app_id != app.id:
        raise NotFound(
            f"ingest key {key_id!r} does not exist for app {app.ref!r}",
            code="key_not_found",
        )
    return key


def revoke_ingest_key(key: IngestKey) -> bool:
    """Revoke a key; return False when it was already revoked."""
    if key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    return True
