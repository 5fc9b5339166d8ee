"""Answering "is this PDF ours, unchanged, and who signed it?" for ``/verify`` and the API.

The cryptographic check is :func:`signatures.verify.verify_pdf`, pinned to our seal
certificate (the timestamp authority's root is trusted for timestamps only).
``valid`` means: the seal is intact, ours, and covers the whole file — any revision
appended after the seal (an /Info-only one included) is refused with
``modified_after_sealing``. Only a valid file says anything about our records:

* *which document* comes from the sealed revision itself (its keywords, read from
  the bytes the seal covers) or from an exact SHA-256 match of the whole upload with
  our stored sealed copy (``SignedDocument.sha256``; for a presentie- en
  toetsingslijst the ``sealed`` evidence event of its export);
* *who signed* is what the sealed file itself prints: names, dates and methods from
  the signer list inside the sealed revision, plus role, organisation and function
  from our records only when the upload is byte-identical to our stored copy and the
  value is printed on its signature page. Never e-mail, IP address or user agent,
  although the certificate of completion in the file carries them.

Anything not valid answers ``document: null, signers: []``. Problems keep their
stable code with the Dutch text.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from signatures import workflow as service
from signatures.assembly import ROLES_NL
from registry.models import Person
from signatures.models import EvidenceEvent, SignedDocument, SigningRequest
from registry.texts import N_, _

UNKNOWN_DOCUMENT = N_("Het zegel is van ons, maar dit document staat niet (meer) in onze administratie.")
UNKNOWN_LIST = N_("Het zegel is van ons, maar deze toetsingslijst is niet door ons uitgegeven.")

IDENTIFICATION_NL = {
    "link": (N_("Persoonlijke eenmalige link per e-mail; volledige naam getypt en akkoord gegeven met de "
             "verklaring elektronisch ondertekenen.")),
    "in_person": (N_("In persoon getekend op het apparaat van de professional, in aanwezigheid van een getuige; "
                  "naam getypt.")),
    "paper": N_("Handtekening op papier; de scan is door de coördinator geüpload en aan dit document toegevoegd."),
}
"""How a signer was identified, by method, without the personal data (e-mail address,
witness) the certificate of completion prints: the answer never adds personal data."""


KINDS_NL = {"covenant": N_("convenant"), "declaration": N_("verklaring (Bijlage 1/2)"), "consent": N_("toestemming"),
            "amendment": N_("wijziging van het convenant")}


def expected_document(session: Session, document_sha256: str | None) -> dict | None:
    """What the QR code of a certificate of completion points at (``/verify?document=``):
    the sealed document whose document pages have this SHA-256, as ``{"document_sha256",
    "known", "kind", "kind_nl", "id", "sealed_on"}`` — no title and no names (anyone with
    the code sees it); None when the value is no SHA-256."""
    value = (document_sha256 or "").strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        return None
    stored = session.scalar(select(SignedDocument).where(SignedDocument.document_sha256 == value,
                                                         SignedDocument.status == "sealed").limit(1))
    if stored is None:
        return {"document_sha256": value, "known": False}
    return {"document_sha256": value, "known": True, "kind": stored.subject_kind,
            "kind_nl": _(KINDS_NL[stored.subject_kind]) if stored.subject_kind in KINDS_NL else stored.subject_kind, "id": stored.subject_id,
            "sealed_on": stored.sealed_at.date().isoformat() if stored.sealed_at else None}


def matches_expected(result: dict | None, expected: dict | None) -> bool | None:
    """Whether a verification answer is the document of the QR code (None: nothing expected)."""
    if not expected or result is None:
        return None
    document = result.get("document") or {}
    return bool(result.get("valid")) and document.get("document_sha256") == expected["document_sha256"]


def verify_upload(session: Session, config: Mapping[str, Any], pdf_bytes: bytes) -> dict:
    """The verification answer as plain data (the API's JSON, the page's context)."""
    from signatures.verify import verify_pdf

    # Pinned to our seal certificate: the timestamp root in the trust list must not make
    # every certificate it ever issued count as "our seal".
    result = verify_pdf(pdf_bytes, service.trusted_certificates(config),
                        seal_certs=[service.seal_identity(config).certificate_pem])
    problems = [_problem(p) for p in result.problems]
    document, signers = None, []
    if result.valid:  # intact, ours, and the seal covers every byte of the upload
        digest = hashlib.sha256(pdf_bytes).hexdigest()
        document, signers, unknown = _identify(session, pdf_bytes, digest, result)
        if document is None:
            problems.append({"code": "unknown_document", "message": unknown})
    return {"valid": result.valid and document is not None, "intact": result.intact, "trusted": result.trusted,
            "document": document, "signers": signers, "problems": problems}


def _problem(text: str) -> dict:
    code, _sep, message = text.partition(": ")
    return {"code": code, "message": message}


def _identify(session: Session, pdf_bytes: bytes, digest: str, result) -> tuple[dict | None, list[dict], str]:
    """``(document, signers, message if unknown)`` for a valid upload of ours."""
    stored = session.scalar(select(SignedDocument).where(SignedDocument.sha256 == digest,
                                                         SignedDocument.status == "sealed"))
    subject = _subject_of(result.document_info.get("keywords", ""))
    if stored is None and subject is not None and subject[0] == "meeting":
        return _meeting_list(session, subject[1], digest, result), [], _(UNKNOWN_LIST)
    if stored is None and subject is not None:
        stored = session.scalar(select(SignedDocument).where(
            SignedDocument.subject_kind == subject[0], SignedDocument.subject_id == subject[1],
            SignedDocument.status == "sealed"))
    if stored is None:
        return None, [], _(UNKNOWN_DOCUMENT)
    identical = stored.sha256 == digest
    document = {
        "kind": stored.subject_kind, "id": stored.subject_id, **_sealed_fields(result),
        "document_sha256": _sealed_document_sha256(result.document_info.get("keywords", "")) or stored.document_sha256,
        "identical_to_stored_copy": identical,
    }
    return document, _signers(session, stored, pdf_bytes, result, identical), _(UNKNOWN_DOCUMENT)


def _sealed_fields(result) -> dict:
    """What the seal and the sealed revision say about the file."""
    return {
        "title": result.document_info.get("title"), "subject": result.document_info.get("subject"),
        "sealed_at": result.signed_at.isoformat() if result.signed_at else None, "timestamped": result.timestamped,
        "level": result.level, "sealed_by": result.signer_subject,
    }


def _subject_of(keywords: str) -> tuple[str, int] | None:
    """``subject:<kind>:<id>`` (signed documents) or ``meeting:<id>`` (a presentie- en
    toetsingslijst) from the sealed revision's keywords."""
    for word in (w.strip() for w in keywords.split(",")):
        parts = word.split(":")
        if len(parts) == 3 and parts[0] == "subject" and parts[2].isdigit():
            return parts[1], int(parts[2])
        if len(parts) == 2 and parts[0] == "meeting" and parts[1].isdigit():
            return "meeting", int(parts[1])
    return None


