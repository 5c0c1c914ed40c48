"""The unit tier: pure logic, no restic, no subprocess, no sleep; the whole tier runs in
seconds (`scripts/test tests/unit`, or `-m unit`)."""

from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if UNIT in Path(item.path).parents:
            item.add_marker(pytest.mark.unit)
