"""API v1 for the register of residents' requests (AVG art. 15–21): record a request,
list the open ones with their deadline, the access export (JSON and PDF), mark one
handled, and carry out an erasure.

Who may: :data:`registry.access.SUBJECT_REQUESTS` — the privacy officers of the
request's covenant, and administrators (a request without a covenant: administrators
only). Rules: :mod:`registry.subject_requests`. Handing out an export is logged in the
access log (action ``export``, subject ``subject_request``), in the same transaction.
Each view commits once.
"""

from __future__ import annotations

import datetime as dt

from flask import jsonify

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.documents_api import PDF, file_response
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, body, path_id
from forms_service.api.registry_api import created, done
from registry import access as rights
from registry import subject_requests as register
from registry.documents import build
from registry.errors import ValidationError
from registry.models import SubjectRequest, User


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
    raise ValidationError("Kies het convenant.", {"covenant_id": "Kies het convenant waarvoor u het verzoek behandelt."})


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
def create_subject_request():
    """Record a resident's request; its statutory deadline is received + one month."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    body_ = Body.from_request()
    kind = body_.choice("kind", tuple(register.KINDS), required=True)
    name = body_.str("resident_name", required=True, max_length=register.NAME_MAX)
    birth_date = body_.date("resident_birth_date", required=True)
    received_on = body_.date("received_on")
    covenant_id = body_.int("covenant_id")
    body_.check()
    user = access.acting_user()
    covenant_id = request_covenant(user, covenant_id)
    target = rights.Target(covenant_ids=frozenset({covenant_id}) if covenant_id else frozenset())
    use = access.require(rights.SUBJECT_REQUESTS, target)
    request = register.create_request(db.session(), kind=kind, resident_name=name, resident_birth_date=birth_date,
                                      received_on=received_on, by=use.email, covenant_id=covenant_id)
    return created(request_json(request))


@bp.get("/v1/subject-requests")
def list_subject_requests():
    """Open requests the account handles, soonest deadline first (the list shows
    residents' names: logged)."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    user = access.acting_user()
    found = register.open_requests(db.session(), privacy_covenants(user))
    if found:
        access.log_read(rights.widest_use(db.session(), user), "view", "subject_requests", None,
                        {"requests": [r.id for r in found][:200]})
    payload = {"requests": [request_json(r) for r in found]}
    db.session().commit()
    return jsonify(payload)


@bp.get("/v1/subject-requests/<int:request_id>")
def get_subject_request(request_id: int):
    """One request of the register (logged: it names the resident)."""
    request, use = authorized_request(request_id)
    access.log_read(use, "view", "subject_request", request.id, target=rights.subject_request_target(request))
    payload = request_json(request)
    db.session().commit()
    return jsonify(payload)


@bp.get("/v1/subject-requests/<int:request_id>/export")
def export_subject_request(request_id: int):
    """Everything held about the request's resident (art. 15); the hand-out is logged."""
    request, use = authorized_request(request_id)
    export = register.build_export(db.session(), request)
    payload = export_json(export, request)
    log_export(use, request, export, "json")
    db.session().commit()
    return jsonify(payload)


@bp.get("/v1/subject-requests/<int:request_id>/export.pdf")
def export_subject_request_pdf(request_id: int):
    """The same export as a PDF (PDF/A-3b) from the service's own template; logged."""
    request, use = authorized_request(request_id)
    export = register.build_export(db.session(), request)
    document = build.subject_export_pdf(export)
    log_export(use, request, export, "pdf")
    db.session().commit()
    return file_response(document.pdf, PDF, f"inzage-verzoek-{request.id}.pdf")


@bp.post("/v1/subject-requests/<int:request_id>/handling")
def handle_subject_request(request_id: int):
    """Record how a request ended: an outcome code, optionally a short text and the date."""
    request, use = authorized_request(request_id)
    body_ = Body.from_request()
    outcome = body_.choice("outcome", tuple(register.OUTCOMES), required=True)
    text = body_.str("outcome_text", max_length=register.OUTCOME_TEXT_MAX)
    on = body_.date("handled_on")
    body_.check()
    register.mark_handled(db.session(), request, outcome=outcome, outcome_text=text, on=on, by=use.email)
    return done(request_json(request))


@bp.post("/v1/subject-requests/<int:request_id>/erasure")
def erase_subject_request(request_id: int):
    """Carry out an erasure request (art. 17) at once: the resident's consents, and each
    of their cases that holds no other resident's consent; the request is marked handled.
    409 for a request of another kind or one already handled."""
    request, use = authorized_request(request_id)
    result = register.erase(db.session(), request, by=use.email)
    return done({"request": request_json(request), "erased": {
        "consents": list(result.consents), "cases": list(result.cases)},
        "kept_cases": [{"case_id": case_id, "reason": reason} for case_id, reason in result.kept_cases],
        "note": result.note})


KIND = {"enum": list(register.KINDS)}
REQUEST = {"type": "object", "properties": {
    "id": ID, "kind": KIND, "kind_label": {"type": "string"}, "resident_name": {"type": "string"},
    "resident_birth_date": DATE, "received_on": DATE, "due_on": DATE, "overdue": {"type": "boolean"},
    "handled_on": {"type": ["string", "null"], "format": "date"}, "handled_by": {"type": ["string", "null"]},
    "outcome": {"enum": [*register.OUTCOMES, None]}, "outcome_text": {"type": ["string", "null"]},
    "covenant_id": {"type": ["integer", "null"]}, "recorded_by": {"type": "string"},
}, "required": ["id", "kind", "received_on", "due_on", "handled_on"]}
NAMED = {"type": "object", "properties": {"id": ID, "name": {"type": "string"}, "covenant": {"type": "string"}}}
EXPORT = {"type": "object", "properties": {
    "request": REQUEST,
    "resident": {"type": "object", "properties": {"name": {"type": "string"}, "birth_date": DATE}},
    "scope": {"type": "string"}, "exported_on": DATE,
    "consents": {"type": "array", "items": {"type": "object", "properties": {
        "id": ID, "case_reference": {"type": "string"}, "table": NAMED,
        "status": {"enum": ["draft", "pending", "signed", "declined", "withdrawn"]},
        "recipients": {"type": "array", "items": {"type": "string"}},
        "other_recipients": {"type": "array", "items": {"type": "string"}},
        "categories": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "label": {"type": "string"}}}},
        "signed_on": {"type": ["string", "null"], "format": "date"},
        "withdrawn_on": {"type": ["string", "null"], "format": "date"}}}},
    "cases": {"type": "array", "items": {"type": "object", "properties": {
        "reference": {"type": "string"}, "table": NAMED, "opened_on": DATE,
        "phases": {"type": "array", "items": {"type": "object", "properties": {
            "on": DATE, "kind": {"type": "string"}, "phase": {"type": ["string", "null"]}, "label": {"type": "string"}}}},
        "meetings": {"type": "array", "items": {"type": "object", "properties": {"on": DATE}}}}}},
    "reads": {"type": "array", "items": {"type": "object", "properties": {
        "at": {"type": "string", "format": "date-time"}, "who": {"type": "string"},
        "email": {"type": ["string", "null"]}, "organisation": {"type": ["string", "null"]},
        "action": {"enum": ["view", "print", "export", "search"]}}}},
}, "required": ["resident", "consents", "cases", "reads"]}

