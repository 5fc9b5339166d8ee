"""Mail (invitations, reminders, notices, account mails) through a database outbox.

A request never talks to SMTP. :func:`enqueue` writes the message into
``outbox_messages`` in the caller's transaction, so a mail exists exactly when the
change it announces was committed (a rolled-back request leaves no mailed link that
does not work). The worker (``forms-service worker``) sends it after commit with
:func:`dispatch`:

* a message is **claimed** first with a conditional ``UPDATE`` (unsent, not failed,
  due, no live claim) and that claim is committed before the SMTP conversation, so two
  workers on one database never both send it;
* a failure counts the attempt, keeps the error and sets ``next_attempt_at`` with
  exponential backoff (``MAIL_RETRY_SECONDS`` × 2^(attempt−1), at most an hour); after
  ``MAIL_MAX_ATTEMPTS`` attempts it is a **permanent failure** (``failed_at``), shown on
  the outbox page for an administrator to pass on by hand;
* a worker killed between the SMTP ``250`` and marking the message sent leaves a claim
  that runs out (``MAIL_CLAIM_SECONDS``): the message is then sent again. At least once,
  never lost — the one duplicate we accept.

Configuration keys (a Flask ``app.config`` or any mapping): ``MAIL_SERVER``,
``MAIL_PORT`` (default 25, or 465 with SSL), ``MAIL_USE_TLS`` (STARTTLS),
``MAIL_USE_SSL`` (implicit TLS), ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_FROM``,
``MAIL_TIMEOUT`` (seconds, default 10), ``MAIL_MAX_ATTEMPTS`` (8),
``MAIL_RETRY_SECONDS`` (60).

Without ``MAIL_SERVER`` nothing is sent: staff pass the messages on from the outbox
page. Invitation bodies contain live signing links, so the body of a *delivered*
message is not kept, and a message an administrator passed on by hand has its links
redacted once it is marked sent (:func:`mark_passed_on`): no table keeps a working link
after delivery.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .models import OutboxMessage
from .tokens import utcnow

DELIVERED_BODY = "[verzonden; inhoud niet bewaard omdat die een ondertekenlink kan bevatten]"

_LINK_TOKEN = re.compile(r"(/onderteken/)[A-Za-z0-9_-]+")
REDACTED = "[link verwijderd na verzending]"


def redact_links(body: str) -> str:
    """The body with every signing link's token replaced: the text stays readable, the link dead."""
    return _LINK_TOKEN.sub(r"\1" + REDACTED, body)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail (e.g. a meeting's ``uitnodiging.ics``). A ``text/calendar``
    part also carries its ``method`` parameter, as calendar programs expect (RFC 6047)."""

    filename: str
    content_type: str
    data: bytes


def attachments_json(attachments: Sequence[Attachment]) -> str | None:
    """The attachments as the outbox keeps them (JSON, data base64), or None for none."""
    if not attachments:
        return None
    return json.dumps([{"filename": a.filename, "content_type": a.content_type,
                        "data": base64.b64encode(a.data).decode("ascii")} for a in attachments])


def attachments_of(message: OutboxMessage) -> list[Attachment]:
    """The attachments an outbox message keeps (none once delivered)."""
    return [Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
            for a in json.loads(message.attachments or "[]")]


class MailError(RuntimeError):
    """Sending failed (connection, authentication or refusal by the server)."""


def _flag(value: Any) -> bool:
    """Accept booleans and the strings environment variables give ("1", "true")."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def build_message(config: Mapping[str, Any], to: str, subject: str, body: str,
                  attachments: Sequence[Attachment] = ()) -> EmailMessage:
    """A plain-text UTF-8 message with Date and Message-ID, and any attachments."""
    sender = config.get("MAIL_FROM") or config.get("MAIL_USERNAME")
    if not sender:
        raise MailError("MAIL_FROM is not configured")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(body)
    for attachment in attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        params = {"method": "REQUEST"} if attachment.content_type == "text/calendar" else {}
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                           params=params)
    return msg


def send_mail(config: Mapping[str, Any], to: str, subject: str, body: str,
              attachments: Sequence[Attachment] = ()) -> None:
    """Send one message via SMTP; raises :class:`MailError` on any failure."""
    server = config.get("MAIL_SERVER")
    if not server:
        raise MailError("MAIL_SERVER is not configured")
    msg = build_message(config, to, subject, body, attachments)
    use_ssl = _flag(config.get("MAIL_USE_SSL"))
    port = int(config.get("MAIL_PORT") or (465 if use_ssl else 25))
    timeout = float(config.get("MAIL_TIMEOUT") or 10)
    context = ssl.create_default_context()
    try:
        smtp_cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
        kwargs = {"context": context} if use_ssl else {}
        with smtp_cls(server, port, timeout=timeout, **kwargs) as smtp:
            if _flag(config.get("MAIL_USE_TLS")) and not use_ssl:
                smtp.starttls(context=context)
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc


