"""Where alerts go and when (``[alerting]``, its routes and silences)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from sbwatch.config.secrets import RouteUrl, Secret, http_url
from sbwatch.config.types import Duration, HttpUrl, Interval, PositiveDuration
from sbwatch.config.types import StrictModel as _Model
from sbwatch.core.results import Severity


class RouteSettings(_Model):
    """One notification route: an apprise URL and what goes to it."""

    name: str = Field(pattern=r"^[a-z0-9_-]+$")
    url: RouteUrl
    severities: list[Severity] = Field(default_factory=lambda: list(Severity))
    projects: list[str] = Field(default_factory=lambda: ["*"])


class SilenceSettings(_Model):
    """A maintenance window from the config: alerts still open and close, nothing is sent."""

    project: str = "*"
    starts: AwareDatetime
    ends: AwareDatetime
    reason: str = "maintenance"

    @model_validator(mode="after")
    def _ends_after_start(self) -> SilenceSettings:
        if self.ends <= self.starts:
            raise ValueError("ends must be after starts")
        return self


class AlertingSettings(_Model):
    """Routing, reminders and the dead-man heartbeat."""

    routes: list[RouteSettings] = Field(default_factory=list)
    remind_warning: Interval = None
    """Re-send an open warning this often; "never" (the default): a warning is sent once, and
    a message follows only when it turns critical or resolves."""
    remind_critical: Interval = timedelta(hours=4)
    """Re-send an open critical this often, as a note at warning severity (its page was the
    open): the person is on it; a reminder after a long quiet, as Alertmanager's
    repeat_interval, not every hour."""
    min_duration: Duration = timedelta(seconds=30)
    """A warning must last this long before it alerts (criticals alert at once). A single
    failed probe never pages either way: it is confirmed by a second run first."""
    resolve_after: Duration = timedelta(minutes=5)
    """Healthy for this long before an alert closes."""
    heartbeat_url: Annotated[Secret | None, AfterValidator(http_url)] = None
    retry_max: PositiveDuration = timedelta(minutes=10)
    silences: list[SilenceSettings] = Field(default_factory=list)
    escalate_after: Interval = None
    """Pass a critical page nobody acknowledged within this on to ``escalate_to`` (once)."""
    escalate_to: list[str] = Field(default_factory=list)
    """Route names (of [[alerting.routes]]) an unacknowledged critical is passed on to."""
    public_url: HttpUrl | None = None
    """The daemon's HTTP endpoint as a phone reaches it (a reverse proxy's address): messages
    of an open alert to an ntfy route then carry an Acknowledge button posting there."""
    ack_secret: Secret | None = None
    """Signs each Acknowledge button's link (required with ``public_url``); never sent."""

    @model_validator(mode="after")
    def _ack_links_signed(self) -> AlertingSettings:
        if self.public_url is not None and self.ack_secret is None:
            raise ValueError(
                "ack_secret is required with public_url: it signs the Acknowledge links "
                '(a long random string, e.g. ack_secret = "env:SBWATCH_ACK_SECRET")'
            )
        return self
