"""Value types the configuration models share: durations, time zones, the strict base model."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

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
