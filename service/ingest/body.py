"""Request bodies of the ingest endpoints: size limits, gzip, media type and JSON.

The body is read as a stream, so a chunked upload without ``Content-Length``
is stopped as soon as it passes the limit. A gzip body is inflated in bounded
steps, so a small compressed body (a gzip bomb) cannot expand past
``max_decompressed_bytes`` in memory.
"""

import re
import zlib

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from service.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from service.core.settings import Settings

# Native bodies nest 4 levels deep and reports 2, so 32 leaves room for
# extra fields while bounding the walk over a hostile document.
MAX_JSON_DEPTH = 32

_JSON_MEDIA_TYPE = re.compile(r"application/(?:[a-z0-9.+-]+\+)?json")
_GZIP = 16 + zlib.MAX_WBITS  # wbits for a gzip header and trailer


class GzipDecoder:
    """Inflate a gzip stream chunk by chunk, stopping past ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self._inflater = zlib.decompressobj(wbits=_GZIP)
        self._limit = limit
        self._size = 0

    def feed(self, data: bytes) -> bytes:
        pieces: list[bytes] = []
        while data:
            # Asking for one byte more than the room left shows an overflow
            # without inflating the rest of a gzip bomb.
            pieces.append(self._inflate(data, self._limit - self._size + 1))
            data = self._inflater.unconsumed_tail
        self._reject_trailing_data()
        return b"".join(pieces)

    def finish(self) -> bytes:
        """Return the last inflated bytes, or raise when the stream is truncated."""
        rest = self._count(self._inflater.flush())
        if not self._inflater.eof:
            raise _invalid_gzip("the gzip stream is truncated")
        self._reject_trailing_data()
        return rest

    def _inflate(self, data: bytes, max_length: int) -> bytes:
        try:
            return self._count(self._inflater.decompress(data, max_length))
        except zlib.error as exc:
            raise _invalid_gzip(f"the body is not valid gzip ({exc})") from exc

    def _count(self, piece: bytes) -> bytes:
        self._size += len(piece)
        if self._size > self._limit:
            raise PayloadTooLarge(
                f"The body inflates to more than {self._limit} bytes: send "
                "fewer events per request.",
                code="decompressed_too_large",
            )
        return piece

    def _reject_trailing_data(self) -> None:
        if self._inflater.eof and self._inflater.unused_data:
            raise _invalid_gzip("the body has data after the end of the gzip stream")


class JsonTooDeep(BadRequest):
    """Valid JSON that is nested deeper than ``MAX_JSON_DEPTH`` levels."""

    code = "too_deep"


def _invalid_gzip(reason: str) -> BadRequest:
    return BadRequest(
        f"The gzip body is invalid: {reason}. Send one complete gzip stream, "
        "or no Content-Encoding.",
        code="invalid_gzip",
    )


def check_json_media_type(request: Request) -> None:
    """Reject a Content-Type other than JSON. A body without one is read as JSON."""
    header = request.headers.get("content-type", "").strip()
    media_type = header.split(";", 1)[0].strip().lower()
    if header and not _JSON_MEDIA_TYPE.fullmatch(media_type):
        raise UnsupportedMediaType(
            f"Content-Type {media_type or header!r} is not supported: send "
            "application/json.",
            code="unsupported_media_type",
        )


def _decoder(request: Request, settings: Settings) -> GzipDecoder | None:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return GzipDecoder(settings.max_decompressed_bytes)
    raise UnsupportedMediaType(
        f"Content-Encoding {encoding!r} is not supported: send gzip or no encoding.",
        code="unsupported_encoding",
    )


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The body is larger than {limit} bytes: send fewer events per request.",
        code="payload_too_large",
    )


def _check_declared_length(request: Request, limit: int) -> None:
    # The server rejects a malformed Content-Length itself. Whatever the header
    # claims, read_body counts the bytes it streams.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def read_body(request: Request, settings: Settings) -> bytes:
    """Read the request body within the limits and return it decompressed."""
    decoder = _decoder(request, settings)
    _check_declared_length(request, settings.max_body_bytes)
    received = 0
    pieces: list[bytes] = []
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > settings.max_body_bytes:
                raise _too_large(settings.max_body_bytes)
            pieces.append(decoder.feed(chunk) if decoder else chunk)
    except ClientDisconnect as exc:
        raise BadRequest(
            "The client disconnected before the body was complete.",
            code="incomplete_body",
        ) from exc

    if decoder is not None:
        pieces.append(decoder.finish())
    return b"".join(pieces)


_CONTAINERS = (dict, list)


def _exceeds_depth(document: object, limit: int) -> bool:
    # Level by level, so the walk stops once ``limit`` levels are seen. The
    # isinstance checks use a tuple, which is faster than a union type.
    level = [document] if isinstance(document, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, _CONTAINERS)
        ]
    return False


def _too_deep() -> JsonTooDeep:
    return JsonTooDeep(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")


def load_json(body: bytes) -> object:
    """Decode a JSON body, raising ``invalid_json`` or ``too_deep`` (both 400)."""
    try:
        document: object = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson (checked with 3.13) stops at its own depth limit of 1024 with
        # this message.
        if "depth limit" in str(exc):
            raise _too_deep() from exc
        raise BadRequest(
            f"The body is not valid JSON: {exc}.", code="invalid_json"
        ) from exc

    if _exceeds_depth(document, MAX_JSON_DEPTH):
        raise _too_deep()
    return document
