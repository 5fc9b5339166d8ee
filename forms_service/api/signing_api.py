"""API v1 for signing: send documents for signing, follow requests, fetch sealed PDFs,
verify a PDF (public) and read the outbox (admin).

Signing links are never returned by the API: they exist only in the signer's mail
(or the outbox, for an administrator passing them on by hand). The request and answer
shapes are the schemas below (``POST /api/v1/verify``: a multipart upload, its field
``file`` read from ``location="files"``).
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g, request
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import PUBLIC_ENDPOINTS, bp
from forms_service.api.registry_api import commit
from forms_service.api.schema import Choice, Schema, Text, body, file_answer, items, out_str
from signatures import workflow as service
from signatures.subjects import DOCUMENT_KINDS, Signer
from signatures.verification import verify_upload
from forms_service.signing.views import pdf_response
from registry import access as rights
from registry import limits
from registry.errors import NotFound
from signatures import mail
from signatures.evidence import events_for
from signatures.models import OutboxMessage, SigningRequest
from registry.texts import N_

PDF = "application/pdf"
CANCEL_REASON_MAX = 2000
ROUTE_KINDS = {"covenants": "covenant", "declarations": "declaration", "consents": "consent"}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


class SigningRequestSchema(Schema):
    """A signing request, short form (answers of routes that send requests)."""

    id = ma.fields.Integer(required=True)
    signer = ma.fields.String(required=True)
    email = out_str(required=True)
    status = ma.fields.String(required=True)
    role = out_str(required=True)
    method = out_str(required=True)
    expires_at = out_str(required=True, metadata={"format": "date-time"})


def request_json(r: SigningRequest) -> dict:
    """A signing request as JSON (short form)."""
    return {"id": r.id, "signer": r.signer_name, "email": r.signer_email, "status": r.status,
            "role": r.signer_role, "method": r.method, "expires_at": _iso(r.expires_at)}


def _base_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


# ----------------------------------------------------------------------------- shapes


class NoFields(Schema):
    """An optional JSON object whose properties are ignored (a body sent must be an object)."""


class SignerIn(Schema):
    """A signer of a Bijlage 4: the resident, or the parents (with authority)."""

    name = Text(limits.NAME_MAX, required=True)
    email = Text(limits.EMAIL_MAX)
    role = Choice(("resident", "parents"), metadata={"description": "default resident"})


class SignersIn(Schema):
    """``signers: [{"name", "email", "role"}]``; left out: the consent's own signers, without e-mail."""

    signers = items(SignerIn, allow_none=True, validate=ma.validate.Length(
        min=1, error=N_("Geef ten minste één ondertekenaar, elk met name, email en role.")))


class Cancellation(Schema):
    reason = Text(CANCEL_REASON_MAX)


class SigningRequestsSchema(Schema):
    """The signing requests just created."""

    requests = ma.fields.List(ma.fields.Nested(SigningRequestSchema), required=True)


class SigningSubjectSchema(Schema):
    kind = ma.fields.String(required=True)
    id = ma.fields.Integer(required=True)


class EvidenceEventSchema(Schema):
    """One evidence-log entry of the request."""

    seq = ma.fields.Integer(required=True)
    event = ma.fields.String(required=True)
    occurred_at = out_str(required=True, metadata={"format": "date-time"})
    actor = out_str(required=True)
    ip = out_str(required=True)
    user_agent = out_str(required=True)
    details = ma.fields.Raw(required=True, allow_none=True)


class SigningRequestDetailSchema(SigningRequestSchema):
    """A signing request with its subject, times and evidence events."""

    subject = ma.fields.Nested(SigningSubjectSchema, required=True)
    created_at = out_str(required=True, metadata={"format": "date-time"})
    opened_at = out_str(required=True, metadata={"format": "date-time"})
    signed_at = out_str(required=True, metadata={"format": "date-time"})
    declined_reason = out_str(required=True)
    document_sha256 = out_str(required=True)
    events = ma.fields.List(ma.fields.Nested(EvidenceEventSchema), required=True)


class OutboxMessageSchema(Schema):
    """A mail kept in the database."""

    id = ma.fields.Integer(required=True)
    to = ma.fields.String(required=True)
    subject = ma.fields.String(required=True)
    body = out_str(required=True)
    created_at = ma.fields.DateTime(required=True, allow_none=True)
    sent_at = ma.fields.DateTime(required=True, allow_none=True)
    error = out_str(required=True)


class OutboxSchema(Schema):
    messages = ma.fields.List(ma.fields.Nested(OutboxMessageSchema), required=True)


class VerifyUpload(Schema):
    """The upload to verify: the PDF in the multipart field ``file``."""

    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                                  "description": "the PDF; missing: 400 bad_request naming file"},
                         error_messages={"required": "Ontbreekt.", "null": "Ontbreekt."})


class VerifyProblemSchema(Schema):
    """Why an upload is not (fully) valid: a stable ``code`` and a Dutch ``message``."""

    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)


