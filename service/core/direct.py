"""Endpoints served ahead of FastAPI's middleware and router.

Every app install posts to the ingest endpoints, many times a second across a
fleet. In a py-spy profile of single-event ingest (benchmarks/analysis.md),
FastAPI's middleware, routing and dependency solving took about a quarter of
the samples, and these endpoints use none of it: they read the raw request,
raise ``PinwatchError`` and return a finished response. They are still
declared as FastAPI routes, which give the OpenAPI schema and handle the
other methods of their paths.
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]
# FastAPI types the exception argument of its handlers as Any.
ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


class DirectRoutes:
    """An ASGI app that serves a few ``(method, path)`` pairs and nothing else.

    An exception from an endpoint gets the response of the application's
    handler for its class, so errors read the same on every route. Handlers
    registered for a status code instead of a class are not used. An
    exception that only the handler of ``Exception`` covers is raised again
    after its response, so the server logs its traceback.
    """

    def __init__(
        self,
        routes: Mapping[tuple[str, str], Endpoint],
        handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.routes = routes
        # The application's own mapping, so handlers added later apply too.
        self.handlers = handlers

    def serves(self, scope: Scope) -> bool:
        return (
            scope["type"] == "http" and (scope["method"], scope["path"]) in self.routes
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.routes[(scope["method"], scope["path"])]
        request = Request(scope, receive, send)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler_class, handler = self._handler(exc)
            result = handler(request, exc)
            error_response = await result if inspect.isawaitable(result) else result
            await error_response(scope, receive, send)
            if handler_class is Exception:
                raise
            return
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> tuple[type, ExceptionHandler]:
        for cls in type(exc).__mro__:
            if cls in self.handlers:
                return cls, self.handlers[cls]
        raise exc
