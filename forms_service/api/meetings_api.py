"""API v1 for meetings and the chair's check (art. 6): plan a meeting (a date in the
past is accepted with a ``warnings`` entry ``meeting_in_past``), mail the invitations
with their ``.ics``, record who attended, check it (also as the sealed *presentie- en
toetsingslijst*), check many people at once, a person's tables, consent withdrawal and
need-to-know withdrawal.

Views stay thin: read input (every field error at once), call :mod:`registry.meetings`,
:mod:`registry.queries` or :mod:`registry.services`, commit once, answer JSON.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask import current_app, g, jsonify, request
from flask_babel import gettext as _

from forms_service import access, db
from forms_service.api import bp, error_response
from forms_service.api.registry_api import DecisionSchema, TableSchema, commit, reasons_field
from forms_service.api.schema import (Date, Flag, Id, IdList, Schema, Text, TextList, body, file_answer, items,
                                      out_str, query)
from forms_service.api.registry_api import QueryOn, RequiredOnDate
from forms_service.security import MAX_YEAR, MIN_YEAR
from registry.documents import build
from signatures.meeting_invitation import send_invitations
from signatures.meeting_list import Sealing, sealed_meeting_check
from forms_service.signing.views import pdf_response
from registry import access as rights
from registry import limits, meetings, packs, queries, rules, services
from registry.models import CaseTable, Consent, Meeting, Person
from registry.texts import N_

MAX_BATCH = 1000
STARTS_AT_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]$"
"""What the document promises for ``starts_at`` (days 29–31 are valid too, but not promised for every month)."""


def parse_starts_at(value) -> dt.datetime:
    """``YYYY-MM-DDTHH:MM[:SS]`` as local (Europe/Amsterdam) time; an offset is converted."""
    if not isinstance(value, str) or "T" not in value:
        raise ValueError(value)
    moment = dt.datetime.fromisoformat(value)
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(value)  # also keeps the time-zone conversion below from overflowing
    if moment.tzinfo is not None:
        moment = moment.astimezone(meetings.AMSTERDAM).replace(tzinfo=None)
    return moment.replace(second=0, microsecond=0)


class StartsAt(ma.fields.String):
    """A meeting's start, local time (Europe/Amsterdam) ``YYYY-MM-DDTHH:MM``; an offset is converted."""

    default_error_messages = {"required": "Dit veld is verplicht.", "null": "Dit veld is verplicht.",
                              "invalid": "Geen geldig tijdstip; gebruik JJJJ-MM-DDTUU:MM."}

    def __init__(self, **kwargs):
        super().__init__(required=True, metadata={"pattern": STARTS_AT_PATTERN, "example": "2026-03-10T14:00",
                                                  "description": "Local time, Europe/Amsterdam"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > limits.STARTS_AT_MAX:
            raise self.make_error("invalid")
        try:
            return parse_starts_at(value)
        except ValueError:
            raise self.make_error("invalid") from None


class AgendaItemIn(Schema):
    case_ref = Text(limits.CASE_REF_MAX, required=True)
    theme = Text(limits.THEME_MAX, metadata={"description": "one of the themes of the table's pack "
                                                            "([meetings] themes; GET /api/v1/packs), else 422"})
    age_band = Text(limits.AGE_BAND_MAX, metadata={"description": "one of the pack's age bands, else 422"})
    invitee_ids = IdList(required=True)
    family_roles = TextList(limits.NAME_MAX, metadata={
        "description": "keys of the pack's case_participants taking part in their own case (e.g. ouder_met_gezag, "
                       "jongere); no names"})


class NewMeeting(Schema):
    table_id = Id(required=True)
    starts_at = StartsAt()
    location = Text(limits.NAME_MAX)
    on_request = Flag(metadata={"description": "a meeting on request (op afroep), besides the fixed dates; only "
                                               "when the table's pack has [meetings] on_request = true, else 422"})
    cases = items(AgendaItemIn, required=True, validate=ma.validate.Length(
        min=1, error=N_("Geef een lijst met ten minste één casus.")))


class AgendaItemSchema(Schema):
    case_ref = ma.fields.String(attribute="case.reference", required=True)
    theme = out_str(required=True)
    age_band = out_str(required=True)
    invitee_ids = ma.fields.Function(lambda c: [p.id for p in c.participants], required=True,
                                     metadata={"type": "array", "items": {"type": "integer"}})
    family_roles = ma.fields.Function(lambda c: list(c.family_roles or []), required=True,
                                      metadata={"type": "array", "items": {"type": "string"}})


class PlannedMeetingSchema(Schema):
    """A planned meeting (:class:`registry.meetings.PlannedMeeting`): when, where, the agenda
    and the invitees, with its warnings: ``meeting_in_past`` for a start before today
    (accepted: a meeting held earlier is recorded)."""

    id = ma.fields.Integer(attribute="meeting.id", required=True)
    table_id = ma.fields.Integer(attribute="meeting.table_id", required=True)
    starts_at = ma.fields.Function(lambda p: p.meeting.starts_at.isoformat(timespec="minutes"), required=True,
                                   metadata={"type": "string", "example": "2026-03-10T14:00"})
    location = out_str(attribute="meeting.location", required=True)
    on_request = ma.fields.Function(lambda p: bool(p.meeting.on_request), required=True, metadata={"type": "boolean"})
    invitee_ids = ma.fields.Function(lambda p: [i.person_id for i in p.meeting.invitees], required=True,
                                     metadata={"type": "array", "items": {"type": "integer"}})
    cases = ma.fields.List(ma.fields.Nested(AgendaItemSchema), attribute="meeting.cases", required=True)
    warnings = reasons_field()


@bp.post("/v1/meetings")
@body(NewMeeting)
@bp.response(201, PlannedMeetingSchema)
def plan_meeting(values):
    """Plan a meeting: table, start, location, the cases and who takes part in each."""
    _table(values["table_id"], rights.MEETINGS)
    cases = [meetings.AgendaItem(case_ref=c["case_ref"], theme=c["theme"], age_band=c["age_band"],
                                 invitee_ids=tuple(c["invitee_ids"]), family_roles=tuple(c["family_roles"] or ()))
             for c in values["cases"]]
    return commit(meetings.plan_meeting(
        db.session(), table_id=values["table_id"], starts_at=values["starts_at"], location=values["location"],
        cases=cases, planned_by=g.api_user.email, on_request=bool(values["on_request"]),
    ))


class InvitationsSchema(Schema):
    """Who got the invitation mail (with ``uitnodiging.ics``) and who has no address."""

    meeting_id = ma.fields.Integer(required=True)
    sent = ma.fields.List(ma.fields.Integer(), required=True)
    without_email = ma.fields.List(ma.fields.Integer(), required=True)


@bp.post("/v1/meetings/<int:meeting_id>/invitations")
@bp.response(200, InvitationsSchema)
def meeting_invitations(meeting_id: int):
    """Mail every invitee the invitation with the meeting as ``uitnodiging.ics`` (iCalendar
    METHOD:REQUEST, Europe/Amsterdam; written to the outbox, sent by the worker)."""
    meeting = _meeting(meeting_id)
    result = send_invitations(db.session(), current_app.config, meeting)
    return commit({"meeting_id": meeting.id, "sent": [i.person_id for i in result.sent],
                   "without_email": [i.person_id for i in result.without_email]})


class RecordAttendance(Schema):
    """Who attended: the invitees present; every other invitee was absent."""

    attended = IdList(required=True)


class AttendanceSchema(Schema):
    """Who attended a meeting (null: not recorded), who recorded it and when."""

    meeting_id = ma.fields.Function(lambda m: m.id, required=True, metadata={"type": "integer"})
    recorded_by = ma.fields.Function(lambda m: m.attendance_recorded_by, required=True,
                                     metadata={"type": ["string", "null"]})
    recorded_at = ma.fields.Function(
        lambda m: m.attendance_recorded_at.isoformat(timespec="seconds") + "Z" if m.attendance_recorded_at else None,
        required=True, metadata={"type": ["string", "null"], "format": "date-time"})
    invitees = ma.fields.Function(lambda m: [{"person_id": i.person_id, "attended": i.attended} for i in m.invitees],
                                  required=True, metadata={"type": "array", "items": {"type": "object"}})


@bp.put("/v1/meetings/<int:meeting_id>/attendance")
@body(RecordAttendance, access=lambda meeting_id: _meeting(meeting_id))
@bp.response(200, AttendanceSchema)
def meeting_attendance(values, meeting_id: int):
    """Record who attended, on or after the meeting day (the presentie- en toetsingslijst then
    shows attendance beside the check)."""
    meeting = _meeting(meeting_id)
    meetings.record_attendance(db.session(), meeting, set(values["attended"]), by=g.api_user.email)
    return commit(meeting)


def _table(table_id: int, permission: str) -> CaseTable:
    """A table by id (404 naming ``table_id``); 403 unless the account may ``permission`` there."""
    table = services.get(db.session(), CaseTable, table_id, "table_id")
    access.require(permission, rights.table_target(db.session(), table))
    return table


def _meeting(meeting_id: int) -> Meeting:
    """A meeting by id (404); 403 unless the account may check meetings at its table."""
    meeting = services.get(db.session(), Meeting, meeting_id, "meeting_id")
    access.require(rights.MEETINGS, rights.meeting_target(db.session(), meeting))
    return meeting


class ConsentCoverageSchema(Schema):
    """Whether a consent covers sharing for this invitee (art. 11)."""

    covered = ma.fields.Boolean(required=True)
    categories = ma.fields.List(ma.fields.String(), required=True)
    reason = ma.fields.Nested("ReasonSchema", allow_none=True, required=True)
    legal_basis = out_str(required=True, metadata={
        "description": "consent, or the pack's other legal basis (then no consent applies; reason names the basis)"})


class SharingBasisSchema(Schema):
    basis = ma.fields.String(attribute="sharing_basis", required=True, metadata={"enum": ["own_task", "consent", "none"]})
    label = ma.fields.String(attribute="sharing_basis_label", required=True)


class InviteeSchema(Schema):
    """One invitee's answer for one case."""

    person_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    organisation_id = ma.fields.Integer(allow_none=True, required=True)
    organisation_name = out_str(required=True)
    allowed = ma.fields.Boolean(required=True)
    basis = ma.fields.String(allow_none=True, required=True, metadata={"enum": [rules.STRUCTURAL, rules.INCIDENTAL, None]})
    reasons = reasons_field()
    consent = ma.fields.Nested(ConsentCoverageSchema, required=True)
    warnings = reasons_field()
    sharing_basis = ma.fields.Function(lambda i: SharingBasisSchema().dump(i) if i.sharing_basis else None,
                                       required=True, metadata={"type": ["object", "null"], "properties": {
                                           "basis": {"enum": ["own_task", "consent", "none"]}, "label": {"type": "string"}}})


class CheckedCaseSchema(Schema):
    case_ref = ma.fields.String(required=True)
    theme = out_str(required=True)
    age_band = out_str(required=True)
    invitees = ma.fields.List(ma.fields.Nested(InviteeSchema), required=True)
    family_participants = ma.fields.Function(
        lambda c: [{"key": key, "label": label} for key, label in c.family_participants], required=True,
        metadata={"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "label": {"type": "string"}}}})
    warnings = reasons_field()
    retention_stage = out_str(required=True)


class MeetingCheckSchema(Schema):
    """The chair's check (art. 6) as of the meeting date."""

    meeting_id = ma.fields.Integer(required=True)
    table = ma.fields.Function(lambda c: {"id": c.table_id, "name": c.table_name}, required=True,
                               metadata={"type": "object", "properties": {"id": {"type": "integer"},
                                                                          "name": {"type": "string"}}})
    starts_at = ma.fields.Function(lambda c: c.starts_at.isoformat(timespec="minutes"), required=True,
                                   metadata={"type": "string"})
    location = out_str(required=True)
    on = ma.fields.Date(required=True)
    checked_at = ma.fields.Function(lambda c: c.checked_at.isoformat(timespec="seconds"), required=True,
                                    metadata={"type": "string"})
    warnings = reasons_field()
    legal_basis = ma.fields.Function(lambda c: {"key": c.legal_basis, "label": c.legal_basis_label}, required=True,
                                     metadata={"type": "object", "description": "the pack's [cases] legal_basis",
                                               "properties": {"key": {"enum": list(packs.LEGAL_BASES)},
                                                              "label": {"type": "string"}}})
    cases = ma.fields.List(ma.fields.Nested(CheckedCaseSchema), required=True)


@bp.get("/v1/meetings/<int:meeting_id>/check")
@bp.response(200, MeetingCheckSchema)
def meeting_check(meeting_id: int):
    """The chair's check of every case and invitee, as of the meeting date, with consent (art. 11) and warnings."""
    _meeting(meeting_id)
    return meetings.meeting_check(db.session(), meeting_id)


class SealingSchema(Schema):
    """A presentie- en toetsingslijst that waits for the worker's seal (202)."""

    status = ma.fields.Function(lambda _sealing: "sealing", required=True,
                                metadata={"type": "string", "enum": ["sealing"]})
    message = ma.fields.String(required=True)
    attempts = ma.fields.Integer(required=True, metadata={"description": "attempts so far (0: not tried yet)"})
    next_attempt_at = ma.fields.DateTime(required=True, allow_none=True,
                                         metadata={"description": "after a failed attempt: when the worker tries again"})
    last_error = out_str(required=True)
    retry_after = ma.fields.Integer(required=True, metadata={"description": "seconds; also the Retry-After header"})


SEALING_DOC = (
    "The check run now as the presentie- en toetsingslijst, sealed (PAdES). Without TIMESTAMP_URL the list is "
    "sealed at once: 200 with the PDF. With TIMESTAMP_URL the worker seals it (no request talks to the timestamp "
    "server): the first request for a check result answers 202 with Retry-After and a JSON body saying it is "
    "being sealed; ask again after Retry-After seconds. Once sealed, the same check result answers 200 with the "
    "sealed PDF (each hand-out is logged). While the timestamp server is down the worker retries with backoff "
    "(next_attempt_at, last_error); the list is never sealed with the local clock.")


@bp.get("/v1/meetings/<int:meeting_id>/check.pdf")
@bp.doc(summary="The check as the sealed presentie- en toetsingslijst (202 while the worker seals it)",
        description=SEALING_DOC, **file_answer("application/pdf", "The sealed PDF"))
@bp.alt_response(202, schema=SealingSchema, success=True,
                 description="Being sealed by the worker (TIMESTAMP_URL set); ask again after Retry-After seconds",
                 headers={"Retry-After": {"description": "seconds to wait before asking again",
                                          "schema": {"type": "integer"}}})
def meeting_check_pdf(meeting_id: int):
    """The check run now as the sealed *presentie- en toetsingslijst*; 202 + Retry-After
    while the worker seals it (with TIMESTAMP_URL; never sealed with the local clock)."""
    pack_name = _meeting(meeting_id).table.covenant.pack
    check = meetings.meeting_check(db.session(), meeting_id)
    pdf = sealed_meeting_check(db.session(), current_app.config, check, pack_name, actor=g.api_user.email,
                               ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:400] or None)
    db.session().commit()
    if isinstance(pdf, Sealing):
        return jsonify(SealingSchema().dump(pdf)), 202, {"Retry-After": str(pdf.retry_after), "Cache-Control": "no-store"}
    return pdf_response(pdf, f"toetsingslijst-{check.on.isoformat()}-overleg-{check.meeting_id}.pdf")


class BatchItem(Schema):
    person_id = Id(required=True)
    case_ref = Text(limits.CASE_REF_MAX)


class BatchCheck(Schema):
    on = Date(metadata={"description": "default today"})
    table_id = Id(required=True)
    checks = items(BatchItem, required=True, validate=ma.validate.Length(
        min=1, max=MAX_BATCH, error=f"Geef een lijst van 1 tot {MAX_BATCH} controles."))


class BatchResultSchema(DecisionSchema):
    person_id = ma.fields.Integer(required=True)
    case_ref = out_str(required=True)


class BatchAnswerSchema(Schema):
    on = ma.fields.Date(required=True)
    table_id = ma.fields.Integer(required=True)
    results = ma.fields.List(ma.fields.Nested(BatchResultSchema), required=True)


@bp.post("/v1/check/batch")
@body(BatchCheck)
@bp.response(200, BatchAnswerSchema)
def check_batch(values):
    """Many checks at one table on one date, answered in the order asked."""
    on = values["on"] or rules.today()
    _table(values["table_id"], rights.READ)
    checks = [(c["person_id"], c["case_ref"]) for c in values["checks"]]
    decisions = queries.check_many(db.session(), values["table_id"], on, checks)
    return {"on": on, "table_id": values["table_id"], "results": [
        {"person_id": pid, "case_ref": ref, "allowed": d.allowed, "basis": d.basis, "reasons": d.reasons,
         "warnings": d.warnings} for (pid, ref), d in zip(checks, decisions)]}


class PersonTableSchema(TableSchema, DecisionSchema):
    """A table with the decision for the person (rows are built from :class:`TableSchema`'s dump)."""

    case_ref = out_str(required=True)
    roles = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(allow_none=True), required=True)


class PersonTablesSchema(Schema):
    person_id = ma.fields.Integer(required=True)
    on = ma.fields.Date(required=True)
    tables = ma.fields.List(ma.fields.Nested(PersonTableSchema), required=True)


@bp.get("/v1/people/<int:person_id>/tables")
@query(QueryOn)
@bp.response(200, PersonTablesSchema)
def person_tables(args, person_id: int):
    """The tables a person may join on a date (structural, or incidental for a case)."""
    on = args["on"] or rules.today()
    person = services.get(db.session(), Person, person_id, "person_id")
    access.require(rights.READ, rights.person_target(db.session(), person))
    rows = []
    for table, decision, case_ref in queries.tables_for(db.session(), person_id, on):
        rows.append({**TableSchema().dump(table), "case_ref": case_ref, "allowed": decision.allowed,
                     "basis": decision.basis, "reasons": decision.reasons, "warnings": decision.warnings})
    return {"person_id": person_id, "on": on, "tables": rows}


class WithdrawnConsentSchema(Schema):
    """A consent's validity (no resident data: only ids, categories and dates)."""

    id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    categories = ma.fields.Function(lambda c: list(c.categories), required=True,
                                    metadata={"type": "array", "items": {"type": "string"}})
    recipient_ids = ma.fields.Function(lambda c: [o.id for o in c.recipients], required=True,
                                       metadata={"type": "array", "items": {"type": "integer"}})
    signed_on = ma.fields.Date(allow_none=True, required=True)
    withdrawn_on = ma.fields.Date(allow_none=True, required=True)
    withdrawn_by = out_str(required=True)


@bp.post("/v1/consents/<int:consent_id>/withdrawal")
@body(RequiredOnDate, access=lambda consent_id: _withdrawable(consent_id))
@bp.response(200, WithdrawnConsentSchema)
def withdraw_consent(values, consent_id: int):
    """Record the withdrawal of a consent (Bijlage 4) from ``on``, by the calling account."""
    consent = _withdrawable(consent_id)
    services.withdraw_consent(db.session(), consent, values["on"], g.api_user.email)
    return commit(consent)


def _withdrawable(consent_id: int) -> Consent:
    """A consent by id (404); 403 unless the account may withdraw it."""
    consent = services.get(db.session(), Consent, consent_id, "consent_id")
    access.require(rights.WITHDRAW_CONSENT, rights.consent_target(db.session(), consent))
    return consent


class NeedToKnowIn(Schema):
    table_id = Id(required=True)
    case_ref = Text(limits.CASE_REF_MAX, required=True)
    organisation_id = Id(required=True)
    on = Date(metadata={"description": "default today"})


class NeedToKnowSchema(Schema):
    id = ma.fields.Integer(required=True)
    table_id = ma.fields.Integer(attribute="case.table_id", required=True)
    case_ref = ma.fields.String(attribute="case.reference", required=True)
    organisation_id = ma.fields.Integer(required=True)
    on = ma.fields.Date(attribute="effective_on", required=True)
    recorded_by = out_str(required=True)


@bp.post("/v1/need-to-know-withdrawals")
@body(NeedToKnowIn)
@bp.response(201, NeedToKnowSchema)
def withdraw_need_to_know(values):
    """A partner says it no longer needs to know a case (art. 6), from ``on``."""
    values["on"] = values["on"] or rules.today()
    _table(values["table_id"], rights.MEETINGS)
    return commit(meetings.withdraw_need_to_know(db.session(), **values, by=g.api_user.email))
