"""Value types the configuration models share: durations, time zones, ports and URLs, the strict
base model."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from sbwatch.core.cron import cron_trigger
from sbwatch.core.durations import parse_duration


class StrictModel(BaseModel):
    """A frozen model that refuses unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def to_timedelta(value: Any) -> Any:
    """A duration written as text ("30s", "5m"); a bare number is refused (which unit?)."""
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: write it with a unit, like '{value}s'")
    return value


def positive(value: timedelta) -> timedelta:
    """A duration longer than zero."""
    if value.total_seconds() <= 0:
        raise ValueError("must be longer than 0s")
    return value


def zone(value: str | None) -> str | None:
    """An IANA time zone name (or None)."""
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name like 'Europe/Berlin'"
        ) from None
    return value


Duration = Annotated[timedelta, BeforeValidator(to_timedelta)]
PositiveDuration = Annotated[timedelta, BeforeValidator(to_timedelta), AfterValidator(positive)]
TimeZoneName = Annotated[str | None, AfterValidator(zone)]


def _never_or_duration(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() == "never":
        return None
    return to_timedelta(value)


def _positive_or_none(value: timedelta | None) -> timedelta | None:
    return None if value is None else positive(value)


def is_false(value: Any) -> bool:
    """A value pydantic reads as False (from TOML or from the environment's text)."""
    return value is False or str(value).lower() in {"false", "0", "no", "off", "f", "n"}


Interval = Annotated[
    timedelta | None, BeforeValidator(_never_or_duration), AfterValidator(_positive_or_none)
]
"""A duration, or "never"."""
Port = Annotated[int, Field(ge=0, le=65535)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")]
ProjectRef = Annotated[str, Field(pattern=r"^[a-z0-9]{20}$")]


def _cron(value: str) -> str:
    try:
        cron_trigger(value)
    except ValueError as exc:
        raise ValueError(
            f"invalid schedule {value!r} ({exc}): write five cron fields, minute hour day "
            "month weekday, like '30 3 * * *' (03:30 every day) or '0 2 * * sun'"
        ) from None
    return " ".join(value.split())


CronExpr = Annotated[str, AfterValidator(_cron)]
"""Five cron fields (a backup's schedule, a repeating maintenance window), spaces normalised."""
