"""Liveness and readiness probes."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.core.migrate import current_revision, head_revision, schema_is_outdated

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Report that the process is up. It does not touch the database."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Report whether the database is reachable and its schema is current.

    A schema newer than this release (migrated for the next one) still counts
    as current, so a rolling upgrade keeps the old replicas serving.
    """
    engine: Engine = request.app.state.engine
    expected = head_revision()
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        body = {"status": "unavailable", "database": "unreachable"}
        body["error"] = type(exc).__name__
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})
    if schema_is_outdated(current):
        body = {"status": "unavailable", "database": "schema_outdated"}
        body["schema"] = f"{current} (expected {expected}); run 'pinwatch migrate'"
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok", "schema": current})
