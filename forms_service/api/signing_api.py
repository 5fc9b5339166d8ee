"""API v1 for signing: send documents for signing, follow requests, fetch sealed PDFs,
verify a PDF (public) and read the outbox (admin).

Signing links are never returned by the API: they exist only in the signer's mail
(or the outbox, for an administrator passing them on by hand).
"""

from __future__ import annotations

from flask import current_app, jsonify, request
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import PUBLIC_ENDPOINTS, bp
from forms_service.api.inputs import Body
from forms_service.api.openapi import FRAGMENTS, ID, answer, body, path_id
from signatures import workflow as service
from signatures.subjects import Signer
from signatures.verification import verify_upload
from forms_service.signing.views import pdf_response
from registry import access as rights
from registry.errors import BadRequest, NotFound
from signatures import mail
from signatures.evidence import events_for
from signatures.models import OutboxMessage, SigningRequest

ROUTE_KINDS = {"covenants": "covenant", "declarations": "declaration", "consents": "consent"}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def request_json(r: SigningRequest) -> dict:
    """A signing request as JSON (short form)."""
    return {"id": r.id, "signer": r.signer_name, "email": r.signer_email, "status": r.status,
            "role": r.signer_role, "method": r.method, "expires_at": _iso(r.expires_at)}


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def _optional_body() -> Body:
    """The JSON body, or an empty one when none was sent."""
    if not request.get_data():
        return Body({})
    return Body.from_request()


def _consent_signers(payload: Body) -> list[Signer] | None:
    """``signers: [{"name", "email", "role"}]`` for a Bijlage 4 (resident and/or parents)."""
    raw = payload.data.get("signers")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or not all(isinstance(s, dict) for s in raw):
        payload.errors["signers"] = "Geef een lijst van ondertekenaars: [{name, email, role}]."
        return None
    signers = []
    for i, item in enumerate(raw):
        role = item.get("role", "resident")
        if role not in ("resident", "parents"):
            payload.errors[f"signers[{i}].role"] = "Kies resident of parents."
        name, email = item.get("name"), item.get("email")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            payload.errors[f"signers[{i}].name"] = "Vul de naam in (maximaal 200 tekens)."
            continue
        signers.append(Signer(name.strip(), email.strip() if isinstance(email, str) else None, role))
    return signers


def _send(kind: str, subject_id: int):
    """Send one subject for signing; 201 with the created requests."""
    _allow(kind, subject_id, "send")
    payload = _optional_body()
    signers = _consent_signers(payload) if kind == "consent" else None
    payload.check()
    if kind == "consent" and signers is None:
        signers = [Signer(s.name, None, s.role) for s in service.load_subject(db.session(), kind, subject_id).signers]
    invitations = service.send_for_signing(db.session(), current_app.config, kind, subject_id,
                                           actor=request_actor(), base_url=_base_url(), signers=signers)
    db.session().commit()
    return jsonify({"requests": [request_json(i.request) for i in invitations]}), 201


def _allow(kind: str, subject_id: int, purpose: str) -> rights.Use:
    """404 for an unknown document, 403 unless this token's user may (see registry.access)."""
    return rights.authorize_signing(db.session(), access.acting_user(), kind, subject_id, purpose)


def request_actor() -> str:
    """The API user, for the evidence log and the decline notice."""
    from flask import g

    return g.api_user.email


@bp.post("/v1/covenants/<int:subject_id>/signing-requests")
def send_covenant(subject_id: int):
    """Send the covenant to every unsigned partner's representative."""
    return _send("covenant", subject_id)


@bp.post("/v1/declarations/<int:subject_id>/signing-requests")
def send_declaration(subject_id: int):
    """Send a Bijlage 1/2 to its participant."""
    return _send("declaration", subject_id)


@bp.post("/v1/consents/<int:subject_id>/signing-requests")
def send_consent(subject_id: int):
    """Send a Bijlage 4 to the resident and/or parents (names and e-mail in the body)."""
    return _send("consent", subject_id)


def _request(request_id: int) -> SigningRequest:
    found = db.session().get(SigningRequest, request_id)
    if found is None:
        raise NotFound(f"Ondertekeningsverzoek {request_id} bestaat niet.", {"request_id": "Bestaat niet."})
    return found


