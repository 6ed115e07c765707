"""Finding the external tools that the deployment and integration tests run.

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
    """Return the path of a tool, or skip (fail under REQUIRE_TOOLS) without it."""
    path = shutil.which(name, path=SEARCH_PATH)
    if path is None:
        message = f"{name} is not installed: {install_hint}"
        if REQUIRE_TOOLS:
            pytest.fail(message)
        pytest.skip(message)
    return path
