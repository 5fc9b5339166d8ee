"""API v1 for documents: covenant PDF/DOCX, filled-in Bijlage 1/2/4 PDFs, blank forms,
and recording a consent (Bijlage 4).

Documents come from :mod:`registry.documents.build` (the one renderer); this
module only loads, checks input, and answers with the right headers. File names in
``Content-Disposition`` are built from ids and fixed words, never from user text, so
they are always safe ASCII.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import commit
from forms_service.api.schema import (Choice, Date, IdList, Id, Schema, Text, TextList, body, file_answer, out_date,
                                      out_str)
from registry.documents import build, list_packs
from registry import access as rights
from registry import consents as consent_rules
from registry import limits, services
from signatures.subjects import consent_status
from registry.errors import NotFound
from registry.models import CaseTable, Consent, Covenant, Declaration

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def file_response(data: bytes, mimetype: str, filename: str) -> Response:
    """Bytes as a download; ``filename`` must be plain ASCII (ids and fixed words)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"  # personal data: no shared caches
    return response


class ConsentSchema(Schema):
    """A consent (Bijlage 4) with resident data; ``status`` is :func:`signatures.subjects.consent_status`
    and ``required_signers`` the roles that must sign (the pack's age rule)."""

    id = ma.fields.Integer(required=True)
    case_ref = ma.fields.String(attribute="case.reference", required=True)
    table_id = ma.fields.Integer(attribute="case.table_id", required=True)
    signed_by = ma.fields.String(required=True, metadata={"enum": list(services.CONSENT_SIGNERS)})
    resident_name = ma.fields.String(required=True)
    resident_birth_date = out_date(required=True)
    purpose = ma.fields.String(required=True)
    categories = ma.fields.Function(lambda c: list(c.categories or []), required=True,
                                    metadata={"type": "array", "items": {"type": "string"}})
    recipients = ma.fields.Function(lambda c: [o.id for o in c.recipients], required=True,
                                    metadata={"type": "array", "items": {"type": "integer"}})
    other_recipients = ma.fields.Function(lambda c: list(c.other_recipients or []), required=True,
                                          metadata={"type": "array", "items": {"type": "string"}})
    signed_on = out_date(required=True)
    signed_via = out_str(required=True)
    withdrawn_on = out_date(required=True)
    declined_on = out_date(required=True)
    contact_person = out_str(required=True)
    status = ma.fields.Function(lambda c: consent_status(db.session(), c), required=True,
                                metadata={"type": "string", "enum": list(consent_rules.STATUSES)})
    required_signers = ma.fields.Function(lambda c: list(services.consent_required_signers(c)), required=True,
                                          metadata={"type": "array", "items": {"type": "string",
                                                                               "enum": list(consent_rules.ROLES)}})


class NewConsent(Schema):
    case_ref = Text(limits.CASE_REF_MAX, required=True)
    table_id = Id(required=True)
    recipients = IdList(metadata={"description": "ids of partner organisations that receive the information"})
    other_recipients = TextList(limits.NAME_MAX)
    categories = TextList(limits.NAME_MAX, required=True, metadata={"description": "keys from the covenant's pack (else 422)"})
    signed_by = Choice(services.CONSENT_SIGNERS, required=True, metadata={
        "description": "must match the pack's age rule on the resident's age (else 422 signed_by)"})
    resident_name = Text(limits.NAME_MAX, required=True)
    resident_birth_date = Date()
    purpose = Text(limits.PURPOSE_MAX)
    contact_person = Text(limits.NAME_MAX, metadata={"description": "the professional's contactpersoon"})
    signed_on = Date(metadata={"description": "paper signing date, not after today (else 422); omit to wait for signing"})


def readable_consent(consent_id: int, action: str) -> Consent:
    """A consent by id (404), readable by this account (403), its read logged (NEN 7513)."""
    consent = services.get(db.session(), Consent, consent_id, "consent_id")
    access.require_and_log(rights.RESIDENT_DATA, rights.consent_target(db.session(), consent), action,
                           "consent", consent.id)
    return consent


