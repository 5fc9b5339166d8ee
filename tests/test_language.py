"""The language of the service's own words: Dutch by default, English when chosen with
``?lang=en`` (remembered in a cookie) or asked for by the browser on a first visit."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


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



def test_a_long_date_is_what_babel_writes_for_every_day_in_both_languages():
    """registry.texts writes "d MMMM y" from Babel's month names itself (format_date is
    slow): every day of a leap year and a common year, in Dutch and English, is
    character for character what Babel's format_date gives."""
    import datetime as dt

    from babel.dates import format_date

    from registry import texts

    day = dt.date(2027, 1, 1)
    while day < dt.date(2029, 1, 1):
        for language in texts.LANGUAGES:
            with texts.speaking(language):
                assert texts.long_date(day) == format_date(day, "d MMMM y", locale=language)
        day += dt.timedelta(days=1)


# ----------------------------------------------------------------------------- pages, mails and errors in English

DUTCH_WORDS = ("Opslaan", "Ondertekening", "Uitloggen", "Convenanten", "Formulieren", "Casussen", "Personen",
               "Organisaties", "Niemand mag", "Geen toegang", "Terug naar", "wacht op ondertekening", "Gebruikers",
               "Toegangslog", "Bewijslog", "Verzoeken", "Annuleren", "Versturen", "getekend op", "sinds",
               "Naam", "Waarom", "Niet gevonden", "januari", "februari", "maart", "mei", "juni")
"""Words of the service's own Dutch that an English page must not show (the demo's names
and the pack's texts are Dutch on purpose, so the words are picked to avoid them)."""


