"""Mail: the outbox written in the caller's transaction, sent only by the worker's
:func:`dispatch` to a real local SMTP server (aiosmtpd); backoff, permanent failure, and
two workers at once that never send a message twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from database.engine import make_session_factory
from signatures import mail
from signatures.mail import DELIVERED_BODY, MailError, dispatch, enqueue, send_mail
from signatures.models import OutboxMessage


class Inbox:
    """aiosmtpd handler that keeps every message it receives (optionally slowly)."""

    def __init__(self, delay: float = 0.0):
        self.messages = []
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
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


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


BODY = "Beste Jan,\n\nOnderteken hier: https://forms.example/onderteken/abc\n\nMet vriendelijke groet"


def _queue(factory, n: int = 1) -> list[int]:
    with factory() as session:
        ids = [enqueue(session, f"jan{i}@example.nl", "Ondertekenen", BODY).id for i in range(n)]
        session.commit()
    return ids


def _row(factory, message_id: int) -> OutboxMessage:
    with factory() as session:
        row = session.get(OutboxMessage, message_id)
        session.expunge(row)
        return row


def test_send_mail_delivers_utf8(smtp):
    config, inbox = smtp
    send_mail(config, "jan@example.nl", "Verzoek tot ondertekening – Bijlage 4", BODY)
    (rcpts, msg), = inbox.messages
    assert rcpts == ["jan@example.nl"]
    assert msg["Subject"] == "Verzoek tot ondertekening – Bijlage 4"
    assert msg["From"] == "casustafel@emmen.example" and msg["Message-ID"] and msg["Date"]
    assert "https://forms.example/onderteken/abc" in msg.get_content()


def test_enqueue_only_writes_and_dispatch_sends_and_forgets_the_link(factory, smtp):
    config, inbox = smtp
    message_id, = _queue(factory)
    assert inbox.messages == []  # written, not sent
    queued = _row(factory, message_id)
    assert queued.sent_at is None and queued.attempts == 0 and queued.body == BODY
    assert dispatch(factory, config) == 1
    row = _row(factory, message_id)
    assert row.sent_at is not None and row.error is None and row.attempts == 1 and row.claim_token is None
    assert row.body == DELIVERED_BODY and "onderteken/abc" not in row.body
    assert len(inbox.messages) == 1 and "onderteken/abc" in inbox.messages[0][1].get_content()
    assert dispatch(factory, config) == 0 and len(inbox.messages) == 1


def test_without_mail_server_the_outbox_keeps_it(factory):
    message_id, = _queue(factory)
    assert dispatch(factory, {"MAIL_FROM": "x@example.nl"}) == 0
    row = _row(factory, message_id)
    assert row.sent_at is None and row.error is None and row.body == BODY and row.attempts == 0
    assert "zelf door" in mail.state_nl(row, mail_server=False)


def test_smtp_down_is_retried_with_backoff(factory, smtp):
    config, inbox = smtp
    down = {**config, "MAIL_PORT": free_port(), "MAIL_TIMEOUT": 2, "MAIL_RETRY_SECONDS": 60}
    message_id, = _queue(factory)
    start = dt.datetime.now(dt.timezone.utc)
    assert dispatch(factory, down, now=start) == 0
    row = _row(factory, message_id)
    assert row.attempts == 1 and "ConnectionRefusedError" in row.error and row.body == BODY and row.failed_at is None
    assert abs(row.next_attempt_at - (start + dt.timedelta(seconds=60))) < dt.timedelta(seconds=1)
    assert "volgende poging" in mail.state_nl(row, mail_server=True)
    assert dispatch(factory, config, now=start + dt.timedelta(seconds=30)) == 0  # not due yet: not even tried
    assert inbox.messages == [] and _row(factory, message_id).attempts == 1
    assert dispatch(factory, down, now=start + dt.timedelta(seconds=61)) == 0  # second failure: twice as long
    second = _row(factory, message_id)
    assert second.attempts == 2 and second.next_attempt_at - (start + dt.timedelta(seconds=61)) > dt.timedelta(seconds=119)
    assert dispatch(factory, config, now=start + dt.timedelta(seconds=200)) == 1  # the server is back
    row = _row(factory, message_id)
    assert row.sent_at is not None and row.error is None and row.body == DELIVERED_BODY and row.attempts == 3
    assert len(inbox.messages) == 1


def test_after_max_attempts_a_permanent_failure(factory, smtp):
    config, inbox = smtp
    down = {**config, "MAIL_PORT": free_port(), "MAIL_TIMEOUT": 2, "MAIL_MAX_ATTEMPTS": 2, "MAIL_RETRY_SECONDS": 1}
    message_id, = _queue(factory)
    start = dt.datetime.now(dt.timezone.utc)
    dispatch(factory, down, now=start)
    dispatch(factory, down, now=start + dt.timedelta(minutes=5))
    row = _row(factory, message_id)
    assert row.attempts == 2 and row.failed_at is not None and row.next_attempt_at is None and row.body == BODY
    assert mail.state_nl(row, mail_server=True).startswith("definitief mislukt na 2 pogingen")
    assert dispatch(factory, config, now=start + dt.timedelta(days=1)) == 0  # never tried again by itself
    assert inbox.messages == []


def test_a_claimed_message_is_left_to_its_worker(factory, smtp):
    config, inbox = smtp
    message_id, = _queue(factory)
    now = dt.datetime.now(dt.timezone.utc)
    with factory() as session:
        row = session.get(OutboxMessage, message_id)
        row.claim_token, row.claimed_until = "x" * 32, now + dt.timedelta(seconds=60)
        session.commit()
    assert dispatch(factory, config, now=now) == 0 and inbox.messages == []
    # the claim of a worker that died runs out: the message is sent then
    assert dispatch(factory, config, now=now + dt.timedelta(seconds=61)) == 1 and len(inbox.messages) == 1


def test_three_workers_at_once_send_each_message_once(factory):
    inbox = Inbox(delay=0.05)  # slow enough that the workers overlap
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port, "MAIL_FROM": "casustafel@emmen.example"}
    try:
        ids = _queue(factory, 12)
        barrier = threading.Barrier(3)
        sent: list[int] = []

        def worker():
            barrier.wait()
            sent.append(dispatch(factory, config))

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0.1)
    finally:
        controller.stop()
    assert sum(sent) == 12 and len(inbox.messages) == 12
    assert sorted(r[0] for r, _m in inbox.messages) == sorted(f"jan{i}@example.nl" for i in range(12))
    assert all(_row(factory, i).attempts == 1 for i in ids)


def test_send_mail_needs_configuration():
    with pytest.raises(MailError):
        send_mail({}, "jan@example.nl", "s", "b")
    with pytest.raises(MailError):
        send_mail({"MAIL_SERVER": "127.0.0.1"}, "jan@example.nl", "s", "b")
