"""The alert conditions of the diagnosis and the budget: subjects, causes and what each takes
in.

``policy.conditions`` decides which subjects are active and how severe; ``alerting.words``
writes their title and body; this module puts the two together into the conditions the
alerting policy handles.
"""

from __future__ import annotations

from sbwatch.alerting.words import (
    LEVER_TITLE,
    budget_body,
    budget_title,
    condition_body,
    headline,
    lever_body,
    reach_line,
    says_command,
    service_title,
)
from sbwatch.config.settings import BudgetSettings
from sbwatch.core.facts import FactKind
from sbwatch.core.results import BudgetEstimate, Diagnosis, DiagnosisKind, Severity
from sbwatch.core.subjects import BudgetCause, Family, Subject, named
from sbwatch.policy.alerts import Condition, service_subjects
from sbwatch.policy.budget import eased, reads_used_up
from sbwatch.policy.conditions import FOLDING, IO_KINDS, assess
from sbwatch.policy.escalation import EscalationDecision, Reach, Why


def still_failing() -> tuple[str, ...]:
    """What a cause under which the services keep failing takes in: their alerts and the alert
    of the cause before it."""
    return (*service_subjects(), Subject.DIAGNOSIS)


def raises_soon(decision: EscalationDecision | None) -> bool:
    """Whether sbwatch raises the size itself within another lead of its raise, or waits a
    minute's reading to raise it: a forecast said again now ("3% left, runs out in ~6m")
    would come minutes before the raise says the same and what is done about it."""
    reason = None if decision is None else decision.reason
    if reason is not None and reason.why is Why.CONFIRMING:
        return True
    if reason is None or reason.why is not Why.NOT_DUE or reason.eta_s is None:
        return False
    return reason.eta_s <= 2 * reason.lead_s


def conditions(
    diagnosis: Diagnosis,
    budget: BudgetEstimate | None,
    budget_severity: Severity | None,
    decision: EscalationDecision | None,
    *,
    budget_latched: bool,
    ahead: Reach | None = None,
    thresholds: BudgetSettings | None = None,
) -> list[Condition]:
    """The project's conditions this cycle, in words: its diagnosis and its IO budget.

    ``ahead``: why sbwatch will not raise the size itself before the budget runs out
    (``policy.escalation.beyond_reach``); the budget alert carries it, with the command.
    ``thresholds``: the budget's warn horizons (``policy.budget.alert_thresholds``).
    """
    diag, io = assess(
        diagnosis,
        budget_severity,
        decision,
        budget_latched=budget_latched,
        eased=budget is not None and eased(budget, thresholds or BudgetSettings()),
    )
    project = diagnosis.project
    body = condition_body(diagnosis, decision)
    io_body = body if diagnosis.kind in IO_KINDS else budget_body(budget)
    # the budget alert says the command once: the proposal's, else the one beyond reach
    asked = diagnosis.kind in IO_KINDS and says_command(diagnosis, decision)
    reach = reach_line(ahead, project)
    if reach and not asked:
        io_body = f"{io_body}\n{reach}" if io_body else reach
    per_service = diagnosis.kind is DiagnosisKind.SERVICE_DOWN and bool(diagnosis.services)
    io_cause = budget_cause(diagnosis, budget)
    # Only a draining budget's alert tells a forecast; a used-up or failing one says so, and
    # a forecast flickering there is no news.
    forecast = budget.eta_s if budget is not None and io_cause is BudgetCause.DRAINING else None
    if raises_soon(decision):
        forecast = None  # the raise's own message comes within minutes: no update before it
    return [
        Condition(
            project,
            diag.subject,
            diag.severity,
            headline(diagnosis),
            body,
            diag.active and not per_service,
            diag.folds_others,
            cause=_cause(diagnosis),
            held=bool(diagnosis.waiting),
            # a named cause (paused, CPU, disk full...) is why the services fail: no RESOLVED
            # of theirs while it holds them down
            absorbs=service_subjects()
            if diag.severity is Severity.CRITICAL or diag.folds_others
            else (),
        ),
        Condition(
            project,
            io.subject,
            io.severity,
            budget_title(diagnosis, budget),
            io_body,
            io.active,
            cause=io_cause,
            eta_s=forecast,
            due_s=None if ahead is None else ahead.due_s,
            # the used-up budget is why services fail: their alerts, and the one of a cause
            # that ended while they kept failing (a pause, an outage), are lines of this one
            absorbs=still_failing() if io_cause is BudgetCause.FAILING else (),
        ),
        lever_condition(diagnosis),
        *(  # each failing service is a problem of its own: its own alert, its own resolve
            Condition(
                project,
                named(Family.SERVICE, name),
                Severity.CRITICAL,
                service_title(name),
                body,
                active=True,
                cause=f"service_down:{name}",
                since=dict(diagnosis.onsets).get(name),
                # a cause that ended while this service kept failing did not end the failure:
                # its alert becomes a line of this one, never a RESOLVED
                absorbs=(Subject.DIAGNOSIS,),
            )
            for name in diagnosis.services
        ),
        *(  # a failure whose cause is awaited: its open alert neither resolves nor pages
            Condition(
                project,
                named(Family.SERVICE, name),
                Severity.CRITICAL,
                service_title(name),
                "",
                active=False,
                held=True,
            )
            for name in diagnosis.waiting
        ),
    ]


def _cause(diagnosis: Diagnosis) -> str:
    if diagnosis.service:
        return f"{diagnosis.kind}:{diagnosis.service}"
    oom = any(fact.kind is FactKind.OOM for fact in diagnosis.evidence)
    if diagnosis.ahead:
        return f"{diagnosis.kind}:ahead:oom" if oom else f"{diagnosis.kind}:ahead"
    return f"{diagnosis.kind}:oom" if oom else diagnosis.kind


def lever_condition(diagnosis: Diagnosis) -> Condition:
    """The Management API rate limited or failing: one warning, never a failing project.

    An outage or our own network explains it already: it is said there; so does a failure
    not yet told from either (nothing outside reached since it began)."""
    lever = diagnosis.lever
    undecided = any(fact.kind is FactKind.NO_OUTSIDE for fact in diagnosis.evidence)
    active = lever is not None and diagnosis.kind not in FOLDING and not undecided
    return Condition(
        diagnosis.project,
        Subject.MGMT_API,
        Severity.WARNING,
        LEVER_TITLE,
        lever_body(lever),
        active,
        cause=Subject.MGMT_API,
    )


def budget_cause(diagnosis: Diagnosis, budget: BudgetEstimate | None) -> BudgetCause:
    """What the IO budget alert is about: services failing, used up, or running out."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        return BudgetCause.FAILING
    if budget is not None and reads_used_up(budget):
        return BudgetCause.USED_UP
    return BudgetCause.DRAINING if budget is not None else BudgetCause.PROVIDER_WARNING
