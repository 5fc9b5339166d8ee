"""One hash chain for every append-only log: the evidence log (*bewijslog*) and the
access log (*toegangslog*, NEN 7513) are two instances of :class:`Chain`.

Each entry stores

* ``content_hash`` = SHA-256 of a canonical JSON of the entry (seq, the chain's own
  hashed fields, time, details and ``pii_hash``);
* ``prev_hash`` = the previous entry's ``chain_hash`` (``"0"*64`` for the first);
* ``chain_hash`` = SHA-256(prev_hash || content_hash), both as hex text.

Changing, inserting or deleting an entry breaks the chain from that ``seq`` on;
:meth:`Chain.verify` reports the first broken ``seq``. A single-row head table holds the
last seq and chain hash, so cutting entries off the end is noticed too.

Personal data (``actor``, ``ip``, ``user_agent``) enters the chain only as
``pii_hash`` = SHA-256(salt || canonical JSON of the three), with a random 128-bit salt
per entry, so a lawful erasure can blank the clear values *and the salt* while the
chain still verifies (and the remaining hash cannot be tested against guesses).

Appends first update the head row (``UPDATE ... SET seq = seq + 1``): on PostgreSQL
that takes the row lock, on SQLite the write lock, so concurrent appends serialise until
the transaction ends; the unique constraints on ``seq`` and ``chain_hash`` are the
backstop. Nothing here commits: the caller's transaction does, once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from registry.crypto import CryptoError

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry of every chain."""


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :meth:`Chain.verify`."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC; a naive value is taken to be UTC already."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _timestamp(moment: datetime) -> str:
    """Canonical text of a time: UTC, microseconds, as the database keeps it."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pii_hash(salt: str, actor: str | None, ip: str | None, user_agent: str | None) -> str:
    """Salted hash of the personal data of one entry."""
    return _sha256(bytes.fromhex(salt) + canonical_json([actor, ip, user_agent]))


def link_hash(prev_hash: str, content: str) -> str:
    """SHA-256 of the previous chain hash followed by this entry's content hash."""
    return _sha256(bytes.fromhex(prev_hash) + bytes.fromhex(content))


@dataclass(frozen=True)
class Chain:
    """One append-only log: its entry model, its single-row head model and the entry
    columns (besides seq, time, details and pii_hash) that its content hash covers.

    Entry models have the columns ``id`` (= seq), ``seq``, ``occurred_at``,
    ``details``, ``actor``, ``ip``, ``user_agent``, ``pii_salt``, ``pii_hash``,
    ``erased_at``, ``content_hash``, ``prev_hash`` and ``chain_hash``.
    """

    name: str
    entry: type
    head: type
    hashed: tuple[str, ...]

    def content_hash(self, entry: Any) -> str:
        """Hash of everything in ``entry`` that must never change."""
        content = {name: getattr(entry, name) for name in self.hashed}
        content.update({
            "seq": entry.seq, "occurred_at": _timestamp(entry.occurred_at),
            "details": entry.details or {}, "pii_hash": entry.pii_hash,
        })
        return _sha256(canonical_json(content))

    def append(self, session: Session, *, actor: str | None = None, ip: str | None = None,
               user_agent: str | None = None, details: Mapping[str, Any] | None = None,
               occurred_at: datetime | None = None, **fields: Any) -> Any:
        """Append one entry (``fields`` are the chain's hashed columns); flushed, not committed.

        Three statements: advance the head and read it (:meth:`_lock_head`), insert the
        entry, store its chain hash in the head."""
        seq, prev_hash = self._lock_head(session)
        salt = secrets.token_hex(16)
        entry = self.entry(
            id=seq, seq=seq, actor=actor, ip=ip, user_agent=user_agent,
            # round-trip through JSON so the hashed value is exactly what is stored
            details=json.loads(canonical_json(dict(details or {}))),
            occurred_at=as_utc(occurred_at or datetime.now(timezone.utc)),
            pii_salt=salt, pii_hash=pii_hash(salt, actor, ip, user_agent), prev_hash=prev_hash,
            **fields,
        )
        entry.content_hash = self.content_hash(entry)
        entry.chain_hash = link_hash(entry.prev_hash, entry.content_hash)
        session.add(entry)
        session.flush()
        table = self.head.__table__
        session.execute(update(table).where(table.c.id == 1).values(chain_hash=entry.chain_hash))
        return entry

    def _lock_head(self, session: Session) -> tuple[int, str]:
        """Advance the head under a write lock (creating it if missing); its new ``seq``
        and the chain hash so far, in one statement (``UPDATE … RETURNING``: the row lock
        on PostgreSQL, the write lock on SQLite, held until the caller commits)."""
        table = self.head.__table__
        row = session.execute(
            update(table).where(table.c.id == 1).values(seq=table.c.seq + 1).returning(table.c.seq, table.c.chain_hash)
        ).first()
        if row is None:
            try:
                with session.begin_nested():
                    session.execute(insert(table).values(id=1, seq=0, chain_hash=GENESIS_HASH))
            except IntegrityError:
                pass  # another writer created it first; fine
            return self._lock_head(session)
        return row[0], row[1]

    def blank_personal_data(self, entry: Any, moment: datetime) -> None:
        """Erase the clear personal data and the salt of one entry (the chain stays valid)."""
        entry.actor = entry.ip = entry.user_agent = entry.pii_salt = None
        entry.erased_at = moment

    def check_entry(self, entry: Any, expected_seq: int, prev: str) -> str | None:
        """Why ``entry`` breaks the chain, or None when it is sound."""
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
        if self.content_hash(entry) != entry.content_hash:
            return "content_hash does not match the entry"
        if link_hash(prev, entry.content_hash) != entry.chain_hash:
            return "chain_hash does not match prev_hash and content_hash"
        return None

    def _entries(self, session: Session):
        """Every entry in ``seq`` order, 500 at a time; where a batch holds a value that
        does not decrypt, that batch one by one, yielding ``(seq, error)`` for the bad one."""
        last = 0
        while True:
            stmt = select(self.entry).where(self.entry.seq > last).order_by(self.entry.seq).limit(500)
            try:
                batch = list(session.scalars(stmt))
            except CryptoError:
                seqs = session.scalars(select(self.entry.seq).where(self.entry.seq > last)
                                       .order_by(self.entry.seq).limit(500)).all()
                for seq in seqs:
                    try:
                        yield session.scalars(select(self.entry).where(self.entry.seq == seq)).one()
                    except CryptoError as exc:
                        yield (seq, exc)
                        return
                last = seqs[-1]
                continue
            if not batch:
                return
            yield from batch
            last = batch[-1].seq

    def verify(self, session: Session) -> VerifyResult:
        """Walk the whole log in ``seq`` order and check every link and the head."""
        prev, checked = GENESIS_HASH, 0
        for entry in self._entries(session):
            if isinstance(entry, tuple):  # (seq, error): an encrypted field was changed
                return VerifyResult(False, checked, min(entry[0], checked + 1),
                                    f"personal data does not decrypt: {entry[1]}")
            problem = self.check_entry(entry, checked + 1, prev)
            if problem:
                return VerifyResult(False, checked, min(entry.seq, checked + 1), problem)
            prev, checked = entry.chain_hash, checked + 1
        head = session.get(self.head, 1, populate_existing=True)
        head_seq, head_hash = (head.seq, head.chain_hash) if head else (0, GENESIS_HASH)
        if head_seq != checked or head_hash != prev:
            return VerifyResult(False, checked, checked + 1, f"log ends at seq {checked} but head says {head_seq}")
        return VerifyResult(True, checked)
