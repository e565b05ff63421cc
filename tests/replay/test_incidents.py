"""The May 26 replay's incidents: in its report, its HTML page and the demo, as a changelog."""

from __future__ import annotations

from html import unescape

from tests.chromium import dump_dom
from tests.replay.conftest import LongRuns


def test_may26_incident_reads_like_a_changelog(long_runs: LongRuns) -> None:
    """The first incident names the warning days ahead from its first signal (sbwatch's own
    forecast, that morning; the provider's email came that evening and is named with its own
    lead), the raise to small with its cost, and the recovery time."""
    first = long_runs.may26.report["incidents"][0]
    assert (
        "May 25 02:10 cause: disk IO budget running out on micro, warned 4d19h ahead "
        "(sbwatch forecast of May 20 06:16; provider email of May 20 20:00, 4d6h ahead); "
        "02:10 raised to small (+$5.23/month, $1.17 for the rest of May); 02:12 recovered (2m)"
    ) == first["changelog"]
    assert "May 25 02:10  action: compute raised micro -> small by sbwatch" in [
        e["line"] for e in first["timeline"]
    ]


def test_each_incident_ends_in_one_summary_message(long_runs: LongRuns) -> None:
    """The recovery message carries the first incident's three lines; the second incident
    ends in one RESOLVED naming its cause, with the three lines."""
    alerts = long_runs.may26.report["alerts"]
    recovered = next(a for a in alerts if a["title"].endswith("recovered on small in 2m"))
    last = alerts[-1]
    assert (
        [
            "Cause: disk IO budget running out on micro; warned 4d19h ahead (sbwatch forecast "
            "of May 20 06:16; provider email of May 20 20:00, 4d6h ahead).",
            "sbwatch: raised to small (+$5.23/month, $1.17 for the rest of May); healthy again "
            "2m later.",
            "Lasted 4d19h: 2026-05-20 06:16 to 2026-05-25 02:12 UTC.",
        ],
        "RESOLVED may26-io-exhaustion (abcdef): disk IO budget exhausted on small (lasted 9h52m)",
        # small's outlook, its last call, the page, the easing
        "sbwatch: told you (4 messages); no compute change.",
    ) == (recovered["body"].splitlines(), last["title"], last["body"].splitlines()[1])


def test_html_report_and_demo_show_the_incidents(long_runs: LongRuns) -> None:
    """Chromium finds each incident in the HTML report as a <details> opening onto its
    timeline; the demo prints them after its checks."""
    dom = unescape(dump_dom(long_runs.may26_html.as_uri()))
    assert 2 == dom.count('<details class="incident">')
    assert "#1 May 25 02:10 cause: disk IO budget running out on micro" in dom
    assert "<li>May 20 20:00  provider email: Your project is depleting" in dom
    assert "Incident #1: May 25 02:10 cause: disk IO budget running out on micro" in (
        long_runs.demo.stdout
    )
