"""Send and sign from the record: the covenant, declaration and consent pages carry every
signing action (send, remind, send again, cancel, record paper), mails go out over real
SMTP (aiosmtpd) or into the outbox, refusals are red error flashes (never "Bestaat niet."
in a green box), and the signing overview finds documents by name instead of asking for
an internal kind and a database number. Bulk Bijlage 1 goes exactly to those lacking one."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from registry import rules, services
from registry.models import Declaration, Partnership
from signatures import mail
from signatures.models import BulkSend, OutboxMessage, SigningRequest
from tests import signing_support as support
from tests.meetings.world import build, plan
from tests.signatures.test_signatures_mail import Inbox, free_port

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def form_action(text: str, label: str) -> str:
    """The action of the form whose button says ``label``."""
    for match in re.finditer(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', text, re.S):
        if label in match.group(2):
            return match.group(1).split("#")[0]
    raise AssertionError(f"no form with {label!r}")


def test_covenant_page_sends_reminds_cancels_and_resends_over_smtp(smtp_app, logged_in, api, app_session):
    app, inbox = smtp_app
    covenant_id, reps = support.covenant_with_partners(api, 2)
    path = f"/covenants/{covenant_id}"
    text = page(logged_in, path)
    token = CSRF.search(text).group(1)
    assert "Nog niet uitgenodigd: Partner 0, Partner 1" in text
    sent = logged_in.post(form_action(text, "Ter ondertekening versturen"), data={"csrf_token": token, "back": "record"})
    assert sent.status_code == 302 and sent.headers["Location"].startswith(path)
    assert inbox.messages == []  # the request only wrote the outbox; the worker sends
    support.worker_round(app)
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == sorted(r["email"] for r in reps)
    text = page(logged_in, path)
    assert "Uitnodigingen verstuurd." in text and 'class="flash flash-success"' in text
    assert "Nog niet uitgenodigd" not in text and text.count("Herinneren") == 2 and "verstuurd, nog niet geopend" in text

    first = app_session.scalars(select(SigningRequest).order_by(SigningRequest.id)).first()
    reminded = logged_in.post(f"/ondertekening/verzoeken/{first.id}/herinneren", data={"csrf_token": token, "back": "record"})
    assert reminded.headers["Location"].startswith(path)
    support.worker_round(app)
    assert inbox.messages[-1][1]["Subject"].startswith("Herinnering:") and inbox.messages[-1][0][0] == first.signer_email
    assert "Herinnering verstuurd." in page(logged_in, path)

    logged_in.post(f"/ondertekening/verzoeken/{first.id}/intrekken", data={"csrf_token": token, "back": "record"})
    text = page(logged_in, path)
    assert "ingetrokken" in text and "Opnieuw versturen" in text
    app_session.expire_all()
    assert app_session.get(SigningRequest, first.id).status == "cancelled"
    before = len(inbox.messages)
    logged_in.post(f"/ondertekening/verzoeken/{first.id}/opnieuw", data={"csrf_token": token, "back": "record"})
    support.worker_round(app)
    assert len(inbox.messages) == before + 1 and "Opnieuw verstuurd." in page(logged_in, path)


def test_covenant_page_records_a_paper_signature_per_partner(logged_in, api, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 2)
    path = f"/covenants/{covenant_id}"
    text = page(logged_in, path)
    token = CSRF.search(text).group(1)
    assert "Partner 0 tekende op papier? Leg het vast" in text
    response = logged_in.post(f"/ondertekening/covenant/{covenant_id}/papier", content_type="multipart/form-data", data={
        "csrf_token": token, "back": "record", "person_id": str(reps[0]["id"]), "signed_on": "2026-01-05",
        "scan": (__import__("io").BytesIO(support.blank_pdf()), "scan.pdf")})
    assert response.headers["Location"].startswith(path)
    text = page(logged_in, path)
    assert "Papieren ondertekening vastgelegd." in text and "1 van 2 partners hebben getekend." in text
    signed = app_session.scalar(select(Partnership).where(Partnership.representative_id == reps[0]["id"]))
    assert signed.signed_on == dt.date(2026, 1, 5)
    bad = logged_in.post(f"/ondertekening/covenant/{covenant_id}/papier", data={
        "csrf_token": token, "back": "record", "person_id": str(reps[1]["id"]), "signed_on": "2026-13-45"})
    text = page(logged_in, bad.headers["Location"])
    assert 'class="flash flash-error"' in text and "Geen geldige datum" in text


def test_errors_are_red_and_say_it_once(logged_in, api):
    covenant_id, _reps = support.covenant_with_partners(api, 1)
    path = f"/covenants/{covenant_id}"
    token = CSRF.search(page(logged_in, path)).group(1)
    logged_in.post(f"/ondertekening/covenant/{covenant_id}/versturen", data={"csrf_token": token, "back": "record"})
    again = logged_in.post(f"/ondertekening/covenant/{covenant_id}/versturen", data={"csrf_token": token, "back": "record"})
    text = page(logged_in, again.headers["Location"])
    assert 'class="flash flash-error" role="alert"' in text and "Niet gelukt:" in text
    missing = logged_in.post("/ondertekening/covenant/999/versturen", data={"csrf_token": token})
    body = html.unescape(missing.get_data(as_text=True))
    assert missing.status_code == 404 and "Bestaat niet." not in body and "flash-success" not in body


def test_the_overview_asks_for_no_kind_and_no_number(logged_in, api):
    covenant_id, _reps = support.covenant_with_partners(api, 1)
    text = page(logged_in, "/ondertekening")
    assert 'name="kind"' not in text and 'name="subject_id"' not in text
    assert logged_in.post("/ondertekening/versturen", data={}).status_code in (404, 405)
    found = page(logged_in, "/ondertekening?q=samenwerking")
    assert f'href="/covenants/{covenant_id}#send-for-signing"' in found
    assert "Geen document gevonden" in page(logged_in, "/ondertekening?q=bestaatnergens")


@pytest.fixture
def world(app_session):
    world = build(app_session)
    world["piet"].email = "piet@toegang.example"
    app_session.commit()
    return world


def test_declaration_page_sends_reminds_and_signs_in_person(logged_in, app_session, world):
    declaration = services.create_declaration(app_session, kind="structural", person_id=world["piet"].id,
                                              table_id=world["north"].id)
    app_session.commit()
    path = f"/declarations/{declaration.id}"
    text = page(logged_in, path)
    token = CSRF.search(text).group(1)
    assert "Nu in persoon laten tekenen" in text and "Op papier getekend? Leg het vast" in text
    logged_in.post(f"/ondertekening/declaration/{declaration.id}/versturen", data={"csrf_token": token, "back": "record"})
    outbox = app_session.scalars(select(OutboxMessage)).all()
    assert [m.to for m in outbox] == ["piet@toegang.example"]  # no SMTP: the outbox
    text = page(logged_in, path)
    request = app_session.scalar(select(SigningRequest))
    assert f"/ondertekening/verzoeken/{request.id}/herinneren" in text and "Wacht op ondertekening." in text
    logged_in.post(f"/ondertekening/verzoeken/{request.id}/herinneren", data={"csrf_token": token, "back": "record"})
    assert len(app_session.scalars(select(OutboxMessage)).all()) == 2


def test_bulk_bijlage1_goes_exactly_to_those_lacking_one(logged_in, app, app_session, world):
    from tests import factories as f

    extra = f.person(app_session, world["ggd"], "Joke", email="joke@ggd.example")
    no_mail = f.person(app_session, world["ggd"], "Kees")
    invited = f.person(app_session, world["toegang"], "Lies", email="lies@toegang.example")
    app_session.commit()
    plan(app_session, world, rules.today() + dt.timedelta(days=7),
         {"EN-1": [world["piet"], world["sanne"], world["mira"], extra, no_mail, invited]})
    from signatures import workflow

    workflow.send_declaration(app_session, app.config, kind="structural", person_id=invited.id,
                              table_id=world["north"].id, actor="t", base_url="https://casustafel.example")
    app_session.commit()
    before = {m.id for m in app_session.scalars(select(OutboxMessage))}
    path = f"/tables/{world['north'].id}"
    text = page(logged_in, path)
    assert "Bijlage 1 versturen aan iedereen die er een mist" in text
    for name in ("Piet", "Joke", "Kees", "Lies"):
        assert f">{name}</a>" in text
    token = CSRF.search(text).group(1)
    response = logged_in.post(f"{path}/bijlage1-versturen", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("#bijlage1")
    new = [m for m in app_session.scalars(select(OutboxMessage)) if m.id not in before]
    assert sorted(m.to for m in new) == ["joke@ggd.example", "piet@toegang.example"]  # not Mira, Sanne, Kees, Lies
    assert all(m.sent_at is None for m in new)  # queued, not sent inside the request
    bulk = app_session.scalar(select(BulkSend))
    assert {s["reason"] for s in bulk.skipped} >= {"al uitgenodigd"} and len(bulk.skipped) == 2
    text = page(logged_in, path)
    assert "0 van 2 verstuurd" in text and "wachten in de outbox" in text
    # The worker delivers them (here: over a real SMTP server); the page then says so.
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="x@emmen.example")
        assert text.count('http-equiv="refresh"') == 0
        assert 'http-equiv="refresh"' in page(logged_in, path)  # SMTP configured, still going out: reloads itself
        assert mail.dispatch(app.extensions["db_sessions"], app.config) >= 2  # the worker's mail round
    finally:
        controller.stop()
    assert sorted(r[0][0] for r in inbox.messages if r[0][0] != "lies@toegang.example") == [
        "joke@ggd.example", "piet@toegang.example"]
    text = page(logged_in, path)
    assert "2 van 2 verstuurd" in text and 'http-equiv="refresh"' not in text
    again = logged_in.post(f"{path}/bijlage1-versturen", data={"csrf_token": token})
    assert "Er was niemand om uit te nodigen" in page(logged_in, again.headers["Location"].split("#")[0])
    assert app_session.scalar(select(Declaration).where(Declaration.person_id == extra.id)).signed_on is None


def test_consent_page_actions_only_for_those_who_record_consents(app, client, make_user, app_session, world):
    """A coordinator entitled at the table sends and reminds from the consent page; the
    table's chair reads it (logged) but gets no signing buttons."""
    from registry.models import Consent
    from tests.auth_support import login

    consent = services.create_consent(
        app_session, table_id=world["north"].id, case_ref="EN-1", signed_by="resident", resident_name="Tessa (fictief)",
        resident_birth_date=dt.date(1984, 2, 17), purpose="Afstemmen.", categories=["name_address"],
        recipient_ids=[world["ggd"].id])
    app_session.commit()
    path = f"/consents/{consent.id}"
    coordinator = make_user([{"role": "coordinator", "table_id": world["north"].id}], person_id=world["gerda"].id)
    chair = make_user([{"role": "chair", "table_id": world["north"].id}], person_id=world["anouk"].id)
    login(client, *coordinator)
    text = page(client, path)
    token = CSRF.search(text).group(1)
    sent = client.post(f"/ondertekening/consent/{consent.id}/versturen", data={
        "csrf_token": token, "back": "record", "name": "Tessa (fictief)", "email": "tessa@x.example", "role": "resident"})
    assert sent.headers["Location"].startswith(path)
    text = page(client, path)
    request = app_session.scalar(select(SigningRequest).where(SigningRequest.subject_kind == "consent"))
    assert "Uitnodigingen verstuurd." in text and f"/ondertekening/verzoeken/{request.id}/herinneren" in text
    client.post(f"/ondertekening/verzoeken/{request.id}/herinneren", data={"csrf_token": token, "back": "record"})
    assert "Herinnering verstuurd." in page(client, path)
    client.post("/logout", data={"csrf_token": token})
    login(client, *chair)
    text = page(client, path)
    assert "Tessa (fictief)" in text and "/herinneren" not in text and "/intrekken" not in text
    assert "Ter ondertekening versturen" not in text
    assert app_session.get(Consent, consent.id).signed_on is None
