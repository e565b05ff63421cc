"""A probe result's readings are typed values: the Management API's health and the status
page, each written as its JSON ``data`` (the stored form) and read back from it alike."""

from __future__ import annotations

from datetime import UTC, datetime

from sbwatch.core.readings import MgmtHealth, StatusPage
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult
from sbwatch.store.codec import probe_from_doc, probe_to_doc

NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)


def test_a_reading_round_trips_through_its_json() -> None:
    """to_doc and from_doc are inverses, and the JSON keys are those stored before."""
    health = MgmtHealth("ACTIVE_HEALTHY", {"db": "ACTIVE_HEALTHY", "auth": "UNHEALTHY"})
    page = StatusPage("major", {"Database": "major_outage"})
    assert {"project_status", "services"} == set(health.to_doc())
    assert {"indicator", "components"} == set(page.to_doc())
    assert health == MgmtHealth.from_doc(health.to_doc())
    assert page == StatusPage.from_doc(page.to_doc())


def test_a_result_reads_its_data_as_its_probes_reading() -> None:
    """The reading follows the probe's kind; a failed call or another probe has none."""
    health = MgmtHealth(None, {"db": "COMING_UP"})
    result = ProbeResult("r", ProbeKind.MGMT_HEALTH, Outcome.FAIL, NOW, 0.1, data=health.to_doc())
    assert health == result.reading
    assert ProbeResult("r", ProbeKind.MGMT_HEALTH, Outcome.ERROR, NOW, 0.1).reading is None
    other = ProbeResult("r", ProbeKind.REST, Outcome.OK, NOW, 0.1, data=health.to_doc())
    assert other.reading is None


def test_a_stored_result_comes_back_with_its_reading() -> None:
    """The JSON form of a result keeps the data only; the reading is read again on loading."""
    page = StatusPage("none", {"Database": "operational"})
    result = ProbeResult(
        "_provider", ProbeKind.STATUS_PAGE, Outcome.OK, NOW, 0.2, data=page.to_doc()
    )
    text = probe_to_doc(result)
    assert text is not None
    assert "reading" not in text
    loaded = probe_from_doc(text)
    assert (result, page) == (loaded, loaded.reading if loaded else None)
