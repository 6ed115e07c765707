import gzip
import zlib
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from service.core.errors import BadRequest, PayloadTooLarge
from service.ingest.body import GzipDecoder, JsonTooDeep, load_json
from tests.ingest.conftest import ClientFactory
from tests.ingest.payloads import check_event, error_code, events_body


def post_raw(
    client: TestClient, key: str, content: bytes | Iterator[bytes], **headers: str
) -> Response:
    headers = {"X-Pinwatch-Key": key, "Content-Type": "application/json", **headers}
    return client.post("/v1/events", content=content, headers=headers)


def encoded(body: object) -> bytes:
    return orjson.dumps(body)


def nested_list(depth: int) -> object:
    """Return an array nested ``depth`` levels deep: [[...]]."""
    document: object = []
    for _ in range(depth - 1):
        document = [document]
    return document


def test_invalid_json_is_400(client: TestClient, key: str) -> None:
    response = post_raw(client, key, b'{"events": [')

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_invalid_utf8_is_400(client: TestClient, key: str) -> None:
    response = post_raw(client, key, b'{"events": [], "sdk": "\xff"}')

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_empty_body_is_400(client: TestClient, key: str) -> None:
    response = post_raw(client, key, b"")

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


def test_deep_json_is_400(client: TestClient, key: str) -> None:
    body = events_body(check_event())
    body["extra"] = nested_list(40)

    response = post_raw(client, key, encoded(body))

    assert response.status_code == 400
    assert error_code(response) == "too_deep"


def test_json_beyond_parser_depth_is_400(client: TestClient, key: str) -> None:
    response = post_raw(client, key, b"[" * 5000 + b"]" * 5000)

    assert response.status_code == 400
    assert error_code(response) == "too_deep"


def test_body_over_declared_limit_is_413(client_with: ClientFactory, key: str) -> None:
    client = client_with(max_body_bytes=1000)
    body = events_body(*[check_event() for _ in range(20)])

    response = post_raw(client, key, encoded(body))

    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_chunked_body_over_limit_is_413(client_with: ClientFactory, key: str) -> None:
    client = client_with(max_body_bytes=1000)
    content = encoded(events_body(*[check_event() for _ in range(20)]))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 100):
            yield content[start : start + 100]

    response = post_raw(client, key, chunks())

    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_chunked_body_within_limit_is_accepted(client: TestClient, key: str) -> None:
    content = encoded(events_body(check_event()))

    response = post_raw(client, key, iter([content[:10], content[10:]]))

    assert response.status_code == 202
    assert response.json()["accepted"] == 1


def test_gzip_body_is_accepted(client: TestClient, key: str) -> None:
    content = gzip.compress(encoded(events_body(check_event(), check_event())))

    response = post_raw(client, key, content, **{"Content-Encoding": "gzip"})

    assert response.status_code == 202
    assert response.json()["accepted"] == 2


def test_gzip_bomb_is_413(client: TestClient, key: str) -> None:
    bomb = gzip.compress(b" " * (9 * 1024 * 1024))

    response = post_raw(client, key, bomb, **{"Content-Encoding": "gzip"})

    assert len(bomb) < 100_000
    assert response.status_code == 413
    assert error_code(response) == "decompressed_too_large"


def test_truncated_gzip_is_400(client: TestClient, key: str) -> None:
    content = gzip.compress(encoded(events_body(check_event())))

    response = post_raw(client, key, content[:-12], **{"Content-Encoding": "gzip"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_gzip"


def test_plain_body_labelled_gzip_is_400(client: TestClient, key: str) -> None:
    content = encoded(events_body(check_event()))

    response = post_raw(client, key, content, **{"Content-Encoding": "gzip"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_gzip"


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, br"])
def test_other_encoding_is_415(client: TestClient, key: str, encoding: str) -> None:
    content = encoded(events_body(check_event()))

    response = post_raw(client, key, content, **{"Content-Encoding": encoding})

    assert response.status_code == 415
    assert error_code(response) == "unsupported_encoding"


@pytest.mark.parametrize(
    "media_type", ["text/plain", "application/xml", ";charset=utf-8", ";;;"]
)
def test_non_json_media_type_is_415(
    client: TestClient, key: str, media_type: str
) -> None:
    content = encoded(events_body(check_event()))

    response = post_raw(client, key, content, **{"Content-Type": media_type})

    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


@pytest.mark.parametrize(
    "media_type",
    ["application/json; charset=utf-8", "application/vnd.pinwatch+json", ""],
)
def test_json_media_types_are_accepted(
    client: TestClient, key: str, media_type: str
) -> None:
    content = encoded(events_body(check_event()))

    response = post_raw(client, key, content, **{"Content-Type": media_type})

    assert response.status_code == 202


def test_decoder_stops_at_limit() -> None:
    decoder = GzipDecoder(limit=1000)
    compressed = gzip.compress(b"a" * 5000)

    with pytest.raises(PayloadTooLarge) as raised:
        decoder.feed(compressed)

    assert raised.value.code == "decompressed_too_large"


def test_decoder_inflates_in_pieces() -> None:
    data = bytes(range(256)) * 40
    compressed = gzip.compress(data)
    decoder = GzipDecoder(limit=len(data))

    pieces = [decoder.feed(compressed[i : i + 7]) for i in range(0, len(compressed), 7)]
    pieces.append(decoder.finish())

    assert b"".join(pieces) == data


def test_decoder_rejects_data_after_stream() -> None:
    decoder = GzipDecoder(limit=1000)

    with pytest.raises(BadRequest) as raised:
        decoder.feed(gzip.compress(b"one") + gzip.compress(b"two"))

    assert raised.value.code == "invalid_gzip"


def test_decoder_rejects_zlib_stream() -> None:
    decoder = GzipDecoder(limit=1000)

    with pytest.raises(BadRequest) as raised:
        decoder.feed(zlib.compress(b"not gzip"))

    assert raised.value.code == "invalid_gzip"


def test_load_json_allows_limit_depth() -> None:
    document = nested_list(32)

    loaded = load_json(orjson.dumps(document))

    assert loaded == document


def test_load_json_rejects_one_level_more() -> None:
    document = nested_list(33)

    with pytest.raises(JsonTooDeep):
        load_json(orjson.dumps(document))
