"""The FastAPI application: settings, database, error handlers and routers."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.types import Receive, Scope, Send

from service.analysis import routes as analysis_routes
from service.core import health
from service.core.db import create_db_engine, session_factory
from service.core.direct import DirectRoutes
from service.core.errors import install_error_handlers
from service.core.logging import configure_logging, get_logger
from service.core.requests import RequestContextMiddleware
from service.core.settings import Settings, get_settings
from service.ingest import routes as ingest_routes
from service.ingest.keys import KnownKeys
from service.ingest.writer import IngestWriter
from service.metrics import routes as metrics_routes
from service.readiness import routes as readiness_routes
from service.registry import routes as registry_routes

log = get_logger(__name__)

DESCRIPTION = """
Pinwatch receives certificate pin validation failures and check summaries from
mobile apps. It reports to release teams when a backup key is trusted widely
enough to rotate the server certificate, and when an old pin can leave the next
release.
"""


class Pinwatch(FastAPI):
    """FastAPI, with the ingest endpoints served ahead of its middleware and router.

    Those requests still get a request id and an access line, but no
    middleware added with ``add_middleware``.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.direct_routes = DirectRoutes(ingest_routes.DIRECT, self.exception_handlers)
        self._direct_app = RequestContextMiddleware(self.direct_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.direct_routes.serves(scope):
            scope["app"] = self
            await self._direct_app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, engine: Engine | None = None
) -> Pinwatch:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = engine or create_db_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        log.info("server_started", database=engine.dialect.name, env=settings.env)
        yield
        log.info("server_stopped")

    app = Pinwatch(
        title="Pinwatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    metrics_routes.install_metrics(app)
    app.state.known_keys = KnownKeys()
    app.state.ingest_writer = IngestWriter(
        app.state.sessions, settings, app.state.metrics
    )

    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health.router)
    app.include_router(ingest_routes.router)
    app.include_router(registry_routes.router)
    app.include_router(readiness_routes.router)
    app.include_router(analysis_routes.router)
    app.include_router(metrics_routes.router)
    return app
