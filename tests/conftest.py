"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def realdata() -> Path:
    """The team's real public grant files at ../shared/realdata (read-only, never copied)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data folder not found at {REALDATA} (it sits beside the checkout in CI)")
    return REALDATA
