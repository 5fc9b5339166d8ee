"""The signing part of the Bijlage 1/2/4 record pages: unsigned (send, and the status of
its requests), signed online and sealed (the sealed PDF), and signed on paper."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from signatures import workflow as service
from registry import services
from signatures.models import SigningRequest
from signatures.verify import verify_pdf
from tests import signing_support as support
from tests.meetings.world import build


@pytest.fixture
def world(app_session):
    """The meeting world; Piet gets an e-mail address."""
    world = build(app_session)
    world["piet"].email = "piet@toegang.example"
    app_session.commit()
    return world


def waiting_declaration(session, world) -> int:
    """Piet's Bijlage 1 that waits for signing."""
    row = services.create_declaration(session, kind="structural", person_id=world["piet"].id, table_id=world["north"].id)
    session.commit()
    return row.id


def page_of(client, path: str) -> str:
    """The page's HTML, entities decoded."""
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def send_form(page: str) -> str | None:
    """The send-for-signing form on a record page, if any."""
    found = re.search(r'<form method="post" action="/ondertekening/\w+/\d+/versturen".*?</form>', page, re.S)
    return found.group(0) if found else None


def test_unsigned_declaration_offers_sending_then_shows_the_request(logged_in, app_session, world):
    declaration_id = waiting_declaration(app_session, world)
    path = f"/declarations/{declaration_id}"
    page = page_of(logged_in, path)
    form = send_form(page)
    assert "Nog niet ondertekend." in page and form and 'name="back" value="record"' in form
    token = support.CSRF_RE.search(page).group(1)
    response = logged_in.post(f"/ondertekening/declaration/{declaration_id}/versturen", data={"csrf_token": token, "back": "record"})
    assert response.status_code == 302 and response.headers["Location"] == path
    page = page_of(logged_in, path)
    assert "Uitnodigingen verstuurd." in page
    assert "piet@toegang.example" in page and "verstuurd, nog niet geopend" in page
    assert send_form(page) is None  # already invited: no second invitation from here


def test_signed_online_shows_the_sealed_pdf(logged_in, app, app_session, world):
    declaration_id = waiting_declaration(app_session, world)
    invitation = service.send_for_signing(app_session, app.config, "declaration", declaration_id, actor="t",
                                          base_url="https://casus.example")[0]
    app_session.commit()
    assert support.sign_via_form(logged_in, invitation.link, "Piet").status_code == 303
    page = page_of(logged_in, f"/declarations/{declaration_id}")
    download = f"/ondertekening/declaration/{declaration_id}/ondertekend.pdf"
    assert "en verzegeld" in page and f'href="{download}"' in page and send_form(page) is None
    assert verify_pdf(logged_in.get(download).data, service.trusted_certificates(app.config)).valid


def test_signed_on_paper_without_a_scan_says_so(logged_in, app_session, world):
    row = services.create_declaration(app_session, kind="incidental", person_id=world["piet"].id,
                                      table_id=world["north"].id, case_ref="EN-4", signed_on=dt.date(2026, 3, 1))
    app_session.commit()
    page = page_of(logged_in, f"/declarations/{row.id}")
    assert "Op papier ondertekend op 1 maart 2026" in page and "geen scan" in page
    assert send_form(page) is None and "ondertekend.pdf" not in page


def test_signed_on_paper_with_a_scan_offers_the_scan(logged_in, app_session, world):
    declaration_id = waiting_declaration(app_session, world)
    service.record_paper(app_session, "declaration", declaration_id, signed_on=dt.date(2026, 3, 1),
                         scan=support.blank_pdf(), filename="b1.pdf", actor="t")
    app_session.commit()
    service.complete_pending(logged_in.application.extensions["db_sessions"], logged_in.application.config)
    page = page_of(logged_in, f"/declarations/{declaration_id}")
    assert "Op papier ondertekend op 1 maart 2026; de scan is bewaard." in page
    assert f'href="/ondertekening/declaration/{declaration_id}/ondertekend.pdf"' in page


def test_unsigned_consent_asks_whom_to_send_it_to(logged_in, app_session, world):
    consent_id = support.consent(app_session, world["north"].id, name="Tessa Bakker")
    path = f"/consents/{consent_id}"
    page = page_of(logged_in, path)
    form = send_form(page)
    assert form and 'name="name" required value="Tessa Bakker"' in form and 'name="email"' in form
    token = support.CSRF_RE.search(page).group(1)
    response = logged_in.post(f"/ondertekening/consent/{consent_id}/versturen", data={
        "csrf_token": token, "back": "record", "name": "Tessa Bakker", "email": "tessa@example.org", "role": "resident"})
    assert response.headers["Location"] == path
    page = page_of(logged_in, path)
    assert "tessa@example.org" in page and "verstuurd, nog niet geopend" in page
    app_session.rollback()
    assert app_session.scalar(select(SigningRequest.signer_role)) == "resident"


def test_signed_consent_on_paper_says_so(logged_in, app_session, world):
    page = page_of(logged_in, f"/consents/{world['consent'].id}")  # signed 2026-02-16 via the form
    assert "Op papier ondertekend op 16 februari 2026" in page and send_form(page) is None
