"""Per-request context: a request id bound to every log line, one access line.

The access line carries the path without its query string, because iOS clients
send their ingest key as ``?key=`` and keys are never logged.
"""

import re
import secrets
import time

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.logging import get_logger
from service.core.security import SECRET_PREFIXES

log = get_logger("pinwatch.access")

# Successful requests to these paths are logged at DEBUG: apps post events and
# reports, and probes and Prometheus poll, many times a second, and the
# metrics count them.
# Their errors, and every other request, are logged at INFO.
QUIET_PATHS = frozenset(
    {"/v1/events", "/v1/reports", "/healthz", "/readyz", "/metrics"}
)

REQUEST_ID_KEY = "request_id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            # A client could send its key as the id, or inside it, which every
            # log line of the request would then carry.
            secret = any(prefix in text for prefix in SECRET_PREFIXES)
            if _REQUEST_ID.fullmatch(text) and not secret:
                return text
    # 32 random hex digits, as long as a UUID's. Every request without a safe
    # id of its own needs one, and token_hex takes about a quarter of the
    # time of uuid4().hex.
    return secrets.token_hex(16)


def request_id_of(scope: Scope) -> str | None:
    """Return the id that ``RequestContextMiddleware`` gave the request."""
    request_id: str | None = scope.get("state", {}).get(REQUEST_ID_KEY)
    return request_id


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _request_id(scope)
        # The ingest writer logs for the request from its own thread, so it
        # reads the id from here.
        scope.setdefault("state", {})[REQUEST_ID_KEY] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            quiet = status < 400 and scope["path"] in QUIET_PATHS
            (log.debug if quiet else log.info)(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