openapi.FRAGMENTS.append({
    "/api/v1/subject-requests": {
        "post": {
            "summary": "Record a resident's request (privacy officer, admin); due_on = received_on + 1 month. "
                       "covenant_id: default the privacy officer's only covenant; an admin may leave it out (every covenant)",
            "requestBody": body({"kind": KIND, "resident_name": {"type": "string", "maxLength": register.NAME_MAX},
                                 "resident_birth_date": DATE, "received_on": DATE, "covenant_id": ID},
                                ["kind", "resident_name", "resident_birth_date"]),
            "responses": answer("201", "Recorded", REQUEST)},
        "get": {
            "summary": "Open requests the account handles, soonest deadline first (logged)",
            "responses": answer("200", "Open requests", {"type": "object", "properties": {
                "requests": {"type": "array", "items": REQUEST}}})}},
    "/api/v1/subject-requests/{request_id}": {"get": {
        "summary": "One request (logged)", "parameters": [path_id("request_id")],
        "responses": answer("200", "Request", REQUEST)}},
    "/api/v1/subject-requests/{request_id}/export": {"get": {
        "summary": "Access export (AVG art. 15): the resident's consents, cases with phases and meeting dates, "
                   "and every logged read of their data; the hand-out is logged (action export)",
        "parameters": [path_id("request_id")], "responses": answer("200", "Export", EXPORT)}},
    "/api/v1/subject-requests/{request_id}/export.pdf": {"get": {
        "summary": "The access export as PDF/A-3b (logged)", "parameters": [path_id("request_id")],
        "responses": answer("200", "PDF")}},
    "/api/v1/subject-requests/{request_id}/handling": {"post": {
        "summary": "Mark the request handled with an outcome code and optional short text",
        "parameters": [path_id("request_id")],
        "requestBody": body({"outcome": {"enum": list(register.OUTCOMES)},
                             "outcome_text": {"type": "string", "maxLength": register.OUTCOME_TEXT_MAX},
                             "handled_on": DATE}, ["outcome"]),
        "responses": answer("200", "Handled", REQUEST)}},
    "/api/v1/subject-requests/{request_id}/erasure": {"post": {
        "summary": "Carry out an erasure request (art. 17): erases the resident's consents and each of their cases "
                   "without another resident's consent; marks the request handled. 409 for another kind or when handled",
        "parameters": [path_id("request_id")],
        "responses": answer("200", "Erased", {"type": "object", "properties": {
            "request": REQUEST,
            "erased": {"type": "object", "properties": {"consents": {"type": "array", "items": ID},
                                                        "cases": {"type": "array", "items": ID}}},
            "kept_cases": {"type": "array", "items": {"type": "object", "properties": {
                "case_id": ID, "reason": {"type": "string"}}}},
            "note": {"type": "string"}}})}},
})
