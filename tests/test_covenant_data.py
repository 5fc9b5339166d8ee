"""A covenant's own data, not the pack's region: a covenant drafted for Assen from the
Emmen pack names its own municipality, areas, partners and consent recipients and
nothing of Emmen (issue 9); tables' areas must be the covenant's areas."""

from __future__ import annotations

import re

from tests.readback import pdf_text

ASSEN_AREAS = ["Assen-Noord", "Kloosterveen", "Pittelo"]
ASSEN_PARTNERS = ["Gemeente Assen", "GGD Drenthe Assen-regio", "Woonconcern Assen"]


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def assen_covenant(api, **extra) -> dict:
    """An Assen covenant of the Emmen pack with its own areas and three partners (paper-signed)."""
    body = {"pack": "emmen-casustafel", "title": "Convenant Samenwerking Casustafel Assen", "region": "Assen",
            "areas": ASSEN_AREAS, **extra}
    covenant = api.post("/api/v1/covenants", body)
    assert covenant.status_code == 201, covenant.json
    org_ids = []
    for i, name in enumerate(ASSEN_PARTNERS):
        org = api.post("/api/v1/organisations", {"name": name}).json
        rep = api.post("/api/v1/people", {"name": f"Bestuurder {i}", "initials": "B.", "organisation_id": org["id"],
                                          "function": "Bestuurder"}).json
        added = api.post(f"/api/v1/covenants/{covenant.json['id']}/partners",
                         {"organisation_id": org["id"], "representative_id": rep["id"], "signed_on": "2026-01-1" + str(i)})
        assert added.status_code == 201, added.json
        org_ids.append(org["id"])
    return {"id": covenant.json["id"], "json": covenant.json, "orgs": org_ids}


def test_a_covenant_for_assen_prints_nothing_of_emmen(api):
    cov = assen_covenant(api)
    assert cov["json"]["municipality"] == "gemeente Assen" and cov["json"]["areas"] == ASSEN_AREAS
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "Casustafel Kloosterveen", "area": "Kloosterveen"})
    assert table.status_code == 201, table.json

    covenant_pdf = api.get(f"/api/v1/covenants/{cov['id']}/document.pdf")
    assert covenant_pdf.status_code == 200
    text = one_line(pdf_text(covenant_pdf.data))
    assert "Emmen" not in text
    assert "een van de gebieden, Assen-Noord, Kloosterveen en Pittelo binnen gemeente Assen." in text
    assert "De gebieden zijn Assen-Noord, Kloosterveen, Pittelo" in text
    assert "De gemeente Assen vindt de realisatie" in text
    assert "Convenant Samenwerking Casustafel Assen" in text  # running header and title
    for partner in ASSEN_PARTNERS:
        assert f"{partner}, vertegenwoordigd door" in text
    # Bijlage 4 in the covenant: the covenant's partners plus the pack's fixed lines
    bijlage4 = text[text.index("Bijlage 4 Toestemmingsformulier"):]
    assert all(p in bijlage4 for p in ASSEN_PARTNERS)
    assert "Mijn huisarts" in bijlage4 and "De politie" in bijlage4
    assert "Welzijnsorganisatie Sedna" not in bijlage4 and "VNN" not in bijlage4
    assert "door gemeente Assen en partners uit het gebiedsnetwerk" in bijlage4

    docx = api.get(f"/api/v1/covenants/{cov['id']}/document.docx")
    assert docx.status_code == 200

    consent = api.post("/api/v1/consents", {
        "case_ref": "AS-1", "table_id": table.json["id"], "recipients": [cov["orgs"][0], cov["orgs"][2]],
        "other_recipients": ["Mijn huisarts", "Buurtvereniging"], "categories": ["name_address"],
        "signed_by": "resident", "resident_name": "Ans Assen", "resident_birth_date": "1970-01-01",
        "purpose": "passende hulp", "signed_on": "2026-02-01"})
    assert consent.status_code == 201, consent.json
    consent_pdf = api.get(f"/api/v1/consents/{consent.json['id']}/document.pdf")
    assert consent_pdf.status_code == 200
    form = one_line(pdf_text(consent_pdf.data))
    assert "Emmen" not in form
    assert "door gemeente Assen en partners" in form and "Convenant Casustafel gebiedsnetwerken Assen" in form
    assert "Convenant Samenwerking Casustafel Assen · Bijlage 4" in form
    # ticked by id (partners) and by the exact text of a fixed line; the rest under 'Anders'
    assert "X Gemeente Assen" in form and "X Woonconcern Assen" in form and "X Mijn huisarts" in form
    assert "X GGD Drenthe Assen-regio" not in form
    assert "Anders, namelijk: Buurtvereniging" in form