def _sealed_document_sha256(keywords: str) -> str | None:
    """``document-sha256:<hex>`` from the sealed revision's keywords (the pages before
    the signature page, as the certificate of completion prints it)."""
    for word in (w.strip() for w in keywords.split(",")):
        name, _sep, value = word.partition(":")
        if name == "document-sha256" and len(value) == 64:
            return value
    return None


def _meeting_list(session: Session, meeting_id: int, digest: str, result) -> dict | None:
    """A sealed presentie- en toetsingslijst is ours when the evidence log holds its export
    (the ``sealed`` event of the meeting carries the SHA-256 of exactly these bytes)."""
    events = session.scalars(select(EvidenceEvent).where(
        EvidenceEvent.subject_kind == "meeting", EvidenceEvent.subject_id == meeting_id, EvidenceEvent.event == "sealed"))
    event = next((e for e in events if (e.details or {}).get("sha256") == digest), None)
    if event is None:
        return None
    return {
        "kind": "meeting", "id": meeting_id, **_sealed_fields(result), "document_sha256": digest,
        "identical_to_stored_copy": True, "checked_at": (event.details or {}).get("checked_at"),
    }


# ----------------------------------------------------------------------------- signers


def _signers(session: Session, doc: SignedDocument, pdf_bytes: bytes, result, identical: bool) -> list[dict]:
    """The signers as the sealed file itself names them; nothing the file does not print."""
    sealed = _sealed_signer_list(result.document_info.get("signers"))
    requests = _signed_requests(session, doc) if identical else []
    if sealed is None:  # no list in the sealed revision: our stored copy's requests, names and dates only
        sealed = [{"name": r.signer_name, "signed_on": None, "method": r.method} for r in requests]
    printed = _signature_pages_text(pdf_bytes) if requests else ""
    answer = []
    for i, entry in enumerate(sealed):
        request = requests[i] if i < len(requests) and requests[i].signer_name == entry["name"] else None
        answer.append({
            "name": entry["name"], "signed_on": entry["signed_on"], "method": entry["method"],
            "identification": _(IDENTIFICATION_NL[entry["method"]]) if entry["method"] in IDENTIFICATION_NL else None,
            **_printed_details(session, request, printed),
        })
    return answer


def _sealed_signer_list(raw: str | None) -> list[dict] | None:
    """``[{"name", "signed_on", "method"}]`` from the /FormsServiceSigners entry of the
    sealed revision; None when it is missing or not the list we write."""
    if not raw:
        return None
    try:
        entries = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(entries, list):
        return None
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        out.append({key: entry.get(key) if isinstance(entry.get(key), str) else None
                    for key in ("name", "signed_on", "method")})
    return out


def _signed_requests(session: Session, doc: SignedDocument) -> list[SigningRequest]:
    """The signed requests of the document, in the order of its signature page."""
    return list(session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == doc.subject_kind, SigningRequest.subject_id == doc.subject_id,
        SigningRequest.status == "signed").order_by(SigningRequest.signed_at, SigningRequest.id)))


def _printed_details(session: Session, request: SigningRequest | None, printed: str) -> dict:
    """Role, organisation and function from our records, each only when the signature
    page of the uploaded (byte-identical) file prints it."""
    details = {"role": None, "organisation": None, "function": None}
    if request is None:
        return details
    person = session.get(Person, request.signer_person_id) if request.signer_person_id else None
    if _normalised(ROLES_NL.get(request.signer_role, request.signer_role) or "") in printed:
        details["role"] = request.signer_role
    if person is not None:
        organisation, function = (person.organisation.name if person.organisation else None), person.function
        details["organisation"] = organisation if organisation and _normalised(organisation) in printed else None
        details["function"] = function if function and _normalised(function) in printed else None
    return details


def _signature_pages_text(pdf_bytes: bytes) -> str:
    """The text of the signature page(s) and the certificate, whitespace collapsed: the
    pages from the last one headed "Ondertekening" to the end (paper scans after them
    carry no text). Empty when the text cannot be read."""
    from pypdf import PdfReader

    try:
        pages = PdfReader(io.BytesIO(pdf_bytes)).pages
        texts = []
        for page in reversed(pages):
            text = page.extract_text() or ""
            texts.append(text)
            if text.lstrip().startswith("Ondertekening"):
                break
        return _normalised(" ".join(reversed(texts)))
    except Exception:  # noqa: BLE001 - unreadable text means: nothing is confirmed as printed
        return ""


def _normalised(text: str) -> str:
    return " ".join(text.split())
