"""Staged retention executed (*bewaartermijnen uitvoeren*): which case is archived or
deleted on a date, and doing it.

Each pack's ``[retention]`` (:class:`registry.packs.Retention`) says from which date a
case's clock runs (``anchor``) and after how many calendar months it is archived
(``archive_after_months``, optional) and deleted (``delete_after_months``):

- ``closed``: the closing date; ``evaluated``: the evaluation date (a closed case that
  was never evaluated keeps waiting: Emmen art. 6 deletes *once handled and evaluated*);
- ``phase:<key>``: the day the case entered that phase, when it is in it now (also an
  open case: ZVH counts from the decision to de-escalate). A case that never entered
  the phase, or left it again, counts from its closing date; an open case then waits.

So an open case whose anchor was never reached is never touched. A boundary day belongs
to the next stage: archived *on* anchor + ``archive_after_months``, deleted *on* anchor +
``delete_after_months`` (as notice ends on its end date, :func:`registry.rules.add_months`).

An **exception** (:func:`hold`) keeps a case as it is until its review date
(``retention_review_on``), at most ``exception_max_months`` ahead; from the review date
the case is back in the queue unless the exception was renewed. **Reopening** an archived
case (:func:`reopen`) makes it active again and holds it the same way: the review date
defaults to today + ``exception_max_months`` — otherwise the next daily run would
archive it again at once.

:func:`plan` decides and changes nothing (the dry run); :func:`execute` applies the steps:
archiving sets the stage, records a :class:`registry.models.CaseEvent` ``archived``, an
evidence entry ``retention_archived`` naming the rule and a figure; deleting is
:func:`registry.erasure.erase_case`. Step lines name the case by its id and its table's
id, never by its reference: the reference is pseudonymous but still links to a person in
the partners' own files, and these lines end up in cron mails and logs.

Plain Python over a SQLAlchemy session; functions ``flush`` and never ``commit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import cases, packs, rules
from registry.errors import Conflict, ValidationError
from registry.models import Case, CaseEvent
from registry.texts import _, long_date

ARCHIVE = "archive"
ERASE = "erase"
ACTION_LABELS = {ARCHIVE: "archiveren", ERASE: "verwijderen"}


@dataclass(frozen=True)
class Step:
    """One thing due for one case on a date: ``archive`` (active → archived) or ``erase``.

    ``rule`` is a short code without personal data (it goes into the evidence log), e.g.
    ``retention:erase:12m:phase:afschaling``; ``description`` the Dutch line printed.
    """

    case_id: int
    table_id: int
    action: str
    rule: str
    anchor_on: dt.date
    due_on: dt.date
    description: str


def anchor_date(case: Case, retention: packs.Retention, pack: packs.Pack | None = None) -> dt.date | None:
    """The day the case's retention clock started, or None while it does not run."""
    if retention.anchor == "closed":
        return case.closed_on
    if retention.anchor == "evaluated":
        return case.evaluated_on
    key = retention.anchor.split(":", 1)[1]
    pack = pack or cases.pack_of(case)
    current = case.phase or (pack.phases[0].key if pack.phases else None)
    if current == key:
        if case.phase_since is not None:
            return case.phase_since
        entered = [e.on for e in case.events if e.to_phase == key and e.kind in ("phase", "opened")]
        return max(entered) if entered else case.opened_on
    return case.closed_on


def _anchor_text(retention: packs.Retention) -> str:
    if retention.anchor == "closed":
        return "afsluiting"
    if retention.anchor == "evaluated":
        return "evaluatie"
    return "fase " + retention.anchor.split(":", 1)[1]


def due_step(case: Case, on: dt.date, pack: packs.Pack | None = None) -> Step | None:
    """What retention does to this case on ``on``, or None (see the module text)."""
    if case.retention_stage == "erased":
        return None
    pack = pack or cases.pack_of(case)
    retention = pack.retention
    if case.retention_review_on is not None and case.retention_review_on > on:
        return None  # held by an exception until its review date
    anchor = anchor_date(case, retention, pack)
    if anchor is None:
        return None
    since = _anchor_text(retention)
    lapsed = (f"; uitzondering tot {case.retention_review_on.isoformat()} verlopen"
              if case.retention_review_on is not None else "")
    delete_on = rules.add_months(anchor, retention.delete_after_months)
    if on >= delete_on:
        months, action, due, what = retention.delete_after_months, ERASE, delete_on, "bewaartermijn"
    elif (retention.archive_after_months is not None and case.retention_stage == "active"
          and on >= rules.add_months(anchor, retention.archive_after_months)):
        months, action, what = retention.archive_after_months, ARCHIVE, "actieve termijn"
        due = rules.add_months(anchor, months)
    else:
        return None
    rule = f"retention:{action}:{months}m:{retention.anchor}"
    description = (f"casus {case.id} (tafel {case.table_id}): {ACTION_LABELS[action]} - {what} {months} "
                   f"maanden na {since} ({anchor.isoformat()}) verstreken op {due.isoformat()}{lapsed}")
    return Step(case.id, case.table_id, action, rule, anchor, due, description)


