"""The Onderwijs–Jeugdhulp covenant end to end through the API, on both databases.

Its own rules, all from ``templates/onderwijs-jeugdhulp/pack.toml``: tables for the three
kinds of *casusoverleg* (MDO, Verzuim, Thuiszitters), a procesregisseur from the school
or samenwerkingsverband, the consent form as Bijlage 5 with the age bands of the Jeugdwet
(under 12 the parents, 12–15 the young person and the parents, 16+ the young person),
parents with authority and young people from 12 taking part in their own case without a
declaration, and a warning when a minor's case has no parent invited. The Bijlage 1 is
signed online and sealed.
"""

from __future__ import annotations

import datetime as dt
import subprocess

from tests import signing_support as support

PACK = "onderwijs-jeugdhulp"


def _org(api, name: str) -> int:
    answer = api.post("/api/v1/organisations", json={"name": name})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _person(api, name: str, organisation_id: int, email: str | None = None) -> int:
    answer = api.post("/api/v1/people", json={"name": name, "initials": name[0] + ".", "organisation_id": organisation_id,
                                              "function": "medewerker", **({"email": email} if email else {})})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _world(api) -> dict:
    """The covenant in force with three partners, an MDO table with its procesregisseur."""
    gemeente = _org(api, "Gemeente Voorbeeldstad")
    swv = _org(api, "Samenwerkingsverband Passend Onderwijs")
    ggd = _org(api, "GGD Voorbeeldregio")
    covenant = api.post("/api/v1/covenants", json={"pack": PACK, "title": "Privacy convenant Onderwijs Jeugdhulp",
                                                   "region": "Voorbeeldregio"})
    assert covenant.status_code == 201, covenant.json
    cid = covenant.json["id"]
    for org, rep in ((gemeente, "A. de Wit"), (swv, "B. Bakker"), (ggd, "C. Claassen")):
        rep_id = _person(api, rep, org)
        added = api.post(f"/api/v1/covenants/{cid}/partners",
                         json={"organisation_id": org, "representative_id": rep_id, "signed_on": "2026-01-15"})
        assert added.status_code == 201, added.json
    regisseur = _person(api, "Roos Regisseur", swv, "roos@swv.example")
    nurse = _person(api, "Jet Jeugdverpleegkundige", ggd, "jet@ggd.example")
    return {"covenant": cid, "gemeente": gemeente, "swv": swv, "ggd": ggd, "regisseur": regisseur, "nurse": nurse}


def test_tables_are_the_three_consultations_with_a_procesregisseur_of_the_school(api):
    w = _world(api)
    wrong_area = api.post("/api/v1/tables", json={"covenant_id": w["covenant"], "name": "Noord", "area": "Emmen-Noord",
                                                  "roles": {"procesregisseur": w["regisseur"]}})
    assert wrong_area.status_code == 422 and "area" in wrong_area.json["error"]["fields"]
    wrong_org = api.post("/api/v1/tables", json={"covenant_id": w["covenant"], "name": "MDO", "area": "MDO",
                                                 "roles": {"procesregisseur": w["nurse"]}})
    assert wrong_org.status_code == 422
    assert any("procesregisseur" in field for field in wrong_org.json["error"]["fields"])
    for area in ("MDO", "Verzuim", "Thuiszitters"):
        table = api.post("/api/v1/tables", json={"covenant_id": w["covenant"], "name": f"Casusoverleg {area}",
                                                 "area": area, "roles": {"procesregisseur": w["regisseur"]}})
        assert table.status_code == 201, table.json
        assert table.json["roles"]["procesregisseur"] == w["regisseur"]


def _table(api, w: dict) -> int:
    table = api.post("/api/v1/tables", json={"covenant_id": w["covenant"], "name": "Casusoverleg MDO", "area": "MDO",
                                             "roles": {"procesregisseur": w["regisseur"]}})
    assert table.status_code == 201, table.json
    return table.json["id"]


