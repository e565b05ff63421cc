"""The layer rules of the house (shared DESIGN.md), checked on the imports of every module."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "sbwatch"

Graph = Mapping[str, frozenset[str]]
"""Module name -> the sbwatch modules it imports (type-only imports included)."""


def module_name(root: Path, path: Path) -> str:
    """``sbwatch.policy.budget`` for ``<root>/policy/budget.py`` (root is the package)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(name: str, path: Path, known: Iterable[str]) -> frozenset[str]:
    """The sbwatch modules one file imports, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    known = set(known)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from sbwatch.store import codec`` imports the submodule codec
            found.update(f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known)
    return frozenset(m for m in found if m.split(".")[0] == "sbwatch" and m in known)


def read_graph(root: Path) -> dict[str, frozenset[str]]:
    """The import graph of every module under ``root``."""
    files = {module_name(root, p): p for p in sorted(root.rglob("*.py"))}
    return {name: imports_of(name, path, files) for name, path in files.items()}


def part_of(module: str) -> str:
    """``policy`` for ``sbwatch.policy.budget``; ``cli`` for ``sbwatch.cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def within(module: str, prefixes: Iterable[str]) -> bool:
    """Whether ``module`` is one of ``prefixes`` or inside one of them."""
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def closure(graph: Graph, start: str) -> set[str]:
    """Every module ``start`` reaches through imports, itself included."""
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


ROOT = "sbwatch"
"""The package itself holds only ``__version__`` and imports nothing: every part may read it."""


@dataclass(frozen=True)
class Rule:
    """Modules under ``scope`` may import only ``allow`` (when set) and never ``deny``."""

    name: str
    scope: tuple[str, ...]
    deny: tuple[str, ...] = ()
    allow: tuple[str, ...] | None = None
    exempt: tuple[str, ...] = ()

    def broken_by(self, module: str, target: str) -> bool:
        """Whether ``module`` importing ``target`` breaks this rule."""
        if target == ROOT:
            return False
        if not within(module, self.scope) or within(module, self.exempt):
            return False
        if within(target, self.scope) and self.allow is not None:
            return False
        if within(target, self.deny):
            return True
        return self.allow is not None and not within(target, self.allow)


S = "sbwatch."
SIM_HARNESS = tuple(
    S + m
    for m in (
        "sim.replay",
        "sim.replay_store",
        "sim.replay_uptime",
        "sim.accuracy",
        "sim.scenario",
        "sim.direct",
        "sim.invariants",
        "sim.fuzz",
        "sim.quiet",
        "sim.steady",
        "sim.score",
        "sim.scorecard",
        "sim.expect_messages",
    )
)
"""The replay (its fast path's quiet minutes and steady answers), its scenarios, the scorecard
and the accuracy harness join the daemon's logic and the simulator."""
SIM_WORLD_DENY = tuple(
    S + m for m in ("policy", "watch", "daemon", "supabase", "probes", "core.tiers")
)
"""The provider's size table (core/tiers.py) included: the world keeps its own machines."""

FLEET = (S + "watch.fleet", S + "watch.watcher")
"""Which projects this instance holds (the fleet) and the jobs that ask it (the watcher)."""

RULES = (
    Rule(
        "policy is pure: only core values, the configuration and the provider's data",
        scope=(S + "policy",),
        allow=(
            S + "core",
            S + "config",
            S + "supabase.edge",
            S + "supabase.disk",
            S + "supabase.connections",
        ),
        deny=(S + "core.log", S + "core.metrics"),
    ),
    Rule(
        "probes observe only",
        scope=(S + "probes",),
        deny=tuple(S + m for m in ("policy", "alerting", "remediation", "watch", "daemon", "sim")),
    ),
    Rule(
        "the store knows no policy",
        scope=(S + "store",),
        deny=tuple(S + m for m in ("policy", "watch", "alerting", "remediation", "probes")),
    ),
    Rule(
        "nothing in the daemon imports the simulator",
        scope=tuple(
            S + m
            for m in (
                "core",
                "config",
                "supabase",
                "policy",
                "probes",
                "alerting",
                "remediation",
                "ingest",
                "store",
                "watch",
                "daemon",
                "backup",
                "data",
            )
        ),
        deny=(S + "sim",),
    ),
    Rule(
        "the simulated world is written apart from the daemon",
        scope=(S + "sim",),
        deny=SIM_WORLD_DENY,
        exempt=SIM_HARNESS,
    ),
    Rule(
        "the configuration stands on core alone",
        scope=(S + "config",),
        allow=(S + "core",),
    ),
    Rule(
        "core imports nothing of sbwatch above it",
        scope=(S + "core",),
        allow=(S + "core",),
    ),
    Rule(
        "backup imports neither daemon nor watch",
        scope=(S + "backup",),
        deny=(S + "daemon", S + "watch"),
    ),
    Rule(
        "a project's pipeline is handed what it may do: it never reaches for the fleet",
        scope=(S + "watch",),
        deny=(S + "watch.fleet", S + "watch.watcher", S + "daemon"),
        exempt=FLEET,
    ),
)

