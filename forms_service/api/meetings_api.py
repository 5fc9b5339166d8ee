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

from flask import current_app, g, jsonify, request

from forms_service import access, db
from forms_service.api import bp, error_response, openapi
from forms_service.api.inputs import MAX_YEAR, MIN_YEAR, Body
from registry.documents import build
from signatures.meeting_invitation import send_invitations
from signatures.meeting_list import sealed_meeting_check
from forms_service.signing.views import pdf_response
from forms_service.api.openapi import DATE, ID, REASON, answer, body, path_id, query
from forms_service.api.registry_api import created, decision_json, done, reasons_json, table_json
from registry import access as rights
from registry import meetings, packs, queries, rules, services
from registry.models import CaseTable, Consent, Meeting, Person
from signatures.seal import TimestampUnavailable

MAX_BATCH = 1000


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


def _agenda(body: Body) -> list[meetings.AgendaItem]:
    """The ``cases`` list as agenda items; shape errors go into ``body.errors``."""
    raw = body.data.get("cases")
    if not isinstance(raw, list) or not raw:
        body.errors["cases"] = "Geef een lijst met ten minste één casus."
        return []
    items = []
    for i, case in enumerate(raw):
        if not isinstance(case, dict):
            body.errors[f"cases[{i}]"] = "Moet een object zijn."
            continue
        sub = Body(case)
        item = meetings.AgendaItem(
            case_ref=sub.str("case_ref", required=True, max_length=100) or "",
            theme=sub.str("theme", max_length=20),
            age_band=sub.str("age_band", max_length=8),
            invitee_ids=tuple(sub.list_of("invitee_ids", int, required=True)),
            family_roles=tuple(sub.list_of("family_roles", str)),
        )
        body.errors.update({f"cases[{i}].{name}": message for name, message in sub.errors.items()})
        items.append(item)
    return items


@bp.post("/v1/meetings")
def plan_meeting():
    """Plan a meeting: table, start, location, the cases and who takes part in each."""
    body = Body.from_request()
    table_id = body.int("table_id", required=True)
    starts_at = None
    if body.str("starts_at", required=True, max_length=40) is not None:
        try:
            starts_at = parse_starts_at(body.data["starts_at"])
        except ValueError:
            body.errors["starts_at"] = "Geen geldig tijdstip; gebruik JJJJ-MM-DDTUU:MM."
    location = body.str("location", max_length=200)
    on_request = body.data.get("on_request", False)
    if on_request is None:
        on_request = False
    if not isinstance(on_request, bool):
        body.errors["on_request"] = "Moet true of false zijn."
    cases = _agenda(body)
    body.check()
    _table(table_id, rights.MEETINGS)
    meeting = meetings.plan_meeting(
        db.session(), table_id=table_id, starts_at=starts_at, location=location, cases=cases,
        planned_by=g.api_user.email, on_request=on_request,
    )
    return created({**meeting_json(meeting), "warnings": reasons_json(meetings.date_warnings(starts_at))})


@bp.post("/v1/meetings/<int:meeting_id>/invitations")
def meeting_invitations(meeting_id: int):
    """Mail every invitee the invitation with the meeting as ``uitnodiging.ics``."""
    meeting = _meeting(meeting_id)
    result = send_invitations(db.session(), current_app.config, meeting)
    return done({"meeting_id": meeting.id, "sent": [i.person_id for i in result.sent],
                 "without_email": [i.person_id for i in result.without_email]})


@bp.put("/v1/meetings/<int:meeting_id>/attendance")
def meeting_attendance(meeting_id: int):
    """Record who attended: ``attended`` lists the invitees present, every other was absent."""
    meeting = _meeting(meeting_id)
    body = Body.from_request()
    present = body.list_of("attended", int, required=True)
    body.check()
    meetings.record_attendance(db.session(), meeting, set(present), by=g.api_user.email)
    return done(attendance_json(meeting))


def attendance_json(meeting: Meeting) -> dict:
    """Who attended a meeting (None: not recorded), who recorded it and when."""
    return {
        "meeting_id": meeting.id,
        "recorded_by": meeting.attendance_recorded_by,
        "recorded_at": meeting.attendance_recorded_at.isoformat(timespec="seconds") + "Z" if meeting.attendance_recorded_at else None,
        "invitees": [{"person_id": i.person_id, "attended": i.attended} for i in meeting.invitees],
    }


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


def meeting_json(meeting) -> dict:
    """A meeting as JSON: when, where, the agenda and the invitees."""
    return {
        "id": meeting.id,
        "table_id": meeting.table_id,
        "starts_at": meeting.starts_at.isoformat(timespec="minutes"),
        "location": meeting.location,
        "on_request": bool(meeting.on_request),
        "invitee_ids": [i.person_id for i in meeting.invitees],
        "cases": [
            {"case_ref": c.case.reference, "theme": c.theme, "age_band": c.age_band,
             "invitee_ids": [p.id for p in c.participants], "family_roles": list(c.family_roles or [])}
            for c in meeting.cases
        ],
    }


