"""The life of a signing request: created → (sent) → opened → signed | declined |
cancelled | expired. Plain functions over ``SigningRequest``; no Flask.

Rules every function keeps:

* validation happens before any write, so a :class:`SigningError` changes nothing;
* a status change is one conditional ``UPDATE ... WHERE status IN ('pending',
  'opened')`` whose row count decides who won: two people pressing "sign" on the
  same link at once produce one signature and one ``already_used`` error;
* every change appends an evidence event in the same transaction;
* functions ``flush`` and never ``commit``: the caller (the request) commits once,
  and rolls back after a :class:`SigningError` only to release the session.

Error codes are stable; views map them to pages, ``message_nl`` is for the signer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.texts import N_, _

from . import tokens
from .disclosure import get_disclosure
from .evidence import append_event
from .models import OPEN_STATUSES, SIGNER_ROLES, SIGNING_METHODS, SUBJECT_KINDS, SigningRequest

MAX_SIGNATURE_BYTES = 500 * 1024
MAX_SIGNATURE_WIDTH, MAX_SIGNATURE_HEIGHT = 2000, 1000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATA_URL_PREFIX = "data:image/png;base64,"

MESSAGES_NL = {
    "unknown_token": N_("Deze link is niet (meer) geldig. Controleer of u de volledige link uit de e-mail hebt gebruikt."),
    "expired": N_("Deze link is verlopen. Vraag de coördinator om een nieuwe uitnodiging."),
    "already_used": N_("Dit document is via deze link al ondertekend of geweigerd."),
    "cancelled": N_("Dit verzoek om te ondertekenen is ingetrokken."),
    "name_mismatch": N_("De naam die u typte komt niet overeen met de naam in de uitnodiging."),
    "not_agreed": N_("U moet aangeven dat u akkoord gaat met elektronisch ondertekenen."),
    "bad_signature": N_("De getekende handtekening kon niet worden gelezen. Probeer het opnieuw."),
    "signature_too_large": N_("De getekende handtekening is te groot (maximaal %(width)s × %(height)s pixels en "
                              "%(kb)s kB). Wis de handtekening en teken opnieuw."),
    "document_changed": N_("Het document is gewijzigd nadat u het opende. Open de link opnieuw."),
    "not_open": N_("Dit verzoek staat niet meer open."),
}


_MESSAGE_VALUES = {"signature_too_large": {"width": MAX_SIGNATURE_WIDTH, "height": MAX_SIGNATURE_HEIGHT,
                                           "kb": MAX_SIGNATURE_BYTES // 1024}}
"""Values of the placeholders in :data:`MESSAGES_NL` (message ids, translated when raised)."""


class SigningError(Exception):
    """A refused lifecycle step, with a stable ``code`` and a Dutch message."""

    def __init__(self, code: str, message_nl: str | None = None):
        self.code = code
        self.message_nl = message_nl or _(MESSAGES_NL[code], **_MESSAGE_VALUES.get(code, {}))
        super().__init__(f"{code}: {self.message_nl}")


# --- creating ------------------------------------------------------------------

def create_request(
    session: Session, *, subject_kind: str, subject_id: int, signer_name: str, signer_role: str,
    signer_email: str | None = None, signer_person_id: int | None = None, method: str = "link",
    valid_days: int = tokens.DEFAULT_VALID_DAYS, document_sha256: str | None = None,
    actor: str | None = None, now: datetime | None = None,
) -> tuple[SigningRequest, str]:
    """Create a request and return ``(request, token)``; the token is not stored, mail it now."""
    _check_choice("subject_kind", subject_kind, SUBJECT_KINDS)
    _check_choice("signer_role", signer_role, SIGNER_ROLES)
    _check_choice("method", method, SIGNING_METHODS)
    if not normalise_name(signer_name):
        raise ValueError("signer_name is required")
    now = tokens.as_utc(now or tokens.utcnow())
    token, token_hash = tokens.new_token()
    request = SigningRequest(
        subject_kind=subject_kind, subject_id=subject_id, signer_person_id=signer_person_id,
        signer_name=signer_name.strip(), signer_email=signer_email, signer_role=signer_role,
        token_hash=token_hash, status="pending", expires_at=tokens.expiry(now, valid_days),
        created_at=now, method=method, document_sha256=document_sha256,
    )
    session.add(request)
    session.flush()
    _log(session, request, "created", actor=actor, now=now,
         details={"signer_role": signer_role, "method": method, "expires_at": request.expires_at.isoformat()})
    return request, token


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}")


def mark_sent(session: Session, request: SigningRequest, *, reminder: bool = False,
              actor: str | None = None, now: datetime | None = None) -> None:
    """Record that the invitation (or a reminder) went out."""
    now = now or tokens.utcnow()
    if reminder:
        request.reminder_sent_at = now
    _log(session, request, "reminded" if reminder else "sent", actor=actor, now=now)
    session.flush()


# --- the signer's steps -----------------------------------------------------

def find_request(session: Session, token: str) -> SigningRequest:
    """The request behind a link token, or ``SigningError('unknown_token')``."""
    if not tokens.is_well_formed(token):
        raise SigningError("unknown_token")
    request = session.execute(
        select(SigningRequest).where(SigningRequest.token_hash == tokens.hash_token(token))
    ).scalar_one_or_none()
    if request is None:
        raise SigningError("unknown_token")
    return request


def _usable_request(session: Session, token: str, now: datetime) -> SigningRequest:
    """Find the request and refuse it when it is no longer open."""
    request = find_request(session, token)
    session.refresh(request)  # another transaction may have changed it
    _raise_if_closed(request, now)
    return request


def check_usable(request: SigningRequest, now: datetime | None = None) -> None:
    """Raise the matching :class:`SigningError` when the request can no longer be used."""
    _raise_if_closed(request, tokens.as_utc(now or tokens.utcnow()))


def _raise_if_closed(request: SigningRequest, now: datetime) -> None:
    if request.status == "cancelled":
        raise SigningError("cancelled")
    if request.status == "expired" or (request.status in OPEN_STATUSES and tokens.is_expired(request.expires_at, now)):
        raise SigningError("expired")
    if request.status not in OPEN_STATUSES:
        raise SigningError("already_used")


def open_request(session: Session, token: str, *, ip: str | None = None, user_agent: str | None = None,
                 document_sha256: str | None = None, now: datetime | None = None) -> SigningRequest:
    """The signer opened the link: record it the first time, return the request."""
    now = tokens.as_utc(now or tokens.utcnow())
    request = _usable_request(session, token, now)
    if request.status == "pending":
        values: dict[str, Any] = {"status": "opened", "opened_at": now}
        if document_sha256 and not request.document_sha256:
            values["document_sha256"] = document_sha256
        if _transition(session, request, values, from_statuses=("pending",)):
            _log(session, request, "opened", actor=_signer_actor(request), ip=ip, user_agent=user_agent, now=now,
                 details={"document_sha256": request.document_sha256})
    return request


def sign_request(session: Session, token: str, full_name: str, agree: bool, signature_data_url: str | None,
                 ip: str | None, user_agent: str | None, now: datetime | None = None, *,
                 document_sha256: str | None = None, disclosure_version: str | None = None) -> SigningRequest:
    """Sign: check everything, then count the signature exactly once.

    ``document_sha256`` is the hash of the PDF the signer was shown; when the request
    already has one and they differ, the document changed under the signer's eyes.
    """
    now = tokens.as_utc(now or tokens.utcnow())
    request = _usable_request(session, token, now)
    if normalise_name(full_name) != normalise_name(request.signer_name):
        raise SigningError("name_mismatch")
    if agree is not True:
        raise SigningError("not_agreed")
    png = decode_signature_png(signature_data_url)
    if document_sha256 and request.document_sha256 and document_sha256 != request.document_sha256:
        raise SigningError("document_changed")
    disclosure = get_disclosure(disclosure_version)
    values = {
        "status": "signed", "signed_at": now, "full_name_typed": " ".join(full_name.split()),
        "signature_png": png, "disclosure_version": disclosure.version, "disclosure_sha256": disclosure.sha256,
        "document_sha256": request.document_sha256 or document_sha256, "ip": ip, "user_agent": user_agent,
        "opened_at": request.opened_at or now,
    }
    if not _transition(session, request, values, from_statuses=OPEN_STATUSES):
        session.refresh(request)
        _raise_if_closed(request, now)
        raise SigningError("already_used")  # pragma: no cover - _raise_if_closed always raises here
    actor = f"{values['full_name_typed']} <{request.signer_email or ''}>"
    _log(session, request, "agreed", actor=actor, ip=ip, user_agent=user_agent, now=now,
         details={"disclosure_version": disclosure.version, "disclosure_sha256": disclosure.sha256})
    _log(session, request, "signed", actor=actor, ip=ip, user_agent=user_agent, now=now,
         details={"document_sha256": request.document_sha256,
                  "signature_png_sha256": hashlib.sha256(png).hexdigest() if png else None})
    return request


def decline_request(session: Session, token: str, reason: str | None = None, *, ip: str | None = None,
                    user_agent: str | None = None, now: datetime | None = None) -> SigningRequest:
    """The signer declines; the reason is kept on the request, not in the evidence log."""
    now = tokens.as_utc(now or tokens.utcnow())
    request = _usable_request(session, token, now)
    reason = (reason or "").strip()[:2000] or None
    if not _transition(session, request, {"status": "declined", "declined_reason": reason}, OPEN_STATUSES):
        raise SigningError("already_used")
    _log(session, request, "declined", actor=_signer_actor(request), ip=ip, user_agent=user_agent, now=now,
         details={"reason_given": reason is not None})
    return request


# --- staff and jobs ------------------------------------------------------------

def cancel_request(session: Session, request_id: int, *, actor: str, reason: str | None = None,
                   now: datetime | None = None) -> SigningRequest:
    """Staff withdraw an open request; the link stops working at once."""
    now = tokens.as_utc(now or tokens.utcnow())
    request = session.get(SigningRequest, request_id)
    if request is None:
        raise LookupError(f"no signing request {request_id}")
    if not _transition(session, request, {"status": "cancelled"}, OPEN_STATUSES):
        raise SigningError("not_open")
    _log(session, request, "cancelled", actor=actor, now=now, details={"reason": reason})
    return request


def expire_due(session: Session, now: datetime | None = None) -> int:
    """Mark every open request past its expiry as expired; return how many."""
    now = tokens.as_utc(now or tokens.utcnow())
    due = session.execute(
        select(SigningRequest).where(SigningRequest.status.in_(OPEN_STATUSES), SigningRequest.expires_at <= now)
    ).scalars().all()
    count = 0
    for request in due:
        if _transition(session, request, {"status": "expired"}, OPEN_STATUSES):
            _log(session, request, "expired", actor="system", now=now)
            count += 1
    return count


def record_offline_signature(session: Session, request_id: int, *, method: str, actor: str,
                             witness_person_id: int | None = None, document_sha256: str | None = None,
                             signed_at: datetime | None = None, now: datetime | None = None) -> SigningRequest:
    """Staff record a signature on paper or in person (method ``paper``/``in_person``)."""
    _check_choice("method", method, ("paper", "in_person"))
    now = tokens.as_utc(now or tokens.utcnow())
    request = session.get(SigningRequest, request_id)
    if request is None:
        raise LookupError(f"no signing request {request_id}")
    values = {"status": "signed", "method": method, "signed_at": tokens.as_utc(signed_at or now),
              "witness_person_id": witness_person_id, "document_sha256": document_sha256 or request.document_sha256}
    if not _transition(session, request, values, OPEN_STATUSES):
        raise SigningError("not_open")
    _log(session, request, "paper_recorded" if method == "paper" else "in_person_recorded", actor=actor, now=now,
         details={"witness_person_id": witness_person_id, "document_sha256": values["document_sha256"],
                  "signed_at": values["signed_at"].isoformat()})
    return request


# --- helpers -------------------------------------------------------------------

def _transition(session: Session, request: SigningRequest, values: dict[str, Any],
                from_statuses: tuple[str, ...]) -> bool:
    """Conditional UPDATE; True when this call changed the row (and refreshes it)."""
    result = session.execute(
        update(SigningRequest)
        .where(SigningRequest.id == request.id, SigningRequest.status.in_(from_statuses))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    return result.rowcount == 1


def _log(session: Session, request: SigningRequest, event: str, *, actor: str | None, now: datetime,
         ip: str | None = None, user_agent: str | None = None, details: dict[str, Any] | None = None) -> None:
    append_event(session, subject_kind=request.subject_kind, subject_id=request.subject_id, request_id=request.id,
                 event=event, actor=actor, ip=ip, user_agent=user_agent, details=details, occurred_at=now)


def _signer_actor(request: SigningRequest) -> str:
    return f"{request.signer_name} <{request.signer_email or ''}>"


def normalise_name(name: str | None) -> str:
    """Compare names case-insensitively, with whitespace and Unicode forms normalised."""
    if not isinstance(name, str):
        return ""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def decode_signature_png(data_url: str | None) -> bytes | None:
    """Decode a drawn signature (``data:image/png;base64,...``); None when absent."""
    if data_url is None or data_url == "":
        return None
    if not isinstance(data_url, str) or not data_url.startswith(DATA_URL_PREFIX):
        raise SigningError("bad_signature")
    payload = data_url[len(DATA_URL_PREFIX):]
    # refuse before decoding: 4 base64 characters carry 3 bytes
    if len(payload) > (MAX_SIGNATURE_BYTES * 4) // 3 + 4:
        raise SigningError("signature_too_large")
    if not _BASE64_RE.fullmatch(payload):
        raise SigningError("bad_signature")
    try:
        png = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningError("bad_signature") from exc
    if len(png) > MAX_SIGNATURE_BYTES:
        raise SigningError("signature_too_large")
    if len(png) < 33 or not png.startswith(PNG_MAGIC) or png[12:16] != b"IHDR":
        raise SigningError("bad_signature")
    # the size as the PNG header states it, read without decoding the image
    width, height = struct.unpack(">II", png[16:24])
    if width == 0 or height == 0:
        raise SigningError("bad_signature")
    if width > MAX_SIGNATURE_WIDTH or height > MAX_SIGNATURE_HEIGHT:
        raise SigningError("signature_too_large")
    return png
