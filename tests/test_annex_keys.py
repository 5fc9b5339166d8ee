"""Annexes by key: blank forms, fill-in pages, record pages and signing titles use the
pack's number and title; URLs use the key (Emmen keeps bijlage1/2/4; the consent form
of onderwijs-jeugdhulp is /forms/bijlage5)."""

from __future__ import annotations

import re

import pytest

from tests.readback import pdf_text


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_bijlage5_blank_form_by_key(api):
    response = api.get("/api/v1/packs/onderwijs-jeugdhulp/forms/bijlage5.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = one_line(pdf_text(response.data))
    assert "Bijlage 5" in text and "Bijlage 4" not in text


@pytest.mark.parametrize("pack,key", [("emmen-casustafel", "bijlage1"), ("emmen-casustafel", "bijlage2"),
                                      ("emmen-casustafel", "bijlage4")])
def test_emmen_keys_keep_working(api, pack, key):
    response = api.get(f"/api/v1/packs/{pack}/forms/{key}.pdf")
    assert response.status_code == 200
    assert f"Bijlage {key[-1]}" in pdf_text(response.data)


@pytest.mark.parametrize("path,field", [
    ("/api/v1/packs/onderwijs-jeugdhulp/forms/bijlage4.pdf", "form"),   # a text annex, no form
    ("/api/v1/packs/emmen-casustafel/forms/bijlage5.pdf", "form"),
    ("/api/v1/packs/emmen-casustafel/forms/bijlage3.pdf", "form"),
    ("/api/v1/packs/bestaat-niet/forms/bijlage1.pdf", "pack"),
])
def test_unknown_key_is_404_naming_form(api, path, field):
    response = api.get(path)
    assert response.status_code == 404 and field in response.json["error"]["fields"]


def test_fill_in_pages_by_key(logged_in):
    for key, heading in (("bijlage1", "Bijlage 1 — Verklaring geheimhouding deelnemer"),
                         ("bijlage2", "Bijlage 2 — Verklaring geheimhouding incidentele deelnemer"),
                         ("bijlage4", "Bijlage 4 — Toestemmingsformulier"),
                         ("bijlage5", "Bijlage 5 — Toestemmingsformulier")):
        page = logged_in.get(f"/forms/{key}")
        assert page.status_code == 200, key
        assert heading in page.get_data(as_text=True), key
    assert logged_in.get("/forms/bijlage9").status_code == 404
    assert logged_in.get("/forms/bijlage3").status_code == 404  # a text annex
    overview = logged_in.get("/forms").get_data(as_text=True)
    assert "/forms/bijlage5" in overview and "/forms/onderwijs-jeugdhulp/bijlage5.pdf" in overview
    assert "/forms/onderwijs-jeugdhulp/bijlage4.pdf" not in overview
    blank = logged_in.get("/forms/onderwijs-jeugdhulp/bijlage5.pdf")
    assert blank.status_code == 200 and "Bijlage 5" in pdf_text(blank.data)
    assert logged_in.get("/forms/emmen-casustafel/bijlage4.pdf").status_code == 200
    assert logged_in.get("/forms/emmen-casustafel/bijlage5.pdf").status_code == 404


def onderwijs_table(api) -> dict:
    cov = api.post("/api/v1/covenants", {"pack": "onderwijs-jeugdhulp", "title": "Privacy convenant", "region": "Voorbeeldregio"}).json
    org = api.post("/api/v1/organisations", {"name": "Samenwerkingsverband Passend Onderwijs"}).json
    rep = api.post("/api/v1/people", {"name": "M. de Boer", "initials": "M.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "boer@example.org"}).json
    api.post(f"/api/v1/covenants/{cov['id']}/partners", {"organisation_id": org["id"], "representative_id": rep["id"], "signed_on": "2026-01-05"})
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "MDO Noord", "area": "MDO",
                                        "roles": {"procesregisseur": rep["id"]}})
    assert table.status_code == 201, table.json
    return {"covenant": cov, "org": org, "rep": rep, "table": table.json}


def test_an_onderwijs_consent_is_bijlage5_on_pages_pdf_and_signing(api, logged_in, app_session):
    world = onderwijs_table(api)
    consent = api.post("/api/v1/consents", {
        "case_ref": "MDO-1", "table_id": world["table"]["id"], "recipients": [world["org"]["id"]],
        "categories": ["identity_contact"], "signed_by": "resident_and_parents", "resident_name": "Jongere",
        "resident_birth_date": "2012-03-01", "purpose": "x"})
    assert consent.status_code == 201, consent.json
    cid = consent.json["id"]
    text = one_line(pdf_text(api.get(f"/api/v1/consents/{cid}/document.pdf").data))
    assert "Bijlage 5" in text
    record = logged_in.get(f"/consents/{cid}").get_data(as_text=True)
    assert "Bijlage 5 — Toestemmingsformulier" in record and "Bijlage 4" not in record
    overview = logged_in.get("/forms").get_data(as_text=True)
    assert "Bijlage 5 · casus MDO-1" in overview

    from registry.models import Consent
    from signatures.subjects import load_subject
    assert load_subject(app_session, "consent", cid).title.startswith("Bijlage 5 — ")
    assert app_session.get(Consent, cid) is not None


def test_emmen_declaration_titles(api, logged_in):
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "C", "region": "Emmen"}).json
    org = api.post("/api/v1/organisations", {"name": "GGD Drenthe"}).json
    person = api.post("/api/v1/people", {"name": "Mira", "initials": "M.", "organisation_id": org["id"], "function": "x"}).json
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "T", "area": "Emmen-Noord"}).json
    declaration = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": person["id"],
                                                    "table_id": table["id"], "case_ref": "EN-1"}).json
    page = logged_in.get(f"/declarations/{declaration['id']}").get_data(as_text=True)
    assert "Bijlage 2 — Verklaring geheimhouding incidentele deelnemer casustafel gebiedsnetwerk" in page
