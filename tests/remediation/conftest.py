"""Fixtures for the remediation tests: a virtual clock and fresh metrics (the store is shared)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics


@pytest.fixture
def clock() -> VirtualClock:
    """A virtual clock at the May 26 morning."""
    return VirtualClock(datetime(2026, 5, 26, 8, 0, tzinfo=UTC))


@pytest.fixture
def metrics() -> Metrics:
    """A fresh metrics registry."""
    return Metrics()
