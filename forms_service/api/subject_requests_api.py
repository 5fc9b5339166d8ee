"""API v1 for the register of residents' requests (AVG art. 15–21): record a request,
list the open ones with their deadline, the access export (JSON and PDF), mark one
handled, and carry out an erasure.

Who may: :data:`registry.access.SUBJECT_REQUESTS` — the privacy officers of the
request's covenant, and administrators (a request without a covenant: administrators
only). Rules: :mod:`registry.subject_requests`. Handing out an export is logged in the
access log (action ``export``, subject ``subject_request``), in the same transaction.
Each view commits once. The request and answer shapes are the schemas below.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.documents_api import PDF, file_response
from forms_service.api.registry_api import commit
from forms_service.api.schema import Choice, Date, Id, Schema, Text, body, file_answer, out_str
from registry import access as rights
from registry import subject_requests as register
from registry.documents import build
from registry.errors import ValidationError
from registry.models import SubjectRequest, User
from flask_babel import gettext as _


# ----------------------------------------------------------------------------- shapes


class NewSubjectRequest(Schema):
    """``POST /api/v1/subject-requests``: the statutory deadline is received + one month."""

    kind = Choice(tuple(register.KINDS), required=True)
    resident_name = Text(register.NAME_MAX, required=True)
    resident_birth_date = Date(required=True)
    received_on = Date()
    covenant_id = Id(metadata={"description": "required unless the account is privacy officer of one covenant "
                                              "(or an administrator: empty means every covenant)"})


class Handling(Schema):
    """How a request ended: an outcome code, optionally a short text and the date."""

    outcome = Choice(tuple(register.OUTCOMES), required=True)
    outcome_text = Text(register.OUTCOME_TEXT_MAX)
    handled_on = Date()


def _day(**kwargs) -> ma.fields.String:
    """A date the dict builders below already wrote as ``YYYY-MM-DD`` (or null)."""
    return out_str(metadata={"format": "date"}, **kwargs)


class SubjectRequestSchema(Schema):
    """A request of the register, with its deadline and whether it is overdue."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(list(register.KINDS)))
    kind_label = ma.fields.String(required=True)
    resident_name = ma.fields.String(required=True)
    resident_birth_date = _day(required=True)
    received_on = _day(required=True)
    due_on = _day(required=True)
    overdue = ma.fields.Boolean(required=True)
    handled_on = _day(required=True)
    handled_by = out_str(required=True)
    outcome = out_str(required=True, validate=ma.validate.OneOf(list(register.OUTCOMES)))
    outcome_text = out_str(required=True)
    covenant_id = ma.fields.Integer(required=True, allow_none=True)
    recorded_by = out_str(required=True)


class SubjectRequestsSchema(Schema):
    """Open requests, soonest deadline first."""

    requests = ma.fields.List(ma.fields.Nested(SubjectRequestSchema), required=True)


