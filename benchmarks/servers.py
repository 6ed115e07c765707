"""Servers under test: uvicorn processes on 127.0.0.1 that the benchmark owns.

Every server runs with the same uvicorn options as ``pinwatch serve`` (no
access log, no proxy headers), so the bare app and Pinwatch differ only in
the application. Each server is stopped when its ``with`` block ends, also
on an error or Ctrl-C.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 10.0


class ServerError(RuntimeError):
    """A server that did not start, or exited while it was measured."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def uvicorn_command(app: str, port: int | str, workers: int) -> list[str]:
    """Return the uvicorn command line, with the options of ``pinwatch serve``."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]


def _kib(status: str, field: str) -> int:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children.extend(int(child) for child in task.read_text().split())
    return children


def _memory_kib(pid: int, field: str) -> int:
    """Return a /proc status field summed over a process and its descendants."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            total += _kib(Path(f"/proc/{current}/status").read_text(), field)
            pending.extend(_children(current))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            pending.extend(_children(current))
        except (FileNotFoundError, ProcessLookupError):
            continue
        # utime and stime are the 12th and 13th fields after the command name.
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class Server:
    """A running server: its URL, process and the command that started it."""

    name: str
    url: str
    port: int
    process: subprocess.Popen[bytes]
    command: list[str]

    def peak_rss_mib(self) -> float:
        """Return the resident-set high-water mark (VmHWM), summed over workers."""
        return _memory_kib(self.process.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        """Return the current resident set size (VmRSS), summed over workers."""
        return _memory_kib(self.process.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """Return the CPU time (user and system) used so far, summed over workers."""
        return _cpu_seconds(self.process.pid)

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(
                f"the {self.name} server exited with status {self.process.returncode}"
            )


def _wait_until_ready(server: Server, path: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"the {server.name} server exited at startup; log:\n"
                + log.read_text()[-2000:]
            )
        try:
            httpx.get(server.url + path, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise ServerError(
        f"the {server.name} server did not respond within {STARTUP_SECONDS} s"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # SIGINT makes uvicorn shut down gracefully, as Ctrl-C does.
    process.send_signal(signal.SIGINT)
    try:
        process.wait(SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(SHUTDOWN_SECONDS)


@contextmanager
def running_server(
    name: str,
    app: str,
    env: dict[str, str],
    log_dir: Path,
    workers: int = 1,
    ready_path: str = "/",
) -> Iterator[Server]:
    """Start uvicorn serving ``app`` on a free port and stop it afterwards.

    ``ready_path`` is requested until the server responds with any status.
    Server output goes to ``<log_dir>/<name>.log``.
    """
    port = free_port()
    command = uvicorn_command(app, port, workers)
    log = log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (fixed arguments, no shell)
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(name, f"http://{HOST}:{port}", port, process, command)
    try:
        _wait_until_ready(server, ready_path, log)
        yield server
    finally:
        _stop(process)
