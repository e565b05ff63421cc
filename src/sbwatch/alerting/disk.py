"""The disk space in one line for ``sbwatch status`` and the status page (the phone's words are
in ``alerting.words``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sbwatch.core.durations import format_duration


def disk_line(disk: dict[str, Any]) -> str:
    """How full /data is, how fast it fills, and when the database would go read-only."""
    line = f"{disk['used_ratio']:.0%} of {disk['size_gb']:.0f} GB used"
    rate = disk["fill_gb_per_hour"]
    if rate is not None and rate > 0:
        line += f", filling {rate:.2f} GB/h"
    eta = disk["read_only_eta_s"]
    if eta == 0:
        line += "; READ-ONLY"
    elif eta is not None:
        line += f"; read-only in ~{format_duration(eta)}"
    line += f"; {disk['changes_24h']} of 4 disk changes in 24 h"
    if disk["frees_at"] and (disk["quota_spent"] or disk["blocked_by"] == "quota"):
        frees = datetime.fromisoformat(disk["frees_at"])
        line += f" (the next allowed at {frees:%a %H:%M} UTC)"
    return line
