"""Rows of the status page beside probes and alerts: each data check as a table row, and the
command ``ask`` mode proposes shown beside its alert."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
tr.data-check td{font-size:12px;color:#444;border-bottom:1px dotted #e6e6e6}
tr.data-check td.check{padding-left:22px}
.ranges{font-size:13px;margin:6px 0 2px}
td.command code{font:12px monospace;background:#f2f4f7;border:1px solid #d9dde3;
padding:1px 6px;border-radius:3px;white-space:nowrap}
"""
"""The page's rules for data check rows and proposed commands."""
RUN = "Run: "
"""How an alert's text gives the command a person runs (ask mode's proposal)."""


def proposed_command(body: str) -> str | None:
    """The command an alert tells the person to run (its last ``Run:`` line), if any."""
    found = [line.strip()[len(RUN) :] for line in body.splitlines() if line.strip().startswith(RUN)]
    return found[-1].strip() if found and found[-1].strip() else None


def command_cell(command: str | None) -> str:
    """The proposed command beside its alert, ready to copy; an empty cell when none."""
    if not command:
        return "<td></td>"
    return f'<td class="command">run <code>{escape(command)}</code></td>'


def probe_detail(status: dict[str, Any]) -> str:
    """A probe's detail cell: the data probe counts its checks (each has its own row)."""
    checks = status.get("checks") or []
    if not checks:
        return str(status.get("last_detail") or "")
    failing = sum(1 for c in checks if c["verdict"] != "ok")
    return f"{failing} of {len(checks)} checks failing" if failing else f"{len(checks)} checks ok"


def _value(check: dict[str, Any]) -> str:
    value = check.get("value")
    return "" if value is None else f"{float(value):g}"


def check_rows(checks: list[dict[str, Any]] | None) -> str:
    """One row per data check under the data probe: name, table, verdict, value, detail."""
    return "".join(
        f'<tr class="data-check" data-check="{escape(c["name"])}">'
        f'<td class="check">{escape(c["name"])}</td>'
        f'<td class="{"up" if c["verdict"] == "ok" else "down"}">{escape(c["verdict"])}</td>'
        f"<td>{escape(c['table'])}</td><td>{escape(_value(c))}</td>"
        f"<td>{escape(c['detail'])}</td></tr>"
        for c in checks or []
    )
