import httpx
import pytest

from service.simulate import api
from service.simulate.api import PinwatchApi


def test_send_events_waits_out_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    monkeypatch.setattr(api.time, "sleep", waits.append)
    statuses = iter([429, 503, 202])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        if status == 202:
            body = {"accepted": 1, "duplicates": 0, "rejected": []}
            return httpx.Response(202, json=body)
        return httpx.Response(status, headers={"Retry-After": "3"})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    counts = PinwatchApi(http, "pwt_test").send_events("pwk_test", {}, compress=False)

    assert counts.accepted == 1
    assert waits == [3.0, 3.0]


def test_chunked_report_is_resent_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.time, "sleep", lambda _seconds: None)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        status = 429 if len(bodies) == 1 else 202
        return httpx.Response(status, headers={"Retry-After": "1"}, json={})

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://t")
    report = b"x" * 3000
    PinwatchApi(http, "pwt_test").send_report("pwk_test", report, chunked=True)

    assert bodies == [report, report]