def _visible_text(html: str) -> str:
    """What a person reads: the page without tags, scripts and styles."""
    import html as html_lib

    html = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", html)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def _dutch_left(html: str) -> list[str]:
    text = _visible_text(html)
    return [w for w in DUTCH_WORDS if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


def test_main_pages_are_english_when_chosen(logged_in, app_session):
    from sqlalchemy import select

    from forms_service.demo import load_demo
    from registry.models import CaseTable, Covenant, Person

    load_demo(app_session)
    app_session.commit()
    table = app_session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Noord"))
    covenant = app_session.scalar(select(Covenant))
    mira = app_session.scalar(select(Person).where(Person.name == "Mira Kamphuis"))
    assert _lang(logged_in.get("/?lang=en")) == "en"
    pages = ["/", f"/tables/{table.id}?on=2026-03-02", f"/people/{mira.id}?on=2026-01-01", "/covenants",
             f"/covenants/{covenant.id}", "/forms", "/ondertekening", "/outbox", "/beheer/gebruikers/",
             "/verzoeken", "/toegangslog", "/bewijslog", "/account", f"/tables/{table.id}/meetings"]
    for path in pages:
        page = logged_in.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200, (path, page.status_code)
        assert _lang(page) == "en", path
        assert not _dutch_left(html), (path, _dutch_left(html))
    table_page = logged_in.get(f"/tables/{table.id}?on=2026-03-02").get_data(as_text=True)
    assert "Who may join on 2 March 2026" in table_page
    assert "Annex 1 signed on" not in table_page  # the pack's own term stays: "Bijlage 1 signed on 20 May 2025"
    assert "Bijlage 1 signed on 20 May 2025 for Casustafel Emmen-Noord" in table_page
    assert 'data-code="bijlage1_signed"' in table_page and ">bijlage1_signed<" not in table_page
    dutch = logged_in.get(f"/tables/{table.id}?on=2026-03-02&lang=nl").get_data(as_text=True)
    assert "Bijlage 1 getekend op 20 mei 2025 voor Casustafel Emmen-Noord" in dutch and _lang_of(dutch) == "nl"


def _lang_of(html: str) -> str:
    return re.search(r'<html lang="([a-z]+)"', html).group(1)


def test_a_mail_sent_from_an_english_page_is_english(logged_in, app_session):
    from sqlalchemy import select

    from signatures.models import OutboxMessage
    from tests.auth_support import csrf_of

    page = logged_in.get("/beheer/gebruikers/nieuw?lang=en").get_data(as_text=True)
    assert "Invite a user" in page
    sent = logged_in.post("/beheer/gebruikers/nieuw", data={"csrf_token": csrf_of(page), "name": "Eve English",
                                                           "email": "eve@example.org", "role": "admin"})
    assert sent.status_code == 302, sent.get_data(as_text=True)
    message = next(m for m in app_session.scalars(select(OutboxMessage)) if m.to == "eve@example.org")
    assert message.subject == "Your account for Covenant management for case tables"
    assert message.body.startswith("Dear Eve English,") and "Kind regards," in message.body
    assert "Beste" not in message.body and "UTC" not in message.body
    assert re.search(r"expires on \d{1,2} [A-Z][a-z]+ \d{4} \d\d:\d\d\.", message.body), message.body
    logged_in.get("/?lang=nl")
    again = logged_in.get("/beheer/gebruikers/nieuw").get_data(as_text=True)
    logged_in.post("/beheer/gebruikers/nieuw", data={"csrf_token": csrf_of(again), "name": "Nina Nederlands",
                                                    "email": "nina@example.org", "role": "admin"})
    dutch = next(m for m in app_session.scalars(select(OutboxMessage)) if m.to == "nina@example.org")
    assert dutch.body.startswith("Beste Nina Nederlands,") and "Met vriendelijke groet," in dutch.body


def test_an_unknown_web_address_gets_our_error_page_in_both_languages(client):
    dutch = client.get("/bestaat-niet", headers={"Accept-Language": "nl"})
    html = dutch.get_data(as_text=True)
    assert dutch.status_code == 404 and _lang(dutch) == "nl"
    assert "Niet gevonden" in html and "Deze pagina bestaat niet (meer)" in html and "Not Found" not in html
    english = client.get("/bestaat-niet?lang=en")
    html = english.get_data(as_text=True)
    assert english.status_code == 404 and _lang(english) == "en"
    assert "Not found" in html and "This page does not exist (any more)" in html
    assert "The requested URL was not found on the server" not in html
    api = client.get("/api/v1/bestaat-niet?lang=en")
    assert api.status_code == 404 and api.is_json and api.json["error"]["code"] == "not_found"


def test_a_forbidden_or_gone_web_page_is_ours_too(app):
    from werkzeug.exceptions import Forbidden, Gone

    from forms_service.web import http_error_page

    with app.test_request_context("/iets?lang=en"):
        app.preprocess_request()
        body, status = http_error_page(Forbidden())
        assert status == 403 and "You do not have access to this page." in body
        body, status = http_error_page(Gone())
        assert status == 410 and "no longer available" in body
    with app.test_request_context("/iets"):
        app.preprocess_request()
        body, status = http_error_page(Gone("Deze link is verlopen."))
        assert status == 410 and "Deze link is verlopen." in body and "Niet meer beschikbaar" in body


def test_statuses_are_words_in_the_page_language(app):
    from forms_service.i18n import status_text

    with app.test_request_context("/?lang=nl"):
        assert status_text("pending") == "verstuurd, nog niet geopend" and status_text("declined") == "geweigerd"
    with app.test_request_context("/?lang=en"):
        assert status_text("pending") == "sent, not opened yet" and status_text("signed") == "signed"
        assert status_text("sealed") == "sealed" and status_text(None) == "—"


def test_reason_texts_follow_the_request_and_stay_dutch_outside_one(app):
    import datetime as dt

    from registry import rules

    covenant = rules.CovenantFacts(1, "C", in_force_on=dt.date(2025, 5, 1))
    partner = rules.PartnershipFacts(7, "Stichting Cosis", signed_on=dt.date(2025, 6, 1), founding=False)
    outside = rules.organisation_decision(covenant, partner, dt.date(2025, 6, 2)).reasons[0].text
    assert outside == "Stichting Cosis is convenantpartner sinds 1 juni 2025 (convenant toegetreden op 1 juni 2025)."
    with app.test_request_context("/?lang=en"):
        english = rules.organisation_decision(covenant, partner, dt.date(2025, 6, 2)).reasons[0].text
    assert english == "Stichting Cosis has been a covenant partner since 1 June 2025 (covenant acceded on 1 June 2025)."


def test_an_api_error_follows_the_client_language_and_is_dutch_by_default(api, client):
    """A 422 / 404 / 401 from the cores' error paths: Dutch without a language, English
    with ``Accept-Language: en`` or ``?lang=en``; the codes stay the same."""
    body = {"kind": "incidental", "person_id": 1, "table_id": 1}
    dutch = api.post("/api/v1/declarations", body)
    assert dutch.status_code == 422 and dutch.json["error"]["code"] == "validation_error", dutch.json
    assert dutch.json["error"]["fields"]["case_ref"] == "Een Bijlage 2 geldt voor één casus: vul de casusreferentie in."
    assert dutch.json["error"]["message"] == "Controleer de velden."
    english = api.client.post("/api/v1/declarations", json=body,
                              headers={**api.headers, "Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 422 and english.json["error"]["code"] == "validation_error"
    assert english.json["error"]["fields"]["case_ref"] == "An Annex 2 applies to one case: enter the case reference."
    assert english.json["error"]["message"] == "Check the fields."
    unknown = api.get("/api/v1/check?person=999999&table=999&lang=en")
    assert unknown.status_code == 404, unknown.json
    assert unknown.json["error"]["message"] == "Case table 999 does not exist.", unknown.json
    assert api.get("/api/v1/check?person=9&table=999").json["error"]["message"] == "Casustafel 999 bestaat niet."
    no_token = client.get("/api/v1/outbox", headers={"Accept-Language": "en"})
    assert no_token.status_code == 401 and no_token.json["error"]["message"].startswith("Send a valid API token")
    # the page's cookie is not the API's language: only ?lang= and Accept-Language are
    client.get("/openbaar/convenanten?lang=en")
    assert api.post("/api/v1/declarations", body).json["error"]["message"] == "Controleer de velden."


def test_an_unknown_api_address_and_a_wrong_method_answer_in_the_client_language(client, admin_token):
    """Werkzeug's own English descriptions never reach an API client: a 404 and a 405
    under /api/ say it in Dutch by default and in English when asked, codes unchanged."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    dutch = client.get("/api/v1/no-such-thing", headers=headers)
    assert dutch.status_code == 404 and dutch.json["error"]["code"] == "not_found"
    assert dutch.json["error"]["message"] == "Dit adres bestaat niet in de API."
    english = client.get("/api/v1/no-such-thing", headers={**headers, "Accept-Language": "en"})
    assert english.json["error"]["message"] == "This address does not exist in the API."
    wrong = client.delete("/api/v1/check", headers=headers)
    assert wrong.status_code == 405 and wrong.headers["Allow"] and "niet toegestaan" in wrong.json["error"]["message"]


def test_the_schema_layer_answers_in_the_client_language_too(api):
    """The shape errors of the schema layer (made once, in Dutch) are written in the
    client's language: fixed messages and those with a number or a list in them."""
    body = {"name": "x" * 500}
    dutch = api.post("/api/v1/organisations", body)
    assert dutch.status_code == 422, dutch.json
    english = api.client.post("/api/v1/organisations?lang=en", json=body, headers=api.headers)
    assert english.status_code == 422 and english.json["error"]["code"] == dutch.json["error"]["code"]
    assert set(english.json["error"]["fields"]) == set(dutch.json["error"]["fields"])
    assert dutch.json["error"]["fields"]["name"] == "Te lang (maximaal 200 tekens)."
    assert english.json["error"]["fields"]["name"] == "Too long (at most 200 characters)."
    bad_date = api.client.get("/api/v1/check?person=1&table=1&on=2026-13-45&lang=en", headers=api.headers)
    assert bad_date.status_code == 400
    assert bad_date.json["error"]["fields"]["on"].startswith("Not a valid date; use YYYY-MM-DD with a year from ")
    empty = api.client.get("/api/v1/check?person=1&table=1&on=&lang=en", headers=api.headers)
    assert empty.json["error"]["fields"]["on"].startswith("Empty date: use YYYY-MM-DD"), empty.json
    no_body = api.client.post("/api/v1/organisations?lang=en", data="[]", headers={**api.headers,
                                                                                    "Content-Type": "application/json"})
    assert no_body.status_code == 400 and no_body.json["error"]["message"].startswith("The body must be a JSON object")


def test_the_worker_writes_to_a_signer_in_the_language_the_request_was_sent_in(smtp_app, api, app_session):
    """A request sent in English (the sender's language) is stored with it; the worker's
    reminder, outside any request, is English for that signer and Dutch for the other."""
    import datetime as dt

    from sqlalchemy import select, update

    from signatures.models import SigningRequest
    from tests import signing_support as support

    app, inbox = smtp_app
    app.config.update(SIGNING_REMINDER_DAYS=3)
    english_covenant, (english_rep,) = support.covenant_with_partners(api, 1, prefix="English")
    dutch_covenant, (dutch_rep,) = support.covenant_with_partners(api, 1, prefix="Dutch")
    sent = api.client.post(f"/api/v1/covenants/{english_covenant}/signing-requests",
                           headers={**api.headers, "Accept-Language": "en"})
    assert sent.status_code == 201, sent.json
    assert api.post(f"/api/v1/covenants/{dutch_covenant}/signing-requests").status_code == 201
    requests = app_session.scalars(select(SigningRequest)).all()
    assert {r.signer_email: r.language for r in requests} == {english_rep["email"]: "en", dutch_rep["email"]: "nl"}
    four_days_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=4)
    app_session.execute(update(SigningRequest).values(created_at=four_days_ago))
    app_session.commit()

    assert support.worker_round(app)["reminders"] == "herinneringen: 2"
    reminders = {to[0]: message for to, message in inbox.messages
                 if message["Subject"].startswith(("Reminder:", "Herinnering:"))}
    english = reminders[english_rep["email"]]
    body = english.get_content()
    assert english["Subject"] == "Reminder: request to sign: Convenant Samenwerking Casustafel Emmen"
    assert body.startswith(f"Dear {english_rep['name']},") and "Kind regards," in body
    assert "Earlier links for this request no longer work." in body
    assert re.search(r"\(\d{1,2} [A-Z][a-z]+ \d{4} \d\d:\d\d\)", body), body
    assert "Beste" not in body and "Met vriendelijke groet" not in body
    dutch = reminders[dutch_rep["email"]]
    assert dutch["Subject"].startswith("Herinnering: verzoek om te ondertekenen:")
    assert dutch.get_content().startswith(f"Beste {dutch_rep['name']},")
    assert "Met vriendelijke groet," in dutch.get_content()
    # The link in the English mail opens the signing page in English; the Dutch one has no ?lang=.
    english_link = re.search(r"https?://\S+/onderteken/\S+", body).group(0)
    assert english_link.endswith("?lang=en"), english_link
    assert "?lang=" not in re.search(r"https?://\S+/onderteken/\S+", dutch.get_content()).group(0)
    parts = urlsplit(english_link)
    page = app.test_client().get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200 and 'lang="en"' in page.get_data(as_text=True)
