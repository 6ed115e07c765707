"""Starting and stopping the real servers of the integration tests.

Every server listens on a free port of 127.0.0.1 and writes its output to a
log file, whose end is shown when it does not start. Each Pinwatch server gets
a fresh SQLite database in its own folder.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from service.core.migrate import upgrade
from service.core.settings import get_settings
from service.registry.cli import create_token
from tests.conftest import TEST_SECRET

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0
POLL_SECONDS = 0.2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_tail(log: Path, characters: int = 3000) -> str:
    return log.read_text(errors="replace")[-characters:]


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it returns 200. Fail if the process exits or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"{process.args!r} exited with status {process.returncode} "
                f"at start:\n{log_tail(log)}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_SECONDS)
    pytest.fail(
        f"{url} did not return 200 within {STARTUP_SECONDS} s:\n{log_tail(log)}"
    )


def signal_group(group: int, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal_number)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process with SIGTERM, then SIGKILL its whole process group.

    SIGTERM goes to the process alone, as a container runtime sends it, and
    uvicorn then stops its workers. The process leads its own process group,
    so the SIGKILL also ends any worker that outlived it.
    """
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    signal_group(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, wait until ``ready_url`` returns 200, stop it on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=PROJECT_ROOT,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    try:
        wait_until_ready(ready_url, process, log)
        yield process
    finally:
        stop(process)


@contextmanager
def pinwatch_server(
    env: dict[str, str], folder: Path, workers: int = 1
) -> Iterator[str]:
    """Run ``pinwatch serve`` with ``workers`` worker processes, and yield its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "service.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    log = folder / f"pinwatch-{port}.log"
    with running(command, env, log, f"{url}/readyz"):
        yield url


@contextmanager
def server_environment(folder: Path, **extra: str) -> Iterator[dict[str, str]]:
    """Migrate a new database in ``folder``, and yield the environment of its server.

    The settings are also set in this process while the context is open, so
    that ``admin_token`` writes to the database the server reads. ``extra``
    variables go to the server only, so that this process never switches to
    multiprocess metrics.
    """
    database_url = f"sqlite:///{folder / 'pinwatch.db'}"
    values = {
        "PINWATCH_ENV": "test",
        "PINWATCH_SECRET": TEST_SECRET,
        "PINWATCH_DATABASE_URL": database_url,
        "PINWATCH_LOG_LEVEL": "WARNING",
        # Gauges follow the traffic within a second instead of 15.
        "PINWATCH_METRICS_CACHE_SECONDS": "1",
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            upgrade(database_url)
            env = dict(os.environ)
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            yield env | extra
        finally:
            get_settings.cache_clear()


def admin_token() -> str:
    """Create an admin token in the database of the current server environment."""
    _token_id, token = create_token("admin", "integration tests")
    return token