def plan(session: Session, on: dt.date) -> list[Step]:
    """Every step due on ``on`` for the cases not erased, by case id. Changes nothing."""
    steps = []
    for case in session.scalars(select(Case).where(Case.retention_stage != "erased").order_by(Case.id)):
        step = due_step(case, on)
        if step is not None:
            steps.append(step)
    return steps


def execute(session: Session, steps: list[Step], on: dt.date, by: str = "retention") -> list[Step]:
    """Apply the steps that are still due (another run may have done them); returns those
    applied. Each case is re-read (``FOR UPDATE`` on PostgreSQL) and planned again."""
    from registry import erasure

    done = []
    for step in steps:
        case = session.get(Case, step.case_id, with_for_update=True, populate_existing=True)
        if case is None:
            continue
        again = due_step(case, on)
        if again is None or again.action != step.action:
            continue
        if step.action == ERASE:
            if erasure.erase_case(session, case, on=on, rule=step.rule, by=by):
                done.append(step)
            continue
        archive(session, case, on=on, rule=step.rule, by=by)
        done.append(step)
    return done


def archive(session: Session, case: Case, *, on: dt.date, rule: str, by: str) -> None:
    """Close the case's file (*archiveren*): findable by reference and bringer, its
    consents, participants and documents answer 403 ``archived`` until reopened."""
    from registry import erasure
    from signatures import evidence

    case.retention_stage, case.archived_on = "archived", on
    case.retention_hold_reason = case.retention_review_on = None
    session.add(CaseEvent(case_id=case.id, kind="archived", on=on, reason=rule, recorded_by=by))
    _cancel_open_signing(session, case, by)
    session.flush()
    evidence.append_event(session, subject_kind="case", subject_id=case.id, event="retention_archived",
                          actor=by, details={"rule": rule})
    erasure.count_figure(session, case.table_id, on, "case_archived")


def _cancel_open_signing(session: Session, case: Case, by: str) -> None:
    """A closed file sends no more signing links: open requests of its consents stop."""
    from signatures import lifecycle
    from signatures.models import SigningRequest
    from registry.models import Consent

    consent_ids = select(Consent.id).where(Consent.case_id == case.id)
    for request in session.scalars(select(SigningRequest).where(
            SigningRequest.subject_kind == "consent", SigningRequest.subject_id.in_(consent_ids),
            SigningRequest.status.in_(lifecycle.OPEN_STATUSES))):
        lifecycle.cancel_request(session, request.id, actor=by, reason="casus gearchiveerd")


# ----------------------------------------------------------------------------- exceptions


def _review_date(case: Case, review_on: dt.date | None, today: dt.date) -> dt.date:
    """A review date after today and at most the pack's ``exception_max_months`` ahead."""
    months = cases.pack_of(case).retention.exception_max_months
    latest = rules.add_months(today, months)
    if review_on is None:
        return latest
    if review_on <= today:
        raise ValidationError(_("De herbeoordelingsdatum ligt in het verleden."), {
            "review_on": _('Kies een datum na vandaag (%(value)s).', value=long_date(today))})
    if review_on > latest:
        raise ValidationError(_("De herbeoordelingsdatum ligt te ver weg."), {
            "review_on": _('Hoogstens %(months)s maanden vooruit: uiterlijk %(value)s.', months=months, value=long_date(latest))})
    return review_on


def hold(session: Session, case: Case, *, reason: str, review_on: dt.date, by: str,
         today: dt.date | None = None) -> Case:
    """Keep the case as it is until ``review_on`` (*uitzondering op de bewaartermijn*),
    with a motivation; renewing replaces the previous exception. Records a CaseEvent
    ``exception``. An erased case is gone (410)."""
    if case.retention_stage == "erased":
        cases.ensure_readable(case)
    today = today or rules.today()
    text = cases._reason(reason, required=True)
    review_on = _review_date(case, review_on, today)
    case.retention_hold_reason, case.retention_review_on = text, review_on
    session.add(CaseEvent(case_id=case.id, kind="exception", on=today, reason=text, recorded_by=by))
    session.flush()
    return case


def reopen(session: Session, case: Case, *, reason: str, by: str, review_on: dt.date | None = None,
           today: dt.date | None = None) -> Case:
    """Open an archived case's file again (*heropenen*, ZVH: by the manager, with a reason).

    It becomes active and is held until ``review_on`` (default today + the pack's
    ``exception_max_months``): then retention looks at it again and, its term still
    passed, archives it at the next run unless the exception is renewed.
    """
    from signatures import evidence

    if case.retention_stage == "erased":
        cases.ensure_readable(case)
    if case.retention_stage != "archived":
        raise Conflict(_("Deze casus is niet gearchiveerd."), {"case_id": _("Alleen een gearchiveerde casus wordt heropend.")})
    today = today or rules.today()
    text = cases._reason(reason, required=True)
    review_on = _review_date(case, review_on, today)
    case.retention_stage, case.archived_on = "active", None
    case.retention_hold_reason, case.retention_review_on = text, review_on
    session.add(CaseEvent(case_id=case.id, kind="reopened", on=today, reason=text, recorded_by=by))
    session.flush()
    evidence.append_event(session, subject_kind="case", subject_id=case.id, event="retention_reopened",
                          actor=by, details={"rule": "reopened", "review_on": review_on.isoformat()})
    return case
