"""HTTP client of the ``pinwatch`` commands that talk to a running server.

The server URL comes from ``--url``, else ``PINWATCH_URL``, else the local
default. The API token always comes from ``PINWATCH_TOKEN``.
"""

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 30.0

Model = TypeVar("Model", bound=BaseModel)


class ClientError(Exception):
    """A failed client command, with a one-line message for the user."""


def add_url_argument(parser: Any) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"server base URL (default: $PINWATCH_URL or {DEFAULT_URL})",
    )


def add_output_arguments(parser: Any) -> None:
    """Add ``--json`` and ``--url``, which every command that queries a server takes."""
    parser.add_argument(
        "--json", action="store_true", help="print the JSON response instead of text"
    )
    add_url_argument(parser)


def server_url(url: str | None) -> str:
    """Return the ``--url`` value, else ``PINWATCH_URL``, else the local default."""
    return url or os.environ.get("PINWATCH_URL") or DEFAULT_URL


def api_token(role: str = "reader") -> str:
    """Return ``PINWATCH_TOKEN``, or raise ClientError naming ``role`` when unset."""
    token = os.environ.get("PINWATCH_TOKEN", "").strip()
    if not token:
        raise ClientError(
            "PINWATCH_TOKEN is not set: create a token with "
            f"'pinwatch token create --role {role}' and export it."
        )
    return token


def default_transport() -> httpx.BaseTransport | None:
    """Return the transport for new clients, or None for real HTTP requests.

    Tests replace this function to route requests to an in-process app.
    """
    return None


def open_client(url: str | None, role: str = "reader") -> httpx.Client:
    """Open a client for the server, authenticated with ``PINWATCH_TOKEN``.

    ``role`` is the token role the command needs, named when the token is missing.
    """
    token = api_token(role)
    return httpx.Client(
        base_url=server_url(url),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=TIMEOUT_SECONDS,
        transport=default_transport(),
    )


def request_json(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Send one request and return its JSON body, or raise ClientError on failure."""
    try:
        response = client.request(method, path, **kwargs)
    except httpx.TimeoutException as exc:
        raise ClientError(f"request to {client.base_url} timed out: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach {client.base_url}: {exc}") from exc
    if response.is_error:
        raise ClientError(_error_message(response))
    try:
        return response.json()
    except ValueError as exc:
        raise ClientError(
            f"{client.base_url} returned a body that is not JSON "
            f"(status {response.status_code})"
        ) from exc


def _error_message(response: httpx.Response) -> str:
    """Turn the server's error envelope into one line."""
    try:
        error = response.json()["error"]
        message = f"{error['code']}: {error['message']}"
        # Details of other shapes (such as a hostname) stay out of the line.
        details = [
            f"{item['field']}: {item['message']}"
            for item in error["details"]
            if isinstance(item, dict) and {"field", "message"} <= item.keys()
        ]
    except (ValueError, KeyError, TypeError):
        message = response.reason_phrase or "request failed"
        details = []
    if details:
        message += " (" + "; ".join(details) + ")"
    return f"HTTP {response.status_code} {message}"


def parse_response(model: type[Model], body: Any) -> Model:
    """Validate a response body, or raise ClientError naming the expected model."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        count = exc.error_count()
        fields = "field" if count == 1 else "fields"
        raise ClientError(
            f"the server response is not a valid {model.__name__}: "
            f"{count} invalid {fields}"
        ) from exc


def run_command(command: Callable[[], int]) -> int:
    """Run a client command; print a ClientError on stderr and return status 2."""
    try:
        return command()
    except ClientError as exc:
        print(f"pinwatch: {exc}", file=sys.stderr)
        return 2
