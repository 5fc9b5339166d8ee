"""API v1 documents: covenant PDF/DOCX, filled Bijlage 1/2/4 PDFs, blank forms, consents.

Every PDF is read back with pdftotext and every DOCX with python-docx, so the tests
check what a reader sees, not what the template meant to print.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.documents import load_pack, render
from registry import services
from registry.models import Case, Consent
from tests import factories
from tests.readback import docx_text, one_line, pdf_text, ticked

from tests.emmen_fixtures import PACK, world  # noqa: F401  (``world`` is a fixture)


def consent_body(world, **overrides) -> dict:
    """A valid consent request for the world's table."""
    body = {
        "case_ref": "EN-2026-014", "table_id": world["table"].id,
        "recipients": [world["ggd"].id, world["lefier"].id, world["buurtteam"].id],
        "other_recipients": ["Sportclub De Bal"], "categories": ["name_address", "current_support"],
        "signed_by": "resident_and_parents", "resident_name": "Jan Jansen", "resident_birth_date": "2011-03-04",
        "purpose": "passende begeleiding bij wonen te vinden", "signed_on": "2026-03-02",
    }
    return {**body, **overrides}


def count(session, model) -> int:
    """Rows of a table, read fresh."""
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


# ----------------------------------------------------------------------------- covenant


def test_covenant_pdf_names_parties_representatives_and_tables(api, world):
    response = api.get(f"/api/v1/covenants/{world['covenant'].id}/document.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="convenant-{world["covenant"].id}.pdf"'
    text = one_line(pdf_text(response.data))
    assert "Convenant Casustafel Testregio" in text
    for name in ("GGD Drenthe", "Rianne ter Laak", "Woningcorporatie Lefier", "Wim Woning"):
        assert name in text
    assert "Buurtteam Angelslo" not in text  # not a partner
    assert "Emmen-Noord" in text and "Gerda Smit" in text  # the table and its coordinator


def test_covenant_docx_names_the_parties(api, world):
    response = api.get(f"/api/v1/covenants/{world['covenant'].id}/document.docx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response.headers["Content-Disposition"].endswith('.docx"')
    text = docx_text(response.data)
    assert "GGD Drenthe" in text and "Rianne ter Laak" in text and "Wim Woning" in text


def test_unknown_covenant_document_is_a_json_404(api):
    for suffix in ("pdf", "docx"):
        response = api.get(f"/api/v1/covenants/999/document.{suffix}")
        assert response.status_code == 404 and response.json["error"]["fields"] == {"covenant_id": "Bestaat niet."}


def test_documents_need_a_token(client, world):
    assert client.get(f"/api/v1/covenants/{world['covenant'].id}/document.pdf").status_code == 401
    assert client.get(f"/api/v1/packs/{PACK}/forms/bijlage1.pdf").status_code == 401


def test_create_covenant_rejects_an_unknown_pack(api):
    response = api.post("/api/v1/covenants", {"pack": "nergens", "title": "T", "region": "R"})
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"pack"}
    ok = api.post("/api/v1/covenants", {"pack": PACK, "title": "T", "region": "R"})
    assert ok.status_code == 201


# ----------------------------------------------------------------------------- declarations


def test_declaration_pdfs_show_the_filled_fields(api, app_session, world):
    structural = services.create_declaration(app_session, kind="structural", person_id=world["nurse"].id, table_id=world["table"].id, signed_on=factories.D(2026, 3, 2))
    incidental = services.create_declaration(app_session, kind="incidental", person_id=world["rep_lefier"].id, table_id=world["table"].id, case_ref="EN-2026-099", signed_on=factories.D(2026, 3, 3))
    app_session.commit()
    one = api.get(f"/api/v1/declarations/{structural.id}/document.pdf")
    assert one.status_code == 200 and one.mimetype == "application/pdf"
    text = one_line(pdf_text(one.data))
    assert "Bijlage 1" in text and "A.B. de Vries" in text and "GGD Drenthe" in text and "Jeugdverpleegkundige" in text
    assert "gebiedsnetwerk EmmenNoord" in text.replace("-", "")  # pdftotext drops a hyphen at a line end
    two = one_line(pdf_text(api.get(f"/api/v1/declarations/{incidental.id}/document.pdf").data))
    assert "Bijlage 2" in two and "W. Wim Woning" in two and "EN-2026-099" in two
    assert api.get("/api/v1/declarations/999/document.pdf").status_code == 404


def test_injection_through_names_is_printed_as_text_and_nothing_is_fetched(api, monkeypatch):
    fetched: list[str] = []
    real = render.resolve_pack_url
    monkeypatch.setattr(render, "resolve_pack_url", lambda root, url: fetched.append(url) or real(root, url))
    cov = api.post("/api/v1/covenants", {"pack": PACK, "title": "T", "region": "R"}).json
    org = api.post("/api/v1/organisations", {"name": '<img src="file:///etc/passwd">'}).json
    person = api.post("/api/v1/people", {"name": "Eva", "initials": "E.", "organisation_id": org["id"], "function": '<link href="http://127.0.0.1:9/x">', "email": "e@example.org"}).json
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "Noord", "area": "Emmen-Noord"}).json
    declaration = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"], "signed_on": "2026-03-02"}).json
    response = api.get(f"/api/v1/declarations/{declaration['id']}/document.pdf")
    text = one_line(pdf_text(response.data))
    assert '<img src="file:///etc/passwd">' in text
    assert '<link href="http://127.0.0.1:9/x">' in text
    pack_uri = load_pack(PACK).path.as_uri()
    assert fetched and all(url.startswith(pack_uri + "/") for url in fetched), fetched


