"""Answering "is this PDF ours, unchanged, and who signed it?" for ``/verify`` and the API.

The cryptographic check is :func:`signatures.verify.verify_pdf` against our seal
certificate. Only when the seal is intact *and* ours do we trust the keywords inside
the sealed revision to name the document, and then read its signers from the
database. Problems keep their stable code with the Dutch text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms_service.signing import service
from forms_service.signing.subjects import amsterdam_date
from registry.models import Person
from signatures.models import EvidenceEvent, SignedDocument, SigningRequest


def verify_upload(session: Session, config: Mapping[str, Any], pdf_bytes: bytes) -> dict:
    """The verification answer as plain data (the API's JSON, the page's context)."""
    from signatures.verify import verify_pdf

    result = verify_pdf(pdf_bytes, service.trusted_certificates(config))
    problems = [_problem(p) for p in result.problems]
    document, signers = None, []
    subject = _subject_of(result.document_info.get("keywords", "")) if result.intact and result.trusted else None
    if subject is not None and subject[0] == "meeting":
        document = _meeting_list(session, subject[1], pdf_bytes, result)
        if document is None:
            problems.append({"code": "unknown_document",
                             "message": "Het zegel is van ons, maar deze toetsingslijst is niet door ons uitgegeven."})
    elif subject is not None:
        document, signers = _document(session, subject, pdf_bytes, result), _signers(session, subject)
        if document is None:
            problems.append({"code": "unknown_document",
                             "message": "Het zegel is van ons, maar dit document staat niet (meer) in onze administratie."})
    return {"valid": result.valid and document is not None, "intact": result.intact, "trusted": result.trusted,
            "document": document, "signers": signers, "problems": problems}


def _problem(text: str) -> dict:
    code, _, message = text.partition(": ")
    return {"code": code, "message": message}


def _subject_of(keywords: str) -> tuple[str, int] | None:
    """``subject:<kind>:<id>`` (signed documents) or ``meeting:<id>`` (a presentie- en
    toetsingslijst) from the sealed keywords."""
    for word in (w.strip() for w in keywords.split(",")):
        parts = word.split(":")
        if len(parts) == 3 and parts[0] == "subject" and parts[2].isdigit():
            return parts[1], int(parts[2])
        if len(parts) == 2 and parts[0] == "meeting" and parts[1].isdigit():
            return "meeting", int(parts[1])
    return None


def _meeting_list(session: Session, meeting_id: int, pdf_bytes: bytes, result) -> dict | None:
    """A sealed presentie- en toetsingslijst is ours when the evidence log holds its export
    (the ``sealed`` event of the meeting carries the SHA-256 of exactly these bytes)."""
    digest = hashlib.sha256(pdf_bytes).hexdigest()
    events = session.scalars(select(EvidenceEvent).where(
        EvidenceEvent.subject_kind == "meeting", EvidenceEvent.subject_id == meeting_id, EvidenceEvent.event == "sealed"))
    event = next((e for e in events if (e.details or {}).get("sha256") == digest), None)
    if event is None:
        return None
    return {
        "kind": "meeting", "id": meeting_id, "title": result.document_info.get("title"),
        "subject": result.document_info.get("subject"), "document_sha256": digest,
        "sealed_at": result.signed_at.isoformat() if result.signed_at else None, "timestamped": result.timestamped,
        "sealed_by": result.signer_subject, "identical_to_stored_copy": True,
        "checked_at": (event.details or {}).get("checked_at"),
    }


def _document(session: Session, subject: tuple[str, int], pdf_bytes: bytes, result) -> dict | None:
    doc = session.scalar(select(SignedDocument).where(SignedDocument.subject_kind == subject[0],
                                                      SignedDocument.subject_id == subject[1]))
    if doc is None or doc.status != "sealed":
        return None
    return {
        "kind": subject[0], "id": subject[1], "title": result.document_info.get("title"),
        "subject": result.document_info.get("subject"), "document_sha256": doc.document_sha256,
        "sealed_at": result.signed_at.isoformat() if result.signed_at else None, "timestamped": result.timestamped,
        "sealed_by": result.signer_subject,
        "identical_to_stored_copy": hashlib.sha256(pdf_bytes).hexdigest() == doc.sha256,
    }


def _signers(session: Session, subject: tuple[str, int]) -> list[dict]:
    requests = session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == subject[0], SigningRequest.subject_id == subject[1],
        SigningRequest.status == "signed").order_by(SigningRequest.signed_at, SigningRequest.id))
    return [_signer(session, r) for r in requests]


def _signer(session: Session, request: SigningRequest) -> dict:
    person = session.get(Person, request.signer_person_id) if request.signer_person_id else None
    return {
        "name": request.signer_name, "typed_name": request.full_name_typed, "role": request.signer_role,
        "organisation": person.organisation.name if person else None, "function": person.function if person else None,
        "method": request.method, "signed_at": request.signed_at.isoformat() if request.signed_at else None,
        "signed_on": amsterdam_date(request.signed_at).isoformat() if request.signed_at else None,
        "identification": service.identification(session, request),
    }