IO_MODEL = S + "sim.model"
ESTIMATOR = S + "policy.budget"


def violations(graph: Graph) -> list[str]:
    """Every broken rule, as ``module -> target: rule``."""
    out = [
        f"{module} -> {target}: {rule.name}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        for rule in RULES
        if rule.broken_by(module, target)
    ]
    if IO_MODEL in graph and ESTIMATOR in graph:
        shared = closure(graph, IO_MODEL) & closure(graph, ESTIMATOR)
        out.extend(f"{IO_MODEL} and {ESTIMATOR} share {m}" for m in sorted(shared))
    return out


def test_the_tree_keeps_every_layer_rule() -> None:
    """No module of src/sbwatch imports across a rule of the house."""
    assert [] == violations(read_graph(PACKAGE))


def test_the_package_root_imports_nothing() -> None:
    """Every part may read the version from the root because the root stands on nothing."""
    assert frozenset() == read_graph(PACKAGE)[ROOT]


def test_every_part_is_a_folder() -> None:
    """Only the face (cli, __main__) stands loose at the top of the package."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert ["__init__.py", "__main__.py", "cli.py"] == loose


PLANTED = [
    ("policy.diagnosis", "store.base", "policy is pure"),
    ("policy.budget", "core.log", "policy is pure"),
    ("probes.db", "policy.thresholds", "probes observe only"),
    ("store.sql", "policy.alerts", "the store knows no policy"),
    ("watch.watcher", "sim.world", "nothing in the daemon imports the simulator"),
    ("sim.model", "supabase.disk", "the simulated world"),
    ("sim.hardware", "core.tiers", "the simulated world"),
    ("config.settings", "probes", "the configuration stands on core alone"),
    ("config.types", "supabase.edge", "the configuration stands on core alone"),
    ("core.results", "supabase.connections", "core imports nothing of sbwatch above it"),
    ("core.tiers", "config.settings", "core imports nothing of sbwatch above it"),
    ("backup.job", "daemon.scheduler", "backup imports neither daemon nor watch"),
    ("backup.job", "watch.watcher", "backup imports neither daemon nor watch"),
    ("watch.pipeline", "watch.fleet", "a project's pipeline is handed what it may do"),
    ("watch.disk", "daemon.ha", "a project's pipeline is handed what it may do"),
]
"""A planted import of ``module`` -> ``target`` and the rule it must break, for every rule."""


@pytest.mark.parametrize(("module", "target", "rule"), PLANTED)
def test_a_planted_import_breaks_its_rule(module: str, target: str, rule: str) -> None:
    """Each rule fails on a planted violation of it."""
    graph = dict(read_graph(PACKAGE))
    graph[S + module] = graph.get(S + module, frozenset()) | {S + target}
    found = [line for line in violations(graph) if line.startswith(f"{S}{module} -> {S}{target}")]
    assert 1 <= len(found), found
    assert any(rule in line for line in found)


def test_every_rule_is_proved_on_a_planted_import() -> None:
    """No rule stands untested: each one has a planted import above that breaks it."""
    unproved = [rule.name for rule in RULES if not any(case[2] in rule.name for case in PLANTED)]
    assert [] == unproved


def lease_readers(root: Path) -> list[str]:
    """The modules of ``watch/`` that import ``Fences``, every project's leases at once."""
    found = []
    for path in sorted((root / "watch").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "sbwatch.core.lease"
                and any(alias.name == "Fences" for alias in node.names)
            ):
                found.append(module_name(root, path))
    return found


def test_only_the_fleet_reads_the_leases() -> None:
    """In watch/, the fleet (and the watcher that builds it) alone holds every project's
    leases; the pipeline and its parts are handed one project's fence."""
    assert list(FLEET) == lease_readers(PACKAGE)


def test_a_shared_module_between_model_and_estimator_is_found() -> None:
    """The simulator's IO model and the estimator may not reach a common module."""
    graph = dict(read_graph(PACKAGE))
    graph[IO_MODEL] = graph[IO_MODEL] | {S + "core.results"}
    assert any("share sbwatch.core.results" in line for line in violations(graph))


def test_a_planted_file_is_read_from_disk(tmp_path: Path) -> None:
    """The reader finds a violation written into a file, relative imports included."""
    root = tmp_path / "sbwatch"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    planted = root / "policy" / "planted.py"
    planted.write_text('"""Planted."""\n\nfrom ..store import base\n')
    found = [line.split(": ")[0] for line in violations(read_graph(root)) if "planted" in line]
    expected = [
        "sbwatch.policy.planted -> sbwatch.store",
        "sbwatch.policy.planted -> sbwatch.store.base",
    ]
    assert expected == found
