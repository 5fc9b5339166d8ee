"""Who actually attended a meeting: recorded after it on a web form or through the API,
refused before the meeting day and for people not invited, and shown beside the check
on the sealed presentie- en toetsingslijst (read back with pdftotext)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from registry import meetings, rules
from registry.errors import ValidationError
from registry.models import Meeting, MeetingInvitee
from tests.meetings.world import D, build, plan
from tests.readback import one_line, pdf_text


@pytest.fixture
def world(app_session):
    return build(app_session)


def test_attendance_on_the_web_shows_on_the_sealed_list(logged_in, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["piet"]]})
    app_session.rollback()
    before = pdf_text(logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf").data)
    assert "aanwezig" not in before and "Aanwezigheid vastgelegd" not in before  # nothing recorded: an empty column

    path = f"/meetings/{meeting.id}/attendance"
    page = logged_in.get(path).get_data(as_text=True)
    assert all(f'<label for="attended-{world[p].id}">' in page for p in ("mira", "sanne", "piet"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = logged_in.post(path, data={"csrf_token": token, "attended": [str(world["mira"].id), str(world["piet"].id)]})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/meetings/{meeting.id}")

    app_session.rollback()
    present = {i.person_id: i.attended for i in app_session.scalars(select(MeetingInvitee).execution_options(populate_existing=True))}
    assert present == {world["mira"].id: True, world["sanne"].id: False, world["piet"].id: True}
    assert app_session.get(Meeting, meeting.id, populate_existing=True).attendance_recorded_by == "admin@example.org"
    app_session.rollback()

    check = logged_in.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "Aanwezigheid vastgelegd door admin@example.org" in check and check.count(">afwezig<") == 1

    pdf = logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf").data
    text = one_line(pdf_text(pdf))
    rows = pdf_text(pdf, layout=True).splitlines()
    assert "Aanwezigheid vastgelegd door admin@example.org" in text
    # Each participant's row ends with the attendance beside the check.
    # Each participant's row ends with the attendance beside the check (the last column).
    def row_of(name):
        return next(line for line in rows if line.lstrip().startswith(name))
    assert row_of("Mira").rstrip().endswith(" aanwezig") and row_of("Sanne").rstrip().endswith(" afwezig")
    assert row_of("Piet").rstrip().endswith(" aanwezig")
    assert text.count("afwezig") == 1

    # The form shows what was recorded; unticking everybody records them all absent.
    again = logged_in.get(path).get_data(as_text=True)
    assert f'value="{world["mira"].id}" id="attended-{world["mira"].id}" checked' in again
    assert logged_in.post(path, data={"csrf_token": token}).status_code == 302
    app_session.rollback()
    assert {i.attended for i in app_session.scalars(select(MeetingInvitee).execution_options(populate_existing=True))} == {False}


def test_attendance_through_the_api(api, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]]})
    response = api.client.put(f"/api/v1/meetings/{meeting.id}/attendance", json={"attended": [world["sanne"].id]},
                              headers=api.headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["recorded_by"] == "admin@example.org" and body["recorded_at"].endswith("Z")
    assert {i["person_id"]: i["attended"] for i in body["invitees"]} == {world["mira"].id: False, world["sanne"].id: True}
    check = api.get(f"/api/v1/meetings/{meeting.id}/check").get_json()
    assert check["meeting_id"] == meeting.id

    stranger = api.client.put(f"/api/v1/meetings/{meeting.id}/attendance", json={"attended": [world["piet"].id]},
                              headers=api.headers)
    assert stranger.status_code == 422 and "attended" in stranger.get_json()["error"]["fields"]
    bad = api.client.put(f"/api/v1/meetings/{meeting.id}/attendance", json={"attended": "everyone"}, headers=api.headers)
    assert bad.status_code == 422 and "attended" in bad.get_json()["error"]["fields"]


def test_attendance_is_refused_before_the_meeting(logged_in, world, app_session):
    later = rules.today() + dt.timedelta(days=7)
    meeting = plan(app_session, world, later, {"EN-1": [world["mira"]]})
    with pytest.raises(ValidationError) as refused:
        meetings.record_attendance(app_session, meeting, {world["mira"].id}, by="x@example.org")
    assert "attended" in refused.value.fields
    app_session.rollback()
    page = logged_in.get(f"/meetings/{meeting.id}/attendance").get_data(as_text=True)
    assert "Dit overleg heeft nog niet plaatsgevonden." in page and 'name="attended"' not in page