class VerifiedDocumentSchema(Schema):
    """The sealed document of ours an upload is, and what its seal says."""

    kind = ma.fields.String(required=True, metadata={"enum": [*DOCUMENT_KINDS, "meeting"]})
    id = ma.fields.Integer(required=True)
    title = out_str(required=True)
    subject = out_str(required=True)
    sealed_at = out_str(required=True, metadata={"format": "date-time"})
    timestamped = ma.fields.Boolean(required=True)
    level = out_str(required=True, metadata={"description": "PAdES-B-B, PAdES-B-T, PAdES-B-LT or PAdES-B-LTA"})
    sealed_by = out_str(required=True)
    document_sha256 = out_str(required=True)
    identical_to_stored_copy = ma.fields.Boolean(required=True)
    checked_at = out_str(metadata={"description": "a presentie- en toetsingslijst only: when the check ran"})


class VerifiedSignerSchema(Schema):
    """A signer as the sealed file names them; role, organisation and function only when
    the uploaded (byte-identical) file prints them."""

    name = ma.fields.String(required=True)
    signed_on = out_str(required=True)
    method = out_str(required=True)
    identification = out_str(required=True)
    role = out_str(required=True)
    organisation = out_str(required=True)
    function = out_str(required=True)


class VerificationSchema(Schema):
    """What :func:`signatures.verification.verify_upload` answers: ``valid`` when the file
    is intact, sealed by us and one of our documents."""

    valid = ma.fields.Boolean(required=True)
    intact = ma.fields.Boolean(required=True)
    trusted = ma.fields.Boolean(required=True)
    document = ma.fields.Nested(VerifiedDocumentSchema, required=True, allow_none=True)
    signers = ma.fields.List(ma.fields.Nested(VerifiedSignerSchema), required=True)
    problems = ma.fields.List(ma.fields.Nested(VerifyProblemSchema), required=True)


# ----------------------------------------------------------------------------- views


def _send(kind: str, subject_id: int, signers: list[Signer] | None = None):
    """Send one subject for signing; 201 with the created requests."""
    _allow(kind, subject_id, "send")
    invitations = service.send_for_signing(db.session(), current_app.config, kind, subject_id,
                                           actor=request_actor(), base_url=_base_url(), signers=signers)
    return commit({"requests": [request_json(i.request) for i in invitations]})


def _allow(kind: str, subject_id: int, purpose: str) -> rights.Use:
    """404 for an unknown document, 403 unless this token's user may (see registry.access)."""
    return rights.authorize_signing(db.session(), access.acting_user(), kind, subject_id, purpose)


def request_actor() -> str:
    """The API user, for the evidence log and the decline notice."""
    return g.api_user.email


@bp.post("/v1/covenants/<int:subject_id>/signing-requests")
@body(NoFields, optional=True, access=lambda subject_id: _allow("covenant", subject_id, "send"))
@bp.response(201, SigningRequestsSchema)
@bp.doc(summary="Send the covenant to every unsigned partner's representative")
def send_covenant(_values, subject_id: int):
    """Send the covenant to every unsigned partner's representative."""
    return _send("covenant", subject_id)


@bp.post("/v1/declarations/<int:subject_id>/signing-requests")
@body(NoFields, optional=True, access=lambda subject_id: _allow("declaration", subject_id, "send"))
@bp.response(201, SigningRequestsSchema)
@bp.doc(summary="Send a Bijlage 1/2 to its participant")
def send_declaration(_values, subject_id: int):
    """Send a Bijlage 1/2 to its participant."""
    return _send("declaration", subject_id)


@bp.post("/v1/consents/<int:subject_id>/signing-requests")
@body(SignersIn, optional=True, access=lambda subject_id: _allow("consent", subject_id, "send"))
@bp.response(201, SigningRequestsSchema)
@bp.doc(summary="Send a Bijlage 4 to the resident and/or parents")
def send_consent(values, subject_id: int):
    """Send a Bijlage 4 to the resident and/or parents (names and e-mail in the body)."""
    if values["signers"] is None:
        signers = [Signer(s.name, None, s.role) for s in service.load_subject(db.session(), "consent", subject_id).signers]
    else:
        signers = [Signer(s["name"], s["email"], s["role"] or "resident") for s in values["signers"]]
    return _send("consent", subject_id, signers)


def _request(request_id: int) -> SigningRequest:
    found = db.session().get(SigningRequest, request_id)
    if found is None:
        raise NotFound(f"Ondertekeningsverzoek {request_id} bestaat niet.", {"request_id": "Bestaat niet."})
    return found


def _sendable(request_id: int) -> SigningRequest:
    """The request (404), if this token's user may send its document (403)."""
    r = _request(request_id)
    _allow(r.subject_kind, r.subject_id, "send")
    return r


