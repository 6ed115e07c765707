"""Ingest key authentication for the endpoints that apps post to.

The key may travel in ``X-Pinwatch-Key``, in ``Authorization: Bearer pwk_...``
or in the ``key`` query parameter, because TrustKit on iOS cannot add headers.
A request's key is checked twice. Before the body is read, the endpoint
rejects a missing, malformed, unknown or revoked key, so a made-up key costs
no more than one look-up. Keys found valid are remembered per process for
this first check. The ingest writer then looks up the keys of all requests
it stores together with one query, in the transaction that stores them, with
no cache, so a revoked key stops working at once on every process.
"""

import hmac
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from service.core.errors import Forbidden, Unauthorized
from service.core.logging import get_logger
from service.core.security import INGEST_KEY_PREFIX, hash_secret, secrets_match
from service.registry.models import App, IngestKey

log = get_logger(__name__)

KEY_HEADER = "x-pinwatch-key"
# Generated keys are 47 characters long, so a much longer value is not one.
MAX_KEY_LENGTH = 200
# Processes remember this many valid keys, the least recently used dropped.
MAX_KNOWN_KEYS = 10_000
_reported_revoked: set[str] = set()
_reported_lock = threading.Lock()

# Built once, because every batch of ingest requests runs it, and every
# request with a key that its process has not found valid yet.
KEYS_BY_HASH = (
    select(
        IngestKey.key_hash,
        IngestKey.id,
        IngestKey.revoked_at,
        App.id.label("app_id"),
        App.platform,
        App.bundle_id,
    )
    .join(App, App.id == IngestKey.app_id)
    .where(IngestKey.key_hash.in_(bindparam("key_hashes", expanding=True)))
)


@dataclass(frozen=True)
class Sender:
    """The app that an ingest key belongs to, as plain values.

    Plain values, not ORM rows, because the writer may store a request again
    in a new transaction after the first one failed.
    """

    key_id: str
    app_id: int
    platform: str
    bundle_id: str

    @property
    def ref(self) -> str:
        return f"{self.platform}:{self.bundle_id}"


def presented_key(request: Request) -> str | None:
    """Return the key from the header, the bearer token or the query, in that order."""
    header = request.headers.get(KEY_HEADER, "").strip()
    if header:
        return header
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("key", "").strip() or None


def _invalid_key() -> Unauthorized:
    return Unauthorized("The ingest key is invalid.", code="invalid_key")


def _revoked(key_id: str) -> Forbidden:
    # Old builds keep sending a revoked key, so it is logged once per process.
    with _reported_lock:
        first = key_id not in _reported_revoked
        if first and len(_reported_revoked) < MAX_KNOWN_KEYS:
            _reported_revoked.add(key_id)
    if first:
        log.info("ingest_key_revoked", key_id=key_id)
    return Forbidden(
        "The ingest key has been revoked. Send a current key of the app.",
        code="key_revoked",
    )


def require_key(request: Request) -> str:
    """Return the request's key, or raise 401 when it is missing or malformed."""
    key = presented_key(request)
    if key is None:
        raise Unauthorized(
            "Missing ingest key: send it in the X-Pinwatch-Key header, as "
            "'Authorization: Bearer pwk_...', or as the key query parameter.",
            code="missing_key",
        )
    if not key.startswith(INGEST_KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        raise _invalid_key()
    return key


class KeyRing:
    """The stored keys among those that a batch of requests presented."""

    def __init__(self, session: Session, key_hashes: Iterable[str]) -> None:
        values = {"key_hashes": sorted(set(key_hashes))}
        rows = session.execute(KEYS_BY_HASH, values).all()
        self._rows = {row.key_hash: row for row in rows}

    def sender(self, key_hash: str) -> Sender:
        """Return the app of the key with this hash.

        Raises 401 when the key is unknown and 403 when it is revoked.
        """
        row = self._rows.get(key_hash)
        if row is None or not hmac.compare_digest(row.key_hash, key_hash):
            raise _invalid_key()
        if row.revoked_at is not None:
            raise _revoked(row.id)
        return Sender(row.id, row.app_id, row.platform, row.bundle_id)


class KnownKeys:
    """Ids of the keys that this process found registered, by key hash.

    Only the check before a body is read uses it. A key revoked since it was
    remembered gets past that check, and the writer refuses it.
    """

    def __init__(self, max_keys: int = MAX_KNOWN_KEYS) -> None:
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> str | None:
        with self._lock:
            key_id = self._ids.get(key_hash)
            if key_id is not None:
                self._ids.move_to_end(key_hash)
            return key_id

    def add(self, key_hash: str, key_id: str) -> None:
        with self._lock:
            self._ids[key_hash] = key_id
            while len(self._ids) > self._max_keys:
                self._ids.popitem(last=False)


def look_up_key(sessions: sessionmaker[Session], key: str, key_hash: str) -> str:
    """Return the id of a registered key; raise 401 when unknown, 403 when revoked."""
    with sessions() as session:
        row = session.execute(KEYS_BY_HASH, {"key_hashes": [key_hash]}).first()
    if row is None or not secrets_match(row.key_hash, key):
        raise _invalid_key()
    if row.revoked_at is not None:
        raise _revoked(row.id)
    key_id: str = row.id
    return key_id


async def admit_key(request: Request, key: str) -> tuple[str, str]:
    """Return the id and the hash of the request's key, once it is found valid."""
    state = request.app.state
    known: KnownKeys = state.known_keys
    key_hash = hash_secret(key)
    key_id = known.get(key_hash)
    if key_id is None:
        key_id = await run_in_threadpool(look_up_key, state.sessions, key, key_hash)
        known.add(key_hash, key_id)
    return key_id, key_hash
