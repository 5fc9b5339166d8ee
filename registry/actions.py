"""A meeting's action list (*actielijst*, Emmen art. 7): who does what by when, per case
on the agenda — DAT only, never WAT.

The "what" is a code from a fixed list (:data:`ACTION_KINDS`, or a pack's own
``[[action_kinds]]`` with ``key`` and ``label``), so nothing about the resident can be
typed in. The responsible person is someone invited for that case at that meeting. The
coordinator records the list; who may read it is :func:`registry.access.authorize_action_list`.
Rows are deleted with the case (:func:`registry.erasure.erase_case`).

Plain Python over a SQLAlchemy session; functions ``flush`` and never ``commit``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import cases, packs
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import ActionItem, Case, Meeting, MeetingCase, Person, meeting_participant
from registry.texts import N_, _, long_date

ACTION_KINDS = {
    "contact_resident": N_("contact opnemen met de inwoner"),
    "feedback_bringer": N_("terugkoppeling aan de inbrenger"),
    "referral": N_("aanmelding/doorverwijzing"),
    "handover_regie": N_("regie overdragen"),
    "report_back": N_("terugmelden aan de casustafel"),
    "evaluation": N_("evaluatiemoment plannen"),
}
"""The actions an action list may name (key → Dutch label), unless the pack has its own."""


def action_kinds(pack: packs.Pack | None) -> dict[str, str]:
    """The pack's ``[[action_kinds]]`` (key → label), else :data:`ACTION_KINDS`."""
    own = (pack.settings.get("action_kinds") if pack is not None else None) or []
    kinds = {str(item["key"]): str(item["label"]) for item in own if isinstance(item, dict)
             and item.get("key") and item.get("label")}
    return kinds or {key: _(label) for key, label in ACTION_KINDS.items()}


def kinds_of_meeting(meeting: Meeting) -> dict[str, str]:
    """The action kinds of the meeting's covenant pack."""
    return action_kinds(packs.cached_pack(meeting.table.covenant.pack))


def agenda_case(session: Session, meeting: Meeting, *, case_id: int | None = None,
                case_ref: str | None = None) -> Case:
    """The case on the meeting's agenda named by id or reference, or a field error."""
    field = "case_id" if case_id is not None else "case_ref"
    query = select(Case).join(MeetingCase, MeetingCase.case_id == Case.id).where(MeetingCase.meeting_id == meeting.id)
    if case_id is not None:
        query = query.where(Case.id == case_id)
    elif (case_ref or "").strip():
        query = query.where(Case.reference == case_ref.strip())
    else:
        raise ValidationError(_("Kies de casus."), {"case_ref": _("Kies een casus van de agenda.")})
    case = session.scalar(query)
    if case is None:
        raise ValidationError(_("Deze casus staat niet op de agenda."), {field: _("Deze casus staat niet op de agenda van dit overleg.")})
    return case


def invited_for(session: Session, meeting: Meeting, case: Case) -> list[Person]:
    """The people invited for this case at this meeting, in the order they were invited."""
    return list(session.scalars(
        select(Person).join(meeting_participant, meeting_participant.c.person_id == Person.id)
        .join(MeetingCase, MeetingCase.id == meeting_participant.c.meeting_case_id)
        .where(MeetingCase.meeting_id == meeting.id, MeetingCase.case_id == case.id).order_by(Person.id)))


def record_action(session: Session, meeting: Meeting, case: Case, person: Person, action: str, due_on: dt.date,
                  by: str) -> ActionItem:
    """Add a line to the meeting's action list: ``person`` (invited for ``case``) does
    ``action`` (a code) by ``due_on`` (not before the meeting). Every field error at once."""
    cases.ensure_readable(case)
    kinds = kinds_of_meeting(meeting)
    errors: dict[str, str] = {}
    if action not in kinds:
        errors["action"] = _("Kies een actie uit de lijst: %(kinds)s.", kinds=", ".join(kinds.values()))
    if due_on < meeting.on:
        errors["due_on"] = _("De streefdatum ligt niet vóór het overleg (%(date)s).", date=long_date(meeting.on))
    if person.id not in {p.id for p in invited_for(session, meeting, case)}:
        errors["person_id"] = _("Alleen iemand die voor casus %(ref)s is uitgenodigd kan een actie krijgen.",
                                ref=case.reference)
    if case.closed_on is not None:
        errors["case_ref"] = _("Casus %(ref)s is gesloten per %(date)s.", ref=case.reference,
                               date=long_date(case.closed_on))
    if errors:
        raise ValidationError(_("De actie kan niet worden vastgelegd."), errors)
    item = ActionItem(meeting_id=meeting.id, case_id=case.id, person_id=person.id, action=action, due_on=due_on,
                      recorded_by=by)
    session.add(item)
    session.flush()
    return item


def mark_done(session: Session, item: ActionItem, on: dt.date, by: str) -> ActionItem:
    """Record that the action was done on ``on`` (not before its meeting)."""
    meeting = session.get(Meeting, item.meeting_id)
    if item.done_on is not None:
        raise Conflict(_("Deze actie is al afgerond."), {"on": _('Afgerond op %(value)s.', value=long_date(item.done_on))})
    if on < meeting.on:
        raise ValidationError(_("Datum vóór het overleg."), {"on": _('Het overleg was op %(value)s.', value=long_date(meeting.on))})
    item.done_on = on
    session.flush()
    return item


def get_action(session: Session, action_id: int) -> ActionItem:
    """The action list line with this id, or NotFound."""
    item = session.get(ActionItem, action_id)
    if item is None:
        raise NotFound(_("Deze actie bestaat niet."), {"action_id": _("Onbekende actie.")})
    return item


def action_list(session: Session, meeting: Meeting, case_ids: frozenset[int] | None = None) -> list[ActionItem]:
    """The meeting's action list in agenda order, then by due date; only ``case_ids``
    when given (an invitee sees the lines of the cases they were invited for)."""
    query = (select(ActionItem).join(MeetingCase, (MeetingCase.case_id == ActionItem.case_id)
                                     & (MeetingCase.meeting_id == ActionItem.meeting_id))
             .where(ActionItem.meeting_id == meeting.id)
             .order_by(MeetingCase.position, ActionItem.due_on, ActionItem.id))
    if case_ids is not None:
        if not case_ids:
            return []
        query = query.where(ActionItem.case_id.in_(case_ids))
    return list(session.scalars(query))


def overdue(item: ActionItem, on: dt.date) -> bool:
    """Not done and its due date has passed."""
    return item.done_on is None and item.due_on < on
