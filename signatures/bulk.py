"""Bulk send of Bijlage 1: one click sends the declaration to every participant of a table
who lacks one (:func:`registry.dashboard.lacking_bijlage1`).

The mails are only *queued* in the outbox here — never sent inside the request — and
the background worker (``forms-service worker``, :func:`signatures.mail.dispatch`)
delivers them; without SMTP they wait on the outbox page to be passed on by hand. A
:class:`signatures.models.BulkSend` row keeps the outbox ids, so the table page shows
"n van m verstuurd" while they go out. Someone already invited (an open request), or
without an e-mail address, is skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import rules
from registry.dashboard import lacking_bijlage1
from registry.errors import DomainError
from registry.models import CaseTable
from signatures import workflow
from signatures.models import BulkSend, OutboxMessage


@dataclass(frozen=True)
class Progress:
    """How far a bulk send is: ``sent`` of ``total`` mails delivered, ``failed`` with an error."""

    bulk: BulkSend
    total: int
    sent: int
    failed: int

    @property
    def done(self) -> bool:
        return self.sent >= self.total


def queue_only(config: Mapping[str, Any]) -> dict[str, Any]:
    """The app's configuration with SMTP switched off: mail goes to the outbox only."""
    return {**config, "MAIL_SERVER": None}


def send_bijlage1_to_lacking(session: Session, config: Mapping[str, Any], table: CaseTable, *, actor: str,
                             base_url: str, on: dt.date | None = None) -> BulkSend:
    """Queue a Bijlage 1 invitation for each person at ``table`` who lacks one on ``on``
    (default today) and has no open invitation; returns the recorded bulk send. Flushes only."""
    on = on or rules.today()
    open_requests = workflow.open_declaration_requests(session, table.id)
    outbox_ids: list[int] = []
    skipped: list[dict[str, Any]] = []
    for person in lacking_bijlage1(session, table, on):
        if (person.id, rules.STRUCTURAL, None) in open_requests:
            skipped.append({"person_id": person.id, "reason": "al uitgenodigd"})
            continue
        try:
            with session.begin_nested():
                invitation = workflow.send_declaration(session, queue_only(config), kind=rules.STRUCTURAL,
                                                       person_id=person.id, table_id=table.id, actor=actor,
                                                       base_url=base_url)
        except DomainError as exc:
            skipped.append({"person_id": person.id, "reason": " ".join(exc.fields.values()) or exc.message})
            continue
        if invitation.outbox_id is not None:
            outbox_ids.append(invitation.outbox_id)
    bulk = BulkSend(table_id=table.id, started_by=actor, outbox_ids=outbox_ids, skipped=skipped)
    session.add(bulk)
    session.flush()
    return bulk


def latest(session: Session, table_id: int) -> BulkSend | None:
    """The table's most recent bulk send, if any."""
    return session.scalar(select(BulkSend).where(BulkSend.table_id == table_id).order_by(BulkSend.id.desc()).limit(1))


def progress(session: Session, bulk: BulkSend) -> Progress:
    """Count the bulk send's outbox messages that were delivered (or passed on by hand)."""
    ids = list(bulk.outbox_ids or [])
    if not ids:
        return Progress(bulk, 0, 0, 0)
    sent = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_not(None))) or 0
    failed = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_(None), OutboxMessage.error.is_not(None))) or 0
    return Progress(bulk, len(ids), sent, failed)
