"""Mail: a real local SMTP server (aiosmtpd), the outbox fallback, SMTP failures."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from signatures.mail import DELIVERED_BODY, MailError, queue_or_send, retry_outbox, send_mail
from signatures.models import OutboxMessage


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A running SMTP server on localhost; yields (config, inbox)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port, "MAIL_FROM": "casustafel@emmen.example"}
    yield config, inbox
    controller.stop()


BODY = "Beste Jan,\n\nOnderteken hier: https://forms.example/onderteken/abc\n\nMet vriendelijke groet"


def test_send_mail_delivers_utf8(smtp):
    config, inbox = smtp
    send_mail(config, "jan@example.nl", "Verzoek tot ondertekening – Bijlage 4", BODY)
    (rcpts, msg), = inbox.messages
    assert rcpts == ["jan@example.nl"]
    assert msg["Subject"] == "Verzoek tot ondertekening – Bijlage 4"
    assert msg["From"] == "casustafel@emmen.example" and msg["Message-ID"] and msg["Date"]
    assert "https://forms.example/onderteken/abc" in msg.get_content()


def test_queue_or_send_sends_and_forgets_the_link(session, smtp):
    config, inbox = smtp
    row = queue_or_send(session, config, "jan@example.nl", "Ondertekenen", BODY)
    assert row.sent_at is not None and row.error is None
    assert row.body == DELIVERED_BODY and "onderteken/abc" not in row.body
    assert len(inbox.messages) == 1


def test_without_mail_server_the_outbox_keeps_it(session):
    row = queue_or_send(session, {"MAIL_FROM": "x@example.nl"}, "jan@example.nl", "Ondertekenen", BODY)
    assert row.sent_at is None and row.error is None and row.body == BODY
    assert session.query(OutboxMessage).count() == 1


def test_smtp_down_is_kept_with_the_error_and_retried(session, smtp):
    config, inbox = smtp
    down = {**config, "MAIL_PORT": free_port(), "MAIL_TIMEOUT": 2}
    row = queue_or_send(session, down, "jan@example.nl", "Ondertekenen", BODY)
    assert row.sent_at is None and "ConnectionRefusedError" in row.error and row.body == BODY
    assert retry_outbox(session, config) == 1
    assert row.sent_at is not None and row.error is None and row.body == DELIVERED_BODY
    assert len(inbox.messages) == 1
    assert retry_outbox(session, config) == 0


def test_send_mail_needs_configuration():
    with pytest.raises(MailError):
        send_mail({}, "jan@example.nl", "s", "b")
    with pytest.raises(MailError):
        send_mail({"MAIL_SERVER": "127.0.0.1"}, "jan@example.nl", "s", "b")
