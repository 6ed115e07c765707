"""Request-scoped dependencies: settings and one database session per request."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.core.db import session_scope
from service.core.settings import Settings


# Async, so that FastAPI calls it on the event loop instead of a worker thread.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """Yield the request's session; it commits once the endpoint returns."""
    yield from session_scope(request.app.state.sessions)


# "function" scope closes the session when the endpoint returns, before the
# response is sent, so that a 2xx response always means the change is committed.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
