"""Provider facts about the database disk (``/data``): autoscaling, its quota, read-only mode.

Source: Supabase's disk documentation (database size, disk autoscaling, read-only mode), as of
December 2026. At 90% full the provider grows the disk by 50% (at most +200 GB under 1 TB,
+20% above); at most four disk changes (its own and any ``POST .../config/disk``) fall in a
rolling 24 hours; at 95% with the quota spent the database goes read-only. An organization
with the spend cap on stops growing at 8 GB.
"""

from __future__ import annotations

import math
from datetime import timedelta

GB = 1024**3
"""The provider's disk sizes are GiB (``size_gb``); the filesystem gauges are bytes."""
AUTOSCALE_AT = 0.90
"""Used share of ``/data`` at which the provider grows the disk."""
READ_ONLY_AT = 0.95
"""Used share at which the database goes read-only when the disk cannot grow."""
GROWTH = 0.5
"""How much an autoscale adds: half the size."""
GROWTH_CAP_GB = 200
"""The most one autoscale adds under ``LARGE_DISK_GB``."""
LARGE_DISK_GB = 1024
LARGE_GROWTH = 0.2
"""Above ``LARGE_DISK_GB`` an autoscale adds a fifth."""
CHANGES_PER_WINDOW = 4
"""Disk changes allowed in one rolling ``CHANGE_WINDOW``."""
CHANGE_WINDOW = timedelta(hours=24)
SPEND_CAP_GB = 8
"""With the organization's spend cap on, the disk does not grow past this."""
INCLUDED_GB = 8
"""Disk included in the plan; each GB above is billed."""
USD_PER_GB_MONTH = 0.125
"""The price of each GB above ``INCLUDED_GB`` (gp3), per month."""
READ_ONLY_ERROR = "in a read-only transaction"
"""What PostgreSQL says of a write while the provider holds the database read-only
(``cannot execute INSERT in a read-only transaction``, SQLSTATE 25006)."""
READ_ONLY_SQLSTATE = "25006"


def autoscaled_gb(size_gb: float) -> float:
    """The size the provider grows a disk of ``size_gb`` to at 90% full (whole GB)."""
    if size_gb >= LARGE_DISK_GB:
        return float(math.ceil(size_gb * (1 + LARGE_GROWTH)))
    return float(math.ceil(size_gb + min(GROWTH_CAP_GB, size_gb * GROWTH)))


def monthly_disk_usd(size_gb: int) -> float:
    """What a disk of ``size_gb`` adds to the monthly bill."""
    return max(0, size_gb - INCLUDED_GB) * USD_PER_GB_MONTH
