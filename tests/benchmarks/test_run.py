"""A smoke run of the benchmark: the cases run, and the page is written."""

from pathlib import Path

import pytest

from benchmarks.run import main

pytestmark = pytest.mark.slow


def test_quick_run_writes_page(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"

    status = main(
        [
            "--quick",
            "--duration",
            "1",
            "--cases",
            "bare,native_1_sqlite",
            "--connections",
            "16",
            "--output",
            str(page),
        ]
    )

    text = page.read_text()
    assert status == 0
    assert "| bare endpoint, 16 connections | " in text
    assert "| single-event ingest, 1 per request, SQLite, 16 connections | " in text
    assert "failed)" not in text
    assert "## Targets" in text


def test_unknown_case_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--quick", "--cases", "bare,nonsense"])

    assert status == 2
    assert "unknown cases: nonsense" in capsys.readouterr().err
