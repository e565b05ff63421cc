"""What every probe is: a small object that observes one thing and returns a ProbeResult."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sbwatch.core.clock import Clock
from sbwatch.core.results import ProbeKind, ProbeResult

if TYPE_CHECKING:  # types only: this module imports neither httpx nor the configuration
    import httpx

    from sbwatch.config.settings import ProjectSettings, Settings


@dataclass(frozen=True)
class ProbeContext:
    """Everything a probe may use; built once per (project, probe) by the app."""

    settings: Settings
    project: ProjectSettings
    http: httpx.AsyncClient  # shared by every HTTP probe of the daemon
    clock: Clock


class Probe(Protocol):
    """One probe of one project. ``run`` returns an outcome for every expected failure;
    an exception means a bug and is turned into ``outcome=error`` by the runner."""

    kind: ProbeKind

    async def run(self) -> ProbeResult:
        """Observe once."""
        ...

    async def aclose(self) -> None:
        """Release what the probe holds (connections)."""
        ...