def test_consent_is_bijlage_5_and_follows_the_age_bands(api, client):
    w = _world(api)
    table_id = _table(api, w)
    packs = {p["name"]: p for p in api.get("/api/v1/packs").json["packs"]}
    annexes = {a["key"]: a for a in packs[PACK]["annexes"]}
    assert annexes["bijlage5"]["number"] == "Bijlage 5" and annexes["bijlage5"]["kind"] == "consent"
    thirteen = (dt.date.today().replace(day=1) - dt.timedelta(days=13 * 366)).isoformat()
    body = {"case_ref": "MDO-2026-01", "table_id": table_id, "recipients": [w["ggd"]],
            "categories": ["attendance"], "resident_name": "Jongere Fictief", "resident_birth_date": thirteen,
            "purpose": "Afstemmen van ondersteuning op school", "signed_on": dt.date.today().isoformat()}
    alone = api.post("/api/v1/consents", json={**body, "signed_by": "resident"})
    assert alone.status_code == 422 and "signed_by" in alone.json["error"]["fields"]
    together = api.post("/api/v1/consents", json={**body, "signed_by": "resident_and_parents"})
    assert together.status_code == 201, together.json
    assert together.json["status"] == "signed"
    assert sorted(together.json["required_signers"]) == ["parents", "resident"]
    blank = api.get(f"/api/v1/packs/{PACK}/forms/bijlage5.pdf")
    assert blank.status_code == 200 and blank.mimetype == "application/pdf"
    assert "Bijlage 5" in support_text(blank.data)


def support_text(pdf: bytes) -> str:
    """The text of a PDF, as pdftotext reads it."""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return done.stdout.decode()


def test_parents_and_young_people_take_part_without_a_declaration_and_a_missing_parent_is_warned(api):
    w = _world(api)
    table_id = _table(api, w)
    assert api.post("/api/v1/declarations", json={"kind": "structural", "person_id": w["nurse"], "table_id": table_id,
                                                  "signed_on": "2026-02-01"}).status_code == 201
    day = (dt.date.today() + dt.timedelta(days=14)).isoformat()
    meeting = api.post("/api/v1/meetings", json={"table_id": table_id, "starts_at": f"{day}T15:00", "cases": [
        {"case_ref": "MDO-2026-02", "age_band": "12-16", "invitee_ids": [w["nurse"], w["regisseur"]],
         "family_roles": ["jongere"]},
        {"case_ref": "MDO-2026-03", "age_band": "4-12", "invitee_ids": [w["nurse"]],
         "family_roles": ["ouder_met_gezag"]},
    ]})
    assert meeting.status_code == 201, meeting.json
    assert meeting.json["cases"][0]["family_roles"] == ["jongere"]
    check = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    first, second = check["cases"]
    assert "no_parent_invited" in {w_["code"] for w_ in first["warnings"]}
    assert "no_parent_invited" not in {w_["code"] for w_ in second["warnings"]}
    assert [p["label"] for p in first["family_participants"]] == ["jongere"]
    nurse = next(i for i in first["invitees"] if i["person_id"] == w["nurse"])
    assert nurse["allowed"] and nurse["basis"] == "structural"
    too_young = api.post("/api/v1/meetings", json={"table_id": table_id, "starts_at": f"{day}T16:00", "cases": [
        {"case_ref": "MDO-2026-04", "age_band": "4-12", "invitee_ids": [w["nurse"]], "family_roles": ["jongere"]}]})
    assert too_young.status_code == 422 and "cases[0].family_roles" in too_young.json["error"]["fields"]


def test_a_bijlage_1_signed_online_is_sealed(api, client):
    w = _world(api)
    table_id = _table(api, w)
    declaration = api.post("/api/v1/declarations", json={"kind": "structural", "person_id": w["nurse"], "table_id": table_id})
    assert declaration.status_code == 201
    sent = api.post(f"/api/v1/declarations/{declaration.json['id']}/signing-requests")
    assert sent.status_code == 201, sent.json
    link = support.links_by_recipient(api)["jet@ggd.example"]
    assert "Bijlage 1" in client.get(support.path_of(link)).get_data(as_text=True)
    assert support.sign_via_form(client, link, "Jet Jeugdverpleegkundige", support.png_data_url()).status_code == 303
    assert support.worker_round(api)["sealed"] == 1
    sealed = api.get(f"/api/v1/declarations/{declaration.json['id']}/signed.pdf")
    assert sealed.status_code == 200
    text = support_text(sealed.data)
    assert "Emmen" not in text and "Jet Jeugdverpleegkundige" in text
    allowed = api.get(f"/api/v1/check?person={w['nurse']}&table={table_id}").json
    assert allowed["allowed"] and allowed["basis"] == "structural"