@bp.get("/v1/meetings/<int:meeting_id>/check")
def meeting_check(meeting_id: int):
    """The chair's check of every case and invitee, as of the meeting date."""
    _meeting(meeting_id)
    return jsonify(check_json(meetings.meeting_check(db.session(), meeting_id)))


@bp.get("/v1/meetings/<int:meeting_id>/check.pdf")
def meeting_check_pdf(meeting_id: int):
    """The check run now as the sealed *presentie- en toetsingslijst*; 503 when the
    configured timestamp server is down (never sealed with the local clock instead)."""
    pack_name = _meeting(meeting_id).table.covenant.pack
    check = meetings.meeting_check(db.session(), meeting_id)
    try:
        pdf = sealed_meeting_check(db.session(), current_app.config, check, pack_name, actor=g.api_user.email,
                                   ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:400] or None)
    except TimestampUnavailable as exc:
        db.session().rollback()
        return error_response(503, "timestamp_unavailable", exc.message_nl + " Probeer het later opnieuw.")
    db.session().commit()
    return pdf_response(pdf, f"toetsingslijst-{check.on.isoformat()}-overleg-{check.meeting_id}.pdf")


def check_json(check: meetings.MeetingCheck) -> dict:
    """A meeting check as JSON."""
    return {
        "meeting_id": check.meeting_id,
        "table": {"id": check.table_id, "name": check.table_name},
        "starts_at": check.starts_at.isoformat(timespec="minutes"),
        "location": check.location,
        "on": check.on.isoformat(),
        "checked_at": check.checked_at.isoformat(timespec="seconds"),
        "warnings": reasons_json(check.warnings),
        "legal_basis": {"key": check.legal_basis, "label": check.legal_basis_label},
        "cases": [
            {
                "case_ref": case.case_ref, "theme": case.theme, "age_band": case.age_band,
                "invitees": [invitee_json(i) for i in case.invitees],
                "family_participants": [{"key": key, "label": label} for key, label in case.family_participants],
                "warnings": reasons_json(case.warnings), "retention_stage": case.retention_stage,
            }
            for case in check.cases
        ],
    }


def invitee_json(item: meetings.InviteeCheck) -> dict:
    """One invitee's answer for one case."""
    return {
        "person_id": item.person_id, "name": item.name,
        "organisation_id": item.organisation_id, "organisation_name": item.organisation_name,
        "allowed": item.allowed, "basis": item.basis, "reasons": reasons_json(item.reasons),
        "consent": item.consent.as_dict(), "warnings": reasons_json(item.warnings),
        "sharing_basis": ({"basis": item.sharing_basis, "label": item.sharing_basis_label}
                          if item.sharing_basis else None),
    }


@bp.post("/v1/check/batch")
def check_batch():
    """Many checks at one table on one date, answered in the order asked."""
    body = Body.from_request()
    on = body.date("on") or rules.today()
    table_id = body.int("table_id", required=True)
    checks = _batch_checks(body)
    body.check()
    _table(table_id, rights.READ)
    decisions = queries.check_many(db.session(), table_id, on, checks)
    return jsonify({
        "on": on.isoformat(), "table_id": table_id,
        "results": [
            {"person_id": pid, "case_ref": ref, **decision_json(d)} for (pid, ref), d in zip(checks, decisions)
        ],
    })


def _batch_checks(body: Body) -> list[tuple[int, str | None]]:
    """The ``checks`` list as (person_id, case_ref) pairs; errors go into ``body.errors``."""
    raw = body.data.get("checks")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_BATCH:
        body.errors["checks"] = f"Geef een lijst van 1 tot {MAX_BATCH} controles."
        return []
    pairs = []
    for i, item in enumerate(raw):
        sub = Body(item if isinstance(item, dict) else {})
        pair = (sub.int("person_id", required=True), sub.str("case_ref", max_length=100))
        body.errors.update({f"checks[{i}].{name}": message for name, message in sub.errors.items()})
        pairs.append(pair)
    return pairs


@bp.get("/v1/people/<int:person_id>/tables")
def person_tables(person_id: int):
    """The tables a person may join on a date (structural, or incidental for a case)."""
    query_ = Body.from_query()
    on = query_.date("on") or rules.today()
    query_.check()
    person = services.get(db.session(), Person, person_id, "person_id")
    access.require(rights.READ, rights.person_target(db.session(), person))
    tables = queries.tables_for(db.session(), person_id, on)
    return jsonify({
        "person_id": person_id, "on": on.isoformat(),
        "tables": [{**table_json(t), "case_ref": case_ref, **decision_json(d)} for t, d, case_ref in tables],
    })


