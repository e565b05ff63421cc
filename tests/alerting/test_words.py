"""alerting/words/: every reason the policy can give is said, and the command is built once."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.alerting.words import (
    bound_text,
    decision_reason,
    disk_reason,
    lever_lines,
    reach_line,
)
from sbwatch.core.results import DiagnosisKind, EscalationMode, Intent, IntentState
from sbwatch.core.tiers import Tier
from sbwatch.policy.disk import DiskDecision, DiskReason, DiskWhy
from sbwatch.policy.escalation import (
    Bound,
    EscalationDecision,
    Limit,
    Reach,
    Reason,
    Why,
)

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
COMMAND = f"sbwatch escalate {REF} --to small"
SRC = Path(__file__).resolve().parents[2] / "src" / "sbwatch"

BOUNDS = {
    Limit.MAX_TIER: Bound(Limit.MAX_TIER, Tier.SMALL, max_tier=Tier.SMALL),
    Limit.COST_CAP: Bound(Limit.COST_CAP, Tier.MEDIUM, cost_usd=60.0, cap_usd=20.0),
    Limit.MAX_STEPS: Bound(Limit.MAX_STEPS, Tier.LARGE, steps=3, max_steps=1),
    Limit.ABOVE_MAX_TIER: Bound(Limit.ABOVE_MAX_TIER, Tier.XL, max_tier=Tier.SMALL),
    Limit.MODE: Bound(Limit.MODE, Tier.SMALL, mode=EscalationMode.ASK),
}
"""One bound of each kind, with figures."""

INTENT = Intent(7, REF, Tier.MICRO, Tier.SMALL, "r", "daemon", NOW, IntentState.OPEN, NOW)
LOW = DiagnosisKind.IO_BUDGET_LOW
REASONS = {
    Why.RAISE: Reason(Why.RAISE, LOW),
    Why.ASK: Reason(Why.ASK, LOW),
    Why.LEAK: Reason(Why.LEAK, DiagnosisKind.MEMORY_EXHAUSTED),
    Why.AHEAD: Reason(Why.AHEAD, DiagnosisKind.CPU_EXHAUSTED),
    Why.OFF: Reason(Why.OFF, LOW),
    Why.MAINTENANCE: Reason(Why.MAINTENANCE, LOW, until=NOW, window="db migration"),
    Why.UNFINISHED: Reason(Why.UNFINISHED, intent=INTENT),
    Why.COOLDOWN: Reason(Why.COOLDOWN, left_s=600.0),
    Why.REFUSED: Reason(Why.REFUSED, left_s=120.0),
    Why.NOT_FIXABLE: Reason(Why.NOT_FIXABLE, DiagnosisKind.PLATFORM_OUTAGE),
    Why.REFILLING: Reason(Why.REFILLING, LOW, ratio=0.4),
    Why.NO_ESTIMATE: Reason(Why.NO_ESTIMATE, LOW),
    Why.LOAD_UNKNOWN: Reason(Why.LOAD_UNKNOWN, LOW, ratio=0.005),
    Why.NOT_DRAINING: Reason(Why.NOT_DRAINING, LOW, ratio=0.4),
    Why.NOT_DUE: Reason(Why.NOT_DUE, LOW, ratio=0.4, eta_s=7200.0, lead_s=720.0),
    Why.BOUND: Reason(Why.BOUND, LOW, bound=BOUNDS[Limit.COST_CAP]),
}
"""One reason of each kind, with figures."""

PROPOSING = {Why.RAISE, Why.ASK, Why.LEAK, Why.AHEAD, Why.OFF, Why.MAINTENANCE}
COMMANDED = {Why.ASK, Why.LEAK, Why.AHEAD}
"""The reasons that come with a size, and those of them a person is given the command for."""


def decision(reason: Reason) -> EscalationDecision:
    """The decision a reason belongs to: with a size for the reasons that propose one."""
    if reason.why not in PROPOSING:
        return EscalationDecision("none", None, reason)
    action = {Why.RAISE: "escalate", Why.OFF: "none", Why.MAINTENANCE: "none"}.get(reason.why)
    return EscalationDecision(action or "ask", Tier.SMALL, reason, 5.0, Tier.MICRO)  # type: ignore[arg-type]  # one of the three actions


def test_every_reason_and_every_bound_has_a_sample() -> None:
    """The samples below cover each closed set: a new reason must be said too."""
    assert (set(Why), set(Limit), set(DiskWhy)) == (set(REASONS), set(BOUNDS), set(DISK))


@pytest.mark.parametrize("why", list(Why))
def test_every_escalation_reason_is_said(why: Why) -> None:
    """Each reason renders as one non-empty line; the command where one is promised."""
    said = decision_reason(decision(REASONS[why]), REF)
    assert said.strip()
    assert "\n" not in said
    assert (why in COMMANDED) == (COMMAND in said), said
    if why in PROPOSING:
        assert "raise micro -> small (+$5.00/month)" in said


@pytest.mark.parametrize("limit", list(Limit))
def test_every_bound_is_said_and_reach_gives_the_command(limit: Limit) -> None:
    """Each bound renders with its figures; beyond reach, the command to the next size."""
    bound = BOUNDS[limit]
    assert bound_text(bound).strip()
    line = reach_line(Reach(bound, Tier.SMALL), REF)
    assert line.endswith(f"Run: {COMMAND}")
    assert reach_line(Reach(bound, None), REF).startswith("sbwatch cannot raise it: ")


DISK = {
    DiskWhy.GROW: DiskReason(DiskWhy.GROW),
    DiskWhy.ASK: DiskReason(DiskWhy.ASK),
    DiskWhy.OFF: DiskReason(DiskWhy.OFF),
    DiskWhy.SIZE_UNKNOWN: DiskReason(DiskWhy.SIZE_UNKNOWN),
    DiskWhy.NOT_AHEAD: DiskReason(DiskWhy.NOT_AHEAD),
    DiskWhy.UNDER_WAY: DiskReason(DiskWhy.UNDER_WAY),
    DiskWhy.QUOTA_SPENT: DiskReason(DiskWhy.QUOTA_SPENT, frees_at=NOW),
    DiskWhy.SPEND_CAP: DiskReason(DiskWhy.SPEND_CAP),
    DiskWhy.FAILED: DiskReason(DiskWhy.FAILED, left_s=300.0),
    DiskWhy.COOLDOWN: DiskReason(DiskWhy.COOLDOWN, left_s=300.0),
    DiskWhy.MAX_GB: DiskReason(DiskWhy.MAX_GB, max_gb=40),
    DiskWhy.COST_CAP: DiskReason(DiskWhy.COST_CAP, cap_usd=25.0, compute_usd=10.0),
}
"""One disk reason of each kind, with figures."""


@pytest.mark.parametrize("why", list(DiskWhy))
def test_every_disk_reason_is_said(why: DiskWhy) -> None:
    """Each disk reason renders as one non-empty line; ask mode gives the command."""
    sized = why in {DiskWhy.GROW, DiskWhy.ASK, DiskWhy.OFF}
    action = {DiskWhy.GROW: "grow", DiskWhy.ASK: "ask"}.get(why, "none")
    chosen = DiskDecision(action, 48 if sized else None, DISK[why], 2.5, 40)  # type: ignore[arg-type]  # one of the three actions
    said = disk_reason(chosen)
    assert said.strip()
    assert "\n" not in said
    lines = lever_lines(chosen, REF)
    assert (why is DiskWhy.ASK) == (f"Run: sbwatch escalate {REF} --disk-gb 48" in lines)


def _code_strings(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings (a string standing alone as a
    statement; comments are not parsed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def test_only_the_words_build_the_escalate_command() -> None:
    """``sbwatch escalate`` is written in code once, in alerting/words/sizes.py (docstrings and
    comments may name it; the simulator's scorecard looks for it in what was sent)."""
    builders = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if any("sbwatch escalate" in text for text in _code_strings(path))
    )
    assert ["alerting/words/sizes.py", "sim/score.py"] == builders
