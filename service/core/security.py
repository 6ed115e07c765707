"""Secrets: ingest keys, API tokens and the keyed install-id hash."""

import hashlib
import hmac
import secrets

INGEST_KEY_PREFIX = "pwk_"
API_TOKEN_PREFIX = "pwt_"  # noqa: S105 (a prefix, not a secret)
# Every generated secret starts with one of these.
SECRET_PREFIXES = (INGEST_KEY_PREFIX, API_TOKEN_PREFIX)


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    """Hash a generated key or token for storage and look-up.

    The values carry 256 random bits, so an unsalted SHA-256 cannot be reversed
    by guessing. The database can then find a key by its hash alone.
    """
    return hashlib.sha256(value.encode()).hexdigest()


def secrets_match(stored_hash: str, presented: str) -> bool:
    return hmac.compare_digest(stored_hash, hash_secret(presented))


def install_hash(secret: str, app_id: int, install_id: str) -> bytes:
    """Key the raw install id so that it is never stored or logged as sent.

    The app id is mixed in, so the same vendor id in two apps gives two hashes.
    """
    message = f"{app_id}:{install_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:16]
