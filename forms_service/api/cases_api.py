"""API v1 for a case's life: open a case, move it through its pack's phases, close and
evaluate it, add participants, record each partner's sharing basis, list a table's cases
with their due dates.

Who may: :func:`registry.access.authorize_case` (grants first, then the case's phase);
rules: :mod:`registry.cases`. A case is pseudonymous (a reference), but reading one is
still logged (who looked at which case). Each view commits once. The request and answer
shapes are the schemas below; the rules stay in :mod:`registry.cases`.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import QueryOn, commit
from forms_service.api.schema import Choice, Date, Id, Schema, Text, body, out_str, query
from registry import access as rights
from registry import cases, retention, rules, services
from registry.models import Case, CaseTable, Organisation, Person


# ----------------------------------------------------------------------------- shapes

PHASE_MAX = 40
REFERENCE_MAX = 100
TRACK_MAX = 10


class NewCase(Schema):
    """``POST /api/v1/cases``: ``age`` (not stored) is required where the pack has a minimum age."""

    table_id = Id(required=True)
    reference = Text(REFERENCE_MAX, required=True)
    opened_on = Date()
    phase = Text(PHASE_MAX)
    brought_by_person_id = Id()
    age = Id(metadata={"description": "the resident's age in years (not stored)"})
    track = Text(TRACK_MAX)


class PhaseMove(Schema):
    phase = Text(PHASE_MAX, required=True)
    on = Date()
    reason = Text(cases.REASON_MAX)


class Closure(Schema):
    on = Date(required=True)
    reason = Choice(tuple(cases.CLOSE_REASONS), required=True)
    evaluated_on = Date()


class Evaluation(Schema):
    on = Date(required=True)


class NewParticipant(Schema):
    person_id = Id(required=True)
    role = Text(PHASE_MAX)
    on = Date()


class NewSharingBasis(Schema):
    organisation_id = Id(required=True)
    basis = Choice(tuple(cases.SHARING_BASES), required=True)
    on = Date()


class RetentionException(Schema):
    reason = Text(cases.REASON_MAX, required=True)
    review_on = Date(required=True)


class Reopening(Schema):
    reason = Text(cases.REASON_MAX, required=True)
    review_on = Date()


class Casusregie(Schema):
    organisation_id = Id(required=True)
    on = Date()


class Procesregisseur(Schema):
    person_id = Id(required=True)
    on = Date()


def _day(**kwargs) -> ma.fields.String:
    """A date already written as ``YYYY-MM-DD`` by the dict builders below (or null)."""
    return out_str(metadata={"format": "date"}, **kwargs)


class CaseDueSchema(Schema):
    phase = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(["due", "not_before"]))
    date = _day(required=True)
    passed = ma.fields.Boolean(required=True)


class CaseSchema(Schema):
    """A case: the contract's fields plus its life (phase, due dates, retention)."""

    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    table_id = ma.fields.Integer(required=True)
    phase = ma.fields.String(required=True)
    opened_on = _day(required=True)
    closed_on = _day(required=True)
    phase_label = ma.fields.String(required=True)
    phase_since = _day(required=True)
    track = out_str(required=True)
    close_reason = out_str(required=True)
    evaluated_on = _day(required=True)
    brought_by_person_id = ma.fields.Integer(required=True, allow_none=True)
    brought_by_organisation_id = ma.fields.Integer(required=True, allow_none=True)
    procesregisseur_id = ma.fields.Integer(required=True, allow_none=True)
    casusregie_organisation_id = ma.fields.Integer(required=True, allow_none=True)
    retention_stage = ma.fields.String(required=True, validate=ma.validate.OneOf(["active", "archived", "erased"]))
    archived_on = _day(required=True)
    retention_review_on = _day(required=True)
    retention_hold_reason = out_str(required=True)
    due = ma.fields.List(ma.fields.Nested(CaseDueSchema), required=True)


class CaseEventSchema(Schema):
    kind = ma.fields.String(required=True)
    on = _day(required=True)
    from_phase = out_str(required=True)
    to_phase = out_str(required=True)
    reason = out_str(required=True)
    recorded_by = out_str(required=True)


