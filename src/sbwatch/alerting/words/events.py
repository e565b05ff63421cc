"""An incident's lines and its closing titles: who changed a size, and how it went."""

from __future__ import annotations

from sbwatch.alerting.words.sizes import ESCALATE
from sbwatch.core.durations import format_duration
from sbwatch.core.tiers import Tier


def incident_over_title(cause: str, quiet_s: float) -> str:
    """An incident that ends with nothing failing for a while."""
    return f"over: {cause} (nothing failing for {format_duration(quiet_s)})"


def incident_resolved_title(name: str, cause: str, lasted_s: float) -> str:
    """The title of the message that ends an incident with a resolve: its cause."""
    return f"RESOLVED {name}: {cause} (lasted {format_duration(lasted_s)})"


def who(actor: str) -> str:
    """Who made a compute change: sbwatch itself, or a person with ``sbwatch escalate``."""
    if actor.startswith("daemon"):
        return "sbwatch"
    return f"{actor.removeprefix('cli:')} ({ESCALATE})"


def raised_event(from_tier: Tier, to_tier: Tier, actor: str) -> str:
    """An incident's line: a compute change made, and by whom."""
    return f"compute raised {from_tier} -> {to_tier} by {who(actor)}"


def failed_event(to_tier: Tier, detail: str) -> str:
    """An incident's line: a compute change that did not go through."""
    return f"raise to {to_tier} failed: {detail}"


def recovered_event(to_tier: Tier, recovered_s: float) -> str:
    """An incident's line: healthy again on the new size."""
    return f"healthy on {to_tier} in {format_duration(recovered_s)}"


def unrecovered_event(to_tier: Tier) -> str:
    """An incident's line: the new size did not bring the services back."""
    return f"still unhealthy on {to_tier}"
