"""HTTP client of the ``pinwatch`` commands that talk to a running server.

The server URL comes from ``--url``, else ``PINWATCH_URL``, else the local
default. The API token always comes from ``PINWATCH_TOKEN``.
"""

import os
import sys
from collections.abc import Callable
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 30.0


class ClientError(Exception):
    """A failed client command, with a one-line message for the user."""


def add_url_argument(parser: Any) -> None:
    parser.add_argument(
        "--url",
        default=None,
        help=f"server base URL (default: $PINWATCH_URL or {DEFAULT_URL})",
    )


def default_transport() -> httpx.BaseTransport | None:
    """Return the transport for new clients, or None for real HTTP requests.

    Tests replace this function to route requests to an in-process app.
    """
    return None


def open_client(url: str | None) -> httpx.Client:
    """Open a client for the server, authenticated with ``PINWATCH_TOKEN``."""
    token = os.environ.get("PINWATCH_TOKEN", "").strip()
    if not token:
        raise ClientError(
            "PINWATCH_TOKEN is not set: create a token with "
            "'pinwatch token create --role reader' and export it."
        )
    return httpx.Client(
        base_url=url or os.environ.get("PINWATCH_URL") or DEFAULT_URL,
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
        details = [f"{item['field']}: {item['message']}" for item in error["details"]]
    except (ValueError, KeyError, TypeError):
        message = response.reason_phrase or "request failed"
        details = []
    if details:
        message += " (" + "; ".join(details) + ")"
    return f"HTTP {response.status_code} {message}"


def run_command(command: Callable[[], int]) -> int:
    """Run a client command; print a ClientError on stderr and return status 2."""
    try:
        return command()
    except ClientError as exc:
        print(f"pinwatch: {exc}", file=sys.stderr)
        return 2
