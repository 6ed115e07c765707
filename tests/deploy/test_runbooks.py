"""Runbooks: one page per alert, each saying how to confirm and act."""

import pytest

from tests.deploy.files import RUNBOOKS, alerting_rules

ALERT_NAMES = sorted({rule["alert"] for rule in alerting_rules()})
SECTIONS = ["## What it means", "## Confirm", "## What to do", "## Owner"]


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_runbook_has_every_section_in_order(alert: str) -> None:
    text = (RUNBOOKS / f"{alert}.md").read_text(encoding="utf-8")

    positions = [text.find(section) for section in SECTIONS]

    assert text.startswith(f"# {alert}\n")
    assert -1 not in positions
    assert positions == sorted(positions)


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_runbook_confirms_with_the_api(alert: str) -> None:
    text = (RUNBOOKS / f"{alert}.md").read_text(encoding="utf-8")

    assert "curl -fsS" in text
    assert "$PINWATCH_URL/" in text


def test_index_links_every_runbook() -> None:
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")

    for alert in ALERT_NAMES:
        assert f"]({alert}.md)" in index


def test_every_page_belongs_to_an_alert() -> None:
    pages = {path.stem for path in RUNBOOKS.glob("*.md")} - {"README"}

    assert pages == set(ALERT_NAMES)
