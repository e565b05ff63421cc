"""The probe registry is the one list of probes: defaults and secret needs derive from it."""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sbwatch.config.settings import ProjectSettings, Settings, StatusPageSettings
from sbwatch.core.probe_specs import ProbeSpec
from sbwatch.core.results import ProbeKind
from sbwatch.probes import REGISTRY, probe_class

PROBES_DIR = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "probes"
TESTS = Path(__file__).resolve().parents[1]
NOT_PROBES = {"__init__", "_common", "_pg", "base", "runner"}
REF = "abcdefghijklmnopqrst"
WORK: dict[str, list[dict[str, str]]] = {
    "data_checks": [{"name": "rows", "kind": "not_empty", "table": "orders"}],
}
"""Some work for each probe whose spec ``needs`` a project setting, by that setting."""


def probe_modules() -> list[str]:
    """The module names under probes/ that hold a probe."""
    return sorted(p.stem for p in PROBES_DIR.glob("*.py") if p.stem not in NOT_PROBES)


@pytest.mark.parametrize("name", probe_modules())
def test_every_probe_module_is_registered(name: str) -> None:
    """Each probe module defines a SPEC, and the registry holds exactly that spec."""
    module = importlib.import_module(f"sbwatch.probes.{name}")
    spec = getattr(module, "SPEC", None)
    assert isinstance(spec, ProbeSpec), f"sbwatch.probes.{name} defines no SPEC"
    assert spec is REGISTRY[spec.kind]


def test_every_probe_kind_has_a_spec_whose_class_says_the_same_kind() -> None:
    """No kind is left without a probe, and each class declares the kind it is registered as."""
    assert set(ProbeKind) == set(REGISTRY)
    assert all(getattr(probe_class(spec), "kind", None) is kind for kind, spec in REGISTRY.items())
    assert len(probe_modules()) == len(REGISTRY)


@pytest.mark.parametrize("name", probe_modules())
def test_every_probe_has_a_test_file(name: str) -> None:
    """Adding a probe brings its own tests: a test file named after it, or naming its class."""
    cls = probe_class(importlib.import_module(f"sbwatch.probes.{name}").SPEC)
    name_of = getattr(cls, "__name__", "")
    files = [p for p in TESTS.rglob("test_*.py") if p.name != "test_registry.py"]
    own = [p for p in files if p.stem.startswith(f"test_{name}")]
    assert own or any(name_of in p.read_text() for p in files), f"no test of {name_of}"


def test_project_defaults_come_from_the_specs() -> None:
    """A project with no probe table runs every project probe at its spec's interval/timeout."""
    project = ProjectSettings(ref=REF)
    expected = {
        kind: (spec.interval, spec.timeout, spec.slow_after)
        for kind, spec in REGISTRY.items()
        if not spec.provider_wide
    }
    assert expected == {k: (p.interval, p.timeout, p.slow_after) for k, p in project.probes.items()}
    status = REGISTRY[ProbeKind.STATUS_PAGE]
    page = StatusPageSettings()
    assert (status.interval, status.timeout) == (page.interval, page.timeout)


def test_a_configured_probe_keeps_its_kinds_other_defaults() -> None:
    """Setting only the interval of rest keeps rest's own 20 s timeout and 5 s slow threshold,
    not a generic one; a slow threshold set is kept."""
    tables = {"rest": {"interval": "10s"}, "auth": {"slow_after": "3s"}}
    project = ProjectSettings.model_validate({"ref": REF, "probes": tables})
    rest, auth = project.probes[ProbeKind.REST], project.probes[ProbeKind.AUTH]
    assert (timedelta(seconds=10), REGISTRY[ProbeKind.REST].timeout, timedelta(seconds=5)) == (
        rest.interval,
        rest.timeout,
        rest.slow_after,
    )
    assert timedelta(seconds=3) == auth.slow_after


@pytest.mark.parametrize(
    "kind", [kind for kind, spec in REGISTRY.items() if spec.secrets and not spec.provider_wide]
)
def test_secret_needs_come_from_the_spec(kind: ProbeKind) -> None:
    """A probe enabled alone without its secret is refused naming that secret; with it, fine."""
    probes: dict[str, dict[str, str]] = {kind.value: {}}
    needs = REGISTRY[kind].needs
    work = {needs: WORK[needs]} if needs is not None else {}
    with pytest.raises(ValidationError) as refused:
        Settings(projects=[{"ref": REF, "probes": probes, **work}])  # type: ignore[list-item]  # validated dict
    said = str(refused.value)
    secrets_needed = REGISTRY[kind].secrets
    expected = [f"projects[0].{name}: required by the {kind} probe" for name in secrets_needed]
    assert expected == [line for line in expected if line in said]
    assert len(secrets_needed) == said.count("required by")
    secrets = dict.fromkeys(REGISTRY[kind].secrets, "postgresql://u@h/d")
    settings = Settings(projects=[{"ref": REF, "probes": probes, **secrets, **work}])  # type: ignore[list-item]  # validated dict
    assert [kind] == settings.projects[0].enabled_probes()


@pytest.mark.parametrize("kind", [kind for kind, spec in REGISTRY.items() if spec.needs])
def test_a_probe_without_work_neither_runs_nor_demands_secrets(kind: ProbeKind) -> None:
    """A probe that needs work (data checks) is off without it, even when listed, and asks
    for no secret; given work, it runs even when a probe table leaves it out."""
    listed = Settings(projects=[{"ref": REF, "probes": {kind.value: {}}}])  # type: ignore[list-item]  # validated dict
    assert [] == listed.projects[0].enabled_probes()
    needs = REGISTRY[kind].needs
    assert needs is not None
    secrets = dict.fromkeys(REGISTRY[kind].secrets, "postgresql://u@h/d")
    rest: dict[str, dict[str, Any]] = {"rest": {}}
    given = {"ref": REF, "probes": rest, needs: WORK[needs], "service_key": "k", **secrets}
    settings = Settings(projects=[given])  # type: ignore[list-item]  # validated dict
    assert [ProbeKind.REST, kind] == settings.projects[0].enabled_probes()
    off: dict[str, Any] = {**given, "probes": {**rest, kind.value: {"enabled": False}}}
    assert [ProbeKind.REST] == Settings(projects=[off]).projects[0].enabled_probes()  # type: ignore[list-item]  # validated dict