def test_a_partner_with_a_similar_name_is_not_ticked(api):
    """Matching is by organisation id: 'Gemeente Assen' ticked does not tick 'Gemeente Assen-Zuid'."""
    cov = assen_covenant(api)
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "T", "area": "Pittelo"}).json
    outsider = api.post("/api/v1/organisations", {"name": "Gemeente Assen-Zuid"}).json
    consent = api.post("/api/v1/consents", {
        "case_ref": "AS-2", "table_id": table["id"], "recipients": [outsider["id"]], "categories": ["name_address"],
        "signed_by": "resident", "resident_birth_date": "1980-01-01", "resident_name": "B", "purpose": "x", "signed_on": "2026-02-01"}).json
    form = one_line(pdf_text(api.get(f"/api/v1/consents/{consent['id']}/document.pdf").data))
    assert "X Gemeente Assen " not in form and "Anders, namelijk: Gemeente Assen-Zuid" in form


def test_defaults_come_from_the_pack(api):
    own = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant", "region": "Emmen"}).json
    assert own["municipality"] == "gemeente Emmen"
    assert own["areas"] == ["Emmen-Noord", "Emmen-Zuid", "Emmen-Oost", "De Monden", "De Velden", "De Blokken"]
    other = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant", "region": "Coevorden"}).json
    assert other["municipality"] == "gemeente Coevorden"
    named = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "C", "region": "Aa en Hunze",
                                           "municipality": "gemeente Aa en Hunze (Gieten)"}).json
    assert named["municipality"] == "gemeente Aa en Hunze (Gieten)"


def test_bad_areas_are_422_naming_areas(api):
    base = {"pack": "emmen-casustafel", "title": "C", "region": "Assen"}
    for areas in (["Noord", "Noord"], ["Noord", ""], ["x" * 201], [], "Noord", [1]):
        response = api.post("/api/v1/covenants", {**base, "areas": areas})
        assert response.status_code == 422 and "areas" in response.json["error"]["fields"], areas
    assert api.post("/api/v1/covenants", {**base, "municipality": "m" * 201}).json["error"]["fields"].keys() == {"municipality"}


def test_a_table_needs_an_area_of_its_covenant(api):
    cov = assen_covenant(api)
    refused = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "T", "area": "Emmen-Noord"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"area"}
    assert "Kloosterveen" in refused.json["error"]["fields"]["area"]
    emmen = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "C", "region": "Emmen"}).json
    assert api.post("/api/v1/tables", {"covenant_id": emmen["id"], "name": "T", "area": "Noord"}).status_code == 422
    assert api.post("/api/v1/tables", {"covenant_id": emmen["id"], "name": "T", "area": "Emmen-Noord"}).status_code == 201


def test_the_web_form_edits_areas_and_municipality(logged_in, app_session):
    from sqlalchemy import select

    from registry.models import Covenant

    page = logged_in.get("/covenants/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    data = {"csrf_token": token.group(1), "pack": "emmen-casustafel", "title": "Convenant Casustafel Assen",
            "region": "Assen", "municipality": "gemeente Assen", "areas": "Assen-Noord\r\nKloosterveen\r\n\r\n"}
    response = logged_in.post("/covenants/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    covenant = app_session.scalar(select(Covenant).where(Covenant.region == "Assen"))
    assert covenant.areas == ["Assen-Noord", "Kloosterveen"] and covenant.municipality == "gemeente Assen"
    edit = logged_in.get(f"/covenants/{covenant.id}/edit").get_data(as_text=True)
    assert "Gebied Kloosterveen" in edit and "Gebied Emmen-Noord" not in edit
    duplicate = logged_in.post(f"/covenants/{covenant.id}/edit", data={**data, "areas": "Pittelo\nPittelo"})
    assert duplicate.status_code == 200 and "Elk gebied mag maar één keer voorkomen." in duplicate.get_data(as_text=True)
