"""The Management API token's expiry: said 30 and 7 days ahead and once expired, each once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sbwatch.alerting.words import expiry_body, expiry_title
from sbwatch.config.settings import Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import Severity
from sbwatch.policy.credentials import token_expiry
from sbwatch.watch.credentials import TokenExpiryWatch

EXPIRES = date(2026, 9, 1)
DAY0 = datetime(2026, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days_before", "stage", "severity"),
    [
        (45, None, None),
        (30.5, None, None),
        (30, 30, Severity.WARNING),
        (8, 30, Severity.WARNING),
        (7, 7, Severity.CRITICAL),
        (0.5, 7, Severity.CRITICAL),
        (0, 0, Severity.CRITICAL),
        (-3, 0, Severity.CRITICAL),
    ],
)
def test_the_stages(days_before: float, stage: int | None, severity: Severity | None) -> None:
    """Nothing over 30 days out; a warning from 30 days, critical from 7, critical expired."""
    notice = token_expiry(EXPIRES, DAY0 - timedelta(days=days_before))
    assert (stage, severity) == (
        (None, None) if notice is None else (notice.stage, notice.severity)
    )


def test_the_words_say_when_and_what_to_do() -> None:
    """The title gives the days left and the date; the body says how to renew."""
    notice = token_expiry(EXPIRES, DAY0 - timedelta(days=12, hours=3))
    assert notice is not None
    assert "the Management API token expires in 12 days (2026-09-01)" == expiry_title(notice)
    assert "mgmt_token_expires" in expiry_body(notice)
    expired = token_expiry(EXPIRES, DAY0 + timedelta(hours=1))
    assert expired is not None
    assert "the Management API token expired on 2026-09-01" == expiry_title(expired)


class Said:
    """An announcer that keeps what it was asked to say."""

    def __init__(self) -> None:
        self.notices: list[tuple[Severity, str, str]] = []

    async def provider_notice(
        self, severity: Severity, title: str, body: str, subject: str = "mail"
    ) -> None:
        """Keep one notice."""
        self.notices.append((severity, title, subject))


async def test_each_stage_is_said_once_and_the_gauge_set() -> None:
    """Checked every 6 hours for 40 days: three notices (30, 7, expired), each once; the expiry
    is exported for the Prometheus rules."""
    clock = VirtualClock(DAY0 - timedelta(days=35))
    said = Said()
    metrics = Metrics()
    announcer: Any = said
    watch = TokenExpiryWatch(EXPIRES, announcer=announcer, clock=clock, metrics=metrics)
    for _ in range(40 * 4):
        await watch.check()
        clock.advance(6 * 3600)
    assert [Severity.WARNING, Severity.CRITICAL, Severity.CRITICAL] == [n[0] for n in said.notices]
    assert {"token"} == {n[2] for n in said.notices}
    assert said.notices[2][1].startswith("the Management API token expired")
    value = metrics.registry.get_sample_value("sbwatch_mgmt_token_expiry_timestamp_seconds")
    assert DAY0.timestamp() == value


def test_the_expiry_is_a_date_in_the_configuration() -> None:
    """mgmt_token_expires takes a TOML date; anything else is refused, naming the key."""
    assert (
        EXPIRES == Settings.model_validate({"mgmt_token_expires": "2026-09-01"}).mgmt_token_expires
    )
    with pytest.raises(ValueError, match="mgmt_token_expires"):
        Settings.model_validate({"mgmt_token_expires": "soon"})
