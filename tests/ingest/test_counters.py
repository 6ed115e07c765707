from fastapi.testclient import TestClient

from service.registry.models import Domain
from tests.certs import Chain, make_chain
from tests.ingest.payloads import check_event, events_body, failure_event, post_events

APP = "android:com.example.bank"


def sample(client: TestClient, name: str, **labels: str) -> float | None:
    registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
    value: float | None = registry.get_sample_value(name, labels)
    return value


def events_total(client: TestClient, kind: str, outcome: str) -> float | None:
    return sample(
        client, "pinwatch_events_total", source="native", type=kind, outcome=outcome
    )


def test_event_outcomes_are_counted(
    client: TestClient, key: str, domain: Domain
) -> None:
    repeated = check_event()
    post_events(client, key, events_body(repeated))

    body = events_body(repeated, check_event(), check_event(count=0), {"type": "x"})
    post_events(client, key, body)

    assert events_total(client, "pin_check", "accepted") == 2
    assert events_total(client, "pin_check", "duplicate") == 1
    assert events_total(client, "pin_check", "rejected") == 1
    assert events_total(client, "unknown", "rejected") == 1


def test_failures_are_counted_by_cause(
    client: TestClient, key: str, domain: Domain, chain: Chain
) -> None:
    events = [failure_event(chain, known_pins=[chain.root.pin]) for _ in range(2)]

    post_events(client, key, events_body(*events, version="4.2.0"))

    value = sample(
        client,
        "pinwatch_pin_failures_total",
        domain="api.example.com",
        app=APP,
        app_version="4.2.0",
        classification="chain_invalid",
    )
    assert value == 2
    assert events_total(client, "pin_failure", "accepted") == 2


def test_unregistered_failures_use_bucket_label(
    client: TestClient, key: str, domain: Domain
) -> None:
    event = failure_event(make_chain("x.example.net"), "x.example.net")

    post_events(client, key, events_body(event))

    registry = client.app.state.metrics.registry  # type: ignore[attr-defined]
    domains = {
        sample.labels["domain"]
        for metric in registry.collect()
        if metric.name == "pinwatch_pin_failures"
        for sample in metric.samples
    }
    assert domains == {"unregistered"}


def test_checks_are_counted_by_count(
    client: TestClient, key: str, domain: Domain
) -> None:
    events = [check_event(count=5), check_event("other.example.net", count=3)]

    post_events(client, key, events_body(*events))

    checks = "pinwatch_pin_checks_total"
    assert sample(client, checks, domain="api.example.com", app=APP) == 5
    assert sample(client, checks, domain="unregistered", app=APP) == 3


def test_rejected_request_counts_nothing(client: TestClient, key: str) -> None:
    body = events_body(check_event())
    body["app"]["platform"] = "ios"

    post_events(client, key, body)

    assert events_total(client, "pin_check", "accepted") is None
