"""Metric names in the dashboard, the alert rules and their tests exist in sbwatch.core.metrics."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no type stubs; types-PyYAML is not a dependency

from sbwatch.core.metrics import Metrics

NAME = re.compile(r"\bsbwatch_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


def exported_names() -> set[str]:
    """Every series name sbwatch can export: samples, and names implied by each family type."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(sample.name for sample in family.samples)
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def strings_under(node: Any, keys: set[str]) -> Iterator[str]:
    """Every string value under one of `keys`, anywhere in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from strings_under(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from strings_under(item, keys)


def dashboard(root: Path) -> dict[str, Any]:
    """The Grafana dashboard as JSON."""
    data: dict[str, Any] = json.loads(
        (root / "deploy" / "grafana" / "sbwatch-dashboard.json").read_text(encoding="utf-8")
    )
    return data


def dashboard_exprs(root: Path) -> list[str]:
    """PromQL of every panel target and of the template variables."""
    return list(strings_under(dashboard(root), {"expr", "definition", "query"}))


def rule_exprs(root: Path) -> list[str]:
    """PromQL of every alerting and recording rule."""
    exprs: list[str] = []
    for path in sorted((root / "deploy" / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            exprs.extend(str(rule["expr"]) for rule in group["rules"])
    return exprs


def rule_test_series(root: Path) -> list[str]:
    """Input series and expressions of the promtool unit tests."""
    found: list[str] = []
    for path in sorted((root / "deploy" / "prometheus" / "tests").glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            found.extend(str(series["series"]) for series in case.get("input_series", []))
            found.extend(str(test["expr"]) for test in case.get("promql_expr_test", []))
    return found


def used_names(texts: list[str]) -> set[str]:
    """sbwatch_* names mentioned in some PromQL texts."""
    return {name for text in texts for name in NAME.findall(text)}


def test_exported_names_include_every_kind() -> None:
    """The name set covers gauges, counters, histograms and the info metric."""
    names = exported_names()
    expected = {
        "sbwatch_probe_success",
        "sbwatch_escalations_total",
        "sbwatch_recovery_seconds_bucket",
        "sbwatch_build_info",
    }
    assert expected == expected & names
    assert set() == {"sbwatch_probe_success_total", "sbwatch_escalations"} & names


def test_a_misspelt_name_is_caught() -> None:
    """A name that drifted from sbwatch.core.metrics is reported."""
    texts = ['rate(sbwatch_probe_runs_total[5m]) + sbwatch_probe_sucess{probe="db"}']
    assert {"sbwatch_probe_sucess"} == used_names(texts) - exported_names()


@pytest.mark.parametrize("source", [dashboard_exprs, rule_exprs, rule_test_series])
def test_every_used_name_is_exported(root: Path, source: Any) -> None:
    """Every sbwatch_* name in the dashboard, rules and rule tests is a series sbwatch exports."""
    used = used_names(source(root))
    assert used, "no sbwatch metric found"
    assert set() == used - exported_names()


def test_dashboard_covers_the_metrics(root: Path) -> None:
    """The dashboard shows budget, probes, diagnosis, emails, actions, recovery time, backups
    and every other limit: disk space, connections, memory, CPU and auth's rate limits."""
    used = used_names(dashboard_exprs(root))
    expected = {
        "sbwatch_io_budget_ratio",
        "sbwatch_io_budget_exhaustion_eta_seconds",
        "sbwatch_probe_success",
        "sbwatch_probe_up",
        "sbwatch_diagnosis",
        "sbwatch_emails_total",
        "sbwatch_escalations_total",
        "sbwatch_notifications_total",
        "sbwatch_recovery_seconds_bucket",
        "sbwatch_backup_last_success_timestamp_seconds",
        "sbwatch_backup_bytes",
        "sbwatch_backup_duration_seconds",
        "sbwatch_backup_verify_ok",
        "sbwatch_connections_used",
        "sbwatch_connections_limit",
        "sbwatch_disk_used_ratio",
        "sbwatch_disk_read_only_eta_seconds",
        "sbwatch_disk_autoscale_eta_seconds",
        "sbwatch_disk_changes_total",
        "sbwatch_memory_used_ratio",
        "sbwatch_memory_oom_eta_seconds",
        "sbwatch_cpu_busy_ratio",
        "sbwatch_auth_rate_limited_per_minute",
    }
    assert set() == expected - used


def test_dashboard_is_well_formed(root: Path) -> None:
    """The dashboard has a uid, unique panel ids, grid positions and refIds unique per panel."""
    data = dashboard(root)
    panels = data["panels"] + [p for row in data["panels"] for p in row.get("panels", [])]
    ids = [panel["id"] for panel in panels]
    assert (True, len(ids)) == (bool(data["uid"]), len(set(ids)))
    assert all({"h", "w", "x", "y"} <= set(panel["gridPos"]) for panel in panels)
    for panel in panels:
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_dashboard_variables(root: Path) -> None:
    """A datasource variable feeds every query; the project variable lists watched projects."""
    data = dashboard(root)
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert ("datasource", "prometheus") == (
        variables["datasource"]["type"],
        variables["datasource"]["query"],
    )
    expected = "label_values(sbwatch_probe_success, project)"
    assert expected == variables["project"]["definition"]
    sources = {json.dumps(ds, sort_keys=True) for ds in datasources(data["panels"])}
    assert {json.dumps({"type": "prometheus", "uid": "${datasource}"}, sort_keys=True)} == sources


def datasources(node: Any) -> Iterator[dict[str, str]]:
    """Every "datasource" object in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield value
            else:
                yield from datasources(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasources(item)


def test_dashboard_queries_parse(root: Path, tmp_path: Path) -> None:
    """promtool parses every dashboard query (Grafana variables replaced by sample values)."""
    exprs = [
        e.replace("$__range", "1h").replace("$project", ".*")
        for e in strings_under(dashboard(root), {"expr"})
    ]
    rules = [{"record": f"sbwatch:dashboard_query_{i}", "expr": e} for i, e in enumerate(exprs)]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}), encoding="utf-8")
    proc = subprocess.run(
        ["promtool", "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == proc.returncode, proc.stdout + proc.stderr


def test_provisioning_files_parse(root: Path) -> None:
    """The Grafana provisioning files are YAML with apiVersion 1."""
    files = sorted((root / "deploy" / "grafana" / "provisioning").glob("*/*.yml"))
    versions = [yaml.safe_load(f.read_text(encoding="utf-8"))["apiVersion"] for f in files]
    assert [1, 1] == versions