@bp.get("/v1/signing-requests/<int:request_id>")
def get_request(request_id: int):
    """A request's status and its evidence events (signer IPs and user agents: logged)."""
    r = _request(request_id)
    use = _allow(r.subject_kind, r.subject_id, "copy")
    access.log_read(use, "view", "signing_request", r.id)
    events = [{"seq": e.seq, "event": e.event, "occurred_at": _iso(e.occurred_at), "actor": e.actor, "ip": e.ip,
               "user_agent": e.user_agent, "details": e.details}
              for e in events_for(db.session(), r.subject_kind, r.subject_id) if e.request_id == r.id]
    payload = {**request_json(r), "subject": {"kind": r.subject_kind, "id": r.subject_id},
               "created_at": _iso(r.created_at), "opened_at": _iso(r.opened_at), "signed_at": _iso(r.signed_at),
               "declined_reason": r.declined_reason, "document_sha256": r.document_sha256, "events": events}
    db.session().commit()
    return jsonify(payload)


@bp.post("/v1/signing-requests/<int:request_id>/cancel")
def cancel_request(request_id: int):
    """Withdraw an open request."""
    r = _request(request_id)
    _allow(r.subject_kind, r.subject_id, "send")
    payload = _optional_body()
    reason = payload.str("reason", max_length=2000)
    payload.check()
    r = service.cancel(db.session(), request_id, actor=request_actor(), reason=reason)
    db.session().commit()
    return jsonify(request_json(r))


@bp.post("/v1/signing-requests/<int:request_id>/resend")
def resend_request(request_id: int):
    """A new link (new request) for the same signer; an open one is cancelled."""
    r = _request(request_id)
    _allow(r.subject_kind, r.subject_id, "send")
    invitation = service.resend(db.session(), current_app.config, request_id, actor=request_actor(), base_url=_base_url())
    db.session().commit()
    return jsonify(request_json(invitation.request)), 201


def _signed_pdf(kind: str, subject_id: int):
    """The sealed PDF: it holds the signers' personal data, so the export is logged."""
    use = _allow(kind, subject_id, "copy")
    doc = service.signed_document(db.session(), kind, subject_id)
    access.log_read(use, "export", kind, subject_id, {"sha256": doc.sha256})
    db.session().commit()
    return pdf_response(doc.pdf, f"ondertekend-{kind}-{subject_id}.pdf")


@bp.get("/v1/covenants/<int:subject_id>/signed.pdf")
def signed_covenant_pdf(subject_id: int):
    """The sealed covenant; 409 until everyone signed and it is sealed."""
    return _signed_pdf("covenant", subject_id)


@bp.get("/v1/declarations/<int:subject_id>/signed.pdf")
def signed_declaration_pdf(subject_id: int):
    """The sealed Bijlage 1/2 (or the paper scan); 409 until then."""
    return _signed_pdf("declaration", subject_id)


@bp.get("/v1/consents/<int:subject_id>/signed.pdf")
def signed_consent_pdf(subject_id: int):
    """The sealed Bijlage 4 (or the paper scan); 409 until then."""
    return _signed_pdf("consent", subject_id)


@bp.post("/v1/verify")
def verify():
    """Check a PDF (multipart field ``file``); no token needed."""
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Stuur het PDF-bestand mee in het multipart-veld 'file'.", {"file": "Ontbreekt."})
    return jsonify(verify_upload(db.session(), current_app.config, upload.read()))


@bp.get("/v1/outbox")
def outbox():
    """Mail kept in the database, newest first (administrators only)."""
    use = access.require(rights.ADMIN)
    messages = db.session().scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(500)).all()
    access.log_read(use, "view", "outbox", None)
    payload = {"messages": [{"id": m.id, "to": m.to, "subject": m.subject, "body": m.body,
                             "created_at": _iso(m.created_at), "sent_at": _iso(m.sent_at), "error": m.error}
                            for m in messages]}
    db.session().commit()
    return jsonify(payload)


@bp.post("/v1/outbox/<int:message_id>/sent")
def outbox_sent(message_id: int):
    """Mark an outbox message as passed on by hand; its signing links are redacted (admin)."""
    access.require(rights.ADMIN)
    message = db.session().get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"Bericht {message_id} bestaat niet.", {"message_id": "Bestaat niet."})
    mail.mark_passed_on(db.session(), message)
    db.session().commit()
    return jsonify({"id": message.id, "to": message.to, "subject": message.subject, "body": message.body,
                    "created_at": _iso(message.created_at), "sent_at": _iso(message.sent_at), "error": message.error})


