"""Database models of the signing core: requests, evidence, sealed documents, outbox.

The models share the registry's declarative ``Base`` so that one ``metadata`` (and
one Alembic history) covers the whole service. A request's subject (covenant,
declaration, consent, meeting) is a kind plus an id, so it carries no foreign key;
the people it names do.

All timestamps are stored as naive UTC and come back as aware UTC (``UTCDateTime``),
so comparisons behave the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Date,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
)
from sqlalchemy.orm import Mapped, mapped_column

from registry.chain import GENESIS_HASH
from registry.crypto import EncryptedBytes, EncryptedText
from database.base import Base, UTCDateTime


SUBJECT_KINDS = ("covenant", "declaration", "consent", "meeting", "amendment")
SIGNER_ROLES = ("representative", "participant", "resident", "parents")
REQUEST_STATUSES = ("pending", "opened", "signed", "declined", "cancelled", "expired")
OPEN_STATUSES = ("pending", "opened")
SIGNING_METHODS = ("link", "in_person", "paper")
DOCUMENT_STATUSES = ("pending_seal", "sealed", "paper")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class SigningRequest(Base):
    """One invitation to one signer to sign one document (*ondertekeningsverzoek*).

    The subject is a covenant (signed by an organisation's representative), a
    confidentiality declaration (Bijlage 1/2) or a consent form (Bijlage 4).
    """

    __tablename__ = "signing_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20), index=True)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    signer_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    signer_name: Mapped[str] = mapped_column(EncryptedText("signing_requests.signer_name"))
    signer_email: Mapped[str | None] = mapped_column(EncryptedText("signing_requests.signer_email"), nullable=True)
    signer_role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    declined_reason: Mapped[str | None] = mapped_column(EncryptedText("signing_requests.declined_reason"), nullable=True)
    full_name_typed: Mapped[str | None] = mapped_column(EncryptedText("signing_requests.full_name_typed"), nullable=True)
    signature_png: Mapped[bytes | None] = mapped_column(EncryptedBytes("signing_requests.signature_png"), nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disclosure_version: Mapped[str | None] = mapped_column(String(20), nullable=True)
    disclosure_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(400), nullable=True)
    witness_person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    method: Mapped[str] = mapped_column(String(20), default="link")
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # The language the invitation was written in (the sender's page language, "nl"/"en"):
    # the worker's reminders and the completion notice use it too. None (older rows): Dutch.
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    """E-mail of the staff member who sent it: told when the signer declines."""

    def __repr__(self) -> str:
        return f"<SigningRequest {self.id} {self.subject_kind}:{self.subject_id} {self.status}>"


class SignedDocument(Base):
    """The final, sealed PDF of one subject (document + signature page + certificate).

    ``pending_seal`` rows exist between "last signature counted" (in the request) and
    "seal applied" (by the worker, see :mod:`signatures.workflow`); the status is stored
    so that a crash or a killed worker loses nothing.
    """

    __tablename__ = "signed_documents"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_signed_document_subject"),
                      Index("ix_signed_documents_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes | None] = mapped_column(EncryptedBytes("signed_documents.pdf"), nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_seal")
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """After a failed attempt: when the worker tries again (backoff, :mod:`signatures.leases`)."""
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """SHA-256 of the document (snapshot) the final PDF starts with."""


class SealJob(Base):
    """A finished PDF that waits for the worker's seal (with ``TIMESTAMP_URL`` a request
    never seals): today the *presentie- en toetsingslijst* of a meeting's check
    (:mod:`signatures.meeting_list`).

    The request renders the list and stores it here (encrypted, like the document
    cache) under the document-cache ``cache_key`` of its check result, with what the
    seal and the ``sealed`` evidence event need. The worker claims the row (lease and
    heartbeat, :mod:`signatures.leases`), seals, stores the sealed bytes in the
    document cache under ``cache_key``, logs ``sealed`` and deletes the row — all in
    one commit; the next request for the same check result finds the sealed list there.
    A failed attempt leaves the row with ``last_error`` and ``next_attempt_at``.
    """

    __tablename__ = "seal_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    cache_key: Mapped[str] = mapped_column(String(64), unique=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    pdf: Mapped[bytes] = mapped_column(EncryptedBytes("seal_jobs.pdf"))
    """The rendered, unsealed PDF."""
    seal: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The seal's ``title``, ``subject``, ``reason`` and ``keywords``."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The ``sealed`` event's details besides the SHA-256 (``document``, ``checked_at``, ``on``)."""
    actor: Mapped[str | None] = mapped_column(EncryptedText("seal_jobs.actor"), nullable=True)
    ip: Mapped[str | None] = mapped_column(EncryptedText("seal_jobs.ip"), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(EncryptedText("seal_jobs.user_agent"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DocumentSnapshot(Base):
    """The exact document a signer is shown: rendered once, stored, never re-rendered.

    Signers see these bytes, their SHA-256 is recorded on the request, and the final
    PDF is assembled from them, so a later change of a template cannot change what
    someone signed. ``version`` counts the snapshots of one subject (1, 2, ...).
    """

    __tablename__ = "document_snapshots"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "sha256", name="uq_snapshot_subject_sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20), index=True)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    html: Mapped[str] = mapped_column(EncryptedText("document_snapshots.html"))
    pdf: Mapped[bytes] = mapped_column(EncryptedBytes("document_snapshots.pdf"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class PaperScan(Base):
    """A scanned paper signature (*papieren ondertekening*) kept with its document."""

    __tablename__ = "paper_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("signing_requests.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    signed_on: Mapped[date] = mapped_column(Date)
    filename: Mapped[str] = mapped_column(EncryptedText("paper_scans.filename"), default="scan.pdf")
    pdf: Mapped[bytes] = mapped_column(EncryptedBytes("paper_scans.pdf"))
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class EvidenceEvent(Base):
    """One entry of the append-only, hash-chained evidence log (see ``evidence``).

    ``id`` equals ``seq``; both exist so the row looks like every other table while
    the chain is defined by ``seq``. ``actor``, ``ip`` and ``user_agent`` are the
    clear personal data that an erasure may blank; ``pii_salt``/``pii_hash`` bind
    them into the chain.
    """

    __tablename__ = "evidence_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    subject_kind: Mapped[str] = mapped_column(String(20), index=True)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    request_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    event: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(EncryptedText("evidence_events.actor"), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(EncryptedText("evidence_events.ip"), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(EncryptedText("evidence_events.user_agent"), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pii_salt: Mapped[str | None] = mapped_column(String(32), nullable=True)
    pii_hash: Mapped[str] = mapped_column(String(64))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64), unique=True)


class EvidenceHead(Base):
    """Single row (id 1): the last ``seq`` and ``chain_hash`` of the evidence log.

    Appends update this row first, in their own transaction, which serialises
    concurrent writers on every database (row lock on PostgreSQL, the write lock on
    SQLite). It also lets ``verify_chain`` notice entries cut off the end.
    """

    __tablename__ = "evidence_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    chain_hash: Mapped[str] = mapped_column(String(64))



@event.listens_for(EvidenceHead.__table__, "after_create")
def _insert_head_row(target: Any, connection: Any, **kw: Any) -> None:
    """Create the head row with the table (an Alembic migration must do the same)."""
    connection.execute(insert(target).values(id=1, seq=0, chain_hash=GENESIS_HASH))


class OutboxMessage(Base):
    """A mail: written in the request's transaction, sent by the worker after commit.

    With MAIL_SERVER the worker claims it (``claim_token``/``claimed_until``, so two
    workers never both send it), sends it, and on failure counts the attempt and
    sets ``next_attempt_at`` (exponential backoff); after MAIL_MAX_ATTEMPTS it is a
    permanent failure (``failed_at``). ``error`` holds the last error. Without
    MAIL_SERVER the outbox page shows these to staff, who pass the link on by hand.
    Bodies of delivered messages are not kept: they contain live signing links,
    which are otherwise stored only as hashes.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_sent_at", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to: Mapped[str] = mapped_column(EncryptedText("outbox_messages.to"))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(EncryptedText("outbox_messages.body"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attachments: Mapped[str | None] = mapped_column(EncryptedText("outbox_messages.attachments"), nullable=True)
    """JSON list of ``{filename, content_type, data}`` (data base64), e.g. a meeting's .ics;
    see :func:`signatures.mail.enqueue`."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookSubscription(Base):
    """An administrator's subscription: POST these events to this URL, signed with the secret.

    The secret is stored encrypted (AES-GCM, :mod:`registry.crypto`) and never shown
    again; removing a subscription blanks it and keeps the row for its delivery log.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str | None] = mapped_column(EncryptedText("webhook_subscriptions.secret"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    created_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class WebhookEvent(Base):
    """One event for other systems (outbox): written in the transaction of the change it
    reports; ``body`` is the exact JSON every delivery sends (ids and statuses only)."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    body: Mapped[str] = mapped_column(Text)


class WebhookDelivery(Base):
    """One event for one subscription: ``pending`` until delivered (2xx) or ``failed`` after
    the last attempt; ``cancelled`` when the subscription is removed first. A worker takes
    it with a conditional UPDATE on ``claim_token``/``claimed_until`` (a lease)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)


class BulkSend(Base):
    """One "send Bijlage 1 to everyone at this table who lacks one" action: the outbox
    messages it queued, so the table page can say "n van m verstuurd" while the worker
    delivers them."""

    __tablename__ = "bulk_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("case_table.id"), index=True)
    started_by: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_now)
    outbox_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
