"""No working signing token in a log, the mail archive or a table: gunicorn's access log
masks it, the app's own log masks it, a mailed outbox row keeps no usable link, and a
message passed on by hand is redacted once marked sent."""

from __future__ import annotations

import datetime as dt
import logging
import re
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from sqlalchemy import select

from forms_service.gunicorn_logging import TokenMaskingLogger
from forms_service.security import mask_tokens
from signatures import mail
from signatures.models import OutboxMessage
from tests import signing_support as support
from tests.signatures.test_signatures_mail import Inbox, free_port

TOKEN = "q8Xv2bN4mK7pR1sT5uW9yZ3aC6dE0fG2hJ4kL8nP1rS"


def _atoms(path: str, query: str = "", referer: str = "-"):
    logger = TokenMaskingLogger(Config())
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": path + (f"?{query}" if query else ""), "PATH_INFO": path,
               "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7",
               "HTTP_REFERER": referer, "HTTP_USER_AGENT": "pytest"}
    resp = SimpleNamespace(status="303 SEE OTHER", headers=[("Location", f"{path}/klaar")], sent=0)
    req = SimpleNamespace(headers=[("REFERER", referer), ("HOST", "casustafel.example")])
    return logger.atoms(resp, req, environ, dt.timedelta(milliseconds=12))


@pytest.mark.parametrize("path", [f"/onderteken/{TOKEN}", f"/onderteken/{TOKEN}/klaar", f"/onderteken/{TOKEN}/ondertekend.pdf"])
def test_gunicorn_access_log_atoms_never_carry_the_token(path):
    atoms = _atoms(path, query=f"next=/onderteken/{TOKEN}", referer=f"https://casustafel.example/onderteken/{TOKEN}")
    text = repr(atoms)
    assert TOKEN not in text
    assert atoms["r"].startswith("POST /onderteken/***") and atoms["U"].startswith("/onderteken/***")
    assert atoms["f"] == "https://casustafel.example/onderteken/***" and atoms["{referer}i"].endswith("/onderteken/***")
    assert atoms["{location}o"].startswith("/onderteken/***")
    assert atoms["h"] == "203.0.113.7" and atoms["s"] == "303"  # the rest of the line is untouched


