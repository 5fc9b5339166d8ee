"""API v1 for a case's life: open a case, move it through its pack's phases, close and
evaluate it, add participants, record each partner's sharing basis, list a table's cases
with their due dates.

Who may: :func:`registry.access.authorize_case` (grants first, then the case's phase);
rules: :mod:`registry.cases`. A case is pseudonymous (a reference), but reading one is
still logged (who looked at which case). Each view commits once.
"""

from __future__ import annotations

import datetime as dt

from flask import jsonify
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, body, path_id, query
from forms_service.api.registry_api import created, done
from registry import access as rights
from registry import cases, retention, rules, services
from registry.models import Case, CaseTable, Organisation, Person


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


@bp.post("/v1/cases")
def create_case():
    """Open a case at a table (*aanmelding*), brought by a person of a partner."""
    body_ = Body.from_request()
    table_id = body_.int("table_id", required=True)
    reference = body_.str("reference", required=True, max_length=100)
    opened_on = body_.date("opened_on")
    phase = body_.str("phase", max_length=40)
    brought_by_id = body_.int("brought_by_person_id")
    age = body_.int("age") if body_.data.get("age") is not None else None
    track = body_.str("track", max_length=10)
    body_.check()
    session = db.session()
    table = services.get(session, CaseTable, table_id, "table_id")
    brought_by = services.get(session, Person, brought_by_id, "brought_by_person_id") if brought_by_id else None
    target = rights.Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                           organisation_id=brought_by.organisation_id if brought_by else None, structural_only=True)
    use = access.require(rights.MANAGE_CASES, target)
    case = cases.open_case(session, table, reference, opened_on=opened_on or rules.today(), by=use.email,
                           phase=phase, brought_by=brought_by, age=age, track=track)
    return created(case_json(case))


@bp.get("/v1/cases/<int:case_id>")
def get_case(case_id: int):
    """A case's file: phase and due dates, history, participants, sharing bases."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.CASES)
    access.log_read(use, "view", "case", case.id, target=rights.case_target(db.session(), case))
    payload = case_file_json(case)
    db.session().commit()
    return jsonify(payload)


@bp.post("/v1/cases/<int:case_id>/phase")
def move_phase(case_id: int):
    """Move the case to another phase of its pack, from a date, with a reason."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    phase = body_.str("phase", required=True, max_length=40)
    on = body_.date("on")
    reason = body_.str("reason", max_length=cases.REASON_MAX)
    body_.check()
    cases.move_phase(db.session(), case, phase, on=on or rules.today(), by=use.email, reason=reason)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/closure")
def close_case(case_id: int):
    """Close the case with a reason code (and its evaluation date); ``not_belonging``
    deletes it at once."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    on = body_.date("on", required=True)
    reason = body_.choice("reason", tuple(cases.CLOSE_REASONS), required=True)
    evaluated_on = body_.date("evaluated_on")
    body_.check()
    cases.close_case(db.session(), case, on=on, reason=reason, by=use.email, evaluated_on=evaluated_on)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/evaluation")
def evaluate_case(case_id: int):
    """Record the evaluation of a closed case (Emmen art. 6: then it may be deleted)."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    on = body_.date("on", required=True)
    body_.check()
    cases.record_evaluation(db.session(), case, on=on, by=use.email)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/participants")
def add_participant(case_id: int):
    """Add a person to the case in one of the pack's case roles."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    person_id = body_.int("person_id", required=True)
    role = body_.str("role", max_length=40)
    on = body_.date("on")
    body_.check()
    person = services.get(db.session(), Person, person_id, "person_id")
    participant = cases.add_participant(db.session(), case, person, on=on or rules.today(), by=use.email, role=role)
    return created({"case_id": case.id, "person_id": participant.person_id, "role": participant.role,
                    "ad_hoc": participant.ad_hoc, "added_on": _d(participant.added_on)})


@bp.post("/v1/cases/<int:case_id>/sharing-basis")
def record_sharing_basis(case_id: int):
    """Record a partner's weighing of its basis for sharing in this case (art. 5/7)."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    organisation_id = body_.int("organisation_id", required=True)
    basis = body_.choice("basis", tuple(cases.SHARING_BASES), required=True)
    on = body_.date("on")
    body_.check()
    services.get(db.session(), Organisation, organisation_id, "organisation_id")
    row = cases.record_sharing_basis(db.session(), case, organisation_id, basis, on=on or rules.today(), by=use.email)
    return done({"case_id": case.id, "organisation_id": row.organisation_id, "basis": row.basis,
                 "recorded_on": _d(row.recorded_on)})