class ExportTableSchema(Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    covenant = out_str(required=True)


class ExportResidentSchema(Schema):
    name = ma.fields.String(required=True)
    birth_date = _day(required=True)


class ExportCategorySchema(Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)


class ExportConsentSchema(Schema):
    id = ma.fields.Integer(required=True)
    case_reference = out_str(required=True)
    table = ma.fields.Nested(ExportTableSchema, required=True)
    status = ma.fields.String(required=True)
    signed_by = ma.fields.Raw(required=True, allow_none=True, metadata={"description": "who signed (as recorded)"})
    recipients = ma.fields.List(ma.fields.String(), required=True)
    other_recipients = ma.fields.List(ma.fields.String(), required=True)
    categories = ma.fields.List(ma.fields.Nested(ExportCategorySchema), required=True)
    purpose = out_str(required=True)
    contact_person = out_str(required=True)
    created_on = _day(required=True)
    signed_on = _day(required=True)
    withdrawn_on = _day(required=True)
    declined_on = _day(required=True)


class ExportPhaseSchema(Schema):
    on = _day(required=True)
    kind = ma.fields.String(required=True)
    phase = out_str(required=True)
    label = out_str(required=True)


class ExportMeetingSchema(Schema):
    on = _day(required=True)


class ExportCaseSchema(Schema):
    reference = ma.fields.String(required=True)
    table = ma.fields.Nested(ExportTableSchema, required=True)
    opened_on = _day(required=True)
    closed_on = _day(required=True)
    phase = out_str(required=True)
    phase_label = out_str(required=True)
    phases = ma.fields.List(ma.fields.Nested(ExportPhaseSchema), required=True)
    meetings = ma.fields.List(ma.fields.Nested(ExportMeetingSchema), required=True)


class ExportSubjectSchema(Schema):
    kind = out_str(required=True)
    id = ma.fields.Integer(required=True, allow_none=True)


class ExportReadSchema(Schema):
    at = ma.fields.String(required=True, metadata={"format": "date-time"})
    who = out_str(required=True)
    email = out_str(required=True)
    role = out_str(required=True)
    organisation_id = ma.fields.Integer(required=True, allow_none=True)
    organisation = out_str(required=True)
    action = ma.fields.String(required=True)
    subject = ma.fields.Nested(ExportSubjectSchema, required=True)


class SubjectExportSchema(Schema):
    """The access export (art. 15): everything held about the request's resident."""

    request = ma.fields.Nested(SubjectRequestSchema, required=True)
    resident = ma.fields.Nested(ExportResidentSchema, required=True)
    scope = out_str(required=True)
    exported_on = _day(required=True)
    consents = ma.fields.List(ma.fields.Nested(ExportConsentSchema), required=True)
    cases = ma.fields.List(ma.fields.Nested(ExportCaseSchema), required=True)
    reads = ma.fields.List(ma.fields.Nested(ExportReadSchema), required=True)


class ErasedSchema(Schema):
    consents = ma.fields.List(ma.fields.Integer(), required=True)
    cases = ma.fields.List(ma.fields.Integer(), required=True)


class KeptCaseSchema(Schema):
    case_id = ma.fields.Integer(required=True)
    reason = ma.fields.String(required=True)


class ErasureSchema(Schema):
    """What an erasure removed, what it kept and why."""

    request = ma.fields.Nested(SubjectRequestSchema, required=True)
    erased = ma.fields.Nested(ErasedSchema, required=True)
    kept_cases = ma.fields.List(ma.fields.Nested(KeptCaseSchema), required=True)
    note = out_str(required=True)


def _d(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def request_json(request: SubjectRequest) -> dict:
    """A request as the API shows it, with its deadline and whether it is overdue."""
    return {
        "id": request.id, "kind": request.kind, "kind_label": register.KINDS[request.kind],
        "resident_name": request.resident_name, "resident_birth_date": _d(request.resident_birth_date),
        "received_on": _d(request.received_on), "due_on": _d(request.due_on),
        "overdue": register.is_overdue(request), "handled_on": _d(request.handled_on),
        "handled_by": request.handled_by, "outcome": request.outcome, "outcome_text": request.outcome_text,
        "covenant_id": request.covenant_id, "recorded_by": request.recorded_by,
    }


def export_json(export: register.Export, request: SubjectRequest) -> dict:
    """The access export (art. 15) as JSON."""
    def table(t: register.ExportTable) -> dict:
        return {"id": t.id, "name": t.name, "covenant": t.covenant}

    return {
        "request": request_json(request),
        "resident": {"name": export.resident_name, "birth_date": _d(export.resident_birth_date)},
        "scope": export.scope, "exported_on": _d(export.exported_on),
        "consents": [{
            "id": c.id, "case_reference": c.case_reference, "table": table(c.table), "status": c.status,
            "signed_by": c.signed_by, "recipients": list(c.recipients), "other_recipients": list(c.other_recipients),
            "categories": [{"key": key, "label": label} for key, label in c.categories], "purpose": c.purpose,
            "contact_person": c.contact_person, "created_on": _d(c.created_on), "signed_on": _d(c.signed_on),
            "withdrawn_on": _d(c.withdrawn_on), "declined_on": _d(c.declined_on)} for c in export.consents],
        "cases": [{
            "reference": c.reference, "table": table(c.table), "opened_on": _d(c.opened_on),
            "closed_on": _d(c.closed_on), "phase": c.phase, "phase_label": c.phase_label,
            "phases": [{"on": _d(s.on), "kind": s.kind, "phase": s.phase, "label": s.phase_label or s.kind_label}
                       for s in c.steps],
            "meetings": [{"on": _d(day)} for day in c.meetings]} for c in export.cases],
        "reads": [{
            "at": r.at.isoformat(), "who": r.user, "email": r.email, "role": r.role,
            "organisation_id": r.organisation_id, "organisation": r.organisation, "action": r.action,
            "subject": {"kind": r.subject_kind, "id": r.subject_id}} for r in export.reads],
    }


def privacy_covenants(user: User) -> set[int] | None:
    """The covenants whose requests the user handles (None: every one, an admin)."""
    if user.is_admin:
        return None
    return {g.covenant_id for g in user.grants if g.role == "privacy_officer" and g.covenant_id}


def request_covenant(user: User, covenant_id: int | None) -> int | None:
    """The covenant a new request is recorded under: the one named, else the user's only
    privacy-officer covenant; an administrator may leave it empty (every covenant)."""
    if covenant_id is not None:
        return covenant_id
    own = privacy_covenants(user)
    if own is None:
        return None
    if len(own) == 1:
        return next(iter(own))
    raise ValidationError(_("Kies het convenant."), {"covenant_id": _("Kies het convenant waarvoor u het verzoek behandelt.")})


def authorized_request(request_id: int) -> tuple[SubjectRequest, rights.Use]:
    """The request (404), if the acting user handles requests of its covenant (403)."""
    request = register.get_request(db.session(), request_id)
    use = access.require(rights.SUBJECT_REQUESTS, rights.subject_request_target(request))
    return request, use


def log_export(use: rights.Use, request: SubjectRequest, export: register.Export, form: str) -> None:
    """The export is itself a hand-out of resident data: one access-log entry."""
    access.log_read(use, "export", "subject_request", request.id,
                    {"format": form, "consents": [c.id for c in export.consents][:200]},
                    target=rights.subject_request_target(request))


@bp.post("/v1/subject-requests")
@body(NewSubjectRequest, access=lambda: access.require_role_for(rights.SUBJECT_REQUESTS))
@bp.response(201, SubjectRequestSchema)
@bp.doc(summary="Record a resident's request (AVG art. 15-21; privacy officer, admin); due = received + one month")
def create_subject_request(values):
    """Record a resident's request; its statutory deadline is received + one month."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    user = access.acting_user()
    covenant_id = request_covenant(user, values["covenant_id"])
    target = rights.Target(covenant_ids=frozenset({covenant_id}) if covenant_id else frozenset())
    use = access.require(rights.SUBJECT_REQUESTS, target)
    request = register.create_request(db.session(), kind=values["kind"], resident_name=values["resident_name"],
                                      resident_birth_date=values["resident_birth_date"],
                                      received_on=values["received_on"], by=use.email, covenant_id=covenant_id)
    return commit(request_json(request))


@bp.get("/v1/subject-requests")
@bp.response(200, SubjectRequestsSchema)
@bp.doc(summary="Open requests this account handles, soonest deadline first (logged: it names residents)")
def list_subject_requests():
    """Open requests the account handles, soonest deadline first (the list shows
    residents' names: logged)."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    user = access.acting_user()
    found = register.open_requests(db.session(), privacy_covenants(user))
    if found:
        access.log_read(rights.widest_use(db.session(), user), "view", "subject_requests", None,
                        {"requests": [r.id for r in found][:200]})
    return commit({"requests": [request_json(r) for r in found]})


@bp.get("/v1/subject-requests/<int:request_id>")
@bp.response(200, SubjectRequestSchema)
@bp.doc(summary="One request of the register (logged)")
def get_subject_request(request_id: int):
    """One request of the register (logged: it names the resident)."""
    request, use = authorized_request(request_id)
    access.log_read(use, "view", "subject_request", request.id, target=rights.subject_request_target(request))
    return commit(request_json(request))


@bp.get("/v1/subject-requests/<int:request_id>/export")
@bp.response(200, SubjectExportSchema)
@bp.doc(summary="The access export (art. 15): consents, cases and reads of the resident, as JSON (logged)")
def export_subject_request(request_id: int):
    """Everything held about the request's resident (art. 15); the hand-out is logged."""
    request, use = authorized_request(request_id)
    export = register.build_export(db.session(), request)
    payload = export_json(export, request)
    log_export(use, request, export, "json")
    return commit(payload)


@bp.get("/v1/subject-requests/<int:request_id>/export.pdf")
@bp.doc(summary="The access export as PDF/A-3b (logged)", **file_answer(PDF, "The export"))
def export_subject_request_pdf(request_id: int):
    """The same export as a PDF (PDF/A-3b) from the service's own template; logged."""
    request, use = authorized_request(request_id)
    export = register.build_export(db.session(), request)
    document = build.subject_export_pdf(export)
    log_export(use, request, export, "pdf")
    db.session().commit()
    return file_response(document.pdf, PDF, f"inzage-verzoek-{request.id}.pdf")


@bp.post("/v1/subject-requests/<int:request_id>/handling")
@body(Handling, access=lambda request_id: authorized_request(request_id))
@bp.response(200, SubjectRequestSchema)
@bp.doc(summary="Record how a request ended: an outcome code, optionally a text and the date")
def handle_subject_request(values, request_id: int):
    """Record how a request ended: an outcome code, optionally a short text and the date."""
    request, use = authorized_request(request_id)
    register.mark_handled(db.session(), request, outcome=values["outcome"], outcome_text=values["outcome_text"],
                          on=values["handled_on"], by=use.email)
    return commit(request_json(request))


@bp.post("/v1/subject-requests/<int:request_id>/erasure")
@bp.response(200, ErasureSchema)
@bp.doc(summary="Carry out an erasure request (art. 17) at once; 409 for another kind or one already handled")
def erase_subject_request(request_id: int):
    """Carry out an erasure request (art. 17) at once: the resident's consents, and each
    of their cases that holds no other resident's consent; the request is marked handled.
    409 for a request of another kind or one already handled."""
    request, use = authorized_request(request_id)
    result = register.erase(db.session(), request, by=use.email)
    return commit({"request": request_json(request), "erased": {
        "consents": list(result.consents), "cases": list(result.cases)},
        "kept_cases": [{"case_id": case_id, "reason": reason} for case_id, reason in result.kept_cases],
        "note": result.note})