# ----------------------------------------------------------------------------- downloads


@bp.get("/v1/covenants/<int:covenant_id>/document.pdf")
@bp.doc(summary="The covenant as PDF/A-3b", **file_answer(PDF, "The covenant"))
def covenant_pdf(covenant_id: int):
    """The covenant as PDF (PDF/A-3b), with its partners and tables."""
    services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant_id))
    pdf = build.subject_pdf(db.session(), "covenant", covenant_id)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(pdf, PDF, f"convenant-{covenant_id}.pdf")


@bp.get("/v1/covenants/<int:covenant_id>/document.docx")
@bp.doc(summary="The covenant as editable DOCX", **file_answer(DOCX, "The covenant"))
def covenant_docx(covenant_id: int):
    """The covenant as an editable DOCX."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    docx = build.covenant_docx(db.session(), covenant)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(docx, DOCX, f"convenant-{covenant_id}.docx")


@bp.get("/v1/declarations/<int:declaration_id>/document.pdf")
@bp.doc(summary="A filled-in Bijlage 1 or 2", **file_answer(PDF, "The declaration"))
def declaration_pdf(declaration_id: int):
    """A Bijlage 1 or 2 as filled in for its person and table."""
    declaration = services.get(db.session(), Declaration, declaration_id, "declaration_id")
    access.require(rights.READ, rights.declaration_target(db.session(), declaration))
    pdf = build.subject_pdf(db.session(), "declaration", declaration_id)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(pdf, PDF, f"verklaring-{declaration_id}.pdf")


@bp.get("/v1/consents/<int:consent_id>/document.pdf")
@bp.doc(summary="A filled-in Bijlage 4 (logged as a print)", **file_answer(PDF, "The consent form"))
def consent_pdf(consent_id: int):
    """A Bijlage 4 as filled in (resident data: logged as a print)."""
    readable_consent(consent_id, "print")
    document = build.subject_document(db.session(), "consent", consent_id)
    db.session().commit()
    return file_response(document.pdf, PDF, f"toestemming-{consent_id}.pdf")


@bp.get("/v1/consents/<int:consent_id>")
@bp.doc(summary="A Bijlage 4 with resident data: coordinators and chairs entitled at its table today, and "
                "admins; every read is logged")
@bp.response(200, ConsentSchema)
def get_consent(consent_id: int):
    """A Bijlage 4 with the resident's name and birth date (resident data: logged)."""
    return commit(readable_consent(consent_id, "view"))


@bp.get("/v1/packs/<pack>/forms/<form>.pdf")
@bp.doc(summary="A blank form annex of a pack (by annex key, e.g. bijlage1, bijlage5) for signing on paper; "
                "unknown pack or key: 404 naming pack or form", **file_answer(PDF, "The blank form"))
def blank_form(pack: str, form: str):
    """An empty form annex of a pack by its key (``bijlage1``, ``bijlage5``), for signing
    on paper; an unknown pack or key → 404 naming ``pack`` or ``form``."""
    if pack not in list_packs():
        raise NotFound("Onbekend sjabloonpakket.", {"pack": f"Sjabloonpakket '{pack}' bestaat niet."})
    pdf = build.blank_form_pdf(db.session(), pack, form)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(pdf, PDF, f"{pack}-{form}-blanco.pdf")


# ----------------------------------------------------------------------------- consent


@bp.post("/v1/consents")
@body(NewConsent)
@bp.response(201, ConsentSchema)
def create_consent(values):
    """Record a Bijlage 4; the service checks categories and who signs against the covenant's pack.
    Without ``signed_on`` it waits for signing."""
    values["recipient_ids"] = values.pop("recipients", None) or []
    values["other_recipients"] = values.get("other_recipients") or []
    values["purpose"] = values.get("purpose") or ""
    table = services.get(db.session(), CaseTable, values["table_id"], "table_id")
    access.require(rights.MANAGE_CONSENTS, rights.table_target(db.session(), table))
    return commit(services.create_consent(db.session(), **values))
