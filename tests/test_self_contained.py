"""The suite reads nothing outside the repository: a clone with nothing beside it passes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")
OUTSIDE = re.compile(r"ROOT\.parent\b|[\"']/work/|[\"']\.\./shared")


def escapes(path: Path) -> list[str]:
    """Each line of ``path`` that names a directory above the repository's root."""
    depth = len(path.relative_to(ROOT).parts)  # parents[depth - 1] is the root
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        too_high = any(int(n) >= depth for n in PARENTS.findall(line))
        if too_high or OUTSIDE.search(line):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_test_or_script_reads_beside_the_repository() -> None:
    """No test, bench or script builds a path above the repository's root: the provider's
    outputs and the design's scenarios they need are carried in tests/fixtures/."""
    sources = [p for d in ("tests", "bench", "scripts") for p in (ROOT / d).rglob("*.py")]
    assert [] == [line for path in sorted(sources) for line in escapes(path)]


def test_each_carried_fixture_names_its_source() -> None:
    """Every file in tests/fixtures/real/ has a row in the README beside it."""
    real = ROOT / "tests" / "fixtures" / "real"
    readme = (real / "README.md").read_text(encoding="utf-8")
    files = sorted(p.name for p in real.iterdir() if p.name != "README.md")
    assert [] == [name for name in files if name not in readme]
