"""API token authentication and roles."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from service.core.deps import SessionDep
from service.core.errors import Forbidden, Unauthorized
from service.core.security import API_TOKEN_PREFIX, hash_secret, secrets_match
from service.registry.models import ApiToken

ROLES = ("reader", "admin")


@dataclass(frozen=True)
class Caller:
    token_id: str
    role: str

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(
            "Missing API token: send 'Authorization: Bearer pwt_...'.",
            code="missing_token",
        )
    return value.strip()


def authenticate(request: Request, session: SessionDep) -> Caller:
    token = _bearer_token(request)
    if not token.startswith(API_TOKEN_PREFIX):
        raise Unauthorized("The API token is invalid.", code="invalid_token")
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_secret(token))
    ).first()
    if row is None or not secrets_match(row.token_hash, token):
        raise Unauthorized("The API token is invalid.", code="invalid_token")
    if row.revoked_at is not None:
        raise Forbidden("The API token has been revoked.", code="token_revoked")
    return Caller(token_id=row.id, role=row.role)


def require_reader(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
    return caller


def require_admin(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
    if caller.role != "admin":
        raise Forbidden("This action needs an admin token.", code="admin_required")
    return caller


ReaderDep = Annotated[Caller, Depends(require_reader)]
AdminDep = Annotated[Caller, Depends(require_admin)]
