"""Servers, native batches and senders for the ingest fault tests.

The servers run ``pinwatch serve`` on a free port of 127.0.0.1 against a
database the test migrated, with the ingest rate limit off so that the load
of a test never gets 429.
"""

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.ingest.payloads import DEVICE_TIME

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOSTNAME = "api.example.com"
VERSION = "4.2.0"
REQUEST_SECONDS = 20.0
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """Return the environment of a server on ``database_url``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PINWATCH_") and name != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        {
            "PINWATCH_ENV": "test",
            "PINWATCH_SECRET": TEST_SECRET,
            "PINWATCH_DATABASE_URL": database_url,
            "PINWATCH_LOG_LEVEL": "WARNING",
            "PINWATCH_INGEST_RATE_PER_SECOND": "0",
        }
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"pinwatch serve exited at start:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"pinwatch serve was not ready in time:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def pinwatch_server(env: dict[str, str], folder: Path) -> Iterator[Server]:
    """Run ``pinwatch serve`` until the block ends; stop it unless it died first."""
    port = free_port()
    command = [sys.executable, "-m", "service.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = folder / f"pinwatch-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=output
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        _stop(process)


def check_event(event_id: str, count: int, pin: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "pin_check",
        "time": DEVICE_TIME,
        "hostname": HOSTNAME,
        "matched_pin": pin,
        "count": count,
    }


def native_batch(
    install_id: str, events: list[dict[str, Any]], version: str = VERSION
) -> dict[str, Any]:
    app = {"bundle_id": "com.example.bank", "platform": "android", "version": version}
    return {"app": app, "install_id": install_id, "events": events}


def event_ids(batch: dict[str, Any]) -> list[str]:
    return [event["id"] for event in batch["events"]]


def post_batch(http: httpx.Client, key: str, batch: dict[str, Any]) -> httpx.Response:
    return http.post("/v1/events", json=batch, headers={"X-Pinwatch-Key": key})


@dataclass
class Sender:
    """Posts batches from a queue on worker threads.

    A worker stops at its first request that gets no response (the server
    died), so every batch ends up with a response, unanswered or never sent.
    """

    url: str
    key: str
    batches: list[dict[str, Any]]
    responses: dict[int, httpx.Response] = field(default_factory=dict)
    unanswered: list[int] = field(default_factory=list)
    _pending: "queue.Queue[int]" = field(default_factory=queue.Queue)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, workers: int, indexes: list[int] | None = None) -> None:
        """Send the batches at ``indexes``, or all of them, on ``workers`` threads."""
        for index in range(len(self.batches)) if indexes is None else indexes:
            self._pending.put(index)
        for _ in range(workers):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self._threads)

    def acknowledged(self) -> int:
        with self._lock:
            return sum(
                1 for response in self.responses.values() if response.status_code == 202
            )

    def unsent(self) -> list[int]:
        """Return the batches no worker took; call it after ``join``."""
        indexes: list[int] = []
        while not self._pending.empty():
            indexes.append(self._pending.get_nowait())
        return indexes

    def _work(self) -> None:
        with httpx.Client(base_url=self.url, timeout=REQUEST_SECONDS) as http:
            while True:
                try:
                    index = self._pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    response = post_batch(http, self.key, self.batches[index])
                except httpx.TransportError:
                    with self._lock:
                        self.unanswered.append(index)
                    return
                with self._lock:
                    self.responses[index] = response