# ----------------------------------------------------------------------------- consent


def test_create_consent_and_its_pdf(api, app_session, world):
    response = api.post("/api/v1/consents", consent_body(world))
    assert response.status_code == 201, response.json
    data = response.json
    assert data["status"] == "signed" and data["signed_on"] == "2026-03-02"
    assert data["categories"] == ["name_address", "current_support"]
    assert sorted(data["recipients"]) == sorted([world["ggd"].id, world["lefier"].id, world["buurtteam"].id])
    assert app_session.get(Consent, data["id"]).case.reference == "EN-2026-014"
    pdf = api.get(f"/api/v1/consents/{data['id']}/document.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Disposition"] == f'attachment; filename="toestemming-{data["id"]}.pdf"'
    text = one_line(pdf_text(pdf.data))
    assert "Jan Jansen" in text and "4 maart 2011" in text and "passende begeleiding bij wonen te vinden" in text
    assert ticked(pdf.data) == {
        "naam en adresgegevens",
        "overzicht van de ondersteuning of hulp die nu al geboden wordt",
        "GGD Drenthe",
        "Woningcorporatie Lefier",  # the covenant's partners are its form's lines, ticked by id
        "Anders, namelijk: Buurtteam Angelslo, Sportclub De Bal",
    }


def test_consent_without_signing_date_waits_for_signing(api, world):
    response = api.post("/api/v1/consents", consent_body(world, signed_on=None))
    assert response.status_code == 201 and response.json["status"] == "draft"
    assert response.json["signed_on"] is None


@pytest.mark.parametrize("override, field, status", [
    ({"categories": ["diagnosis"]}, "categories", 422),
    ({"categories": []}, "categories", 422),
    ({"signed_by": "buurman"}, "signed_by", 422),
    ({"resident_name": ""}, "resident_name", 422),
    ({"resident_birth_date": "04-03-2009"}, "resident_birth_date", 422),
    ({"recipients": ["GGD"]}, "recipients", 422),
    ({"recipients": [], "other_recipients": []}, "recipients", 422),
    ({"recipients": [99999]}, "recipients", 404),
    ({"table_id": 99999}, "table_id", 404),
])
def test_bad_consent_names_the_field_and_writes_nothing(api, app_session, world, override, field, status):
    response = api.post("/api/v1/consents", consent_body(world, **override))
    assert response.status_code == status, response.json
    assert field in response.json["error"]["fields"]
    assert count(app_session, Consent) == 0 and count(app_session, Case) == 0


def test_unknown_consent_or_declaration_is_404(api):
    for path in ("/api/v1/consents/123/document.pdf", "/api/v1/declarations/123/document.pdf"):
        response = api.get(path)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


# ----------------------------------------------------------------------------- blank forms


@pytest.mark.parametrize("form, heading", [("bijlage1", "Bijlage 1"), ("bijlage2", "Bijlage 2"), ("bijlage4", "Bijlage 4")])
def test_blank_forms(api, form, heading):
    response = api.get(f"/api/v1/packs/{PACK}/forms/{form}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{PACK}-{form}-blanco.pdf"'
    text = one_line(pdf_text(response.data))
    assert heading in text
    assert ticked(response.data) == set()


def test_blank_form_of_unknown_pack_or_form_is_a_json_404(api):
    for path in ("/api/v1/packs/nergens/forms/bijlage1.pdf", f"/api/v1/packs/{PACK}/forms/bijlage3.pdf", "/api/v1/packs/..%2F..%2Fetc/forms/bijlage1.pdf"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.is_json and "error" in response.json


def test_openapi_describes_the_document_routes(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/consents"]
    assert "get" in paths["/api/v1/packs/{pack}/forms/{form}.pdf"]