@bp.post("/v1/consents/<int:consent_id>/withdrawal")
def withdraw_consent(consent_id: int):
    """Record the withdrawal of a consent (Bijlage 4) from ``on``, by the calling account."""
    consent = services.get(db.session(), Consent, consent_id, "consent_id")
    access.require(rights.WITHDRAW_CONSENT, rights.consent_target(db.session(), consent))
    body = Body.from_request()
    on = body.date("on", required=True)
    body.check()
    services.withdraw_consent(db.session(), consent, on, g.api_user.email)
    return done(consent_json(consent))


def consent_json(consent: Consent) -> dict:
    """A consent's validity as JSON (no resident data: only ids, categories and dates)."""
    return {
        "id": consent.id, "case_id": consent.case_id, "categories": list(consent.categories),
        "recipient_ids": [o.id for o in consent.recipients],
        "signed_on": consent.signed_on.isoformat() if consent.signed_on else None,
        "withdrawn_on": consent.withdrawn_on.isoformat() if consent.withdrawn_on else None,
        "withdrawn_by": consent.withdrawn_by,
    }


@bp.post("/v1/need-to-know-withdrawals")
def withdraw_need_to_know():
    """A partner says it no longer needs to know a case (art. 6), from ``on``."""
    body = Body.from_request()
    values = dict(
        table_id=body.int("table_id", required=True),
        case_ref=body.str("case_ref", required=True, max_length=100),
        organisation_id=body.int("organisation_id", required=True),
        on=body.date("on") or rules.today(),
    )
    body.check()
    _table(values["table_id"], rights.MEETINGS)
    withdrawal = meetings.withdraw_need_to_know(db.session(), **values, by=g.api_user.email)
    return created({
        "id": withdrawal.id, "table_id": values["table_id"], "case_ref": withdrawal.case.reference,
        "organisation_id": withdrawal.organisation_id, "on": withdrawal.effective_on.isoformat(),
        "recorded_by": withdrawal.recorded_by,
    })


# ----------------------------------------------------------------------------- OpenAPI

STR = {"type": "string"}
REASONS = {"type": "array", "items": REASON}
CONSENT_ANSWER = {"type": "object", "properties": {"covered": {"type": "boolean"}, "categories": {"type": "array", "items": STR}, "reason": REASON, "legal_basis": {"type": "string", "description": "consent, or the pack's other legal basis (shared_professional_secrecy: no consent applies, reason names the basis)"}}, "required": ["covered", "categories"]}
INVITEE = {"type": "object", "properties": {"person_id": ID, "name": STR, "organisation_id": ID, "organisation_name": STR, "allowed": {"type": "boolean"}, "basis": {"enum": ["structural", "incidental", None]}, "reasons": REASONS, "consent": CONSENT_ANSWER, "warnings": REASONS, "sharing_basis": {"type": ["object", "null"], "properties": {"basis": {"enum": ["own_task", "consent", "none"]}, "label": STR}}}}
AGENDA_ITEM = {"type": "object", "properties": {"case_ref": STR, "theme": {"type": "string", "description": "one of the pack's meeting themes"}, "age_band": {"type": "string", "description": "one of the pack's age bands"}, "invitee_ids": {"type": "array", "items": ID}, "family_roles": {"type": "array", "items": STR, "description": "keys of the pack's case_participants taking part in their own case (e.g. ouder_met_gezag, jongere); no names"}}, "required": ["case_ref", "invitee_ids"]}
STARTS_AT = {"type": "string", "example": "2026-03-10T14:00", "description": "Local time, Europe/Amsterdam"}
MEETING = {"type": "object", "properties": {"id": ID, "table_id": ID, "starts_at": STARTS_AT, "location": {"type": ["string", "null"]}, "on_request": {"type": "boolean"}, "invitee_ids": {"type": "array", "items": ID}, "cases": {"type": "array", "items": AGENDA_ITEM}}}
CHECK = {"type": "object", "properties": {
    "meeting_id": ID, "on": DATE, "checked_at": {"type": "string", "format": "date-time"}, "starts_at": STARTS_AT,
    "warnings": REASONS,
    "legal_basis": {"type": "object", "properties": {"key": {"enum": list(packs.LEGAL_BASES)}, "label": STR}, "description": "how information is shared at this table (the pack's [cases] legal_basis)"},
    "cases": {"type": "array", "items": {"type": "object", "properties": {"case_ref": STR, "theme": {"type": ["string", "null"]}, "age_band": {"type": ["string", "null"]}, "invitees": {"type": "array", "items": INVITEE}}}},
}}
BATCH_RESULT = {"type": "object", "properties": {"person_id": ID, "case_ref": {"type": ["string", "null"]}, "allowed": {"type": "boolean"}, "basis": {"enum": ["structural", "incidental", None]}, "reasons": REASONS, "warnings": REASONS}}

