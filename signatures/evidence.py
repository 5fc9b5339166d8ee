"""The evidence log (*bewijslog*): append-only, hash-chained, erasable personal data.

Every step of a signing (sent, opened, agreed, signed, declined, expired, cancelled,
sealed, downloaded, paper_recorded, ...) is appended here. Each entry stores

* ``content_hash`` = SHA-256 of a canonical JSON of the entry (seq, subject, request,
  event, time, details and ``pii_hash``);
* ``prev_hash`` = the previous entry's ``chain_hash`` (``"0"*64`` for the first);
* ``chain_hash`` = SHA-256(prev_hash || content_hash), both as hex text.

Changing, inserting or deleting an entry breaks the chain from that ``seq`` on;
:func:`verify_chain` reports the first broken ``seq``. A single-row ``evidence_head``
holds the last seq and chain hash, so cutting entries off the end is noticed too.
An attacker who can rewrite the whole table *and* the head can recompute the chain;
export the head's chain hash elsewhere (a daily mail, a log line) to anchor it.

Personal data and lawful erasure (AVG art. 17)
----------------------------------------------
The actor (name/e-mail), IP address and user agent are personal data, and the chain
must survive their erasure. They are therefore *not* hashed into ``content_hash``
directly: ``pii_hash`` = SHA-256(salt || canonical JSON of the three values), with a
random 128-bit salt per entry, and only ``pii_hash`` enters ``content_hash``. The
clear values and the salt live in their own columns. :func:`erase_personal_data`
blanks the clear values **and the salt** and sets ``erased_at``; the chain still
verifies, and because the salt is gone the remaining hash can no longer be tested
against guesses (an IPv4 address would otherwise be found by trying all 2^32).
While an entry is not erased, :func:`verify_chain` also checks the clear values
against ``pii_hash``. Erasures are themselves logged (event ``erased``).
Do not put personal data in ``details``: it is hashed directly and cannot be erased.

Concurrency
-----------
:func:`append_event` first updates the head row (``UPDATE ... SET seq = seq + 1``):
on PostgreSQL that takes the row lock, on SQLite the database write lock, so
concurrent appends serialise until the transaction ends. The unique constraints on
``seq`` and ``chain_hash`` are the backstop. Functions here ``flush`` and never
``commit``; the caller commits once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import GENESIS_HASH, EvidenceEvent, EvidenceHead
from .tokens import as_utc, utcnow

EVENTS = (
    "created", "sent", "reminded", "opened", "agreed", "signed", "declined", "expired",
    "cancelled", "sealed", "downloaded", "paper_recorded", "in_person_recorded", "erased",
)
"""Known event names; others are allowed but should be added here first."""


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify_chain`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _timestamp(moment: datetime) -> str:
    """Canonical text of a time: UTC, microseconds, as the database keeps it."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pii_hash(salt: str, actor: str | None, ip: str | None, user_agent: str | None) -> str:
    """Salted hash of the personal data of one entry."""
    return _sha256(bytes.fromhex(salt) + canonical_json([actor, ip, user_agent]))


def content_hash(entry: EvidenceEvent) -> str:
    """Hash of everything in ``entry`` that must never change (personal data via pii_hash)."""
    return _sha256(canonical_json({
        "seq": entry.seq,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "request_id": entry.request_id,
        "event": entry.event,
        "occurred_at": _timestamp(entry.occurred_at),
        "details": entry.details or {},
        "pii_hash": entry.pii_hash,
    }))


def chain_hash(prev_hash: str, content: str) -> str:
    """SHA-256 of the previous chain hash followed by this entry's content hash."""
    return _sha256(bytes.fromhex(prev_hash) + bytes.fromhex(content))


def _lock_head(session: Session) -> EvidenceHead:
    """Advance the head under a write lock and return it (creating it if missing)."""
    table = EvidenceHead.__table__
    bumped = session.execute(update(table).where(table.c.id == 1).values(seq=table.c.seq + 1))
    if bumped.rowcount == 0:
        _create_head(session)
        return _lock_head(session)
    head = session.get(EvidenceHead, 1, populate_existing=True)
    assert head is not None
    return head


def _create_head(session: Session) -> None:
    """Insert the head row when a database was created without it (race-safe)."""
    try:
        with session.begin_nested():
            session.add(EvidenceHead(id=1, seq=0, chain_hash=GENESIS_HASH))
    except IntegrityError:
        pass  # another writer created it first; fine


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
    head = _lock_head(session)
    salt = secrets.token_hex(16)
    entry = EvidenceEvent(
        id=head.seq, seq=head.seq, subject_kind=subject_kind, subject_id=subject_id,
        request_id=request_id, event=event, actor=actor, ip=ip, user_agent=user_agent,
        # round-trip through JSON so the hashed value is exactly what is stored
        details=json.loads(canonical_json(dict(details or {}))),
        occurred_at=as_utc(occurred_at or utcnow()),
        pii_salt=salt, pii_hash=pii_hash(salt, actor, ip, user_agent),
        prev_hash=head.chain_hash,
    )
    entry.content_hash = content_hash(entry)
    entry.chain_hash = chain_hash(entry.prev_hash, entry.content_hash)
    head.chain_hash = entry.chain_hash
    session.add(entry)
    session.flush()
    return entry


def _check_entry(entry: EvidenceEvent, expected_seq: int, prev: str) -> str | None:
    """Return why ``entry`` breaks the chain, or None when it is sound."""
    if entry.seq != expected_seq:
        return f"expected seq {expected_seq}, found {entry.seq} (entry missing or inserted)"
    if entry.id != entry.seq:
        return f"id {entry.id} differs from seq {entry.seq}"
    if entry.prev_hash != prev:
        return "prev_hash does not match the previous chain_hash"
    if entry.erased_at is None:
        if entry.pii_salt is None or pii_hash(entry.pii_salt, entry.actor, entry.ip, entry.user_agent) != entry.pii_hash:
            return "personal data (actor, ip, user agent) does not match pii_hash"
    elif entry.actor is not None or entry.ip is not None or entry.user_agent is not None or entry.pii_salt is not None:
        return "entry marked erased still holds personal data"
    if content_hash(entry) != entry.content_hash:
        return "content_hash does not match the entry"
    if chain_hash(prev, entry.content_hash) != entry.chain_hash:
        return "chain_hash does not match prev_hash and content_hash"
    return None


def verify_chain(session: Session) -> VerifyResult:
    """Walk the whole log in ``seq`` order and check every link and the head."""
    prev, checked = GENESIS_HASH, 0
    rows = session.execute(
        select(EvidenceEvent).order_by(EvidenceEvent.seq).execution_options(yield_per=500)
    ).scalars()
    for entry in rows:
        problem = _check_entry(entry, checked + 1, prev)
        if problem:
            return VerifyResult(False, checked, min(entry.seq, checked + 1), problem)
        prev, checked = entry.chain_hash, checked + 1
    return _check_head(session, checked, prev)


def _check_head(session: Session, checked: int, last_hash: str) -> VerifyResult:
    """Compare the head row with the last entry seen (detects a cut-off tail)."""
    head = session.get(EvidenceHead, 1, populate_existing=True)
    head_seq, head_hash = (head.seq, head.chain_hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != last_hash:
        return VerifyResult(False, checked, checked + 1, f"log ends at seq {checked} but head says {head_seq}")
    return VerifyResult(True, checked)


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
        entry.actor = entry.ip = entry.user_agent = entry.pii_salt = None
        entry.erased_at = moment
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
