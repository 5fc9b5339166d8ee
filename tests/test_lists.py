"""Finding things: the lists of people and of organisations with search and pagination
(50 a page), the table page's people list paginated (a table with 300 people is no
35,000-pixel page), and the menu's links for those entitled."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from registry import accounts, services
from registry.accounts import GrantSpec
from tests import factories as f
from tests.auth_support import login

D = dt.date


def rows(text: str, cls: str) -> list[str]:
    """The first cell's link text of every body row of the table with class ``cls``."""
    table = text[text.index(f'class="stack {cls}"'):]
    body = table[table.index("<tbody>"):table.index("</tbody>")]
    return [html.unescape(name) for name in re.findall(r"<tr>\s*<td[^>]*><a [^>]*>([^<]+)</a>", body)]


@pytest.fixture
def crowd(app_session):
    """A covenant with a partner of 120 people (Bijlage 1 at its table) and 60 other organisations."""
    big = f.organisation(app_session, "Grote Zorg B.V.")
    cov = f.covenant(app_session, [(big, D(2025, 5, 5))])
    table = f.table(app_session, cov)
    people = []
    for number in range(120):
        person = f.person(app_session, big, f"Medewerker {number:03d}")
        services.create_declaration(app_session, kind="structural", person_id=person.id, table_id=table.id,
                                    signed_on=D(2025, 6, 1))
        people.append(person)
    for number in range(60):
        f.organisation(app_session, f"Stichting {number:02d}")
    app_session.commit()
    return {"cov": cov, "table": table, "big": big, "people": people}


def test_people_list_pages_by_fifty_and_searches(logged_in, crowd):
    first = logged_in.get("/mensen").get_data(as_text=True)
    names = rows(first, "people-list")
    assert len(names) == 50 and names == sorted(names)
    assert "1–50 van 121" in first and 'rel="next"' in first  # 120 + the representative
    third = rows(logged_in.get("/mensen?page=3").get_data(as_text=True), "people-list")
    assert len(third) == 21
    beyond = rows(logged_in.get("/mensen?page=99").get_data(as_text=True), "people-list")
    assert beyond == third  # past the end: the last page
    assert rows(logged_in.get("/mensen?page=abc").get_data(as_text=True), "people-list") == names
    found = logged_in.get("/mensen?q=medewerker 07").get_data(as_text=True)
    assert rows(found, "people-list") == [f"Medewerker 07{n}" for n in range(10)] and "10 personen gevonden." in found
    by_org = logged_in.get("/mensen?q=grote zorg").get_data(as_text=True)
    assert "121 personen gevonden." in by_org
    assert rows(logged_in.get("/mensen?q=%25").get_data(as_text=True), "people-list") == []  # % is plain text
    escaped = logged_in.get("/mensen?q=<script>").get_data(as_text=True)
    assert "<script>" not in escaped and "&lt;script&gt;" in escaped


def test_organisation_list_searches_and_pages(logged_in, crowd):
    first = logged_in.get("/organisaties").get_data(as_text=True)
    assert len(rows(first, "organisations-list")) == 50 and "1–50 van 61" in first
    found = logged_in.get("/organisaties?q=grote").get_data(as_text=True)
    assert rows(found, "organisations-list") == ["Grote Zorg B.V."] and "Convenant Test" in found
    assert ">121<" in found  # its people


def test_a_table_with_many_people_is_paginated(logged_in, crowd):
    path = f"/tables/{crowd['table'].id}"
    page = logged_in.get(path).get_data(as_text=True)
    section = page[page.index('id="personen"'):]
    section = section[:section.index("</section>")]
    assert "Personen (120)" in section and section.count("structureel (Bijlage 1)") == 50
    assert "1–50 van 120" in section and f'href="{path}?page=2#personen"' in section
    last = logged_in.get(f"{path}?page=3").get_data(as_text=True)
    last = last[last.index('id="personen"'):]
    assert last[:last.index("</section>")].count("structureel (Bijlage 1)") == 20


def test_lists_are_scoped_to_the_accounts_covenants(client, app_session, crowd):
    other_org = f.organisation(app_session, "Elders")
    other = f.covenant(app_session, [(other_org, D(2025, 5, 5))])
    f.person(app_session, other_org, "Iemand Elders")
    chair = accounts.create_user(app_session, "chair@x.example", "een lang wachtwoord",
                                 grants=[GrantSpec("chair", table_id=f.table(app_session, other).id)])
    app_session.commit()
    login(client, chair.email, "een lang wachtwoord")
    people = client.get("/mensen?q=iemand").get_data(as_text=True)
    assert rows(people, "people-list") == ["Iemand Elders"]
    assert rows(client.get("/mensen?q=medewerker 0").get_data(as_text=True), "people-list") == []  # not the other covenant
    assert rows(client.get("/organisaties").get_data(as_text=True), "organisations-list") == ["Elders"]


def test_menu_links_for_those_entitled(client, logged_in, app_session, crowd):
    admin_page = logged_in.get("/").get_data(as_text=True)
    for href in ('href="/ondertekening"', 'href="/outbox"', 'href="/verify"', 'href="/mensen"', 'href="/organisaties"'):
        assert href in admin_page
    privacy = accounts.create_user(app_session, "privacy@x.example", "een lang wachtwoord",
                                   grants=[GrantSpec("privacy_officer", covenant_id=crowd["cov"].id)])
    app_session.commit()
    response = login(client, privacy.email, "een lang wachtwoord")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/verify"' in page and 'href="/ondertekening"' not in page and 'href="/outbox"' not in page
    assert 'href="/mensen"' not in page and client.get("/mensen").status_code == 403
