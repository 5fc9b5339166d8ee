"""API v1 for documents: covenant PDF/DOCX, filled-in Bijlage 1/2/4 PDFs, blank forms,
and recording a consent (Bijlage 4).

Documents come from :mod:`registry.documents.build` (the one renderer); this
module only loads, checks input, and answers with the right headers. File names in
``Content-Disposition`` are built from ids and fixed words, never from user text, so
they are always safe ASCII.
"""

from __future__ import annotations

import datetime as dt

from flask import Response, jsonify

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, body, path_id
from registry.documents import build, list_packs
from registry import access as rights
from registry import consents as consent_rules
from registry import services
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


def _d(day: dt.date | None) -> str | None:
    """A date as ``YYYY-MM-DD`` or null."""
    return day.isoformat() if day else None


def consent_json(c: Consent) -> dict:
    """A consent as JSON; ``status`` is :func:`registry.consents.status` (draft, pending,
    signed, declined, withdrawn) and ``required_signers`` the roles that must sign."""
    return {
        "id": c.id, "case_ref": c.case.reference, "table_id": c.case.table_id,
        "signed_by": c.signed_by, "resident_name": c.resident_name,
        "resident_birth_date": _d(c.resident_birth_date), "purpose": c.purpose,
        "categories": list(c.categories or []), "recipients": [o.id for o in c.recipients],
        "other_recipients": list(c.other_recipients or []),
        "signed_on": _d(c.signed_on), "signed_via": c.signed_via, "withdrawn_on": _d(c.withdrawn_on),
        "declined_on": _d(c.declined_on), "contact_person": c.contact_person,
        "status": consent_status(db.session(), c),
        "required_signers": list(services.consent_required_signers(c)),
    }


def readable_consent(consent_id: int, action: str) -> Consent:
    """A consent by id (404), readable by this account (403), its read logged (NEN 7513)."""
    consent = services.get(db.session(), Consent, consent_id, "consent_id")
    access.require_and_log(rights.RESIDENT_DATA, rights.consent_target(db.session(), consent), action,
                           "consent", consent.id)
    return consent


# ----------------------------------------------------------------------------- downloads


@bp.get("/v1/covenants/<int:covenant_id>/document.pdf")
def covenant_pdf(covenant_id: int):
    """The covenant as PDF (PDF/A-3b), with its partners and tables."""
    services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant_id))
    pdf = build.subject_pdf(db.session(), "covenant", covenant_id)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(pdf, PDF, f"convenant-{covenant_id}.pdf")


@bp.get("/v1/covenants/<int:covenant_id>/document.docx")
def covenant_docx(covenant_id: int):
    """The covenant as an editable DOCX."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    docx = build.covenant_docx(db.session(), covenant)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(docx, DOCX, f"convenant-{covenant_id}.docx")


@bp.get("/v1/declarations/<int:declaration_id>/document.pdf")
def declaration_pdf(declaration_id: int):
    """A Bijlage 1 or 2 as filled in for its person and table."""
    declaration = services.get(db.session(), Declaration, declaration_id, "declaration_id")
    access.require(rights.READ, rights.declaration_target(db.session(), declaration))
    pdf = build.subject_pdf(db.session(), "declaration", declaration_id)
    db.session().commit()  # a first render is stored in the document cache
    return file_response(pdf, PDF, f"verklaring-{declaration_id}.pdf")


@bp.get("/v1/consents/<int:consent_id>/document.pdf")
def consent_pdf(consent_id: int):
    """A Bijlage 4 as filled in (resident data: logged as a print)."""
    readable_consent(consent_id, "print")
    document = build.subject_document(db.session(), "consent", consent_id)
    db.session().commit()
    return file_response(document.pdf, PDF, f"toestemming-{consent_id}.pdf")


@bp.get("/v1/consents/<int:consent_id>")
def get_consent(consent_id: int):
    """A Bijlage 4 with the resident's name and birth date (resident data: logged)."""
    consent = readable_consent(consent_id, "view")
    payload = consent_json(consent)
    db.session().commit()
    return jsonify(payload)