class CaseParticipantSchema(Schema):
    person_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    role = out_str(required=True)
    ad_hoc = ma.fields.Boolean(required=True)
    added_on = _day(required=True)
    ended_on = _day(required=True)


class CaseSharingBasisSchema(Schema):
    organisation_id = ma.fields.Integer(required=True)
    organisation = ma.fields.String(required=True)
    basis = ma.fields.String(required=True)
    recorded_on = _day(required=True)
    recorded_by = out_str(required=True)


class CaseFileSchema(CaseSchema):
    """A case's file: the case with its history, participants and sharing bases."""

    events = ma.fields.List(ma.fields.Nested(CaseEventSchema), required=True)
    participants = ma.fields.List(ma.fields.Nested(CaseParticipantSchema), required=True)
    sharing_bases = ma.fields.List(ma.fields.Nested(CaseSharingBasisSchema), required=True)


class AddedParticipantSchema(Schema):
    case_id = ma.fields.Integer(required=True)
    person_id = ma.fields.Integer(required=True)
    role = out_str(required=True)
    ad_hoc = ma.fields.Boolean(required=True)
    added_on = _day(required=True)


class RecordedSharingBasisSchema(Schema):
    case_id = ma.fields.Integer(required=True)
    organisation_id = ma.fields.Integer(required=True)
    basis = ma.fields.String(required=True)
    recorded_on = _day(required=True)


class TableCasesSchema(Schema):
    table_id = ma.fields.Integer(required=True)
    on = _day(required=True)
    cases = ma.fields.List(ma.fields.Nested(CaseSchema), required=True)


def _d(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def case_json(case: Case, on: dt.date | None = None) -> dict:
    """A case as the API shows it: the contract's fields plus its life."""
    pack = cases.pack_of(case)
    phase = cases.current_phase(case, pack)
    return {
        "id": case.id, "reference": case.reference, "table_id": case.table_id, "phase": phase.key,
        "opened_on": _d(case.opened_on), "closed_on": _d(case.closed_on),
        "phase_label": phase.label, "phase_since": _d(case.phase_since or case.opened_on),
        "track": case.track, "close_reason": case.close_reason, "evaluated_on": _d(case.evaluated_on),
        "brought_by_person_id": case.brought_by_person_id,
        "brought_by_organisation_id": case.brought_by_organisation_id,
        "procesregisseur_id": case.procesregisseur_id,
        "casusregie_organisation_id": case.casusregie_organisation_id,
        "retention_stage": case.retention_stage, "archived_on": _d(case.archived_on),
        "retention_review_on": _d(case.retention_review_on), "retention_hold_reason": case.retention_hold_reason,
        "due": [{"phase": d.phase, "label": d.label, "kind": d.kind, "date": _d(d.date), "passed": d.passed}
                for d in cases.due_dates(case, on or rules.today(), pack)],
    }


def case_file_json(case: Case) -> dict:
    """:func:`case_json` with the case's history, participants and sharing bases."""
    payload = case_json(case)
    payload["events"] = [{"kind": e.kind, "on": _d(e.on), "from_phase": e.from_phase, "to_phase": e.to_phase,
                          "reason": e.reason, "recorded_by": e.recorded_by} for e in case.events]
    payload["participants"] = [{"person_id": p.person_id, "name": p.person.name, "role": p.role, "ad_hoc": p.ad_hoc,
                                "added_on": _d(p.added_on), "ended_on": _d(p.ended_on)} for p in case.participants]
    payload["sharing_bases"] = [{"organisation_id": b.organisation_id, "organisation": b.organisation.name,
                                 "basis": b.basis, "recorded_on": _d(b.recorded_on), "recorded_by": b.recorded_by}
                                for b in cases.sharing_bases(db.session(), case)]
    return payload


def _case(case_id: int) -> Case:
    return cases.get_case(db.session(), case_id)


def _managed(case_id: int, permission: str = rights.MANAGE_CASES):
    """The case and the grant in use; 404/403 (before any word about the body) unless the
    account may ``permission`` it in its current phase."""
    case = _case(case_id)
    return case, rights.authorize_case(db.session(), access.acting_user(), case, permission)


def _retention(case_id: int):
    """:func:`_managed` for the retention routes (coordinator, admin)."""
    return _managed(case_id, rights.RETENTION)


@bp.post("/v1/cases")
@body(NewCase)
@bp.response(201, CaseSchema)
@bp.doc(summary="Open a case at a table (coordinator, chair, the bringing partner's contact); "
                "`age` (not stored) is required where the pack has a minimum age")
def create_case(values):
    """Open a case at a table (*aanmelding*), brought by a person of a partner."""
    session = db.session()
    table = services.get(session, CaseTable, values["table_id"], "table_id")
    brought_by_id = values["brought_by_person_id"]
    brought_by = services.get(session, Person, brought_by_id, "brought_by_person_id") if brought_by_id else None
    target = rights.Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                           organisation_id=brought_by.organisation_id if brought_by else None, structural_only=True)
    use = access.require(rights.MANAGE_CASES, target)
    case = cases.open_case(session, table, values["reference"], opened_on=values["opened_on"] or rules.today(),
                           by=use.email, phase=values["phase"], brought_by=brought_by, age=values["age"],
                           track=values["track"])
    return commit(case_json(case))


