"""A fixed-seed scorecard campaign in CI: the brain may only get better on it.

``CEILINGS`` hold the figures of this campaign as the brain last stood; a change that makes
any of them worse fails here, with the cases that broke the rule. When the brain improves,
lower the ceiling in the same change (``make fuzz`` runs a long campaign).
"""

from __future__ import annotations

from sbwatch.sim.scorecard import campaign

SEED, COUNT, DAYS = 7, 12, 0.5
CEILINGS = {
    "missed_warnings": 0,
    "wasted_patches": 0,
    "late_patches": 0,
    # The budget's forecast never pages by itself (the published limits are minimums: it
    # runs out early): the three forecast pages the truth did not bear out are warnings now.
    "false_pages": 0,
    "false_warnings": 7,
    "false_resolves": 0,
    "silent_failures": 0,
    "pages_per_incident": 1.0,
    "exceptions": 0,
}


def test_the_fixed_seed_campaign_gets_no_worse() -> None:
    """Every figure of the CI campaign at or under its ceiling; nothing escapes a replay."""
    card = campaign(SEED, COUNT, DAYS)
    figures = card.as_dict()
    worse = {
        name: (figures[name], ceiling)
        for name, ceiling in CEILINGS.items()
        if figures[name] > ceiling
    }
    assert {} == worse, f"{worse}; cases: {figures['failing_by_rule']}"
    assert COUNT == figures["cases"]
    assert figures["incidents"] > 0, "the campaign must draw failures to judge"