@bp.post("/v1/cases/<int:case_id>/retention-exception")
def retention_exception(case_id: int):
    """Keep the case longer than its retention term (*uitzondering*): a motivation and a
    review date at most the pack's ``exception_max_months`` (default 6) ahead."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.RETENTION)
    body_ = Body.from_request()
    reason = body_.str("reason", required=True, max_length=cases.REASON_MAX)
    review_on = body_.date("review_on", required=True)
    body_.check()
    retention.hold(db.session(), case, reason=reason, review_on=review_on, by=use.email)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/reopening")
def reopen_case(case_id: int):
    """Open an archived case's file again, with a reason; it is held until ``review_on``
    (default: today + the pack's ``exception_max_months``)."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.RETENTION)
    body_ = Body.from_request()
    reason = body_.str("reason", required=True, max_length=cases.REASON_MAX)
    review_on = body_.date("review_on")
    body_.check()
    retention.reopen(db.session(), case, reason=reason, review_on=review_on, by=use.email)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/casusregie")
def set_casusregie(case_id: int):
    """Give the casusregie of the case to a partner of the covenant (art. 5 and 7)."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    organisation_id = body_.int("organisation_id", required=True)
    on = body_.date("on")
    body_.check()
    cases.set_casusregie(db.session(), case, organisation_id, on or rules.today(), use.email)
    return done(case_json(case))


@bp.post("/v1/cases/<int:case_id>/procesregisseur")
def set_procesregisseur(case_id: int):
    """Name the case's procesregisseur (where the pack has one per case)."""
    case = _case(case_id)
    use = rights.authorize_case(db.session(), access.acting_user(), case, rights.MANAGE_CASES)
    body_ = Body.from_request()
    person_id = body_.int("person_id", required=True)
    on = body_.date("on")
    body_.check()
    person = services.get(db.session(), Person, person_id, "person_id")
    cases.set_procesregisseur(db.session(), case, person, on or rules.today(), use.email)
    return done(case_json(case))


@bp.get("/v1/tables/<int:table_id>/cases")
def table_cases(table_id: int):
    """The table's cases this account may see in their current phase, with due dates
    (``?on=`` counts passed deadlines as of that date)."""
    session = db.session()
    table = services.get(session, CaseTable, table_id, "table_id")
    query_ = Body.from_query()
    on = query_.date("on") or rules.today()
    query_.check()
    user = access.acting_user()
    shown = []
    for case in session.scalars(select(Case).where(Case.table_id == table.id).order_by(Case.opened_on, Case.id)):
        if cases.listed(case) and rights.may_see_case(session, user, case):
            shown.append(case_json(case, on))
    if not shown:
        access.require(rights.READ, rights.table_target(session, table))
    return jsonify({"table_id": table.id, "on": on.isoformat(), "cases": shown})


CASE = {"type": "object", "properties": {
    "id": ID, "reference": {"type": "string"}, "table_id": ID, "phase": {"type": "string"},
    "opened_on": DATE, "closed_on": {"type": ["string", "null"], "format": "date"},
    "phase_label": {"type": "string"}, "retention_stage": {"enum": ["active", "archived", "erased"]},
    "due": {"type": "array", "items": {"type": "object", "properties": {
        "phase": {"type": "string"}, "label": {"type": "string"}, "kind": {"enum": ["due", "not_before"]},
        "date": DATE, "passed": {"type": "boolean"}}}},
}, "required": ["id", "reference", "table_id", "phase", "opened_on", "closed_on"]}
STR = {"type": "string"}

openapi.FRAGMENTS.append({
    "/api/v1/cases": {"post": {
        "summary": "Open a case at a table (coordinator, chair, the bringing partner's contact); "
                   "`age` (not stored) is required where the pack has a minimum age",
        "requestBody": body({"table_id": ID, "reference": {"type": "string", "maxLength": 100}, "opened_on": DATE,
                             "phase": STR, "brought_by_person_id": ID, "age": {"type": "integer", "minimum": 0},
                             "track": STR}, ["table_id", "reference"]),
        "responses": answer("201", "Opened", CASE)}},
    "/api/v1/cases/{case_id}": {"get": {
        "summary": "A case's file, as its phase allows: phase and due dates, history, participants, sharing bases",
        "parameters": [path_id("case_id")], "responses": answer("200", "Case", CASE)}},
    "/api/v1/cases/{case_id}/phase": {"post": {
        "summary": "Move the case to another phase of its pack", "parameters": [path_id("case_id")],
        "requestBody": body({"phase": STR, "on": DATE, "reason": {"type": "string", "maxLength": cases.REASON_MAX}},
                            ["phase"]),
        "responses": answer("200", "Moved", CASE)}},
    "/api/v1/cases/{case_id}/closure": {"post": {
        "summary": "Close the case with a reason code; not_belonging deletes it at once",
        "parameters": [path_id("case_id")],
        "requestBody": body({"on": DATE, "reason": {"enum": list(cases.CLOSE_REASONS)}, "evaluated_on": DATE},
                            ["on", "reason"]),
        "responses": answer("200", "Closed", CASE)}},
    "/api/v1/cases/{case_id}/evaluation": {"post": {
        "summary": "Record the evaluation of a closed case", "parameters": [path_id("case_id")],
        "requestBody": body({"on": DATE}, ["on"]), "responses": answer("200", "Evaluated", CASE)}},
    "/api/v1/cases/{case_id}/participants": {"post": {
        "summary": "Add a participant in one of the pack's case roles (ad hoc: with a Bijlage 2 for the case)",
        "parameters": [path_id("case_id")],
        "requestBody": body({"person_id": ID, "role": STR, "on": DATE}, ["person_id"]),
        "responses": answer("201", "Added", {"type": "object"})}},
    "/api/v1/cases/{case_id}/sharing-basis": {"post": {
        "summary": "Record a partner's basis for sharing in this case", "parameters": [path_id("case_id")],
        "requestBody": body({"organisation_id": ID, "basis": {"enum": list(cases.SHARING_BASES)}, "on": DATE},
                            ["organisation_id", "basis"]),
        "responses": answer("200", "Recorded", {"type": "object"})}},
    "/api/v1/cases/{case_id}/retention-exception": {"post": {
        "summary": "Keep the case longer than its retention term (coordinator, admin): a motivation and a "
                   "review date after today, at most the pack's exception_max_months ahead (else 422 review_on)",
        "parameters": [path_id("case_id")],
        "requestBody": body({"reason": {"type": "string", "maxLength": cases.REASON_MAX}, "review_on": DATE},
                            ["reason", "review_on"]),
        "responses": answer("200", "Held", CASE)}},
    "/api/v1/cases/{case_id}/reopening": {"post": {
        "summary": "Reopen an archived case (coordinator, admin) with a reason; held until review_on "
                   "(default today + exception_max_months), then back in the retention queue",
        "parameters": [path_id("case_id")],
        "requestBody": body({"reason": {"type": "string", "maxLength": cases.REASON_MAX}, "review_on": DATE},
                            ["reason"]),
        "responses": answer("200", "Reopened", CASE)}},
    "/api/v1/cases/{case_id}/casusregie": {"post": {
        "summary": "Give the casusregie to a partner of the covenant, valid on that date (art. 5 and 7)",
        "parameters": [path_id("case_id")],
        "requestBody": body({"organisation_id": ID, "on": DATE}, ["organisation_id"]),
        "responses": answer("200", "Set", CASE)}},
    "/api/v1/cases/{case_id}/procesregisseur": {"post": {
        "summary": "Name the case's procesregisseur (packs with `[cases] procesregisseur = true`); "
                   "the person must be entitled at the table structurally on that date",
        "parameters": [path_id("case_id")],
        "requestBody": body({"person_id": ID, "on": DATE}, ["person_id"]),
        "responses": answer("200", "Set", CASE)}},
    "/api/v1/tables/{table_id}/cases": {"get": {
        "summary": "The table's cases visible to this account, with their phase and due dates",
        "parameters": [path_id("table_id"), query("on", DATE)],
        "responses": answer("200", "Cases", {"type": "object", "properties": {
            "cases": {"type": "array", "items": CASE}}})}},
})
