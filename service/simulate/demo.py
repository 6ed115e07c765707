"""``make demo``: a key rotation, from the first backup-pin build to the switch.

Starts ``pinwatch serve`` on 127.0.0.1 with a fresh SQLite database in a
temporary folder. It registers a domain whose current pin comes from a chain
generated at run time and whose backup pin is ISRG Root X1 from certifi, then
drives simulated iOS and Android installs against it. It prints readiness
while few installs trust the backup key, again once the key passes the
threshold, and then rotates the backend to show the installs it cuts off.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from service.client import TIMEOUT_SECONDS
from service.core.settings import get_settings
from service.pins.pins import display_pin
from service.readiness.render import render_readiness
from service.readiness.schemas import ReadinessReport
from service.registry.cli import create_token
from service.simulate.api import SimulationError
from service.simulate.fleet import FleetSettings
from service.simulate.runner import DaySummary, Simulation, SimulationConfig
from service.simulate.scenario import common_name

HOSTNAME = "api.example.com"
# A small fleet that upgrades fast keeps the demo short, so the policy requires
# 50 active installs per app instead of the default 100.
INSTALLS_PER_APP = 120
UPGRADE_RATE = 0.65
MIN_INSTALLS = 50
BACKUP_DAY = 2
MAX_DAYS = 12
WORKERS = 4
STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 10.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def use_fresh_database(folder: Path) -> dict[str, str]:
    """Point this process at a new SQLite file; return the environment to pass on."""
    os.environ.update(
        {
            "PINWATCH_DATABASE_URL": f"sqlite:///{folder / 'pinwatch.db'}",
            "PINWATCH_ENV": "development",
            "PINWATCH_SECRET": secrets.token_urlsafe(32),
            "PINWATCH_LOG_LEVEL": "WARNING",
            # The demo sends days of fleet traffic in seconds through one key
            # per app, far past the per-key rate limit meant for real fleets.
            "PINWATCH_INGEST_RATE_PER_SECOND": "0",
        }
    )
    get_settings.cache_clear()
    return dict(os.environ)


def run_pinwatch(args: list[str], env: dict[str, str]) -> str:
    """Run a ``pinwatch`` command and return its output; raise on failure."""
    command = [sys.executable, "-m", "service.cli", *args]
    result = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        command,
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise SimulationError(
            f"'pinwatch {' '.join(args)}' failed with status "
            f"{result.returncode}: {result.stderr.strip()[-500:]}"
        )
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise SimulationError(f"the server exited at start:\n{output}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SimulationError(f"the server at {url} was not ready in {STARTUP_SECONDS} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server with SIGTERM, which uvicorn handles as a clean shutdown."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@contextmanager
def running_server(env: dict[str, str], folder: Path) -> Iterator[str]:
    """Serve on a free loopback port; yield the base URL, then stop the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / "server.log"
    command = [sys.executable, "-m", "service.cli", "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        server = subprocess.Popen(  # noqa: S603 (fixed arguments, no shell)
            command, env=env, cwd=PROJECT_ROOT, stdout=output, stderr=output
        )
    try:
        _wait_until_ready(url, server, log)
        yield url
    finally:
        _stop(server)


def print_readiness(title: str, summary: DaySummary) -> None:
    report = ReadinessReport.model_validate(summary.readiness)
    print(f"\n== {title} (after day {summary.day}) ==\n")
    print(render_readiness(report))
    print(flush=True)


def _roll_out(simulation: Simulation) -> DaySummary:
    """Run days until the backup key is ready; print readiness before and after."""
    for day in range(1, MAX_DAYS + 1):
        summary = simulation.run_day(day, rotated=False)
        print(summary.line(), flush=True)
        if day == BACKUP_DAY:
            print_readiness("Before: the first builds with the backup pin", summary)
        if summary.ready:
            print_readiness("After: the backup pin passed the threshold", summary)
            return summary
    raise SimulationError(f"the backup pin was not ready after {MAX_DAYS} days")


def _print_header(simulation: Simulation, installs: int) -> None:
    scenario = simulation.scenario
    backup_name = common_name(scenario.backup_certificate)
    print(f"Domain {scenario.hostname}, {installs} installs per app")
    print(f"  current pin {display_pin(scenario.current_pin)} (generated CA)")
    print(f"  backup pin  {display_pin(scenario.backup_pin)} ({backup_name})\n")


def run_demo(
    http: httpx.Client,
    token: str,
    installs: int = INSTALLS_PER_APP,
    min_installs: int = MIN_INSTALLS,
) -> None:
    """Roll out the backup pin until it is ready, then rotate the backend."""
    config = SimulationConfig(
        hostname=HOSTNAME,
        seed="demo",
        register=True,
        backup_day=BACKUP_DAY,
        policy={"min_installs": min_installs},
        workers=WORKERS,
    )
    settings = FleetSettings(installs_per_app=installs, upgrade_rate=UPGRADE_RATE)
    simulation = Simulation(http, token, config, settings)
    _print_header(simulation, installs)
    simulation.prepare()

    ready = _roll_out(simulation)
    rotated = simulation.run_day(ready.day + 1, rotated=True)
    print(rotated.line())
    print(
        f"\nThe backend now serves the backup key: "
        f"{rotated.delivery.cut_off_installs} installs that never upgraded to "
        "a build with the backup pin cannot connect."
    )


def run_in_folder(folder: Path) -> None:
    """Migrate a database in ``folder``, serve it, and run the demo against it."""
    env = use_fresh_database(folder)
    run_pinwatch(["migrate"], env)
    _token_id, token = create_token("admin", "demo")
    limits = httpx.Limits(max_connections=WORKERS)
    with running_server(env, folder) as url:
        print(f"Pinwatch serves at {url} from a new database in {folder}")
        with httpx.Client(base_url=url, timeout=TIMEOUT_SECONDS, limits=limits) as http:
            run_demo(http, token)


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pinwatch-demo-") as name:
        try:
            run_in_folder(Path(name))
        except SimulationError as exc:
            print(f"demo failed: {exc}", file=sys.stderr)
            return 1
    print(f"\nDone in {time.monotonic() - started:.1f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
