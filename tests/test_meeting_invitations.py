"""Meeting invitations: a mail per invitee with a parseable ``uitnodiging.ics`` (iCalendar
METHOD:REQUEST, Europe/Amsterdam with a VTIMEZONE, a UID stable per meeting and invitee,
SEQUENCE raised on a resend), delivered by a real SMTP server (aiosmtpd) or kept with
its attachment in the outbox; the planning form's past-date confirmation and the API's
``warnings``; the invitee picker's search, pages and kept selections."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import icalendar
import pytest
from sqlalchemy import select

from registry import rules, services
from registry.models import Meeting, MeetingInvitee
from signatures import mail
from signatures.models import OutboxMessage
from tests import signing_support as support
from tests import factories as f
from tests.meetings.world import D, build, plan
from tests.signatures.test_signatures_mail import Inbox, free_port

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def world(app_session):
    """The meeting world with e-mail addresses for Mira and Sanne (Piet has none)."""
    w = build(app_session)
    w["mira"].email, w["sanne"].email = "mira@ggd.example", "sanne@woon.example"
    app_session.commit()
    return w


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback that the app delivers to; yields the inbox."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="casustafel@emmen.example")
    yield inbox
    controller.stop()


def calendar_of(message) -> icalendar.Calendar:
    """The .ics part of a received mail, parsed."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1 and parts[0].get_filename() == "uitnodiging.ics"
    assert parts[0].get_param("method") == "REQUEST"
    return icalendar.Calendar.from_ical(parts[0].get_payload(decode=True))


def future_day() -> dt.date:
    return rules.today() + dt.timedelta(days=14)


def test_invitations_arrive_over_smtp_with_a_parseable_ics(api, world, app_session, smtp):
    day = future_day()
    meeting = plan(app_session, world, day, {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["piet"]]})
    response = api.post(f"/api/v1/meetings/{meeting.id}/invitations")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert sorted(body["sent"]) == sorted([world["mira"].id, world["sanne"].id])
    assert body["without_email"] == [world["piet"].id]  # no address: reported, not mailed
    assert smtp.messages == []  # the request only wrote the outbox
    support.worker_round(api)
    assert sorted(r[0] for r, _m in smtp.messages) == ["mira@ggd.example", "sanne@woon.example"]

    rcpt, message = next(m for m in smtp.messages if m[0] == ["mira@ggd.example"])
    text = message.get_body(("plain",)).get_content()
    assert "om 14:00 uur in Gemeentehuis" in text and "EN-1" not in text  # local time; no case reference
    cal = calendar_of(message)
    assert str(cal["METHOD"]) == "REQUEST"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    event = cal.walk("VEVENT")[0]
    start = event.decoded("DTSTART")
    assert start == dt.datetime.combine(day, dt.time(14), tzinfo=AMS) and str(start.tzinfo) == "Europe/Amsterdam"
    assert event.decoded("DTEND") - start == dt.timedelta(hours=2)
    assert str(event["LOCATION"]) == "Gemeentehuis" and "EN-1" not in str(event["DESCRIPTION"])
    assert str(event["ATTENDEE"]) == "mailto:mira@ggd.example" and str(event["ORGANIZER"]) == "mailto:casustafel@emmen.example"
    uid = str(event["UID"])
    assert uid == f"meeting-{meeting.id}-person-{world['mira'].id}@emmen.example" and int(event["SEQUENCE"]) == 0

    # Delivered: neither body nor attachment is kept in the outbox.
    app_session.rollback()
    rows = app_session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 2 and all(r.sent_at and r.attachments is None for r in rows)

    # Sending again updates the same calendar item: same UID, a higher SEQUENCE.
    app_session.rollback()
    assert api.post(f"/api/v1/meetings/{meeting.id}/invitations").status_code == 200
    support.worker_round(api)
    again = [m for r, m in smtp.messages if r == ["mira@ggd.example"]][-1]
    event = calendar_of(again).walk("VEVENT")[0]
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    other = calendar_of(next(m for r, m in smtp.messages if r == ["sanne@woon.example"])).walk("VEVENT")[0]
    assert str(other["UID"]) != uid