@bp.get("/v1/cases/<int:case_id>")
@bp.response(200, CaseFileSchema)
@bp.doc(summary="A case's file, as its phase allows: phase and due dates, history, participants, sharing bases")
def get_case(case_id: int):
    """A case's file: phase and due dates, history, participants, sharing bases."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.CASES)
    access.log_read(use, "view", "case", case.id, target=rights.case_target(db.session(), case))
    return commit(case_file_json(case))


@bp.post("/v1/cases/<int:case_id>/phase")
@body(PhaseMove, access=_managed)
@bp.response(200, CaseSchema)
@bp.doc(summary="Move the case to another phase of its pack")
def move_phase(values, case_id: int):
    """Move the case to another phase of its pack, from a date, with a reason."""
    case, use = _managed(case_id)
    cases.move_phase(db.session(), case, values["phase"], on=values["on"] or rules.today(), by=use.email,
                     reason=values["reason"])
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/closure")
@body(Closure, access=_managed)
@bp.response(200, CaseSchema)
@bp.doc(summary="Close the case with a reason code; not_belonging deletes it at once")
def close_case(values, case_id: int):
    """Close the case with a reason code (and its evaluation date); ``not_belonging``
    deletes it at once."""
    case, use = _managed(case_id)
    cases.close_case(db.session(), case, on=values["on"], reason=values["reason"], by=use.email,
                     evaluated_on=values["evaluated_on"])
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/evaluation")
@body(Evaluation, access=_managed)
@bp.response(200, CaseSchema)
@bp.doc(summary="Record the evaluation of a closed case")
def evaluate_case(values, case_id: int):
    """Record the evaluation of a closed case (Emmen art. 6: then it may be deleted)."""
    case, use = _managed(case_id)
    cases.record_evaluation(db.session(), case, on=values["on"], by=use.email)
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/participants")
@body(NewParticipant, access=_managed)
@bp.response(201, AddedParticipantSchema)
@bp.doc(summary="Add a participant in one of the pack's case roles (ad hoc: with a Bijlage 2 for the case)")
def add_participant(values, case_id: int):
    """Add a person to the case in one of the pack's case roles."""
    case, use = _managed(case_id)
    person = services.get(db.session(), Person, values["person_id"], "person_id")
    participant = cases.add_participant(db.session(), case, person, on=values["on"] or rules.today(), by=use.email,
                                        role=values["role"])
    return commit({"case_id": case.id, "person_id": participant.person_id, "role": participant.role,
                   "ad_hoc": participant.ad_hoc, "added_on": _d(participant.added_on)})


