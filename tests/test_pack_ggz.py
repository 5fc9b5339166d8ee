"""The ggz-casusaanpak pack end to end through the API (issue 9, part 3): a regional GGZ
*intentieverklaring* with a fixed last day (31 December 2027, no tacit renewal), one
month's notice, a chosen chair model, representatives signing *met mandaat* and
meetings on request — on SQLite and PostgreSQL. Plus the covenant web form's chair
model select."""

from __future__ import annotations

import re

from registry.models import Covenant
from tests.readback import one_line, pdf_text

PACK = "ggz-casusaanpak"
TITLE = "Intentieverklaring Regionale Casusaanpak Complexe Casuïstiek GGZ"


def person(api, name: str, organisation_id: int, email: str) -> int:
    response = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": organisation_id,
                                           "function": "Bestuurder", "email": email})
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_ggz_intentieverklaring_end_to_end(api):
    bad = api.post("/api/v1/covenants", {"pack": PACK, "title": TITLE, "region": "Voorbeeldregio", "chair_model": "dictator"})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"chair_model"}
    cov = api.post("/api/v1/covenants", {"pack": PACK, "title": TITLE, "region": "Voorbeeldregio", "chair_model": "independent"})
    assert cov.status_code == 201, cov.json
    assert cov.json["chair_model"] == "independent" and cov.json["status"] == "draft"
    covenant_id = cov.json["id"]

    gemeente = api.post("/api/v1/organisations", {"name": "Gemeente Voorbeeldstad"}).json["id"]
    ggz = api.post("/api/v1/organisations", {"name": "GGZ Voorbeeldregio"}).json["id"]
    verzekeraar = api.post("/api/v1/organisations", {"name": "Zorgverzekeraar Voorbeeld"}).json["id"]
    reps = {gemeente: person(api, "C. van Dijk", gemeente, "dijk@example.org"),
            ggz: person(api, "J. Hendriks", ggz, "hendriks@example.org"),
            verzekeraar: person(api, "B. Vos", verzekeraar, "vos@example.org")}
    signed = {gemeente: ("2025-09-01", "namens het college van B&W"), ggz: ("2025-09-02", "namens de raad van bestuur"),
              verzekeraar: ("2025-09-08", None)}
    for org, (signed_on, mandate) in signed.items():
        body = {"organisation_id": org, "representative_id": reps[org], "signed_on": signed_on}
        if mandate:
            body["mandate"] = mandate
        added = api.post(f"/api/v1/covenants/{covenant_id}/partners", body)
        assert added.status_code == 201, added.json
        assert added.json["mandate"] == mandate
    covenant = added.json["covenant"]
    assert covenant["in_force_on"] == "2025-09-08" and covenant["chair_model"] == "independent"
    assert [p["mandate"] for p in covenant["partners"]] == ["namens het college van B&W", "namens de raad van bestuur", None]

    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Regionaal casusoverleg", "area": "Regionaal casusoverleg"})
    assert table.status_code == 201, table.json
    table_id = table.json["id"]
    behandelaar = person(api, "Noor Janssen", ggz, "noor@example.org")
    assert api.post("/api/v1/declarations", {"kind": "structural", "person_id": behandelaar, "table_id": table_id,
                                             "signed_on": "2025-09-15"}).status_code == 201

    # the fixed last day: entitled on 31 December 2027, not the day after
    last = api.get(f"/api/v1/check?person={behandelaar}&table={table_id}&on=2027-12-31").json
    assert last["allowed"] and last["basis"] == "structural"
    term = next(r["text"] for r in last["reasons"] if r["code"] == "covenant_in_force")
    assert "looptijd tot en met 31 december 2027, niet stilzwijgend verlengd" in term
    after = api.get(f"/api/v1/check?person={behandelaar}&table={table_id}&on=2028-01-01").json
    assert not after["allowed"] and [r["code"] for r in after["reasons"]] == ["covenant_ended"]
    assert "31 december 2027" in after["reasons"][0]["text"]
    assert api.get(f"/api/v1/tables/{table_id}/entitled?on=2028-01-01").json["people"] == []

    # a meeting on request (op afroep), besides the fixed dates
    meeting = api.post("/api/v1/meetings", {"table_id": table_id, "starts_at": "2026-03-05T10:00", "on_request": True,
                                            "cases": [{"case_ref": "GGZ-2026-001", "theme": "dubbele diagnose",
                                                       "invitee_ids": [behandelaar]}]})
    assert meeting.status_code == 201, meeting.json
    assert meeting.json["on_request"] is True
    fixed = api.post("/api/v1/meetings", {"table_id": table_id, "starts_at": "2026-03-12T10:00",
                                          "cases": [{"case_ref": "GGZ-2026-002", "invitee_ids": [behandelaar]}]})
    assert fixed.status_code == 201 and fixed.json["on_request"] is False
    wrong = api.post("/api/v1/meetings", {"table_id": table_id, "starts_at": "2026-03-12T10:00", "on_request": "ja",
                                          "cases": [{"case_ref": "GGZ-2026-002", "invitee_ids": [behandelaar]}]})
    assert wrong.status_code == 422 and set(wrong.json["error"]["fields"]) == {"on_request"}
    checked = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    assert checked["cases"][0]["invitees"][0]["allowed"] is True

    # the declaration as printed: the chosen chair model, "met mandaat" per party
    pdf = api.get(f"/api/v1/covenants/{covenant_id}/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = one_line(pdf_text(pdf.data))
    assert ("Partners kiezen de volgende vorm van voorzitterschap van het regionaal casusoverleg. "
            "Onafhankelijk voorzitterschap: Partijen stellen een derde partij aan als onafhankelijke voorzitter.") in text
    assert "Vast voorzitterschap" not in text and "Roulerend voorzitterschap" not in text
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door C. van Dijk (met mandaat)," in text
    assert "GGZ Voorbeeldregio, vertegenwoordigd door J. Hendriks (met mandaat)," in text
    assert "Zorgverzekeraar Voorbeeld, vertegenwoordigd door B. Vos," in text and "B. Vos (met mandaat)" not in text
    assert "geldt tot en met 31 december 2027" in text and "opzegtermijn van één maand" in text

    # notice follows the pack: one month
    notice = api.post(f"/api/v1/covenants/{covenant_id}/partners/{verzekeraar}/notice", {"given_on": "2026-11-15"})
    assert notice.status_code == 200 and notice.json["ends_on"] == "2026-12-15"


def test_ggz_settings_are_refused_where_the_pack_does_not_have_them(api):
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Emmen", "region": "Emmen",
                                         "chair_model": "independent"})
    assert cov.status_code == 422 and set(cov.json["error"]["fields"]) == {"chair_model"}
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Emmen", "region": "Emmen",
                                         "chair_model": None})
    assert cov.status_code == 201 and cov.json["chair_model"] is None
    org = api.post("/api/v1/organisations", {"name": "GGD Drenthe"}).json["id"]
    rep = person(api, "R. ter Laak", org, "laak@example.org")
    refused = api.post(f"/api/v1/covenants/{cov.json['id']}/partners",
                       {"organisation_id": org, "representative_id": rep, "signed_on": "2025-05-05", "mandate": "namens het bestuur"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"mandate"}
    added = api.post(f"/api/v1/covenants/{cov.json['id']}/partners",
                     {"organisation_id": org, "representative_id": rep, "signed_on": "2025-05-05"})
    assert added.status_code == 201 and added.json["mandate"] is None
    table = api.post("/api/v1/tables", {"covenant_id": cov.json["id"], "name": "Casustafel Noord", "area": "Emmen-Noord"}).json
    on_request = api.post("/api/v1/meetings", {"table_id": table["id"], "starts_at": "2026-03-05T10:00", "on_request": True,
                                               "cases": [{"case_ref": "EN-1", "invitee_ids": [rep]}]})
    assert on_request.status_code == 422 and set(on_request.json["error"]["fields"]) == {"on_request"}
    openapi = api.get("/api/openapi.json").json["paths"]
    schemas = api.get("/api/openapi.json").json["components"]["schemas"]

    def properties(path):
        ref = openapi[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]["properties"]

    assert "chair_model" in properties("/api/v1/covenants")
    assert "on_request" in properties("/api/v1/meetings")


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_covenant_form_offers_the_packs_chair_models(logged_in, api, app_session):
    ggz = api.post("/api/v1/covenants", {"pack": PACK, "title": TITLE, "region": "Voorbeeldregio"}).json["id"]
    emmen = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Emmen", "region": "Emmen"}).json["id"]
    page = logged_in.get(f"/covenants/{ggz}/edit").get_data(as_text=True)
    assert 'name="chair_model"' in page
    assert [m for m in re.findall(r'<option[^>]*value="([^"]*)"', page.split('name="chair_model"')[1].split("</select>")[0])] == [
        "", "independent", "fixed", "rotating"]
    assert "Roulerend voorzitterschap" in page
    assert 'name="chair_model"' not in logged_in.get(f"/covenants/{emmen}/edit").get_data(as_text=True)

    base = {"title": TITLE, "region": "Voorbeeldregio", "pack": PACK, "tables-0-area": "Regionaal casusoverleg",
            "tables-0-chair_id": "", "tables-0-coordinator_id": ""}
    path = f"/covenants/{ggz}/edit"
    refused = logged_in.post(path, data={"csrf_token": csrf(logged_in, path), **base, "chair_model": "dictator"})
    assert refused.status_code == 200 and app_session.get(Covenant, ggz).chair_model is None
    saved = logged_in.post(path, data={"csrf_token": csrf(logged_in, path), **base, "chair_model": "rotating"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    app_session.expire_all()
    assert app_session.get(Covenant, ggz).chair_model == "rotating"
    assert 'value="rotating" selected' in logged_in.get(path).get_data(as_text=True).replace('selected value="rotating"', 'value="rotating" selected')
    preview = logged_in.get(f"/covenants/{ggz}/preview").get_data(as_text=True)
    assert "Roulerend voorzitterschap</b>:" in preview and "Onafhankelijk voorzitterschap</b>:" not in preview