def test_without_smtp_the_outbox_keeps_the_ics_and_a_retry_sends_it(app, api, world, app_session):
    app.config.update(MAIL_FROM="casustafel@emmen.example")
    meeting = plan(app_session, world, future_day(), {"EN-1": [world["mira"]]})
    assert api.post(f"/api/v1/meetings/{meeting.id}/invitations").get_json()["sent"] == [world["mira"].id]
    app_session.rollback()
    row = app_session.scalars(select(OutboxMessage)).one()
    assert row.sent_at is None and row.to == "mira@ggd.example"
    (attachment,) = mail.attachments_of(row)
    assert attachment.filename == "uitnodiging.ics" and attachment.content_type == "text/calendar"
    assert icalendar.Calendar.from_ical(attachment.data).walk("VEVENT")[0]["SUMMARY"] == "Overleg Casustafel Noord"

    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = {**app.config, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": controller.port}
        assert mail.dispatch(app.extensions["db_sessions"], config) == 1  # the worker's mail round
        app_session.expire_all()
    finally:
        controller.stop()
    assert calendar_of(inbox.messages[0][1]).walk("VEVENT")[0]["UID"]
    assert row.attachments is None


def test_the_check_page_sends_invitations(logged_in, world, app_session, smtp):
    meeting = plan(app_session, world, future_day(), {"EN-1": [world["mira"], world["piet"]]})
    page = logged_in.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Nog geen uitnodigingen verstuurd." in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = logged_in.post(f"/meetings/{meeting.id}/invitations", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "verstuurd aan 1 genodigde(n)" in page and "Geen e-mailadres bekend van: Piet" in page
    assert "1 van 2 genodigden hebben een uitnodiging per mail gekregen" in page
    support.worker_round(logged_in)
    assert [r for r, _m in smtp.messages] == [["mira@ggd.example"]]


# ----------------------------------------------------------------------------- past date


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_past_date_must_be_confirmed_on_the_form(logged_in, world, app_session):
    path = f"/tables/{world['north'].id}/meetings/new"
    yesterday = (rules.today() - dt.timedelta(days=1)).isoformat()
    data = {"csrf_token": csrf(logged_in, path), "day": yesterday, "time": "14:00",
            "cases-0-case_ref": "EN-1", "cases-0-invitee_ids": [str(world["mira"].id)]}
    response = logged_in.post(path, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Deze datum ligt in het verleden." in page
    assert 'name="confirm_past"' in page and f'value="{yesterday}"' in page
    app_session.rollback()
    assert app_session.scalars(select(Meeting)).all() == []
    app_session.rollback()
    assert logged_in.post(path, data={**data, "confirm_past": "y"}).status_code == 302
    assert app_session.scalars(select(Meeting)).one().starts_at.date().isoformat() == yesterday
    app_session.rollback()
    # A future date needs no confirmation (and shows no checkbox).
    fresh = logged_in.get(path).get_data(as_text=True)
    assert 'name="confirm_past"' not in fresh


def test_the_api_accepts_a_past_date_with_a_warning(api, world):
    case = {"case_ref": "EN-1", "invitee_ids": [world["mira"].id]}
    past = api.post("/api/v1/meetings", json={"table_id": world["north"].id, "starts_at": "2026-03-10T14:00", "cases": [case]})
    assert past.status_code == 201
    assert [w["code"] for w in past.get_json()["warnings"]] == ["meeting_in_past"]
    assert past.get_json()["warnings"][0]["text"] == "De datum van het overleg ligt in het verleden."
    later = f"{future_day().isoformat()}T14:00"
    future = api.post("/api/v1/meetings", json={"table_id": world["north"].id, "starts_at": later, "cases": [case]})
    assert future.status_code == 201 and future.get_json()["warnings"] == []


# ----------------------------------------------------------------------------- the picker


@pytest.fixture
def crowd(app_session, world):
    """120 more people with a Bijlage 1 at Noord: 124 candidates in all (Piet has no declaration)."""
    ggd = world["ggd"]
    for n in range(120):
        person = f.person(app_session, ggd, f"Kandidaat {n:03d}")
        services.create_declaration(app_session, kind="structural", person_id=person.id, table_id=world["north"].id,
                                    signed_on=D(2025, 6, 1))
    app_session.commit()
    return world


def checkboxes(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" name="{name}" value="(\d+)"', page)


def test_the_picker_pages_searches_and_keeps_the_choices(logged_in, crowd, app_session):
    world = crowd
    path = f"/tables/{world['north'].id}/meetings/new"
    first = logged_in.get(path).get_data(as_text=True)
    assert len(checkboxes(first, "invitees")) == 50 and "124 kandidaten." in first and "Pagina 1 van 3" in first
    assert checkboxes(first, "cases-0-invitee_ids") == []  # nothing chosen yet: no participant boxes
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', first).group(1)

    # Choose Mira on page 1, go to page 2: Mira travels along as a hidden field.
    page2 = logged_in.post(path, data={"csrf_token": token, "invitees": [str(world["mira"].id)], "picker_page": "2"})
    text = page2.get_data(as_text=True)
    assert page2.status_code == 200 and "Pagina 2 van 3" in text and "1 gekozen." in text
    assert f'<input type="hidden" name="invitees" value="{world["mira"].id}">' in text
    assert str(world["mira"].id) not in checkboxes(text, "invitees")

    # Search by organisation: Woonstichting finds Sanne only; choose her too.
    found = logged_in.post(path, data={"csrf_token": token, "invitees": [str(world["mira"].id)], "q": "woonstichting",
                                       "picker": "search"}).get_data(as_text=True)
    assert checkboxes(found, "invitees") == [str(world["sanne"].id)] and "1 van 124 kandidaten gevonden" in found

    # Take them over: each agenda row offers exactly the two chosen invitees.
    taken = logged_in.post(path, data={"csrf_token": token, "invitees": [str(world["mira"].id), str(world["sanne"].id)],
                                       "picker": "take"}).get_data(as_text=True)
    assert sorted(checkboxes(taken, "cases-0-invitee_ids")) == sorted([str(world["mira"].id), str(world["sanne"].id)])
    assert "2 gekozen." in taken

    day = future_day().isoformat()
    done = logged_in.post(path, data={"csrf_token": token, "day": day, "time": "10:00",
                                      "invitees": [str(world["mira"].id), str(world["sanne"].id)],
                                      "cases-0-case_ref": "EN-1", "cases-0-invitee_ids": [str(world["sanne"].id)]})
    assert done.status_code == 302, done.get_data(as_text=True)
    meeting = app_session.scalars(select(Meeting)).one()
    assert [c.participants[0].id for c in meeting.cases] == [world["sanne"].id]
    assert {i.person_id for i in app_session.scalars(select(MeetingInvitee))} == {world["sanne"].id}
