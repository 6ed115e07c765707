"""Ingest key authentication for the endpoints that apps post to.

The key may travel in ``X-Pinwatch-Key``, in ``Authorization: Bearer pwk_...``
or in the ``key`` query parameter, because TrustKit on iOS cannot add headers.
Every request looks the key up in the database, with no cache, so a revoked
key stops working at once on every process.
"""

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select

from service.core.deps import SessionDep
from service.core.errors import Forbidden, Unauthorized
from service.core.logging import get_logger
from service.core.security import INGEST_KEY_PREFIX, hash_secret, secrets_match
from service.registry.models import IngestKey

log = get_logger(__name__)

KEY_HEADER = "x-pinwatch-key"
# Generated keys are 47 characters long, so a much longer value is not one.
MAX_KEY_LENGTH = 200
# Built once, because every ingest request runs it.
KEY_BY_HASH = select(IngestKey).where(IngestKey.key_hash == bindparam("key_hash"))


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


def authenticate_ingest_key(request: Request, session: SessionDep) -> IngestKey:
    """Return the ingest key of the request, with its app loaded."""
    key = presented_key(request)
    if key is None:
        raise Unauthorized(
            "Missing ingest key: send it in the X-Pinwatch-Key header, as "
            "'Authorization: Bearer pwk_...', or as the key query parameter.",
            code="missing_key",
        )
    if not key.startswith(INGEST_KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        raise _invalid_key()

    row = session.scalars(KEY_BY_HASH, {"key_hash": hash_secret(key)}).first()
    if row is None or not secrets_match(row.key_hash, key):
        raise _invalid_key()
    if row.revoked_at is not None:
        log.info("ingest_key_revoked", key_id=row.id)
        raise Forbidden(
            "The ingest key has been revoked. Send a current key of the app.",
            code="key_revoked",
        )
    return row


IngestKeyDep = Annotated[IngestKey, Depends(authenticate_ingest_key)]