PATHS = {
    "/api/v1/meetings": {"post": {"summary": "Plan a meeting with its cases and per-case participants. A start before today is accepted (a meeting held earlier) and answered with warnings [{code: meeting_in_past, text}]", "requestBody": body({"table_id": ID, "starts_at": STARTS_AT, "location": STR, "on_request": {"type": "boolean", "description": "a meeting on request (op afroep), besides the fixed dates; only when the table's pack has [meetings] on_request = true"}, "cases": {"type": "array", "items": AGENDA_ITEM}}, ["table_id", "starts_at", "cases"]), "responses": answer("201", "Planned", {**MEETING, "properties": {**MEETING["properties"], "warnings": {**REASONS, "description": "meeting_in_past when the date is before today; empty otherwise"}}})}},
    "/api/v1/meetings/{meeting_id}/invitations": {"post": {"summary": "Mail every invitee the invitation with the meeting as uitnodiging.ics (iCalendar METHOD:REQUEST, Europe/Amsterdam with VTIMEZONE, UID stable per meeting and invitee; SEQUENCE raised on a resend); through the outbox", "parameters": [path_id("meeting_id")], "responses": answer("200", "Sent", {"type": "object", "properties": {"meeting_id": ID, "sent": {"type": "array", "items": ID}, "without_email": {"type": "array", "items": ID, "description": "invitees without an e-mail address: not mailed"}}})}},
    "/api/v1/meetings/{meeting_id}/attendance": {"put": {"summary": "Record who attended, on or after the meeting day: the listed invitees were present, every other invitee absent; the presentie- en toetsingslijst then shows it", "parameters": [path_id("meeting_id")], "requestBody": body({"attended": {"type": "array", "items": ID}}, ["attended"]), "responses": answer("200", "Recorded", {"type": "object", "properties": {"meeting_id": ID, "recorded_by": STR, "recorded_at": {"type": "string", "format": "date-time"}, "invitees": {"type": "array", "items": {"type": "object", "properties": {"person_id": ID, "attended": {"type": ["boolean", "null"]}}}}}})}},
    "/api/v1/meetings/{meeting_id}/check": {"get": {"summary": "The chair's check (art. 6): every case and invitee as of the meeting date, with consent (art. 11) and warnings", "parameters": [path_id("meeting_id")], "responses": answer("200", "Check", CHECK)}},
    "/api/v1/meetings/{meeting_id}/check.pdf": {"get": {"summary": "The check run now as the presentie- en toetsingslijst, sealed (PAdES; B-T when a timestamp server is configured); 503 when that server is down", "parameters": [path_id("meeting_id")], "responses": {**answer("200", "Sealed PDF"), "200": {"description": "The sealed PDF", "content": {"application/pdf": {}}}, "503": {"description": "The timestamp server is unavailable; nothing was sealed"}}}},
    "/api/v1/check/batch": {"post": {"summary": "Many checks at one table on one date, in the order asked", "requestBody": body({"on": DATE, "table_id": ID, "checks": {"type": "array", "maxItems": MAX_BATCH, "items": {"type": "object", "properties": {"person_id": ID, "case_ref": STR}, "required": ["person_id"]}}}, ["table_id", "checks"]), "responses": answer("200", "Results", {"type": "object", "properties": {"results": {"type": "array", "items": BATCH_RESULT}}})}},
    "/api/v1/people/{person_id}/tables": {"get": {"summary": "The tables a person may join on a date", "parameters": [path_id("person_id"), query("on", DATE)], "responses": answer("200", "Tables", {"type": "object", "properties": {"person_id": ID, "on": DATE, "tables": {"type": "array", "items": {"type": "object", "properties": {"id": ID, "name": STR, "case_ref": {"type": ["string", "null"]}, "allowed": {"type": "boolean"}, "basis": STR, "reasons": REASONS}}}}})}},
    "/api/v1/consents/{consent_id}/withdrawal": {"post": {"summary": "Withdraw a consent (Bijlage 4) from a date; records who", "parameters": [path_id("consent_id")], "requestBody": body({"on": DATE}, ["on"]), "responses": answer("200", "Withdrawn", {"type": "object", "properties": {"id": ID, "withdrawn_on": DATE, "withdrawn_by": STR}})}},
    "/api/v1/need-to-know-withdrawals": {"post": {"summary": "A partner no longer needs to know a case (art. 6)", "requestBody": body({"table_id": ID, "case_ref": STR, "organisation_id": ID, "on": DATE}, ["table_id", "case_ref", "organisation_id"]), "responses": answer("201", "Recorded", {"type": "object"})}},
}
openapi.FRAGMENTS.append(PATHS)
