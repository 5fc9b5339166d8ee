"""Two broken promises of the record pages, each a test: a withdrawn consent's own page
shows the withdrawal (date, by whom), and offers the withdraw action while it holds; a
declined record no longer says "wacht op ondertekening" but "geweigerd" with the date
and the reason given."""

from __future__ import annotations

import html

import pytest

from registry import rules, services
from registry.models import Consent
from signatures import workflow as service
from signatures.subjects import Signer
from tests import signing_support as support
from tests.meetings.world import build


@pytest.fixture
def world(app_session):
    world = build(app_session)
    world["piet"].email = "piet@toegang.example"
    app_session.commit()
    return world


def page_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_a_withdrawn_consent_shows_its_withdrawal_and_the_action_only_while_valid(logged_in, app_session, world):
    consent_id = world["consent"].id  # signed on paper
    path = f"/consents/{consent_id}"
    page = page_of(logged_in, path)
    assert f'href="/consents/{consent_id}/withdraw"' in page and "Toestemming intrekken" in page
    consent = app_session.get(Consent, consent_id)
    services.withdraw_consent(app_session, consent, rules.today(), "chair@emmen.example")
    app_session.commit()
    page = page_of(logged_in, path)
    assert "Ingetrokken" in page and "chair@emmen.example" in page
    assert "vanaf die dag geldt deze toestemming niet meer" in page
    assert "Toestemming intrekken" not in page


def test_a_declined_consent_says_declined_with_the_date_and_reason(logged_in, client, app, app_session, world):
    consent_id = support.consent(app_session, world["north"].id, name="Tessa Bakker")
    invitation = service.send_for_signing(app_session, app.config, "consent", consent_id, actor="t",
                                          base_url="https://casus.example",
                                          signers=[Signer("Tessa Bakker", "tessa@example.org", "resident")])[0]
    app_session.commit()
    path = support.path_of(invitation.link)
    token = support.CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)
    assert client.post(path + "/weigeren", data={"csrf_token": token, "reason": "Ik wil eerst overleggen"}).status_code == 200
    page = page_of(logged_in, f"/consents/{consent_id}")
    assert "wacht op ondertekening" not in page
    assert "geweigerd op" in page and "Ik wil eerst overleggen" in page


def test_a_declined_declaration_says_declined_with_the_date_and_reason(logged_in, client, app, app_session, world):
    row = services.create_declaration(app_session, kind="structural", person_id=world["piet"].id, table_id=world["north"].id)
    app_session.commit()
    invitation = service.send_for_signing(app_session, app.config, "declaration", row.id, actor="t",
                                          base_url="https://casus.example")[0]
    app_session.commit()
    path = support.path_of(invitation.link)
    token = support.CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)
    assert client.post(path + "/weigeren", data={"csrf_token": token, "reason": "Niet mijn tafel"}).status_code == 200
    page = page_of(logged_in, f"/declarations/{row.id}")
    assert "wacht op ondertekening" not in page
    assert "geweigerd op" in page and "Niet mijn tafel" in page and "Piet" in page
