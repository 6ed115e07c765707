import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.core.settings import get_settings
from service.simulate import demo

DEMO_TIMEOUT_SECONDS = 90
DEMO_VARIABLES = (
    "PINWATCH_DATABASE_URL",
    "PINWATCH_ENV",
    "PINWATCH_SECRET",
    "PINWATCH_LOG_LEVEL",
)


@pytest.fixture
def restored_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo the demo's changes to this process's environment and settings."""
    for name in DEMO_VARIABLES:
        monkeypatch.setenv(name, "")
    yield
    get_settings.cache_clear()


def test_run_demo_prints_before_and_after(
    client: TestClient, admin_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    demo.run_demo(client, admin_token, installs=40, min_installs=15)

    output = capsys.readouterr().out
    before = output.index("== Before:")
    after = output.index("== After:")
    assert before < after
    assert "NOT READY" in output[before:after]
    assert "  READY" in output[after:]
    assert "(backend serves the backup key)" in output[after:]


@pytest.mark.slow
@pytest.mark.usefixtures("restored_environment")
def test_running_server_answers_then_stops(tmp_path: Path) -> None:
    env = demo.use_fresh_database(tmp_path)
    demo.run_pinwatch(["migrate"], env)

    with demo.running_server(env, tmp_path) as url:
        health = httpx.get(f"{url}/healthz", timeout=5.0)

    assert health.status_code == 200
    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=1.0)


@pytest.mark.slow
def test_demo_shows_backup_pin_becoming_ready() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.simulate.demo"],
        cwd=demo.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_SECONDS,
        check=False,
    )

    output = result.stdout
    before = output.index("== Before:")
    after = output.index("== After:")
    assert result.returncode == 0, result.stderr[-2000:]
    assert before < after
    assert "NOT READY" in output[before:after]
    assert "  READY" in output[after:]
    assert "(backend serves the backup key)" in output[after:]
    assert "cut off)" in output