def enqueue(session: Session, to: str, subject: str, body: str, *, now: datetime | None = None,
            attachments: Sequence[Attachment] = ()) -> OutboxMessage:
    """Write one mail into the outbox in the caller's transaction (flushes, no commit);
    the worker sends it after commit. Never opens a connection. Attachments are kept
    with the message until it is delivered (a retry sends them too), then dropped."""
    message = OutboxMessage(to=to, subject=subject, body=body, created_at=now or utcnow(), attempts=0,
                            attachments=attachments_json(attachments))
    session.add(message)
    session.flush()
    return message


DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_SECONDS = 60
MAX_RETRY_SECONDS = 3600
DEFAULT_CLAIM_SECONDS = 120
DISPATCH_BATCH = 100


def max_attempts(config: Mapping[str, Any]) -> int:
    """``MAIL_MAX_ATTEMPTS``: attempts before a message is a permanent failure."""
    return max(1, int(config.get("MAIL_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS))


def retry_delay(config: Mapping[str, Any], attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: base × 2^(attempts−1), at most an hour."""
    base = float(config.get("MAIL_RETRY_SECONDS") or DEFAULT_RETRY_SECONDS)
    return timedelta(seconds=min(MAX_RETRY_SECONDS, base * 2 ** max(0, attempts - 1)))


def _claim_seconds(config: Mapping[str, Any]) -> float:
    """How long a claim on a message lasts: longer than one SMTP conversation can take."""
    return float(config.get("MAIL_CLAIM_SECONDS") or max(DEFAULT_CLAIM_SECONDS, 3 * float(config.get("MAIL_TIMEOUT") or 10)))


def _due(table, now: datetime):
    """Unsent, not failed, its next attempt due, no live claim."""
    naive = now.replace(tzinfo=None)
    return and_(table.c.sent_at.is_(None), table.c.failed_at.is_(None),
                or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= naive),
                or_(table.c.claimed_until.is_(None), table.c.claimed_until < naive))


def dispatch(session_factory: sessionmaker, config: Mapping[str, Any], *, now: datetime | None = None) -> int:
    """The worker's mail round: send every due message (claim, send, record); return
    how many went out. Nothing happens without ``MAIL_SERVER``."""
    if not config.get("MAIL_SERVER"):
        return 0
    now = now or utcnow()
    table = OutboxMessage.__table__
    with session_factory() as session:
        due = session.scalars(select(table.c.id).where(_due(table, now)).order_by(table.c.id).limit(DISPATCH_BATCH)).all()
    return sum(_send_one(session_factory, config, message_id, now) for message_id in due)


def _send_one(session_factory: sessionmaker, config: Mapping[str, Any], message_id: int, now: datetime) -> int:
    """Claim one message (committed), send it outside any transaction, record the outcome."""
    table = OutboxMessage.__table__
    claim = secrets.token_hex(16)
    with session_factory() as session:
        taken = session.execute(update(table).where(table.c.id == message_id, _due(table, now)).values(
            claim_token=claim, claimed_until=now + timedelta(seconds=_claim_seconds(config))))
        session.commit()
        if taken.rowcount != 1:
            return 0  # another worker has it, or it is no longer due
        message = session.get(OutboxMessage, message_id)
        to, subject, body, attempts = message.to, message.subject, message.body, message.attempts
        attachments = attachments_of(message)
    try:
        send_mail(config, to, subject, body, attachments)
    except MailError as exc:
        attempts += 1
        failed = attempts >= max_attempts(config)
        values = {"attempts": attempts, "error": str(exc)[:2000], "claim_token": None, "claimed_until": None,
                  "next_attempt_at": None if failed else now + retry_delay(config, attempts),
                  "failed_at": now if failed else None}
        delivered = 0
    else:
        values = {"attempts": attempts + 1, "sent_at": utcnow(), "body": DELIVERED_BODY, "error": None,
                  "attachments": None, "claim_token": None, "claimed_until": None, "next_attempt_at": None}
        delivered = 1
    with session_factory() as session:
        session.execute(update(table).where(table.c.id == message_id, table.c.claim_token == claim).values(**values))
        session.commit()
    return delivered


def state_nl(message: OutboxMessage, mail_server: bool) -> str:
    """Where a message stands, in Dutch, for the outbox page."""
    if message.sent_at is not None:
        return "verzonden"
    if message.failed_at is not None:
        return (f"definitief mislukt na {message.attempts} {'poging' if message.attempts == 1 else 'pogingen'} "
                f"({message.failed_at:%d-%m-%Y %H:%M} UTC): geef dit bericht zelf door")
    if not mail_server:
        return "geen mailserver ingesteld: geef dit bericht zelf door"
    if message.attempts:
        when = f"{message.next_attempt_at:%d-%m-%Y %H:%M} UTC" if message.next_attempt_at else "zo snel mogelijk"
        return f"verzenden mislukt ({message.attempts}×); volgende poging {when}"
    return "wacht op verzending"


def mark_passed_on(session: Session, message: OutboxMessage, *, now: datetime | None = None) -> OutboxMessage:
    """An administrator passed an outbox message on by hand: mark it sent and redact its links.

    Until then the outbox *is* the delivery channel and the link must stay visible;
    afterwards nobody reading the table can sign with it. Marking twice changes nothing.
    """
    if message.sent_at is None:
        message.sent_at = now or utcnow()
    message.body, message.error = redact_links(message.body), None
    session.flush()
    return message
