"""Requests the load generator sends: native batches, TrustKit reports and GETs.

Each source is a small picklable dataclass, because worker processes get it
through ``multiprocessing``. Native events carry ids made of a run tag and
the (worker, connection, request, position) numbers, so every id is unique
and the server stores every event instead of counting duplicates.
"""

from dataclasses import dataclass

import orjson

# A real SDK reports one install's checks, so each request comes from one
# install. The installs cycle through this many ids, spread over the versions.
INSTALL_POOL = 20_000
EVENT_TIME = "2026-05-01T12:00:00Z"


def http_request(
    method: str, target: str, headers: dict[str, str], body: bytes
) -> bytes:
    """Return a complete HTTP/1.1 request with a Content-Length."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _accepted(status: int, body: bytes) -> int:
    """Return the ``accepted`` count of a 202 ingest response, else -1."""
    if status != 202:
        return -1
    answer = orjson.loads(body)
    if answer.get("rejected"):
        return -1
    return int(answer["accepted"])


@dataclass(frozen=True)
class NativeEvents:
    """``POST /v1/events`` bodies of ``pin_check`` events with unique ids."""

    key: str
    run_tag: str
    hostnames: tuple[str, ...]
    versions: tuple[str, ...]
    known_pins: tuple[str, ...]
    served_pins: tuple[str, ...]
    events_per_request: int

    def _event(self, event_id: str, position: int) -> dict[str, object]:
        return {
            "id": event_id,
            "type": "pin_check",
            "time": EVENT_TIME,
            "hostname": self.hostnames[position % len(self.hostnames)],
            "known_pins": list(self.known_pins),
            "served_pins": list(self.served_pins),
            "matched_pin": self.known_pins[0],
            "count": 1 + position % 40,
        }

    def body(self, worker: int, connection: int, sequence: int) -> bytes:
        prefix = f"{self.run_tag}-{worker}-{connection}-{sequence}"
        install = (sequence * 7919 + connection * 104_729 + worker) % INSTALL_POOL
        document = {
            "app": {"version": self.versions[install % len(self.versions)]},
            "install_id": f"bench-install-{install}",
            "sdk": "pinwatch-bench/1",
            "events": [
                self._event(f"{prefix}-{position}", position)
                for position in range(self.events_per_request)
            ],
        }
        return orjson.dumps(document)

    def build(self, worker: int, connection: int, sequence: int) -> bytes:
        headers = {"Content-Type": "application/json", "X-Pinwatch-Key": self.key}
        body = self.body(worker, connection, sequence)
        return http_request("POST", "/v1/events", headers, body)

    def events(self, status: int, body: bytes) -> int:
        return _accepted(status, body)


@dataclass(frozen=True)
class BareEvents:
    """The native bodies, posted to the bare app, which returns 202 and no body."""

    native: NativeEvents

    def build(self, worker: int, connection: int, sequence: int) -> bytes:
        return self.native.build(worker, connection, sequence)

    def events(self, status: int, body: bytes) -> int:
        return self.native.events_per_request if status == 202 else -1


@dataclass(frozen=True)
class Reports:
    """``POST /v1/reports?key=`` with prepared TrustKit bodies, sent in turn."""

    # (ingest key of the report's app, body)
    bodies: tuple[tuple[str, bytes], ...]

    def build(self, worker: int, connection: int, sequence: int) -> bytes:
        index = (sequence + connection * 31 + worker) % len(self.bodies)
        key, body = self.bodies[index]
        headers = {"Content-Type": "application/json"}
        return http_request("POST", f"/v1/reports?key={key}", headers, body)

    def events(self, status: int, body: bytes) -> int:
        if status != 202:
            return -1
        answer = orjson.loads(body)
        return -1 if answer.get("quarantined") else int(answer["accepted"])


@dataclass(frozen=True)
class Get:
    """One GET request, sent again and again; a 200 counts as one event."""

    target: str
    token: str = ""

    def build(self, worker: int, connection: int, sequence: int) -> bytes:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return http_request("GET", self.target, headers, b"")

    def events(self, status: int, body: bytes) -> int:
        return 1 if status == 200 else -1
