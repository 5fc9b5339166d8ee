"""The check page's one click (art. 6): send a missing Bijlage 1 or 2 for signing, in one
transaction; signing the mailed link makes the next check allow the invitee."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select

from registry import meetings, services
from registry.models import Declaration
from signatures.models import OutboxMessage, SigningRequest
from tests import signing_support as support
from tests.meetings.world import build, invitee, plan


@pytest.fixture
def world(app_session):
    """The shared meeting world; Piet (no declaration) and Sanne (Bijlage 2 for EN-1 only) get e-mail."""
    world = build(app_session)
    world["piet"].email, world["sanne"].email = "piet@toegang.example", "sanne@woon.example"
    app_session.commit()
    return world


@pytest.fixture
def meeting_id(app_session, world) -> int:
    """A meeting in two weeks: EN-1 with Piet and Mira, EN-2 with Sanne."""
    day = dt.date.today() + dt.timedelta(days=14)
    meeting = plan(app_session, world, day, {"EN-1": [world["piet"], world["mira"]], "EN-2": [world["sanne"]]})
    meeting_id = meeting.id
    app_session.rollback()  # SQLite: end the read so the app's transactions can start
    return meeting_id


def buttons(page: str) -> list[tuple[str, str, str]]:
    """(person_id, kind, case_ref) of every send-for-signing form on the check page."""
    forms = re.findall(r'<form method="post" action="/meetings/\d+/send-for-signing".*?</form>', page, re.S)
    return [tuple(re.search(rf'name="{name}" value="([^"]*)"', form).group(1) for name in ("person_id", "kind", "case_ref"))
            for form in forms]


def click(client, meeting_id: int, person_id: int, kind: str, case_ref: str):
    """Press the button on the check page (real CSRF token), following the redirect."""
    page = client.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    token = support.CSRF_RE.search(page).group(1)
    return client.post(f"/meetings/{meeting_id}/send-for-signing", follow_redirects=True, data={
        "csrf_token": token, "person_id": str(person_id), "kind": kind, "case_ref": case_ref})


def counts(session) -> tuple[int, int, int]:
    """Declarations, signing requests and outbox mails in the database."""
    session.rollback()
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Declaration, SigningRequest, OutboxMessage))


def check_of(session, meeting_id: int, case_ref: str, person):
    """The invitee's line in a check run now."""
    session.rollback()
    return invitee(meetings.meeting_check(session, meeting_id), case_ref, person)


def test_the_button_appears_only_where_a_declaration_is_missing(logged_in, world, meeting_id):
    page = logged_in.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    piet, sanne = str(world["piet"].id), str(world["sanne"].id)
    # Piet (a partner's employee) may sign Bijlage 1, or Bijlage 2 for this case; Mira has hers
    assert sorted(buttons(page)) == sorted([(piet, "structural", "EN-1"), (piet, "incidental", "EN-1"),
                                            (sanne, "incidental", "EN-2")])
    assert "disabled" not in page


def test_one_click_sends_bijlage1_and_signing_it_allows_the_next_check(logged_in, app_session, world, meeting_id):
    piet = world["piet"]
    assert not check_of(app_session, meeting_id, "EN-1", piet).allowed
    before = counts(app_session)
    page = click(logged_in, meeting_id, piet.id, "structural", "EN-1").get_data(as_text=True)
    assert "Bijlage 1 is ter ondertekening verstuurd aan Piet (piet@toegang.example)." in html.unescape(page)
    assert counts(app_session) == (before[0] + 1, before[1] + 1, before[2] + 1)
    declaration = app_session.scalars(select(Declaration).order_by(Declaration.id.desc())).first()
    assert (declaration.kind, declaration.person_id, declaration.case_ref, declaration.signed_on) == ("structural", piet.id, None, None)
    request = app_session.scalar(select(SigningRequest))
    assert (request.subject_kind, request.subject_id, request.signer_email) == ("declaration", declaration.id, piet.email)
    mail = app_session.scalar(select(OutboxMessage))
    link = support.LINK_RE.search(mail.body).group(1)
    assert mail.to == piet.email and link.startswith(("http://", "https://"))
    assert (str(piet.id), "structural", "EN-1") not in buttons(page)  # invited: the page says so instead
    assert "Bijlage 1 verstuurd op" in page

    app_session.rollback()
    assert support.sign_via_form(logged_in, link, "Piet").status_code == 303
    line = check_of(app_session, meeting_id, "EN-1", piet)
    assert line.allowed and line.basis == "structural"
    assert "bijlage1_missing" not in [w.code for w in line.warnings]


def test_one_click_sends_bijlage2_for_that_case(logged_in, app_session, world, meeting_id):
    sanne = world["sanne"]
    click(logged_in, meeting_id, sanne.id, "incidental", "EN-2")
    app_session.rollback()
    declaration = app_session.scalars(select(Declaration).order_by(Declaration.id.desc())).first()
    assert (declaration.kind, declaration.person_id, declaration.case_ref) == ("incidental", sanne.id, "EN-2")
    link = support.LINK_RE.search(app_session.scalar(select(OutboxMessage.body))).group(1)
    app_session.rollback()
    assert support.sign_via_form(logged_in, link, "Sanne").status_code == 303
    line = check_of(app_session, meeting_id, "EN-2", sanne)
    assert line.allowed and line.basis == "incidental"


def test_a_pending_declaration_is_reused(logged_in, app_session, world, meeting_id):
    waiting = services.create_declaration(app_session, kind="structural", person_id=world["piet"].id,
                                          table_id=world["north"].id)
    app_session.commit()
    waiting_id = waiting.id
    before = counts(app_session)
    click(logged_in, meeting_id, world["piet"].id, "structural", "EN-1")
    assert counts(app_session)[0] == before[0]
    assert app_session.scalar(select(SigningRequest.subject_id)) == waiting_id


def test_a_second_click_says_already_invited_and_adds_nothing(logged_in, app_session, world, meeting_id):
    click(logged_in, meeting_id, world["piet"].id, "structural", "EN-1")
    after_first = counts(app_session)
    page = click(logged_in, meeting_id, world["piet"].id, "structural", "EN-1").get_data(as_text=True)
    assert "Piet is al uitgenodigd." in page
    assert counts(app_session) == after_first


def test_without_email_a_clear_message_and_nothing_written(logged_in, app_session, world, meeting_id):
    world["piet"].email = None
    app_session.commit()
    before = counts(app_session)
    response = click(logged_in, meeting_id, world["piet"].id, "structural", "EN-1")
    assert response.status_code == 200
    assert "Geen e-mailadres bekend voor Piet." in html.unescape(response.get_data(as_text=True))
    assert counts(app_session) == before


def test_only_a_declaration_the_check_misses_can_be_sent(logged_in, app_session, world, meeting_id):
    before = counts(app_session)
    for person, kind, case_ref in ((world["mira"], "structural", "EN-1"),  # Mira has her Bijlage 1
                                   (world["sanne"], "structural", "EN-2"),  # no partner: no Bijlage 1
                                   (world["piet"], "structural", "EN-9")):  # not on the agenda
        page = click(logged_in, meeting_id, person.id, kind, case_ref).get_data(as_text=True)
        assert "ontbreekt (nu) geen Bijlage 1 of 2" in page
    assert counts(app_session) == before