def test_gunicorn_access_line_as_written(capsys):
    logger = TokenMaskingLogger(Config())
    logger.cfg.set("accesslog", "-")
    logger.setup(logger.cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/onderteken/{TOKEN}", "PATH_INFO": f"/onderteken/{TOKEN}",
               "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    resp = SimpleNamespace(status="200 OK", headers=[], sent=10)
    logger.access(resp, SimpleNamespace(headers=[]), environ, dt.timedelta(seconds=0))
    for handler in logger.access_log.handlers:
        handler.flush()
    line = capsys.readouterr().out
    assert '"GET /onderteken/*** HTTP/1.1" 200' in line and TOKEN not in line


def test_makefile_runs_gunicorn_with_the_masking_logger():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert "scripts/run.sh" in (root / "Makefile").read_text()
    makefile = (root / "scripts" / "run.sh").read_text()  # make run starts gunicorn (and the worker) there
    assert "--logger-class forms_service.gunicorn_logging.TokenMaskingLogger" in makefile
    assert "--access-logfile -" in makefile


def test_mask_tokens_leaves_other_paths_alone():
    assert mask_tokens("GET /tables/3?on=2026-01-01") == "GET /tables/3?on=2026-01-01"
    assert mask_tokens(f"see https://x.example/onderteken/{TOKEN}.") == "see https://x.example/onderteken/***."


def test_the_apps_own_log_masks_tokens(app, caplog):
    with caplog.at_level(logging.INFO):
        app.logger.error("Exception on /onderteken/%s [POST]", TOKEN)
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /onderteken/%s HTTP/1.1" 200 -', TOKEN)
    assert caplog.records and TOKEN not in caplog.text and "/onderteken/***" in caplog.text


# ----------------------------------------------------------------------------- outbox


@pytest.fixture
def smtp_app(app):
    """The app with a real local SMTP server (aiosmtpd); yields the inbox."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="casustafel@emmen.example")
    yield inbox
    controller.stop()


def _mailed_links(inbox) -> dict[str, str]:
    links = {}
    for rcpts, message in inbox.messages:
        found = support.LINK_RE.search(message.get_content())
        if found:
            links[rcpts[0]] = found.group(1)
    return links


def _tokens_in_table(session) -> list[str]:
    session.expire_all()
    return [m.body for m in session.scalars(select(OutboxMessage)) if re.search(r"/onderteken/[A-Za-z0-9_-]{22,}", m.body)]


def test_mail_sent_by_smtp_leaves_no_link_in_the_outbox(api, client, app_session, smtp_app):
    covenant_id, reps = support.covenant_with_partners(api, 2)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    assert support.worker_round(api)["mailed"] == 2  # the worker sends what the request wrote
    links = _mailed_links(smtp_app)
    assert len(links) == 2  # the signers got working links ...
    assert _tokens_in_table(app_session) == []  # ... the table kept none
    # signing (which mails the sealed copy's notice): still nothing usable in the table
    for rep in reps:
        assert support.sign_via_form(client, links[rep["email"]], rep["name"]).status_code == 303
    assert support.worker_round(api)["sealed"] == 1 and len(smtp_app.messages) == 4  # seal, then the notices
    assert any("verzegeld" in m["Subject"] for _rcpts, m in smtp_app.messages)  # the sealed notice went out too
    assert _tokens_in_table(app_session) == []
    rows = app_session.scalars(select(OutboxMessage)).all()
    assert rows and all(r.sent_at is not None and r.body == mail.DELIVERED_BODY for r in rows)
    assert all(m["body"] == mail.DELIVERED_BODY for m in api.get("/api/v1/outbox").json["messages"])


def test_smtp_failure_keeps_the_link_until_the_retry_delivers_it(api, app, app_session):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_FROM="casustafel@emmen.example", MAIL_TIMEOUT=2)
    covenant_id, _reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    assert support.worker_round(api)["mailed"] == 0  # the server is down
    row = app_session.scalars(select(OutboxMessage)).one()
    assert row.error and row.sent_at is None and "/onderteken/" in row.body  # not delivered: the admin needs it
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=app.config["MAIL_PORT"])
    controller.start()
    try:
        later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)  # after the backoff
        assert support.worker_round(app, now=later)["mailed"] == 1
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and _tokens_in_table(app_session) == []


def test_without_smtp_the_outbox_shows_the_link_until_marked_sent_web(api, client, logged_in, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    page = logged_in.get("/outbox").get_data(as_text=True)
    assert link in page  # the outbox is the delivery channel: the admin must see it
    message_id = app_session.scalars(select(OutboxMessage.id)).one()
    token = support.CSRF_RE.search(page).group(1)
    done = logged_in.post(f"/outbox/{message_id}/doorgegeven", data={"csrf_token": token})
    assert done.status_code == 302
    app_session.expire_all()
    row = app_session.get(OutboxMessage, message_id)
    assert row.sent_at is not None and "/onderteken/" + mail.REDACTED in row.body
    assert _tokens_in_table(app_session) == [] and link not in logged_in.get("/outbox").get_data(as_text=True)
    assert "Beste" in row.body  # the text stays readable for the record
    # the link itself still works for the signer: only the copy in the table is gone
    assert client.get(support.path_of(link)).status_code == 200


def test_without_smtp_marking_sent_through_the_api_redacts(api, app_session):
    covenant_id, _reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    message = api.get("/api/v1/outbox").json["messages"][0]
    assert "/onderteken/" in message["body"] and message["sent_at"] is None
    marked = api.post(f"/api/v1/outbox/{message['id']}/sent")
    assert marked.status_code == 200 and marked.json["sent_at"]
    assert mail.REDACTED in marked.json["body"] and _tokens_in_table(app_session) == []
    assert api.post("/api/v1/outbox/999999/sent").status_code == 404
    again = api.post(f"/api/v1/outbox/{message['id']}/sent")  # twice changes nothing
    assert again.status_code == 200 and again.json["sent_at"] == marked.json["sent_at"]
