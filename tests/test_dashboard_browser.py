"""The dashboard in real Chromium on the Emmen demo, with work waiting: usable at 1280 and
at 390 px wide (no sideways scrolling), its charts drawn. With
``FORMS_SERVICE_SCREENSHOTS=1`` the desktop view is saved as docs/screenshots/dashboard.png
(the README's picture) and the phone view beside it."""

from __future__ import annotations

import datetime as dt
import os
import pathlib

import pytest
from sqlalchemy import select

from forms_service.demo import load_demo
from registry import meetings, rules, services
from registry.models import CaseTable, Person
from signatures import workflow

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
SHOTS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = [pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")]


def busy_demo(session, config) -> None:
    """The demo plus a working week: new people invited without a Bijlage 1, Bijlage 1s
    sent days ago (one reminded), a consent waiting, employments ending."""
    load_demo(session)
    session.commit()
    tables = {t.area: t for t in session.scalars(select(CaseTable))}
    people = {p.name: p for p in session.scalars(select(Person))}
    orgs = {p.organisation.name: p.organisation for p in people.values()}
    newcomers = []
    for name, org, area in (("Ruben Zwiers", "GGD Drenthe", "Emmen-Noord"), ("Tineke Post", "Stichting Cosis", "Emmen-Noord"),
                            ("Umut Demir", "Stichting de Toegang Emmen", "Emmen-Zuid"),
                            ("Vera Lamberts", "Stichting Welzijnsorganisatie Sedna", "Emmen-Noord")):
        person = services.create_person(session, name=name, initials=name[0] + ".", organisation_id=orgs[org].id,
                                        function="Consulent", email=name.split()[0].lower() + "@voorbeeld.example")
        newcomers.append((person, tables[area]))
    session.commit()
    for area in ("Emmen-Noord", "Emmen-Zuid"):
        invitees = tuple(p.id for p, t in newcomers if t.area == area)
        meetings.plan_meeting(session, table_id=tables[area].id,
                              starts_at=dt.datetime.combine(rules.today() + dt.timedelta(days=6), dt.time(14)),
                              location="Gemeentehuis", planned_by="demo",
                              cases=[meetings.AgendaItem("EN-2026-021", "jeugd", "0-18", invitees)])
    session.commit()
    config = {**config, "PUBLIC_BASE_URL": "https://casustafel.example"}
    for person, table in newcomers[:2]:
        invitation = workflow.send_declaration(session, config, kind="structural", person_id=person.id,
                                               table_id=table.id, actor="demo", base_url="https://casustafel.example")
        invitation.request.created_at -= dt.timedelta(days=9 if person.name.startswith("R") else 4)
    session.flush()
    first = invitation.request
    workflow.remind(session, config, first.id, actor="demo", base_url="https://casustafel.example")
    services.end_employment(session, people["Mira Kamphuis"], rules.today() + dt.timedelta(days=40))
    session.commit()


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


def open_dashboard(browser, served, cookie, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="nl-NL")
    context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": served}])
    page = context.new_page()
    page.goto(served + "/")
    return context, page


def test_dashboard_on_a_desktop_and_a_phone(browser_page, served, logged_in, app, app_session):
    busy_demo(app_session, app.config)
    cookie_name = app.config.get("SESSION_COOKIE_NAME", "session")
    cookie = (cookie_name, logged_in.get_cookie(cookie_name).value)
    context, page = open_dashboard(browser_page, served, cookie, 1280, 900)
    assert page.locator("h1").inner_text() == "Wat wacht er"
    kinds = page.locator(".dash-line").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert {"awaiting_signature", "missing_bijlage1", "notices_ending", "employments_ending", "evaluation_due"} <= set(kinds)
    assert page.locator("#dash-missing_bijlage1 svg rect.bar").count() == 2  # Emmen-Noord and Emmen-Zuid
    assert "1 herinnering verstuurd" in page.locator("#dash-awaiting_signature").inner_text()
    if os.environ.get("FORMS_SERVICE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.locator("#dash-missing_bijlage1 a").first.click()
    assert "Deelnemers zonder Bijlage 1" in page.locator("#bijlage1").inner_text()
    context.close()

    context, phone = open_dashboard(browser_page, served, cookie, 390, 844)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.locator("#dash-awaiting_signature").is_visible()
    if os.environ.get("FORMS_SERVICE_SCREENSHOTS"):
        phone.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    for path in ("/mensen", "/organisaties", "/ondertekening", "/covenants/1"):
        phone.goto(served + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
    context.close()
