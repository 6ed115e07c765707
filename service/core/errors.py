"""The error vocabulary: one exception hierarchy and one JSON envelope.

Every error a client sees has the shape
``{"error": {"code": "snake_case", "message": "sentence", "details": [...]}}``.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.core.logging import get_logger

log = get_logger(__name__)


class PinwatchError(Exception):
    """Base of every error that maps to an HTTP error response."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or []
        self.headers = headers or {}


class InvalidInput(PinwatchError):
    status_code = 422
    code = "invalid_input"


class BadRequest(PinwatchError):
    status_code = 400
    code = "bad_request"


class Unauthorized(PinwatchError):
    status_code = 401
    code = "unauthorized"


class Forbidden(PinwatchError):
    status_code = 403
    code = "forbidden"


class NotFound(PinwatchError):
    status_code = 404
    code = "not_found"


class Conflict(PinwatchError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(PinwatchError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(PinwatchError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(PinwatchError):
    status_code = 429
    code = "rate_limited"


class StorageUnavailable(PinwatchError):
    status_code = 503
    code = "storage_unavailable"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] = []


class ErrorEnvelope(BaseModel):
    """The body of every error response."""

    error: ErrorBody


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declare error responses in OpenAPI with the shared envelope."""
    return {status: {"model": ErrorEnvelope} for status in statuses}


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "message": error["msg"],
        }
        for error in exc.errors()
    ]


def _invalid_json(error: dict[str, Any]) -> JSONResponse:
    # FastAPI puts the character position where decoding stopped after "body".
    reason = error.get("ctx", {}).get("error", error["msg"])
    position = error["loc"][-1]
    return error_response(
        400,
        "invalid_json",
        f"The body is not valid JSON ({reason}: character {position}).",
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception through the one envelope."""

    @app.exception_handler(PinwatchError)
    async def _pinwatch(_request: Request, exc: PinwatchError) -> JSONResponse:
        return error_response(
            exc.status_code, exc.code, exc.message, exc.details, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(
        _request: Request, exc: RequestValidationError
    ) -> JSONResponse:
        # A body that is not JSON at all is the same error as on the ingest
        # endpoints, not a field that failed validation.
        for error in exc.errors():
            if error["type"] == "json_invalid":
                return _invalid_json(error)
        details = _validation_details(exc)
        return error_response(
            422, "invalid_input", "The request is invalid; see details.", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(
            exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    # Starlette calls this one for any other exception, and raises the
    # exception again after the response, so the server logs its traceback.
    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("request_failed", error=type(exc).__name__)
        return error_response(
            500, "internal_error", "Pinwatch failed to handle the request."
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeoutError)
    async def _storage(_request: Request, exc: Exception) -> JSONResponse:
        error = storage_unavailable(exc)
        return error_response(
            error.status_code, error.code, error.message, headers=error.headers
        )


# Errors of the database, not of the request: it cannot be reached, stayed
# locked, or the pool has no free connection.
STORAGE_ERRORS = (OperationalError, PoolTimeoutError)


def storage_unavailable(exc: Exception) -> StorageUnavailable:
    """Log a database error that is not the request's fault, and return its 503."""
    log.error("storage_unavailable", error=type(exc).__name__)
    return StorageUnavailable(
        "The database is unavailable; retry later.", headers={"Retry-After": "5"}
    )
