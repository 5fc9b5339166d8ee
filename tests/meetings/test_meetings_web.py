"""The meeting pages: plan (errors keep what was typed), check, PDF, consent withdrawal."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from sqlalchemy import select

from signatures.meeting_list import render_meeting_check
from registry import meetings
from registry.models import Consent, Meeting
from tests.meetings.world import D, build, plan


@pytest.fixture
def world(app_session):
    """The shared meeting world, committed in the app's database."""
    return build(app_session)


def csrf(client, path: str) -> str:
    """The CSRF token of the form on a page."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_pages_need_a_login(client, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    for path in (f"/tables/{world['north'].id}/meetings/new", f"/meetings/{meeting.id}",
                 f"/meetings/{meeting.id}/toetsingslijst.pdf", f"/consents/{world['consent'].id}/withdraw"):
        assert client.get(path).status_code == 302


def test_plan_a_meeting_through_the_form(logged_in, world, app_session):
    path = f"/tables/{world['north'].id}/meetings/new"
    page = logged_in.get(path).get_data(as_text=True)
    assert "Sanne" in page and "Mira" in page  # people with a declaration at the table
    data = {
        "csrf_token": csrf(logged_in, path), "day": "2026-03-10", "time": "14:00", "location": "Gemeentehuis",
        "confirm_past": "y",  # 2026-03-10 lies in the past: the form asks to confirm it
        "cases-0-case_ref": "EN-1", "cases-0-theme": "jeugd", "cases-0-age_band": "0-18",
        "cases-0-invitee_ids": [str(world["mira"].id), str(world["sanne"].id)],
        "cases-1-case_ref": "EN-2", "cases-1-theme": "wonen", "cases-1-invitee_ids": [str(world["mira"].id)],
    }
    response = logged_in.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    meeting = app_session.scalars(select(Meeting)).one()
    assert meeting.starts_at == dt.datetime(2026, 3, 10, 14) and [c.case.reference for c in meeting.cases] == ["EN-1", "EN-2"]
    app_session.rollback()  # SQLite: end the read so the app's next transaction can start
    check = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Casus EN-1" in check and "naam en adresgegevens, een korte samenvatting van de situatie" in check and "name_address" not in check and "incidenteel" in check


def test_plan_errors_keep_what_was_typed_and_write_nothing(logged_in, world, app_session):
    path = f"/tables/{world['north'].id}/meetings/new"
    data = {
        "csrf_token": csrf(logged_in, path), "day": "2026-03-10", "time": "14:00", "location": "Zaal 3",
        "cases-0-case_ref": "EN-7", "cases-0-theme": "jeugd",  # nobody takes part
        "cases-1-case_ref": "EN-1", "cases-1-invitee_ids": [str(world["mira"].id)],
    }
    response = logged_in.post(path, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Kies ten minste één deelnemer voor deze casus." in page
    assert 'value="EN-7"' in page and 'value="Zaal 3"' in page and '<option selected value="jeugd">' in page
    assert app_session.scalars(select(Meeting)).all() == []
    app_session.rollback()
    missing_day = logged_in.post(path, data={"csrf_token": data["csrf_token"], "time": "14:00"})
    assert missing_day.status_code == 422 and "Vul de datum in." in missing_day.get_data(as_text=True)


def test_check_page_warns_and_offers_to_send_for_signing(logged_in, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["piet"]], "EN-2": [world["sanne"]]})
    page = logged_in.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "bijlage1_missing" in page and "bijlage2_needed" in page
    assert "Stuur Bijlage 1 ter ondertekening" in page and "Stuur Bijlage 2 ter ondertekening" in page
    assert not re.search(r"<button type=\"submit\" disabled", page)
    assert logged_in.get("/meetings/99999").status_code == 404


def test_withdraw_consent_through_the_web(logged_in, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    assert "ja: naam en adresgegevens" in logged_in.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    path = f"/consents/{world['consent'].id}/withdraw"
    token = csrf(logged_in, path)
    early = logged_in.post(path, data={"csrf_token": token, "on": "2026-01-01"})  # before signing
    assert early.status_code == 422 and "Getekend op 16 februari 2026" in early.get_data(as_text=True)
    assert logged_in.post(path, data={"csrf_token": token, "on": "2026-03-05"}).status_code == 302
    meeting_id, consent_id = meeting.id, world["consent"].id
    app_session.expire_all()
    consent = app_session.get(Consent, consent_id)
    assert (consent.withdrawn_on, consent.withdrawn_by) == (D(2026, 3, 5), "admin@example.org")
    app_session.rollback()  # SQLite: end the read (and touch no expired object after it)
    page = logged_in.get(f"/meetings/{meeting_id}").get_data(as_text=True)
    assert "consent_withdrawn" in page and "ingetrokken per 5 maart 2026 (admin@example.org)" in page


def test_pdf_download_reads_back_with_pdftotext(logged_in, world, app_session, tmp_path):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["sanne"]]})
    response = logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.data, tmp_path)
    assert "Presentie- en toetsingslijst" in text and "Casus EN-1" in text and "Casus EN-2" in text
    assert "toetsing uitgevoerd op" in text and "Getoetst per vergaderdatum 10 maart 2026" in text
    assert "Bijlage 2 getekend op 2 maart 2026" in text
    # The list's points of attention are texts for people, never the registry's codes.
    import dataclasses

    from registry import rules
    check = meetings.meeting_check(app_session, meeting.id)
    warned = dataclasses.replace(check, warnings=(rules.role_warning("chair", None, None),))
    text = pdftotext(render_meeting_check(warned, "emmen-casustafel").pdf, tmp_path)
    assert "De casustafel heeft geen voorzitter." in text and "no_chair" not in text


def test_the_list_speaks_the_language_of_the_one_who_exports_it(logged_in, world, app_session, tmp_path):
    """Labels, dates and reasons follow ``?lang=``; the covenant's article text stays the
    pack's; a Dutch list in the cache is not handed out for English (language in the key)."""
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]]})
    dutch = pdftotext(logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf?lang=nl").data, tmp_path)
    english_pdf = logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf?lang=en")
    assert english_pdf.status_code == 200 and english_pdf.mimetype == "application/pdf"
    english = pdftotext(english_pdf.data, tmp_path)
    assert "Attendance and check list" in english and "Case EN-1" in english
    assert "Participant" in english and "May join" in english and "Present / initials" in english
    assert "Checked as of the meeting date 10 March 2026" in english and "Signature of the chair:" in english
    assert "meeting on 10 March 2026 at" in english
    for dutch_label in ("Presentie- en toetsingslijst", "Deelnemer", "Mag aanschuiven", "Getoetst per",
                        "Handtekening voorzitter", "maart"):
        assert dutch_label not in english, dutch_label
    assert "Artikel 6 van het convenant" in english  # the covenant's own words stay in the pack's language
    assert "Deelnemer" in dutch and "Getoetst per vergaderdatum 10 maart 2026" in dutch
    again = pdftotext(logged_in.get(f"/meetings/{meeting.id}/toetsingslijst.pdf?lang=nl").data, tmp_path)
    assert "Presentie- en toetsingslijst" in again and "Attendance and check list" not in again


def pdftotext(data: bytes, tmp_path) -> str:
    """The PDF's text (layout off, whitespace collapsed)."""
    path = tmp_path / "list.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def test_pdf_escapes_values_and_fetches_nothing(session, tmp_path):
    world = build(session)
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    meeting.location = '<img src="http://127.0.0.1:9/x.png">Zaal <b>4</b>'
    session.commit()
    check = meetings.meeting_check(session, meeting.id, dt.datetime(2026, 3, 9, 9, 30, tzinfo=meetings.AMSTERDAM))
    document = render_meeting_check(check, "emmen-casustafel")
    assert "&lt;img" in document.html and '<img src="http' not in document.html
    text = pdftotext(document.pdf, tmp_path)
    assert "toetsing uitgevoerd op 9 maart 2026 09:30:00" in text and '<img src="http://127.0.0.1:9/x.png">Zaal <b>4</b>' in text


def test_need_to_know_withdrawal_from_the_check_page(logged_in, world, app_session):
    meeting = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"]], "EN-2": [world["mira"]]})
    meeting_id, ggd_id = meeting.id, world["ggd"].id
    path = f"/meetings/{meeting_id}"
    page = logged_in.get(path).get_data(as_text=True)
    assert "Geen noodzaak meer tot kennisname" in page and "need_to_know_withdrawn" not in page
    token = csrf(logged_in, f"/consents/{world['consent'].id}/withdraw")
    response = logged_in.post(f"{path}/need-to-know", data={"csrf_token": token, "case_ref": "EN-2", "organisation_id": str(ggd_id), "on": "2026-03-10"})
    assert response.status_code == 302
    page = logged_in.get(path).get_data(as_text=True)
    assert "need_to_know_withdrawn" in page and "Vastgelegd" in page
    again = logged_in.post(f"{path}/need-to-know", data={"csrf_token": token, "case_ref": "EN-2", "organisation_id": str(ggd_id), "on": "2026-03-10"})
    assert "Al aangegeven per 10 maart 2026" in logged_in.get(again.headers["Location"]).get_data(as_text=True)
