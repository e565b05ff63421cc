"""The scorecard: thousands of random incidents replayed and judged against the truth.

``campaign`` draws cases from a seed (sim/stories.py), replays each on the fast path, judges
every message and PATCH against the ground truth (sim/score.py) and adds the figures up. A
failing case can be shrunk to a small scenario file that names the rule it broke and checks
it (``[expect] score = true``), ready to become a regular test.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sbwatch.sim.fuzz import Doc, Outcome, shrink, to_toml
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import Scenario, parse_scenario
from sbwatch.sim.score import RULES, score_case
from sbwatch.sim.stories import story

Printer = Callable[[str], None]
COUNTED = tuple(rule for rule in RULES if rule != "pages_per_incident")
"""The rules counted finding by finding (pages per incident is a mean)."""


@dataclass
class CaseResult:
    """One case replayed and judged."""

    index: int
    doc: Doc
    broken: frozenset[str]
    counts: dict[str, int]
    incidents: list[dict[str, Any]]
    leads_h: list[float]
    pages: list[int]
    patches: int
    findings: list[dict[str, Any]]
    seconds: float


def judge(doc: Doc, index: int = 0, *, fast: bool = True) -> CaseResult:
    """Replay one case and judge it; an exception out of the replay breaks ``no_exception``.

    ``fast``: False replays on the full HTTP path (the benchmark's baseline; the same result).
    """
    started = time.perf_counter()
    scenario = parse_scenario(to_toml(doc, expect="score"), source=str(doc["name"]))
    try:
        report = asyncio.run(replay(_unchecked(scenario), fast=fast))
        score = score_case(scenario, report)
    except Exception as exc:  # the rule itself: nothing may escape a replay
        finding = {"rule": "no_exception", "project": "", "at_s": 0.0, "detail": repr(exc)}
        return CaseResult(
            index,
            doc,
            frozenset({"no_exception"}),
            {},
            [],
            [],
            [],
            0,
            [finding],
            time.perf_counter() - started,
        )
    return CaseResult(
        index=index,
        doc=doc,
        broken=score.broken,
        counts={rule: score.count(rule) for rule in COUNTED},
        incidents=[i.as_dict() for i in score.incidents],
        leads_h=score.leads_h,
        pages=score.pages,
        patches=score.patches,
        findings=[f.as_dict() for f in score.findings],
        seconds=time.perf_counter() - started,
    )


def _unchecked(scenario: Scenario) -> Scenario:
    """The scenario without its ``[expect] score``: judge scores the report itself, and the
    replay's own score checks would run the truth (a sixth of a case's time) a second time."""
    return replace(scenario, expect=replace(scenario.expect, score=False))


def _outcome(doc: Doc) -> Outcome:
    """A case judged as the shrinker wants it: the rules it broke, as checks."""
    result = judge(doc)
    broken = [
        {"name": rule, "passed": False, "detail": _detail(result, rule)}
        for rule in sorted(result.broken)
    ]
    return Outcome(doc, broken, result.seconds)


def _detail(result: CaseResult, rule: str) -> str:
    details = [f["detail"] for f in result.findings if f["rule"] == rule]
    if rule == "pages_per_incident":
        return f"pages per incident {result.pages}"
    return "; ".join(details[:3])


@dataclass
class Scorecard:
    """A campaign's figures, every one defined from the truth (sim/score.py)."""

    seed: int
    days: float
    results: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0
    shrunk: list[tuple[str, Path]] = field(default_factory=list)

    def total(self, rule: str) -> int:
        """How many times ``rule`` broke over every case."""
        return sum(r.counts.get(rule, 0) for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        """The scorecard as one JSON object."""
        incidents = [i for r in self.results for i in r.incidents]
        pages = [p for r in self.results for p in r.pages]
        leads = [lead for r in self.results for lead in r.leads_h]
        failing: dict[str, list[int]] = {}
        for result in self.results:
            for rule in sorted(result.broken):
                failing.setdefault(rule, []).append(result.index)
        out: dict[str, Any] = {
            "seed": self.seed,
            "days": self.days,
            "cases": len(self.results),
            "incidents": len(incidents),
            "incidents_by_cause": dict(Counter(i["cause"] for i in incidents).most_common()),
            "missed_warnings": self.total("missed_warning"),
            "late_warnings": self.total("late_warning"),
            "lead_time_p50_h": round(statistics.median(leads), 2) if leads else None,
            "patches": sum(r.patches for r in self.results),
            "wasted_patches": self.total("wasted_patch"),
            "late_patches": self.total("late_patch"),
            "false_pages": self.total("false_page"),
            "false_pages_pct": round(100 * self.total("false_page") / len(incidents), 2)
            if incidents
            else 0.0,
            "false_warnings": self.total("false_warning"),
            "false_resolves": self.total("false_resolve"),
            "pages_per_incident": round(sum(pages) / len(pages), 2) if pages else 0.0,
            "silent_failures": self.total("silent_failure"),
            "exceptions": len(failing.get("no_exception", [])),
            "failing_cases": sum(1 for r in self.results if r.broken),
            "failing_by_rule": failing,
            "seconds": round(self.seconds, 1),
            "cases_per_s": round(len(self.results) / self.seconds, 2) if self.seconds else 0.0,
            "shrunk": {rule: str(path) for rule, path in self.shrunk},
        }
        return out

    def table(self) -> str:
        """The scorecard as a person reads it."""
        data = self.as_dict()
        rows = [
            ("cases", f"{data['cases']} ({data['days']:g} day(s) each, seed {data['seed']})"),
            ("incidents (truly failing or slow)", _causes(data)),
            ("missed warnings", data["missed_warnings"]),
            ("late warnings", data["late_warnings"]),
            ("lead time p50", _hours(data["lead_time_p50_h"])),
            ("PATCHes applied", data["patches"]),
            ("wasted PATCHes", data["wasted_patches"]),
            ("late PATCHes", data["late_patches"]),
            ("false pages", f"{data['false_pages']} ({data['false_pages_pct']}% of incidents)"),
            ("false warnings", data["false_warnings"]),
            ("false resolves", data["false_resolves"]),
            ("pages per incident", data["pages_per_incident"]),
            ("silent failures", data["silent_failures"]),
            ("exceptions", data["exceptions"]),
            ("failing cases", data["failing_cases"]),
            ("speed", f"{data['cases_per_s']} cases/s ({data['seconds']}s)"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        for rule, cases in data["failing_by_rule"].items():
            shown = ", ".join(str(c) for c in cases[:12]) + (" ..." if len(cases) > 12 else "")
            lines.append(f"  {rule}: case {shown}")
        for rule, path in data["shrunk"].items():
            lines.append(f"  {rule}: shrunk to {path}")
        return "\n".join(lines)


def _causes(data: dict[str, Any]) -> str:
    by = ", ".join(f"{cause} {n}" for cause, n in data["incidents_by_cause"].items())
    return f"{data['incidents']}" + (f" ({by})" if by else "")


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:g} h"


def cases(seed: int, count: int, days: float) -> Iterator[Doc]:
    """The campaign's cases, the same for the same seed."""
    rng = random.Random(seed)
    for index in range(count):
        yield story(rng, days, index)


def _judge_indexed(item: tuple[int, Doc]) -> CaseResult:
    from sbwatch.core import log

    log.configure("error", "console")
    return judge(item[1], item[0])


def campaign(
    seed: int,
    count: int,
    days: float,
    *,
    jobs: int = 1,
    out_dir: Path | None = None,
    shrink_budget: int = 40,
    say: Printer | None = None,
) -> Scorecard:
    """Generate, replay and judge ``count`` cases; shrink one case per broken rule to out_dir."""
    card = Scorecard(seed=seed, days=days)
    started = time.perf_counter()
    items = list(enumerate(cases(seed, count, days)))
    if jobs > 1:
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            card.results = list(pool.map(_judge_indexed, items, chunksize=4))
    else:
        card.results = [judge(doc, index) for index, doc in items]
    card.seconds = time.perf_counter() - started
    if say is not None:
        for result in card.results:
            if result.broken:
                say(f"case {result.index} {result.doc['name']}: {', '.join(sorted(result.broken))}")
    if out_dir is not None:
        card.shrunk = shrink_failures(card, out_dir, shrink_budget, say)
    return card


def shrink_failures(
    card: Scorecard, out_dir: Path, budget: int, say: Printer | None = None
) -> list[tuple[str, Path]]:
    """The first case breaking each rule, shrunk and written out as a scenario file."""
    written: list[tuple[str, Path]] = []
    for rule in (*RULES, "no_exception"):
        first = next((r for r in card.results if rule in r.broken), None)
        if first is None:
            continue
        target = Outcome(first.doc, [{"name": rule, "passed": False, "detail": ""}], 0.0)
        small = shrink(target, budget=budget, run=_outcome)
        path = out_dir / f"score-seed{card.seed}-case{first.index}-{rule}.toml"
        out_dir.mkdir(parents=True, exist_ok=True)
        note = "\n".join(
            [f"Found by sbwatch sim score --seed {card.seed} (case {first.index}), shrunk."]
            + [f"  {c['name']}: {c['detail']}" for c in small.broken if c["name"] == rule]
        )
        doc = {**small.doc, "name": path.stem}
        path.write_text(to_toml(doc, note=note, expect="score"), encoding="utf-8")
        written.append((rule, path))
        if say is not None:
            say(f"{rule}: shrunk case {first.index} to {len(small.doc['events'])} events: {path}")
    return written
