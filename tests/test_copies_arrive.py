"""Copies that arrive: the completion mail (real SMTP, aiosmtpd) says for how long the
personal link from the invitation gives the sealed copy, and following that link does
give it; the covenant page's "Download PDF" is the sealed version once there is one;
the sealed covenant's own signature table names each partner's signer and date and
points to the signature pages (read back with pdftotext)."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from registry import rules
from tests import signing_support as support
from tests.readback import one_line, pdf_text

LINK_RE = re.compile(r"(https?://\S+/onderteken/[A-Za-z0-9_-]+)")


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for rcpts, m in self.messages if address in rcpts]


@pytest.fixture
def smtp(app):
    """The app sends by SMTP to a real local server; yields its inbox."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="casustafel@emmen.example",
                      MAIL_USE_TLS=False, MAIL_USE_SSL=False, PUBLIC_BASE_URL="http://localhost", SIGNED_COPY_DAYS=21)
    yield inbox
    controller.stop()


def test_the_invitation_link_gives_the_sealed_copy_for_the_period_the_mail_names(api, client, smtp):
    covenant_id, reps = support.covenant_with_partners(api, 2)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    support.worker_round(api)  # the worker sends the outbox
    links = {}
    for rep in reps:
        (invitation,) = smtp.to(rep["email"])
        links[rep["email"]] = LINK_RE.search(invitation.get_content()).group(1)
    for rep in reps:
        assert support.sign_via_form(client, links[rep["email"]], rep["name"]).status_code == 303
    support.worker_round(api)  # seals, writes the completion mails
    support.worker_round(api)  # mail written during a round goes out in that round; a second one changes nothing
    completion = [m for m in smtp.to(reps[0]["email"]) if m["Subject"].startswith("Ondertekend en verzegeld")]
    assert len(completion) == 1
    body = one_line(completion[0].get_content())
    assert "persoonlijke link uit de uitnodiging" in body and "21 dagen na uw ondertekening" in body
    # Following the link from the invitation: the thank-you page, then the sealed copy.
    path = support.path_of(links[reps[0]["email"]])
    opened = client.get(path)
    assert opened.status_code == 303
    thanks = client.get(opened.headers["Location"])
    assert thanks.status_code == 200 and "ondertekend.pdf" in thanks.get_data(as_text=True)
    copy = client.get(path + "/ondertekend.pdf")
    assert copy.status_code == 200 and copy.data.startswith(b"%PDF")
    text = one_line(pdf_text(copy.data))
    # The covenant's own signature table: each partner's representative and date, and the pointer.
    today = rules.today()
    table = text.split("Ondertekening", 1)[1]
    for i, rep in enumerate(reps):
        assert f"Partner {i}" in table and rep["name"] in table
    assert "zie de ondertekeningspagina's vanaf pagina" in table
    assert f"{today.day}" in table
    # ... and the page it points to is the first signature page.
    first = int(re.search(r"ondertekeningspagina's vanaf pagina (\d+)", table).group(1))
    pages = pdf_text(copy.data).split("\f")
    assert reps[0]["name"] in pages[first - 1] and "Ondertekening" in pages[first - 1]
    assert "ondertekeningspagina's vanaf pagina" not in " ".join(pages[first - 1:])


def test_the_covenant_page_downloads_the_sealed_version(logged_in, api, client, app):
    app.config["PUBLIC_BASE_URL"] = "http://localhost"
    covenant_id, reps = support.covenant_with_partners(api, 1)
    page = logged_in.get(f"/covenants/{covenant_id}").get_data(as_text=True)
    assert f"/covenants/{covenant_id}/convenant.pdf" in page and "ondertekend en verzegeld" not in page
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(logged_in.application.test_client(), link, reps[0]["name"]).status_code == 303
    page = logged_in.get(f"/covenants/{covenant_id}").get_data(as_text=True)
    assert "ondertekend en verzegeld" not in page and "wacht op zegel" in page  # until the worker sealed it
    support.worker_round(app)
    page = logged_in.get(f"/covenants/{covenant_id}").get_data(as_text=True)
    sealed_link = f"/ondertekening/covenant/{covenant_id}/ondertekend.pdf"
    assert sealed_link in page and "Download PDF (ondertekend en verzegeld)" in page
    sealed = logged_in.get(sealed_link)
    assert sealed.status_code == 200 and b"/ByteRange" in sealed.data
