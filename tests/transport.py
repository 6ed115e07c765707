"""A transport that hands the client commands' requests to the in-process app."""

import httpx
from fastapi.testclient import TestClient


def forward_to(test_client: TestClient) -> httpx.MockTransport:
    """Return a transport that sends each request through ``test_client``.

    It forwards the method, path, query, ``Authorization`` and ``Content-Type``
    headers and the body, and returns the status, content type and body.
    """

    def handle(request: httpx.Request) -> httpx.Response:
        response = test_client.request(
            request.method,
            request.url.raw_path.decode(),
            headers={
                name: request.headers[name]
                for name in ("Authorization", "Content-Type")
                if name in request.headers
            },
            content=request.content,
        )
        return httpx.Response(
            response.status_code,
            headers={"Content-Type": response.headers["Content-Type"]},
            content=response.content,
        )

    return httpx.MockTransport(handle)
