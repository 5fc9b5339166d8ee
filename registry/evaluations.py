"""The covenant's annual evaluation (*jaarlijkse evaluatie*, Emmen art. 12): the partners
evaluate the covenant once a year. Recorded with the day it was held and a note; the
history stays. One is due when none was held in the last 12 months — for a covenant
that came into force less than 12 months ago, the first is due 12 months after that day
(choice made here: a covenant that just started is not "overdue" on day one).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import rules
from registry.errors import ValidationError
from registry.texts import _, long_date
from registry.models import Covenant, CovenantEvaluation

def dutch_date(day: dt.date) -> str:
    """A date as people write it in Dutch: "12 mei 2025"."""
    from babel.dates import format_date

    return format_date(day, "d MMMM y", locale="nl")


NOTE_MAX = 2000
"""A note is a summary (who took part, the conclusions), not the minutes."""

INTERVAL_MONTHS = 12


def record_evaluation(session: Session, covenant: Covenant, *, held_on: dt.date | None, note: str,
                      recorded_by: str) -> CovenantEvaluation:
    """Record that the partners evaluated ``covenant`` on ``held_on``; flushes, never commits.

    422 on ``held_on`` when it is missing, after today or before the covenant came into
    force; 422 on ``note`` when it is longer than :data:`NOTE_MAX`.
    """
    note = (note or "").strip()
    if held_on is None:
        raise ValidationError(_("Vul de datum van de evaluatie in."), {"held_on": _("Vul de datum van de evaluatie in.")})
    if held_on > rules.today():
        raise ValidationError(_("Evaluatie in de toekomst."), {
            "held_on": _("De evaluatie (%(day)s) ligt na vandaag; leg een evaluatie vast nadat die is gehouden.",
                         day=long_date(held_on))})
    if covenant.in_force_on is None:
        raise ValidationError(_("Dit convenant is nog niet in werking."), {
            "held_on": _("Een concept-convenant wordt nog niet geëvalueerd.")})
    if held_on < covenant.in_force_on:
        raise ValidationError(_("Evaluatie vóór de inwerkingtreding."), {
            "held_on": _("Het convenant is in werking sinds %(day)s; een evaluatie ligt op of na die dag.",
                         day=long_date(covenant.in_force_on))})
    if len(note) > NOTE_MAX:
        raise ValidationError(_("De notitie is te lang."), {"note": _("Ten hoogste %(n)s tekens.", n=NOTE_MAX)})
    evaluation = CovenantEvaluation(covenant_id=covenant.id, held_on=held_on, note=note, recorded_by=recorded_by)
    session.add(evaluation)
    session.flush()
    return evaluation


def evaluations_of(session: Session, covenant_id: int) -> list[CovenantEvaluation]:
    """Every recorded evaluation of the covenant, newest first."""
    return list(session.scalars(select(CovenantEvaluation).where(CovenantEvaluation.covenant_id == covenant_id)
                                .order_by(CovenantEvaluation.held_on.desc(), CovenantEvaluation.id.desc())))


def next_due(covenant: Covenant, last_held_on: dt.date | None) -> dt.date | None:
    """The day the next evaluation is due: 12 months after the last one, or after coming
    into force; None for a draft or an ended covenant."""
    if covenant.in_force_on is None or covenant.ended_on is not None:
        return None
    return rules.add_months(last_held_on or covenant.in_force_on, INTERVAL_MONTHS)


def last_held(session: Session, covenant_ids: list[int]) -> dict[int, dt.date]:
    """Covenant id → the day of its latest evaluation, in one query."""
    if not covenant_ids:
        return {}
    from sqlalchemy import func

    rows = session.execute(select(CovenantEvaluation.covenant_id, func.max(CovenantEvaluation.held_on))
                           .where(CovenantEvaluation.covenant_id.in_(covenant_ids))
                           .group_by(CovenantEvaluation.covenant_id)).all()
    return {covenant_id: held for covenant_id, held in rows}
