"""The evidence log (*bewijslog*): append-only, hash-chained, erasable personal data.

Every step of a signing (sent, opened, agreed, signed, declined, expired, cancelled,
sealed, downloaded, paper_recorded, ...) is appended here. The chain itself — content
hash, previous hash, chain hash, the head row that serialises writers and notices a
cut-off tail, and the salted ``pii_hash`` that lets a lawful erasure (AVG art. 17) blank
the actor, IP and user agent while the chain still verifies — is :mod:`registry.chain`,
the same code as the access log. This module names the evidence log's fields and adds
what only it does: erasure with its own logged ``erased`` event, and the events of one
subject for a certificate of completion.

An attacker who can rewrite the whole table *and* the head can recompute the chain;
export the head's chain hash elsewhere (a daily mail, a log line) to anchor it.
Do not put personal data in ``details``: it is hashed directly and cannot be erased.
Functions here ``flush`` and never ``commit``; the caller commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.chain import Chain, VerifyResult, canonical_json, link_hash, pii_hash  # noqa: F401  (re-exported)

from .models import EvidenceEvent, EvidenceHead
from .tokens import utcnow

EVENTS = (
    "created", "sent", "reminded", "opened", "agreed", "signed", "declined", "expired",
    "cancelled", "sealed", "downloaded", "paper_recorded", "in_person_recorded", "erased",
    "retention_erased", "retention_archived", "retention_reopened", "timestamped",
)
"""Known event names; others are allowed but should be added here first."""

EVIDENCE = Chain("evidence", EvidenceEvent, EvidenceHead, ("subject_kind", "subject_id", "request_id", "event"))
"""The evidence log as a chain: these columns enter each entry's content hash."""


def content_hash(entry: EvidenceEvent) -> str:
    """Hash of everything in ``entry`` that must never change (personal data via pii_hash)."""
    return EVIDENCE.content_hash(entry)


def chain_hash(prev_hash: str, content: str) -> str:
    """SHA-256 of the previous chain hash followed by this entry's content hash."""
    return link_hash(prev_hash, content)


def append_event(
    session: Session,
    *,
    subject_kind: str,
    subject_id: int,
    event: str,
    actor: str | None = None,
    request_id: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: Mapping[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> EvidenceEvent:
    """Append one event to the log and return it (flushed, not committed)."""
    return EVIDENCE.append(
        session, subject_kind=subject_kind, subject_id=subject_id, request_id=request_id, event=event,
        actor=actor, ip=ip, user_agent=user_agent, details=details, occurred_at=occurred_at,
    )


def verify_chain(session: Session) -> VerifyResult:
    """Walk the whole evidence log in ``seq`` order and check every link and the head."""
    return EVIDENCE.verify(session)


def erase_personal_data(session: Session, event_id: int, *, erased_by: str = "system",
                        now: datetime | None = None) -> EvidenceEvent:
    """Blank actor, IP, user agent and salt of one entry; log the erasure itself.

    The entry keeps its ``pii_hash``, so the chain stays valid. Returns the entry.
    """
    entry = session.get(EvidenceEvent, event_id)
    if entry is None:
        raise LookupError(f"no evidence entry {event_id}")
    moment = now or utcnow()
    if entry.erased_at is None:
        EVIDENCE.blank_personal_data(entry, moment)
        append_event(session, subject_kind=entry.subject_kind, subject_id=entry.subject_id,
                     request_id=entry.request_id, event="erased", actor=erased_by,
                     details={"erased_seq": entry.seq}, occurred_at=moment)
    session.flush()
    return entry


def events_for(session: Session, subject_kind: str, subject_id: int) -> list[EvidenceEvent]:
    """All entries of one subject in order, e.g. for a certificate of completion."""
    stmt = (select(EvidenceEvent)
            .where(EvidenceEvent.subject_kind == subject_kind, EvidenceEvent.subject_id == subject_id)
            .order_by(EvidenceEvent.seq))
    return list(session.execute(stmt).scalars())


def readable_evidence(session: Session, user, limit: int = 500) -> list[EvidenceEvent]:
    """Evidence-log entries, newest first, as this user may read them: an admin all, a
    privacy officer those of the documents of its covenants (see registry.access)."""
    from registry import access
    from registry.access_log import covenant_subjects

    access.require_role_for(user, access.LOGS)
    rows = list(session.scalars(select(EvidenceEvent).order_by(EvidenceEvent.seq.desc()).limit(limit)))
    if user.is_admin:
        return rows
    allowed: dict[str, set[int]] = {}
    for grant in user.grants:
        if grant.role == "privacy_officer" and grant.covenant_id:
            for kind, ids in covenant_subjects(session, grant.covenant_id).items():
                allowed.setdefault(kind, set()).update(ids)
    return [row for row in rows if row.subject_id in allowed.get(row.subject_kind, set())]
