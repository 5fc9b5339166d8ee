"""Staff pages: login with CSRF, the table page with its date picker, a person's tables, escaping."""

from __future__ import annotations

import datetime as dt
import re

from forms_service.demo import load_demo
from registry import services
from registry.models import CaseTable, Person
from sqlalchemy import select
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def test_pages_need_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/tables/1").status_code == 302


def test_login_rejects_a_wrong_password_in_dutch_and_keeps_the_email(client, admin_token):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": "fout", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "E-mailadres of wachtwoord klopt niet." in html
    assert f'value="{ADMIN_EMAIL}"' in html


def test_login_without_csrf_token_is_refused(client, admin_token):
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_table_page_shows_who_may_join_and_why(logged_in, app_session):
    load_demo(app_session)
    app_session.commit()
    north = app_session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Noord"))
    html = logged_in.get(f"/tables/{north.id}?on=2026-03-02&case=EN-2026-014").get_data(as_text=True)
    assert "Casustafel Emmen-Noord" in html
    assert "Mira Kamphuis" in html and "Bijlage 1 getekend op 20 mei 2025 voor Casustafel Emmen-Noord" in html
    assert "Sanne Hofstra" in html and "incidenteel (Bijlage 2)" in html
    assert "heeft op 30 september 2026 opgezegd" not in html  # not yet on 2026-03-02
    before = logged_in.get(f"/tables/{north.id}?on=2025-05-11").get_data(as_text=True)
    assert "Niemand mag op deze datum aanschuiven." in before
    later = logged_in.get(f"/tables/{north.id}?on=2026-12-01").get_data(as_text=True)
    assert "heeft op 30 september 2026 opgezegd; het partnerschap eindigt op 30 december 2026" in later
    bad = logged_in.get(f"/tables/{north.id}?on=morgen")
    assert bad.status_code == 200 and "geen geldige datum" in bad.get_data(as_text=True)


def test_person_page_lists_their_tables(logged_in, app_session):
    load_demo(app_session)
    app_session.commit()
    mira = app_session.scalar(select(Person).where(Person.name == "Mira Kamphuis"))
    html = logged_in.get(f"/people/{mira.id}?on=2026-01-01").get_data(as_text=True)
    assert "Casustafel Emmen-Noord" in html and "Casustafel Emmen-Zuid" in html
    early = logged_in.get(f"/people/{mira.id}?on=2025-05-19").get_data(as_text=True)
    assert "aan geen enkele casustafel" in early
    assert logged_in.get("/people/99999").status_code == 404


def test_user_text_is_escaped_on_pages(logged_in, app_session):
    evil = '<script>alert("x")</script>'
    org = services.create_organisation(app_session, evil)
    cov = services.create_covenant(app_session, pack="p", title="<b>titel</b>", region="r", areas=["a"])
    rep = services.create_person(app_session, name=evil, initials="", organisation_id=org.id)
    services.add_partner(app_session, cov, organisation_id=org.id, representative_id=rep.id, signed_on=dt.date(2025, 1, 1))
    table = services.create_table(app_session, covenant_id=cov.id, name=evil, area="a")
    services.create_declaration(app_session, kind="structural", person_id=rep.id, table_id=table.id, signed_on=dt.date(2025, 1, 1))
    app_session.commit()
    for url in ("/", f"/tables/{table.id}?on=2025-02-01", f"/people/{rep.id}?on=2025-02-01"):
        html = logged_in.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;" in html, url
    assert "<b>titel</b>" not in logged_in.get("/").get_data(as_text=True)


def test_logout_needs_a_post_with_csrf(logged_in):
    assert logged_in.get("/logout").status_code == 405
    page = logged_in.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert logged_in.post("/logout", data={"csrf_token": token}).status_code == 302
    assert logged_in.get("/").status_code == 302


def test_a_refused_rule_on_a_page_is_a_dutch_4xx_not_a_500(logged_in, app_session):
    """A covenant whose template pack is missing: its preview answers 422 with the reason
    (planning a meeting still works: the core falls back to the default themes and age bands)."""
    cov = services.create_covenant(app_session, pack="bestaat-niet", title="T", region="R", areas=["X"])
    table = services.create_table(app_session, covenant_id=cov.id, name="Casustafel X", area="X")
    app_session.commit()
    assert logged_in.get(f"/tables/{table.id}/meetings/new").status_code == 200
    response = logged_in.get(f"/covenants/{cov.id}/preview")
    assert response.status_code == 422
    assert "Sjabloonpakket &#39;bestaat-niet&#39; bestaat niet." in response.get_data(as_text=True)