PUBLIC_ENDPOINTS.add("api.verify")

_REQ = {"type": "object", "properties": {"id": ID, "signer": {"type": "string"}, "email": {"type": ["string", "null"]},
                                         "status": {"enum": ["pending", "opened", "signed", "declined", "cancelled", "expired"]},
                                         "role": {"type": "string"}, "method": {"type": "string"},
                                         "expires_at": {"type": "string", "format": "date-time"}},
        "required": ["id", "signer", "email", "status"]}
_REQS = {"type": "object", "properties": {"requests": {"type": "array", "items": _REQ}}, "required": ["requests"]}
_PDF = {"description": "The sealed PDF", "content": {"application/pdf": {}}}
_SIGNERS_BODY = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
    "signers": {"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "email": {"type": "string"}, "role": {"enum": ["resident", "parents"]}},
        "required": ["name", "email"]}}}}}}}
_VERIFY = {"type": "object", "properties": {
    "valid": {"type": "boolean"}, "intact": {"type": "boolean"}, "trusted": {"type": "boolean"},
    "document": {"type": ["object", "null"]}, "signers": {"type": "array", "items": {"type": "object"}},
    "problems": {"type": "array", "items": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "required": ["valid", "intact", "trusted", "document", "signers", "problems"]}


def _pdf_answer() -> dict:
    responses = answer("200", "The sealed PDF")
    responses["200"] = _PDF
    return responses


PATHS = {
    "/api/v1/covenants/{subject_id}/signing-requests": {"post": {"summary": "Send the covenant to every unsigned partner's representative", "parameters": [path_id("subject_id")], "responses": answer("201", "Requests created", _REQS)}},
    "/api/v1/declarations/{subject_id}/signing-requests": {"post": {"summary": "Send a Bijlage 1/2 to its participant", "parameters": [path_id("subject_id")], "responses": answer("201", "Requests created", _REQS)}},
    "/api/v1/consents/{subject_id}/signing-requests": {"post": {"summary": "Send a Bijlage 4 to the resident and/or parents", "parameters": [path_id("subject_id")], "requestBody": _SIGNERS_BODY, "responses": answer("201", "Requests created", _REQS)}},
    "/api/v1/signing-requests/{request_id}": {"get": {"summary": "A signing request: status and evidence events", "parameters": [path_id("request_id")], "responses": answer("200", "Request", {"type": "object"})}},
    "/api/v1/signing-requests/{request_id}/cancel": {"post": {"summary": "Withdraw an open request", "parameters": [path_id("request_id")], "responses": answer("200", "Cancelled", _REQ)}},
    "/api/v1/signing-requests/{request_id}/resend": {"post": {"summary": "A new link for the same signer", "parameters": [path_id("request_id")], "responses": answer("201", "New request", _REQ)}},
    "/api/v1/covenants/{subject_id}/signed.pdf": {"get": {"summary": "The sealed covenant (409 until complete)", "parameters": [path_id("subject_id")], "responses": _pdf_answer()}},
    "/api/v1/declarations/{subject_id}/signed.pdf": {"get": {"summary": "The sealed Bijlage 1/2 (409 until complete)", "parameters": [path_id("subject_id")], "responses": _pdf_answer()}},
    "/api/v1/consents/{subject_id}/signed.pdf": {"get": {"summary": "The sealed Bijlage 4 (409 until complete)", "parameters": [path_id("subject_id")], "responses": _pdf_answer()}},
    "/api/v1/verify": {"post": {"summary": "Verify a sealed PDF (no token needed)", "security": [], "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}}, "responses": answer("200", "Verification", _VERIFY)}},
    "/api/v1/outbox/{message_id}/sent": {"post": {"summary": "Mark an outbox message as passed on by hand; its signing links are redacted (admin)", "parameters": [path_id("message_id")], "responses": answer("200", "Marked", {"type": "object"})}},
    "/api/v1/outbox": {"get": {"summary": "Mail kept in the database, newest first (admin)", "responses": answer("200", "Outbox", {"type": "object", "properties": {"messages": {"type": "array", "items": {"type": "object", "properties": {"id": ID, "to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}, "created_at": {"type": "string", "format": "date-time"}}}}}})}},
}
FRAGMENTS.append(PATHS)
