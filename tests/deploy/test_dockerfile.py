"""The server image: hadolint lints the Dockerfile, and its shape is checked."""

import json
import re
from pathlib import Path

from tests.deploy.files import REPO, SERVE_COMMAND, run

DOCKERFILE = REPO / "Dockerfile"


def instructions(name: str) -> list[str]:
    """Return the arguments of every ``name`` instruction, continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    pattern = rf"^{name}\s+(.*)$"
    return [match.strip() for match in re.findall(pattern, text, flags=re.MULTILINE)]


def test_dockerfile_passes_hadolint(hadolint: str) -> None:
    result = run([hadolint, str(DOCKERFILE)])

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_flags_latest_base_image(hadolint: str, tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:latest\nCMD ["python"]\n')

    result = run([hadolint, str(bad)])

    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_build_has_builder_and_runtime_stages() -> None:
    stages = instructions("FROM")

    assert [stage.split()[-1] for stage in stages] == ["builder", "runtime"]
    assert any(line.startswith("--from=builder /app") for line in instructions("COPY"))


def test_builder_installs_from_lock_with_pinned_uv() -> None:
    commands = " ".join(instructions("RUN"))

    assert "--require-hashes -r requirements/uv.txt" in commands
    assert "uv sync --frozen --no-dev" in commands


def test_runtime_runs_as_non_root_user() -> None:
    users = instructions("USER")

    assert users == ["10001:10001"]


def test_healthcheck_probes_healthz_with_python() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")

    assert '"python", "-c"' in healthcheck
    assert "http://127.0.0.1:8000/healthz" in healthcheck
    assert "curl" not in healthcheck


def test_command_serves_one_process_on_all_interfaces() -> None:
    (command,) = instructions("CMD")

    assert json.loads(command) == SERVE_COMMAND
    assert "--workers" not in command


def test_secrets_come_from_the_environment() -> None:
    environment = " ".join(instructions("ENV") + instructions("ARG"))

    assert "PINWATCH_ENV=production" in environment
    assert "PINWATCH_DATABASE_URL" not in environment
    assert "PINWATCH_SECRET" not in environment


def test_build_context_leaves_out_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()

    for entry in (".venv", ".git", "var"):
        assert entry in ignored
