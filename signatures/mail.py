"""Sending mail (invitations, reminders, copies), with a database outbox as fallback.

Configuration keys (a Flask ``app.config`` or any mapping): ``MAIL_SERVER``,
``MAIL_PORT`` (default 25, or 465 with SSL), ``MAIL_USE_TLS`` (STARTTLS),
``MAIL_USE_SSL`` (implicit TLS), ``MAIL_USERNAME``, ``MAIL_PASSWORD``, ``MAIL_FROM``,
``MAIL_TIMEOUT`` (seconds, default 10).

Without ``MAIL_SERVER`` nothing is sent: :func:`queue_or_send` stores the message in
``outbox_messages`` and staff pass it on from the outbox page. When SMTP fails the
message is also kept there, with the error. Invitation bodies contain live signing
links, so the body of a *delivered* message is not kept, and a message an
administrator passed on by hand has its links redacted once it is marked sent
(:func:`mark_passed_on`): no table keeps a working link after delivery.
"""

from __future__ import annotations

import base64
import json
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy.orm import Session

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


def queue_or_send(session: Session, config: Mapping[str, Any], to: str, subject: str, body: str,
                  *, now: datetime | None = None, attachments: Sequence[Attachment] = ()) -> OutboxMessage:
    """Send when SMTP is configured, else keep in the outbox; always return the row.

    ``sent_at`` is set when delivered; ``error`` holds why it was not. Attachments are
    kept with an undelivered message (so a retry sends them too) and dropped with the
    body once delivered. Flushes, does not commit.
    """
    message = OutboxMessage(to=to, subject=subject, body=body, created_at=now or utcnow(),
                            attachments=attachments_json(attachments))
    if config.get("MAIL_SERVER"):
        try:
            send_mail(config, to, subject, body, attachments)
        except MailError as exc:
            message.error = str(exc)
        else:
            message.sent_at, message.body, message.attachments = now or utcnow(), DELIVERED_BODY, None
    session.add(message)
    session.flush()
    return message


def retry_outbox(session: Session, config: Mapping[str, Any], *, now: datetime | None = None) -> int:
    """Try to send every undelivered outbox message again; return how many went out."""
    if not config.get("MAIL_SERVER"):
        return 0
    sent = 0
    for message in session.query(OutboxMessage).filter(OutboxMessage.sent_at.is_(None)).order_by(OutboxMessage.id):
        try:
            send_mail(config, message.to, message.subject, message.body, attachments_of(message))
        except MailError as exc:
            message.error = str(exc)
            continue
        message.sent_at, message.body, message.error = now or utcnow(), DELIVERED_BODY, None
        message.attachments = None
        sent += 1
    session.flush()
    return sent


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