@bp.get("/v1/packs/<pack>/forms/<form>.pdf")
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
def create_consent():
    """Record a Bijlage 4; the service checks categories and who signs against the covenant's pack."""
    body_in = Body.from_request()
    values = dict(
        case_ref=body_in.str("case_ref", required=True, max_length=100),
        table_id=body_in.int("table_id", required=True),
        recipient_ids=body_in.list_of("recipients", int),
        other_recipients=body_in.list_of("other_recipients", str),
        categories=body_in.list_of("categories", str, required=True),
        signed_by=body_in.choice("signed_by", services.CONSENT_SIGNERS, required=True),
        resident_name=body_in.str("resident_name", required=True, max_length=200),
        resident_birth_date=body_in.date("resident_birth_date"),
        purpose=body_in.str("purpose", max_length=2000) or "",
        contact_person=body_in.str("contact_person", max_length=200),
        signed_on=body_in.date("signed_on"),
    )
    if any(len(o) > 200 for o in values["other_recipients"]):
        body_in.errors["other_recipients"] = "Te lang (maximaal 200 tekens per organisatie)."
    body_in.check()
    table = services.get(db.session(), CaseTable, values["table_id"], "table_id")
    access.require(rights.MANAGE_CONSENTS, rights.table_target(db.session(), table))
    consent = services.create_consent(db.session(), **values)
    db.session().commit()
    return jsonify(consent_json(consent)), 201


# ----------------------------------------------------------------------------- OpenAPI


def _file(mimetype: str, description: str) -> dict:
    """A binary file response with the common errors."""
    responses = answer("200", description)
    responses["200"]["content"] = {mimetype: {"schema": {"type": "string", "format": "binary"}}}
    return responses


CONSENT_SCHEMA = {"type": "object", "properties": {
    "id": ID, "case_ref": {"type": "string"}, "table_id": ID,
    "signed_by": {"enum": list(services.CONSENT_SIGNERS)}, "resident_name": {"type": "string"},
    "resident_birth_date": {"type": ["string", "null"], "format": "date"}, "purpose": {"type": "string"},
    "categories": {"type": "array", "items": {"type": "string"}}, "recipients": {"type": "array", "items": ID},
    "other_recipients": {"type": "array", "items": {"type": "string"}},
    "signed_on": {"type": ["string", "null"], "format": "date"}, "signed_via": {"type": ["string", "null"]},
    "withdrawn_on": {"type": ["string", "null"], "format": "date"},
    "declined_on": {"type": ["string", "null"], "format": "date"},
    "contact_person": {"type": ["string", "null"], "maxLength": 200},
    "status": {"enum": list(consent_rules.STATUSES)},
    "required_signers": {"type": "array", "items": {"enum": list(consent_rules.ROLES)}},
}}

PATHS: dict = {
    "/api/v1/covenants/{covenant_id}/document.pdf": {"get": {"summary": "The covenant as PDF/A-3b", "parameters": [path_id("covenant_id")], "responses": _file(PDF, "The covenant")}},
    "/api/v1/covenants/{covenant_id}/document.docx": {"get": {"summary": "The covenant as editable DOCX", "parameters": [path_id("covenant_id")], "responses": _file(DOCX, "The covenant")}},
    "/api/v1/declarations/{declaration_id}/document.pdf": {"get": {"summary": "A filled-in Bijlage 1 or 2", "parameters": [path_id("declaration_id")], "responses": _file(PDF, "The declaration")}},
    "/api/v1/consents/{consent_id}": {"get": {
        "summary": "A Bijlage 4 with resident data: coordinators and chairs entitled at its table today, and admins; every read is logged",
        "parameters": [path_id("consent_id")], "responses": answer("200", "The consent", CONSENT_SCHEMA)}},
    "/api/v1/consents/{consent_id}/document.pdf": {"get": {"summary": "A filled-in Bijlage 4", "parameters": [path_id("consent_id")], "responses": _file(PDF, "The consent form")}},
    "/api/v1/packs/{pack}/forms/{form}.pdf": {"get": {
        "summary": "A blank form annex of a pack (by annex key, e.g. bijlage1, bijlage5) for signing on paper; unknown key: 404 naming form",
        "parameters": [{"name": "pack", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "form", "in": "path", "required": True, "schema": {"type": "string"}, "description": "an annex key of the pack with a form kind"}],
        "responses": _file(PDF, "The blank form"),
    }},
    "/api/v1/consents": {"post": {
        "summary": "Record a Bijlage 4 consent; without signed_on it waits for signing",
        "requestBody": body({
            "case_ref": {"type": "string"}, "table_id": ID, "recipients": {"type": "array", "items": ID},
            "other_recipients": {"type": "array", "items": {"type": "string"}},
            "categories": {"type": "array", "items": {"type": "string"}, "description": "keys from the covenant's pack"},
            "signed_by": {"enum": list(services.CONSENT_SIGNERS)}, "resident_name": {"type": "string"},
            "resident_birth_date": DATE, "purpose": {"type": "string"}, "signed_on": DATE,
            "contact_person": {"type": "string", "maxLength": 200, "description": "the professional's contactpersoon"},
        }, ["case_ref", "table_id", "categories", "signed_by", "resident_name"]),
        "responses": answer("201", "Created", CONSENT_SCHEMA),
    }},
}

openapi.FRAGMENTS.append(PATHS)
