"""What the registry knows of each probe: its class, its defaults and the secrets it needs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sbwatch.core.results import ProbeKind

if TYPE_CHECKING:  # the configuration reads this module: the types only, no import cycle
    from sbwatch.probes.base import Probe, ProbeContext


@dataclass(frozen=True)
class ProbeSpec:
    """One probe kind: how to build it, how often it runs by default, what it needs."""

    kind: ProbeKind
    implementation: str
    """``module:Class`` of the probe, imported when a probe is built: the configuration reads
    the specs, and a command that only reads the configuration needs no probe's libraries."""
    interval: timedelta = timedelta(seconds=30)
    timeout: timedelta = timedelta(seconds=10)
    secrets: tuple[str, ...] = ()
    """Project settings it cannot run without: ``db_dsn``, ``service_key``, ``mgmt_token``."""
    provider_wide: bool = False
    """One probe for the whole provider (the status page), configured outside the projects."""
    needs: str | None = None
    """A project setting (a list) that gives the probe its work, such as ``data_checks``: the
    probe runs when that list has entries (unless its probe table turns it off), and not at
    all, nor demands its secrets, when it is empty."""

    @property
    def factory(self) -> Callable[[ProbeContext], Probe]:
        """The probe's class, imported on first use."""
        module, _, name = self.implementation.partition(":")
        cls: Callable[[ProbeContext], Probe] = getattr(importlib.import_module(module), name)
        return cls
