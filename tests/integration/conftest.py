"""Fixtures for tests that run ``pinwatch serve`` and Prometheus as processes."""

import pytest

from tests.deploy.tools import find_tool


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return find_tool("prometheus", "install the Debian package 'prometheus'")


@pytest.fixture(scope="session")
def promtool() -> str:
    return find_tool("promtool", "install the Debian package 'prometheus'")
