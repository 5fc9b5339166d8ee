"""Staff pages for documents: the covenant form, preview and downloads; Bijlage 1, 2 and
4 forms (Dutch errors, typed values kept, one transaction, CSRF); blank forms; escaping."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import func, select

from registry import services
from registry.documents import load_pack, render
from registry.models import Case, Consent, Covenant, Declaration, Organisation, Partnership, Person
from tests import factories
from tests.readback import docx_text, one_line, pdf_text, ticked

from tests.emmen_fixtures import PACK, world  # noqa: F401  (``world`` is a fixture)


def csrf(client, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def post(client, path: str, data: dict):
    """Post a form the way a browser does, with the page's CSRF token."""
    return client.post(path, data={"csrf_token": csrf(client, path), **data})


def count(session, model) -> int:
    """Rows of a table, read fresh."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def errors(response) -> list[str]:
    """The field error messages on a page."""
    return [html_lib.unescape(e) for e in re.findall(r'<p class="error">([^<]*)</p>', response.get_data(as_text=True))]


def new_covenant_data(world, **overrides) -> dict:
    """A valid new-covenant post: one new partner, one existing, one table."""
    data = {
        "title": "Convenant Casustafel Nieuwdorp", "region": "Nieuwdorp", "pack": PACK,
        "partners-0-organisation": "Zorggroep Nieuwdorp", "partners-0-name": "Piet Pietersen", "partners-0-initials": "P.",
        "partners-0-function": "Bestuurder", "partners-0-email": "piet@zorg.example",
        "partners-1-organisation": "ggd drenthe", "partners-1-name": "Rianne ter Laak", "partners-1-initials": "R.",
        "partners-1-function": "Directeur", "partners-1-email": "",
        "partners-2-organisation": "", "partners-2-name": "", "partners-2-initials": "", "partners-2-function": "", "partners-2-email": "",
    }
    areas = [a.name for a in load_pack(PACK).areas]
    data["areas"] = "\n".join(areas)
    for i, area in enumerate(areas):
        data[f"tables-{i}-area"] = area
        data[f"tables-{i}-chair_id"] = ""
        data[f"tables-{i}-coordinator_id"] = ""
    north = f"tables-{areas.index('Emmen-Noord')}"
    data[f"{north}-enabled"] = "y"
    data[f"{north}-chair_id"] = str(world["chair"].id)  # the pack's roles: Stichting de Toegang
    data[f"{north}-coordinator_id"] = str(world["coordinator"].id)  # and Sedna
    data.update(overrides)
    return data


def bijlage4_data(world, **overrides) -> dict:
    """A valid Bijlage 4 post."""
    data = {
        "resident_name": "Jan Jansen", "resident_birth_date": "2019-03-04", "signed_by": "parents",
        "purpose": "passende begeleiding bij wonen te vinden", "categories": ["name_address", "situation_summary"],
        "recipients": [str(world["ggd"].id), str(world["buurtteam"].id)], "other_recipients": "Sportclub De Bal",
        "case_ref": "EN-2026-021", "table_id": str(world["table"].id), "signed_on": "2026-03-02",
    }
    data.update(overrides)
    return data


# ----------------------------------------------------------------------------- access and navigation


@pytest.mark.parametrize("path", ["/covenants", "/covenants/new", "/covenants/1", "/covenants/1/preview", "/covenants/1/convenant.pdf",
                                  "/forms", "/forms/bijlage1", "/forms/bijlage2", "/forms/bijlage4", f"/forms/{PACK}/bijlage1.pdf",
                                  "/declarations/1", "/consents/1"])
def test_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_navigation_links_on_every_page(logged_in, world):
    for path in ("/", "/covenants", "/forms", f"/tables/{world['table'].id}"):
        page = logged_in.get(path).get_data(as_text=True)
        assert '<a href="/covenants">Convenanten</a>' in page and '<a href="/forms">Formulieren</a>' in page, path


# ----------------------------------------------------------------------------- covenant


def test_create_a_covenant_with_partners_and_a_table(logged_in, app_session, world):
    response = post(logged_in, "/covenants/new", new_covenant_data(world))
    assert response.status_code == 302, errors(response)
    covenant = app_session.scalar(select(Covenant).where(Covenant.title == "Convenant Casustafel Nieuwdorp"))
    assert covenant.status == "draft" and response.headers["Location"] == f"/covenants/{covenant.id}"
    partners = {(p.organisation.name, p.representative.name, p.representative.function) for p in covenant.partnerships}
    assert partners == {("Zorggroep Nieuwdorp", "Piet Pietersen", "Bestuurder"), ("GGD Drenthe", "Rianne ter Laak", "Directeur")}
    assert count(app_session, Organisation) == 6  # the typed "ggd drenthe" is the existing GGD Drenthe
    [table] = covenant.tables
    assert (table.area, table.chair_id, table.coordinator_id) == ("Emmen-Noord", world["chair"].id, world["coordinator"].id)


def test_covenant_form_errors_are_dutch_keep_the_input_and_write_nothing(logged_in, app_session, world):
    before = (count(app_session, Covenant), count(app_session, Organisation), count(app_session, Person))
    bad = new_covenant_data(world, title="", **{"partners-0-email": "geen-adres", "partners-2-organisation": "Alleen Organisatie"})
    response = post(logged_in, "/covenants/new", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert {"Dit veld is verplicht.", "Vul een geldig e-mailadres in.", "Vul de naam van de vertegenwoordiger in."} <= set(errors(response))
    assert 'value="geen-adres"' in page and 'value="Alleen Organisatie"' in page and 'value="Zorggroep Nieuwdorp"' in page
    assert (count(app_session, Covenant), count(app_session, Organisation), count(app_session, Person)) == before


def test_a_refusal_halfway_rolls_back_the_whole_covenant(logged_in, app_session, world):
    """The second partner is the same organisation as the first: add_partner refuses after
    the covenant, an organisation and a person were flushed. Nothing of it may stay."""
    before = (count(app_session, Covenant), count(app_session, Organisation), count(app_session, Person), count(app_session, Partnership))
    data = new_covenant_data(world, **{"partners-1-organisation": "Zorggroep Nieuwdorp", "partners-1-name": "Anna", "partners-1-initials": "A."})
    response = post(logged_in, "/covenants/new", data)
    assert response.status_code == 200
    assert "Deze organisatie staat al op het convenant." in errors(response)
    page = response.get_data(as_text=True)
    assert re.search(r'id="partners-1-organisation"[^>]*value="Zorggroep Nieuwdorp"|value="Zorggroep Nieuwdorp"[^>]*id="partners-1-organisation"', page)
    after = (count(app_session, Covenant), count(app_session, Organisation), count(app_session, Person), count(app_session, Partnership))
    assert after == before


def test_edit_a_draft_adds_partners_and_names_table_roles(logged_in, app_session, world):
    covenant = factories.covenant(app_session, partners=(), in_force=False)
    app_session.commit()
    path = f"/covenants/{covenant.id}/edit"
    data = new_covenant_data(world, title="Hernoemd", **{"partners-1-organisation": ""} | {"partners-1-name": "", "partners-1-initials": "", "partners-1-function": ""})
    response = post(logged_in, path, data)
    assert response.status_code == 302, errors(response)
    app_session.expire_all()
    covenant = app_session.get(Covenant, covenant.id)
    assert covenant.title == "Hernoemd" and [p.organisation.name for p in covenant.partnerships] == ["Zorggroep Nieuwdorp"]
    other_chair = services.create_person(app_session, name="Bram Bos", initials="B.", organisation_id=world["toegang"].id)
    app_session.commit()
    north = "tables-" + str([a.name for a in load_pack(PACK).areas].index("Emmen-Noord"))
    second = post(logged_in, path, new_covenant_data(world, title="Hernoemd", **{f"partners-{i}-{f}": "" for i in range(3) for f in ("organisation", "name", "initials", "function", "email")}, **{f"{north}-chair_id": str(other_chair.id)}))
    assert second.status_code == 302, errors(second)
    app_session.expire_all()
    assert app_session.get(Covenant, covenant.id).tables[0].chair_id == other_chair.id
    refused = post(logged_in, path, new_covenant_data(world, title="Hernoemd", **{f"partners-{i}-{f}": "" for i in range(3) for f in ("organisation", "name", "initials", "function", "email")}, **{f"{north}-chair_id": str(world["nurse"].id)}))
    assert refused.status_code == 200 and any("Stichting de Toegang Emmen" in e for e in errors(refused))
    assert len(app_session.get(Covenant, covenant.id).tables) == 1


def test_a_covenant_in_force_cannot_be_edited(logged_in, world):
    response = logged_in.get(f"/covenants/{world['covenant'].id}/edit")
    assert response.status_code == 302 and response.headers["Location"] == f"/covenants/{world['covenant'].id}"


def test_covenant_page_preview_and_downloads(logged_in, world):
    cid = world["covenant"].id
    page = logged_in.get(f"/covenants/{cid}").get_data(as_text=True)
    assert f'src="/covenants/{cid}/preview"' in page and "sandbox" in page
    preview = logged_in.get(f"/covenants/{cid}/preview")
    csp = preview.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'self'" in csp
    assert "Rianne ter Laak" in preview.get_data(as_text=True)
    pdf = logged_in.get(f"/covenants/{cid}/convenant.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.headers["Content-Disposition"] == f'attachment; filename="convenant-{cid}.pdf"'
    text = one_line(pdf_text(pdf.data))
    assert "GGD Drenthe" in text and "Wim Woning" in text
    docx = logged_in.get(f"/covenants/{cid}/convenant.docx")
    assert docx.headers["Content-Disposition"] == f'attachment; filename="convenant-{cid}.docx"'
    assert "Woningcorporatie Lefier" in docx_text(docx.data)
    assert logged_in.get("/covenants/999").status_code == 404


def test_preview_escapes_typed_markup(logged_in, app_session):
    org = factories.organisation(app_session, '<img src="file:///etc/passwd">')
    rep = factories.person(app_session, org, name="<script>alert(1)</script>")
    covenant = factories.covenant(app_session)
    from registry import services
    services.add_partner(app_session, covenant, organisation_id=org.id, representative_id=rep.id)
    app_session.commit()
    html = logged_in.get(f"/covenants/{covenant.id}/preview").get_data(as_text=True)
    assert "<img src=" not in html and "<script>alert" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html


# ----------------------------------------------------------------------------- Bijlage 1 and 2


def test_bijlage1_creates_person_and_declaration_and_shows_its_pdf(logged_in, app_session, world):
    data = {"name": "Kamphuis", "initials": "M.", "organisation": "Zorggroep Zuid", "function": "Wijkverpleegkundige",
            "email": "", "table_id": str(world["table"].id), "signed_on": "2026-03-02"}
    response = post(logged_in, "/forms/bijlage1", data)
    assert response.status_code == 302, errors(response)
    declaration = app_session.scalar(select(Declaration))
    assert response.headers["Location"] == f"/declarations/{declaration.id}"
    assert (declaration.kind, declaration.person.organisation.name, declaration.signed_on.isoformat()) == ("structural", "Zorggroep Zuid", "2026-03-02")
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert f'href="/declarations/{declaration.id}/verklaring.pdf"' in page
    text = one_line(pdf_text(logged_in.get(f"/declarations/{declaration.id}/verklaring.pdf").data))
    assert "Bijlage 1" in text and "M. Kamphuis" in text and "Zorggroep Zuid" in text and "Wijkverpleegkundige" in text


def test_bijlage1_without_signing_date_waits_and_shows_the_signing_placeholder(logged_in, app_session, world):
    data = {"name": "de Vries", "initials": "A.B.", "organisation": "GGD Drenthe", "function": "Jeugdverpleegkundige",
            "email": "a@ggd.example", "table_id": str(world["table"].id), "signed_on": ""}
    response = post(logged_in, "/forms/bijlage1", data)
    assert response.status_code == 302, errors(response)
    declaration = app_session.scalar(select(Declaration))
    assert declaration.signed_on is None and declaration.person_id == world["nurse"].id  # the known person, not a new one
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="send-for-signing"' in page


def test_bijlage2_needs_a_case_in_dutch_and_keeps_the_input(logged_in, app_session, world):
    data = {"name": "Pieters", "initials": "K.", "organisation": "Huisartsenpraktijk Zuid", "function": "POH",
            "email": "", "table_id": str(world["table"].id), "case_ref": "", "signed_on": "2026-13-01"}
    response = post(logged_in, "/forms/bijlage2", data)
    assert response.status_code == 200
    assert "Een Bijlage 2 geldt voor één casus: vul de casusreferentie in." in errors(response)
    assert "Geen geldige datum; gebruik JJJJ-MM-DD." in errors(response)
    page = response.get_data(as_text=True)
    assert 'value="Huisartsenpraktijk Zuid"' in page and 'value="Pieters"' in page and 'value="POH"' in page
    assert count(app_session, Organisation) == 5 and count(app_session, Declaration) == 0
    ok = post(logged_in, "/forms/bijlage2", {**data, "case_ref": "EN-2026-003", "signed_on": "2026-03-03"})
    assert ok.status_code == 302, errors(ok)
    text = one_line(pdf_text(logged_in.get(ok.headers["Location"] + "/verklaring.pdf").data))
    assert "Bijlage 2" in text and "EN-2026-003" in text and "K. Pieters" in text


def test_bijlage_forms_refuse_posts_without_csrf(logged_in, app_session, world):
    data = {"name": "X", "initials": "X.", "organisation": "Org Zonder Token", "function": "F", "table_id": str(world["table"].id), "case_ref": "C"}
    for path in ("/forms/bijlage1", "/forms/bijlage2", "/forms/bijlage4", "/covenants/new"):
        response = logged_in.post(path, data=data)
        assert response.status_code == 400, path
    assert count(app_session, Organisation) == 5 and count(app_session, Declaration) == 0 and count(app_session, Covenant) == 1


def test_injection_through_the_form_is_text_in_the_pdf_and_nothing_is_fetched(logged_in, app_session, world, monkeypatch):
    fetched: list[str] = []
    real = render.resolve_pack_url
    monkeypatch.setattr(render, "resolve_pack_url", lambda root, url: fetched.append(url) or real(root, url))
    data = {"name": "Eva", "initials": "E.", "organisation": '<img src="file:///etc/passwd">', "function": '<link href="http://127.0.0.1:9/x">',
            "email": "", "table_id": str(world["table"].id), "signed_on": "2026-03-02"}
    response = post(logged_in, "/forms/bijlage1", data)
    assert response.status_code == 302, errors(response)
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert '<img src="file:///etc/passwd">' not in page and "&lt;img src=" in page
    text = one_line(pdf_text(logged_in.get(response.headers["Location"] + "/verklaring.pdf").data))
    assert '<img src="file:///etc/passwd">' in text and '<link href="http://127.0.0.1:9/x">' in text
    pack_uri = load_pack(PACK).path.as_uri()
    assert fetched and all(url.startswith(pack_uri + "/") for url in fetched), fetched


# ----------------------------------------------------------------------------- Bijlage 4


def test_bijlage4_form_lists_pack_categories_and_registry_organisations(logged_in, world):
    page = logged_in.get("/forms/bijlage4").get_data(as_text=True)
    for category in load_pack(PACK).consent_categories:
        assert f'value="{category.key}"' in page and category.label in page
    assert "Woningcorporatie Lefier" in page and "Buurtteam Angelslo" in page
    assert "Op het formulier van dit convenant staan: GGD Drenthe, Woningcorporatie Lefier, De politie" in page
    assert "Anders, namelijk" in page


def test_bijlage4_creates_a_consent_and_its_pdf_shows_it(logged_in, app_session, world):
    response = post(logged_in, "/forms/bijlage4", bijlage4_data(world))
    assert response.status_code == 302, errors(response)
    consent = app_session.scalar(select(Consent))
    assert response.headers["Location"] == f"/consents/{consent.id}"
    assert consent.categories == ["name_address", "situation_summary"] and consent.other_recipients == ["Sportclub De Bal"]
    assert {o.name for o in consent.recipients} == {"GGD Drenthe", "Buurtteam Angelslo"}
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert f'href="/consents/{consent.id}/toestemming.pdf"' in page
    pdf = logged_in.get(f"/consents/{consent.id}/toestemming.pdf").data
    text = one_line(pdf_text(pdf))
    assert "Jan Jansen" in text and "4 maart 2019" in text and "passende begeleiding bij wonen te vinden" in text
    assert "EN-2026-021" in text
    assert ticked(pdf) == {"naam en adresgegevens", "een korte samenvatting van de situatie", "GGD Drenthe",
                           "Anders, namelijk: Buurtteam Angelslo, Sportclub De Bal"}


def test_bijlage4_errors_are_dutch_keep_the_input_and_write_nothing(logged_in, app_session, world):
    data = bijlage4_data(world, resident_name="Jan Jansen", categories=[], recipients=[], other_recipients="", signed_by="",
                         purpose="begeleiding", resident_birth_date="2999-01-01")
    response = post(logged_in, "/forms/bijlage4", data)
    assert response.status_code == 200
    messages = set(errors(response))
    assert {"Kies ten minste één soort gegevens.", "Kies ten minste één organisatie of vul 'Anders, namelijk' in.", "Kies wie het formulier tekent."} <= messages
    page = response.get_data(as_text=True)
    assert 'value="Jan Jansen"' in page and re.search(r">\s*begeleiding</textarea>", page) and 'value="EN-2026-021"' in page
    assert count(app_session, Consent) == 0 and count(app_session, Case) == 0


def test_bijlage4_service_refusal_goes_on_the_field_and_rolls_back(logged_in, app_session, world):
    """A birth date after the signing date passes the form but not the registry rule."""
    response = post(logged_in, "/forms/bijlage4", bijlage4_data(world, resident_birth_date="2026-05-01", signed_on="2026-03-02"))
    assert response.status_code == 200
    assert "De geboortedatum ligt in de toekomst." in errors(response)
    assert 'value="2026-05-01"' in response.get_data(as_text=True)
    assert count(app_session, Consent) == 0 and count(app_session, Case) == 0


def test_bijlage4_keeps_ticked_boxes_after_an_error(logged_in, world):
    response = post(logged_in, "/forms/bijlage4", bijlage4_data(world, resident_name=""))
    page = response.get_data(as_text=True)
    assert "Vul de naam van de inwoner in." in errors(response)
    assert re.search(r'checked[^>]*value="name_address"|value="name_address"[^>]*checked', page)
    assert re.search(rf'checked[^>]*value="{world["ggd"].id}"|value="{world["ggd"].id}"[^>]*checked', page)
    assert not re.search(r'checked[^>]*value="current_support"|value="current_support"[^>]*checked', page)


# ----------------------------------------------------------------------------- overview and blank forms


def test_forms_overview_links_blank_forms_that_print(logged_in, world):
    page = logged_in.get("/forms").get_data(as_text=True)
    for form in ("bijlage1", "bijlage2", "bijlage4"):
        link = f"/forms/{PACK}/{form}.pdf"
        assert f'href="{link}"' in page
        response = logged_in.get(link)
        assert response.mimetype == "application/pdf" and ticked(response.data) == set()
    assert "[NAAM INWONER]" in one_line(pdf_text(logged_in.get(f"/forms/{PACK}/bijlage4.pdf").data))
    assert logged_in.get(f"/forms/{PACK}/bijlage3.pdf").status_code == 404
    assert logged_in.get("/forms/nergens/bijlage1.pdf").status_code == 404


def test_unknown_records_are_404(logged_in):
    for path in ("/declarations/5", "/consents/5", "/declarations/5/verklaring.pdf", "/consents/5/toestemming.pdf", "/covenants/5/preview"):
        assert logged_in.get(path).status_code == 404, path
