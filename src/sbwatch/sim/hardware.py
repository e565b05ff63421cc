"""The simulated provider's machines: the cloud instance behind each compute size.

This is the simulator's own truth, written from the instance types (t4g up to medium, m6g
above), in the units the cloud lists them: disk bandwidth in megabits per second and IOPS,
each with a sustained and a burst figure. Nothing here is shared with sbwatch's estimator,
which knows the sizes only from the provider's published table.
"""

from __future__ import annotations

from dataclasses import dataclass

MEGABIT = 125_000.0
"""Bytes per second in one megabit per second."""
BURST_BALANCE_S = 30 * 60
"""An instance may burst its disk for 30 minutes a day from a full balance."""


@dataclass(frozen=True, slots=True)
class Machine:
    """One compute size as the simulated cloud runs it."""

    size: str
    variant: str | None
    instance: str
    vcpus: int
    memory_gb: float
    hourly_usd: float
    sustained_mbit: float
    burst_mbit: float
    sustained_iops: float
    burst_iops: float

    @property
    def sustained_bytes_s(self) -> float:
        """Disk bandwidth the instance keeps up for ever, bytes per second."""
        return self.sustained_mbit * MEGABIT

    @property
    def burst_bytes_s(self) -> float:
        """Disk bandwidth while the burst balance lasts, bytes per second."""
        return self.burst_mbit * MEGABIT

    @property
    def monthly_usd(self) -> float:
        """The price of a 730-hour month."""
        return round(self.hourly_usd * 730, 2)

    @property
    def label(self) -> str:
        """The size's name as the dashboard prints it."""
        return (
            self.size.upper() if self.size[0].isdigit() or self.size == "xl" else self.size.title()
        )


MACHINES: tuple[Machine, ...] = (
    # The cloud lists a little more than the provider's rounded figures: these are the truth.
    Machine("nano", None, "t4g.nano", 2, 0.5, 0.0, 43, 2088, 250, 11_800),
    Machine("micro", "ci_micro", "t4g.micro", 2, 1, 0.01344, 88, 2088, 500, 11_800),
    Machine("small", "ci_small", "t4g.small", 2, 2, 0.0206, 176, 2088, 1_000, 11_800),
    Machine("medium", "ci_medium", "t4g.medium", 2, 4, 0.0822, 312, 2088, 2_000, 11_800),
    Machine("large", "ci_large", "m6g.large", 2, 8, 0.1517, 632, 4752, 3_600, 20_000),
    Machine("xl", "ci_xlarge", "m6g.xlarge", 4, 16, 0.2877, 1192, 4752, 6_000, 20_000),
    Machine("2xl", "ci_2xlarge", "m6g.2xlarge", 8, 32, 0.562, 2376, 4752, 12_000, 20_000),
    Machine("4xl", "ci_4xlarge", "m6g.4xlarge", 16, 64, 1.32, 4752, 4752, 20_000, 20_000),
    Machine("8xl", "ci_8xlarge", "m6g.8xlarge", 32, 128, 2.562, 9504, 9504, 40_000, 40_000),
)
SIZES = tuple(m.size for m in MACHINES)

_BY_SIZE = {m.size: m for m in MACHINES}
_BY_VARIANT = {m.variant: m for m in MACHINES if m.variant}


def machine(size: str) -> Machine:
    """The machine of a size; KeyError naming it when the cloud has none."""
    try:
        return _BY_SIZE[size]
    except KeyError:
        raise KeyError(f"no compute size {size!r}") from None


def by_variant(variant: str) -> Machine | None:
    """The machine of an add-on variant id such as ``ci_small``; None when unknown."""
    return _BY_VARIANT.get(variant)
