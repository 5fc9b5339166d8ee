"""The language of the service's own words: Dutch by default, English when chosen with
``?lang=en`` (remembered in a cookie) or asked for by the browser on a first visit."""

from __future__ import annotations

import re


def _lang(response) -> str:
    match = re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:200]
    return match.group(1)


def test_dutch_by_default_with_a_switch_to_english(client):
    page = client.get("/openbaar/convenanten")
    assert page.status_code == 200
    assert _lang(page) == "nl"
    assert 'hreflang="en"' in page.get_data(as_text=True)


def test_a_choice_is_remembered_over_the_browser_language(client):
    chosen = client.get("/openbaar/convenanten?lang=en", headers={"Accept-Language": "nl"})
    assert _lang(chosen) == "en"
    assert "lang=en" in chosen.headers.get("Set-Cookie", "")
    later = client.get("/openbaar/convenanten", headers={"Accept-Language": "nl"})
    assert _lang(later) == "en"
    back = client.get("/openbaar/convenanten?lang=nl")
    assert _lang(back) == "nl"
    assert _lang(client.get("/openbaar/convenanten", headers={"Accept-Language": "en"})) == "nl"


def test_first_visit_follows_accept_language(client):
    assert _lang(client.get("/openbaar/convenanten", headers={"Accept-Language": "en-GB,en;q=0.8"})) == "en"
    assert _lang(client.get("/openbaar/convenanten", headers={"Accept-Language": "de, fr;q=0.5"})) == "nl"


def test_an_unknown_language_is_ignored(client):
    page = client.get("/openbaar/convenanten?lang=xx")
    assert page.status_code == 200
    assert _lang(page) == "nl"
    assert "Set-Cookie" not in page.headers or "lang=" not in page.headers["Set-Cookie"]


def test_dates_and_times_as_people_write_them(app):
    import datetime as dt

    from forms_service.i18n import local_time, long_date

    with app.test_request_context("/?lang=nl"):
        assert long_date(dt.date(2025, 5, 12)) == "12 mei 2025"
        assert long_date("2025-05-12") == "12 mei 2025"
        assert long_date(None) == "—"
        # 12:05 UTC is 14:05 in Amsterdam in summer, 13:05 in winter
        assert local_time(dt.datetime(2025, 5, 12, 12, 5)) == "12 mei 2025 14:05"
        assert local_time(dt.datetime(2025, 1, 12, 12, 5)) == "12 januari 2025 13:05"
    with app.test_request_context("/?lang=en"):
        assert long_date(dt.date(2025, 5, 12)) == "12 May 2025"