@bp.get("/v1/signing-requests/<int:request_id>")
@bp.response(200, SigningRequestDetailSchema)
@bp.doc(summary="A signing request: status and evidence events")
def get_request(request_id: int):
    """A request's status and its evidence events (signer IPs and user agents: logged)."""
    r = _request(request_id)
    use = _allow(r.subject_kind, r.subject_id, "copy")
    access.log_read(use, "view", "signing_request", r.id)
    events = [{"seq": e.seq, "event": e.event, "occurred_at": _iso(e.occurred_at), "actor": e.actor, "ip": e.ip,
               "user_agent": e.user_agent, "details": e.details}
              for e in events_for(db.session(), r.subject_kind, r.subject_id) if e.request_id == r.id]
    return commit({**request_json(r), "subject": {"kind": r.subject_kind, "id": r.subject_id},
                   "created_at": _iso(r.created_at), "opened_at": _iso(r.opened_at), "signed_at": _iso(r.signed_at),
                   "declined_reason": r.declined_reason, "document_sha256": r.document_sha256, "events": events})


@bp.post("/v1/signing-requests/<int:request_id>/cancel")
@body(Cancellation, optional=True, access=lambda request_id: _sendable(request_id))
@bp.response(200, SigningRequestSchema)
@bp.doc(summary="Withdraw an open request")
def cancel_request(values, request_id: int):
    """Withdraw an open request."""
    _sendable(request_id)
    r = service.cancel(db.session(), request_id, actor=request_actor(), reason=values["reason"])
    return commit(request_json(r))


@bp.post("/v1/signing-requests/<int:request_id>/resend")
@bp.response(201, SigningRequestSchema)
@bp.doc(summary="A new link for the same signer")
def resend_request(request_id: int):
    """A new link (new request) for the same signer; an open one is cancelled."""
    _sendable(request_id)
    invitation = service.resend(db.session(), current_app.config, request_id, actor=request_actor(), base_url=_base_url())
    return commit(request_json(invitation.request))


def _signed_pdf(kind: str, subject_id: int):
    """The sealed PDF: it holds the signers' personal data, so the export is logged."""
    use = _allow(kind, subject_id, "copy")
    doc = service.signed_document(db.session(), kind, subject_id)
    access.log_read(use, "export", kind, subject_id, {"sha256": doc.sha256})
    commit(None)
    return pdf_response(doc.pdf, f"ondertekend-{kind}-{subject_id}.pdf")


@bp.get("/v1/covenants/<int:subject_id>/signed.pdf")
@bp.doc(summary="The sealed covenant (409 until complete)", **file_answer(PDF, "The sealed PDF"))
def signed_covenant_pdf(subject_id: int):
    """The sealed covenant; 409 until everyone signed and it is sealed."""
    return _signed_pdf("covenant", subject_id)


@bp.get("/v1/declarations/<int:subject_id>/signed.pdf")
@bp.doc(summary="The sealed Bijlage 1/2 (409 until complete)", **file_answer(PDF, "The sealed PDF"))
def signed_declaration_pdf(subject_id: int):
    """The sealed Bijlage 1/2 (or the paper scan); 409 until then."""
    return _signed_pdf("declaration", subject_id)


@bp.get("/v1/consents/<int:subject_id>/signed.pdf")
@bp.doc(summary="The sealed Bijlage 4 (409 until complete)", **file_answer(PDF, "The sealed PDF"))
def signed_consent_pdf(subject_id: int):
    """The sealed Bijlage 4 (or the paper scan); 409 until then."""
    return _signed_pdf("consent", subject_id)


@bp.post("/v1/verify")
@bp.arguments(VerifyUpload, location="files", error_status_code=400)
@bp.response(200, VerificationSchema, description="The verification")
@bp.doc(summary="Verify a sealed PDF (no token needed)", security=[])
def verify(values):
    """Check a PDF (multipart field ``file``); no token needed."""
    return verify_upload(db.session(), current_app.config, values["file"].read())


@bp.get("/v1/outbox")
@bp.response(200, OutboxSchema)
@bp.doc(summary="Mail kept in the database, newest first (admin)")
def outbox():
    """Mail kept in the database, newest first (administrators only)."""
    use = access.require(rights.ADMIN)
    messages = db.session().scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(500)).all()
    access.log_read(use, "view", "outbox", None)
    return commit({"messages": messages})


@bp.post("/v1/outbox/<int:message_id>/sent")
@bp.response(200, OutboxMessageSchema)
@bp.doc(summary="Mark an outbox message as passed on by hand; its signing links are redacted (admin)")
def outbox_sent(message_id: int):
    """Mark an outbox message as passed on by hand; its signing links are redacted (admin)."""
    access.require(rights.ADMIN)
    message = db.session().get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"Bericht {message_id} bestaat niet.", {"message_id": "Bestaat niet."})
    mail.mark_passed_on(db.session(), message)
    return commit(message)


PUBLIC_ENDPOINTS.add("api.verify")