@bp.post("/v1/cases/<int:case_id>/sharing-basis")
@body(NewSharingBasis, access=_managed)
@bp.response(200, RecordedSharingBasisSchema)
@bp.doc(summary="Record a partner's basis for sharing in this case")
def record_sharing_basis(values, case_id: int):
    """Record a partner's weighing of its basis for sharing in this case (art. 5/7)."""
    case, use = _managed(case_id)
    services.get(db.session(), Organisation, values["organisation_id"], "organisation_id")
    row = cases.record_sharing_basis(db.session(), case, values["organisation_id"], values["basis"],
                                     on=values["on"] or rules.today(), by=use.email)
    return commit({"case_id": case.id, "organisation_id": row.organisation_id, "basis": row.basis,
                   "recorded_on": _d(row.recorded_on)})


@bp.post("/v1/cases/<int:case_id>/retention-exception")
@body(RetentionException, access=_retention)
@bp.response(200, CaseSchema)
@bp.doc(summary="Keep the case longer than its retention term (coordinator, admin): a motivation and a "
                "review date after today, at most the pack's exception_max_months ahead (else 422 review_on)")
def retention_exception(values, case_id: int):
    """Keep the case longer than its retention term (*uitzondering*): a motivation and a
    review date at most the pack's ``exception_max_months`` (default 6) ahead."""
    case, use = _retention(case_id)
    retention.hold(db.session(), case, reason=values["reason"], review_on=values["review_on"], by=use.email)
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/reopening")
@body(Reopening, access=_retention)
@bp.response(200, CaseSchema)
@bp.doc(summary="Reopen an archived case (coordinator, admin) with a reason; held until review_on "
                "(default today + exception_max_months), then back in the retention queue")
def reopen_case(values, case_id: int):
    """Open an archived case's file again, with a reason; it is held until ``review_on``
    (default: today + the pack's ``exception_max_months``)."""
    case, use = _retention(case_id)
    retention.reopen(db.session(), case, reason=values["reason"], review_on=values["review_on"], by=use.email)
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/casusregie")
@body(Casusregie, access=_managed)
@bp.response(200, CaseSchema)
@bp.doc(summary="Give the casusregie to a partner of the covenant, valid on that date (art. 5 and 7)")
def set_casusregie(values, case_id: int):
    """Give the casusregie of the case to a partner of the covenant (art. 5 and 7)."""
    case, use = _managed(case_id)
    cases.set_casusregie(db.session(), case, values["organisation_id"], values["on"] or rules.today(), use.email)
    return commit(case_json(case))


@bp.post("/v1/cases/<int:case_id>/procesregisseur")
@body(Procesregisseur, access=_managed)
@bp.response(200, CaseSchema)
@bp.doc(summary="Name the case's procesregisseur (packs with `[cases] procesregisseur = true`); "
                "the person must be entitled at the table structurally on that date")
def set_procesregisseur(values, case_id: int):
    """Name the case's procesregisseur (where the pack has one per case)."""
    case, use = _managed(case_id)
    person = services.get(db.session(), Person, values["person_id"], "person_id")
    cases.set_procesregisseur(db.session(), case, person, values["on"] or rules.today(), use.email)
    return commit(case_json(case))


@bp.get("/v1/tables/<int:table_id>/cases")
@query(QueryOn)
@bp.response(200, TableCasesSchema)
@bp.doc(summary="The table's cases visible to this account, with their phase and due dates")
def table_cases(args, table_id: int):
    """The table's cases this account may see in their current phase, with due dates
    (``?on=`` counts passed deadlines as of that date)."""
    session = db.session()
    table = services.get(session, CaseTable, table_id, "table_id")
    on = args["on"] or rules.today()
    user = access.acting_user()
    shown = []
    for case in session.scalars(select(Case).where(Case.table_id == table.id).order_by(Case.opened_on, Case.id)):
        if cases.listed(case) and rights.may_see_case(session, user, case):
            shown.append(case_json(case, on))
    if not shown:
        access.require(rights.READ, rights.table_target(session, table))
    return {"table_id": table.id, "on": on.isoformat(), "cases": shown}
