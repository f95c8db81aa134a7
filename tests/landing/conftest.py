"""Fixtures of the landing tests."""

from collections.abc import Callable
from pathlib import Path

import pytest

from assets.landing.center_config import CenterConfig, load_center


@pytest.fixture
def yaml_center(tmp_path: Path) -> Callable[[str], CenterConfig]:
    """Loads a center YAML text, written to demo.yaml in the test's folder."""
    def load(text: str) -> CenterConfig:
        path = tmp_path / "demo.yaml"
        path.write_text(text, encoding="utf-8")
        return load_center(path)

    return load
