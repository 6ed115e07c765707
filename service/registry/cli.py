"""``pinwatch token create``: mint an API token straight in the database."""

import argparse
import secrets
from typing import Any

from service.core.db import create_db_engine, session_factory, session_scope
from service.core.security import API_TOKEN_PREFIX, hash_secret, new_secret
from service.core.settings import get_settings
from service.registry.auth import ROLES
from service.registry.models import ApiToken, AuditEntry


def register(subparsers: Any) -> None:
    token = subparsers.add_parser("token", help="manage API tokens")
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="create an API token and print it (shown only once)"
    )
    create.add_argument("--role", choices=ROLES, required=True, help="token role")
    create.add_argument("--name", default="", help="who or what uses the token")
    create.set_defaults(handler=run_token_create)


def create_token(role: str, name: str, actor: str = "cli") -> tuple[str, str]:
    """Store a new token's hash and return its id and the token itself."""
    settings = get_settings()
    engine = create_db_engine(settings)
    token = new_secret(API_TOKEN_PREFIX)
    token_id = "tok_" + secrets.token_hex(6)
    try:
        for session in session_scope(session_factory(engine)):
            session.add(
                ApiToken(
                    id=token_id, role=role, token_hash=hash_secret(token), name=name
                )
            )
            session.add(
                AuditEntry(
                    actor=actor,
                    action="token.create",
                    target=token_id,
                    details={"role": role, "name": name},
                )
            )
    finally:
        engine.dispose()
    return token_id, token


def run_token_create(args: argparse.Namespace) -> int:
    _token_id, token = create_token(args.role, args.name)
    print(token)
    return 0
