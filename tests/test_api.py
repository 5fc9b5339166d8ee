"""API v1 contract: shapes, status codes, every error naming its field, and no partial writes."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.models import Organisation, Partnership, Person


def setup_covenant(api, partners=2, signed_on=("2025-05-05", "2025-05-12")):
    """Create organisations with representatives and a covenant they signed on paper."""
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Emmen", "region": "Emmen"})
    assert cov.status_code == 201 and cov.json["status"] == "draft"
    ids = []
    for i in range(partners):
        org = api.post("/api/v1/organisations", {"name": f"Partner {i}"}).json
        rep = api.post("/api/v1/people", {"name": f"Rep {i}", "initials": "R.", "organisation_id": org["id"], "function": "Bestuurder", "email": f"rep{i}@example.org"}).json
        body = {"organisation_id": org["id"], "representative_id": rep["id"]}
        if signed_on and i < len(signed_on):
            body["signed_on"] = signed_on[i]
        response = api.post(f"/api/v1/covenants/{cov.json['id']}/partners", body)
        assert response.status_code == 201, response.json
        ids.append(org["id"])
    return cov.json["id"], ids


def test_the_whole_v1_flow(api):
    covenant_id, (org_a, org_b) = setup_covenant(api)
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Noord", "area": "Emmen-Noord"})
    assert table.status_code == 201
    table_id = table.json["id"]
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": org_a, "function": "Jeugdverpleegkundige", "email": "mira@example.org"})
    assert person.status_code == 201 and person.json["name"] == "Mira Kamphuis"
    declaration = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person.json["id"], "table_id": table_id, "signed_on": "2025-05-20"})
    assert declaration.status_code == 201 and declaration.json["kind"] == "structural"

    assert api.get("/api/v1/tables").json == {"tables": [{"id": table_id, "name": "Casustafel Noord", "area": "Emmen-Noord", "covenant_id": covenant_id}]}

    entitled = api.get(f"/api/v1/tables/{table_id}/entitled?on=2025-05-20").json
    assert entitled["on"] == "2025-05-20" and entitled["case"] is None
    assert {o["id"] for o in entitled["organisations"]} == {org_a, org_b}
    assert [(p["id"], p["basis"]) for p in entitled["people"]] == [(person.json["id"], "structural")]
    assert entitled["people"][0]["reasons"][1] == {"code": "bijlage1_signed", "text": "Bijlage 1 getekend op 20 mei 2025 voor Casustafel Noord."}

    allowed = api.get(f"/api/v1/check?person={person.json['id']}&table={table_id}&on=2025-05-20").json
    assert allowed["allowed"] is True and allowed["basis"] == "structural"
    denied = api.get(f"/api/v1/check?person={person.json['id']}&table={table_id}&on=2025-05-19").json
    assert denied == {**denied, "allowed": False, "basis": None}
    assert [r["code"] for r in denied["reasons"]] == ["bijlage1_signed_later"]

    notice = api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_a}/notice", {"given_on": "2025-11-30"})
    assert notice.status_code == 200 and notice.json["ends_on"] == "2026-02-28"
    ended = api.get(f"/api/v1/check?person={person.json['id']}&table={table_id}&on=2026-02-28").json
    assert not ended["allowed"] and ended["reasons"][0]["code"] == "notice_ended"


def test_start_termination_and_exclusion(api):
    covenant_id, (org_a, org_b, _c) = setup_covenant(api, partners=3, signed_on=("2025-05-05", "2025-05-12"))
    started = api.post(f"/api/v1/covenants/{covenant_id}/start", {"on": "2025-06-01"})
    assert started.status_code == 200 and started.json["status"] == "in_force" and started.json["in_force_on"] == "2025-06-01"
    again = api.post(f"/api/v1/covenants/{covenant_id}/start", {"on": "2025-06-02"})
    assert again.status_code == 409 and "on" in again.json["error"]["fields"]
    terminated = api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_a}/termination", {"on": "2026-01-01", "decision": "Meerderheidsbesluit 2025-12-15"})
    assert terminated.status_code == 200 and terminated.json["ended_immediately_on"] == "2026-01-01"
    excluded = api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_b}/exclusion", {"on": "2026-02-01", "reason": "Bewust niet naleven"})
    assert excluded.status_code == 200 and excluded.json["excluded_on"] == "2026-02-01"


@pytest.mark.parametrize(
    ("path", "body", "status", "fields"),
    [
        ("/api/v1/organisations", {}, 422, {"name"}),
        ("/api/v1/organisations", {"name": 12}, 422, {"name"}),
        ("/api/v1/people", {"name": "X", "organisation_id": "abc"}, 422, {"organisation_id"}),
        ("/api/v1/people", {"name": "X", "organisation_id": 99999}, 404, {"organisation_id"}),
        ("/api/v1/people", {"name": "X", "organisation_id": 1, "email": "geen-adres"}, 422, {"email"}),
        ("/api/v1/covenants", {"pack": "p"}, 422, {"title", "region"}),
        ("/api/v1/tables", {"covenant_id": 99999, "name": "T", "area": "A"}, 404, {"covenant_id"}),
        ("/api/v1/declarations", {"kind": "other", "person_id": 1, "table_id": 1, "signed_on": "2025-13-01"}, 422, {"kind", "signed_on"}),
        ("/api/v1/covenants/99999/partners", {"organisation_id": 1, "representative_id": 1}, 404, {"covenant_id"}),
    ],
)
def test_bad_input_gets_a_json_error_naming_the_field(api, path, body, status, fields):
    api.post("/api/v1/organisations", {"name": "Eerste"})
    response = api.post(path, body)
    assert response.status_code == status, response.json
    error = response.json["error"]
    assert set(error["fields"]) == fields and error["code"] and error["message"]


def test_malformed_requests_are_400_not_500(api):
    response = api.client.post("/api/v1/organisations", data="{not json", headers={**api.headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json"
    assert api.post("/api/v1/organisations", ["a", "list"]).status_code == 400
    bad_date = api.get("/api/v1/check?person=1&table=1&on=gisteren")
    assert bad_date.status_code == 400 and set(bad_date.json["error"]["fields"]) == {"on"}
    missing = api.get("/api/v1/check")
    assert missing.status_code == 400 and set(missing.json["error"]["fields"]) == {"person", "table"}
    assert api.get("/api/v1/tables/99999/entitled").status_code == 404
    assert api.get("/api/v1/nothing-here").json["error"]["code"] == "not_found"


def test_token_is_required(client, api):
    assert client.get("/api/v1/tables").status_code == 401
    assert client.get("/api/v1/tables", headers={"Authorization": "Bearer wrong"}).json["error"]["code"] == "unauthorized"
    assert client.get("/api/openapi.json").status_code == 200


def test_a_failed_request_changes_nothing(api, app_session):
    """Adding a partner whose representative works elsewhere fails whole: no partnership, no covenant change."""
    covenant_id, _ = setup_covenant(api, partners=1, signed_on=())
    org = api.post("/api/v1/organisations", {"name": "Nieuw"}).json
    stranger = api.post("/api/v1/people", {"name": "Elders", "initials": "E.", "organisation_id": 1, "function": "x", "email": "e@example.org"}).json
    before = app_session.scalar(select(func.count()).select_from(Partnership))
    response = api.post(f"/api/v1/covenants/{covenant_id}/partners", {"organisation_id": org["id"], "representative_id": stranger["id"], "signed_on": "2025-01-01"})
    assert response.status_code == 422 and "representative_id" in response.json["error"]["fields"]
    app_session.expire_all()
    assert app_session.scalar(select(func.count()).select_from(Partnership)) == before
    duplicate = api.post("/api/v1/organisations", {"name": "Nieuw"})
    assert duplicate.status_code == 409 and "name" in duplicate.json["error"]["fields"]
    assert app_session.scalar(select(func.count()).select_from(Organisation).where(Organisation.name == "Nieuw")) == 1


def test_incidental_declaration_needs_a_case(api):
    covenant_id, (org_a, _b) = setup_covenant(api)
    table_id = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "T", "area": "Emmen-Noord"}).json["id"]
    guest_org = api.post("/api/v1/organisations", {"name": "Gast"}).json
    guest = api.post("/api/v1/people", {"name": "Gast", "initials": "G.", "organisation_id": guest_org["id"], "function": "x", "email": "g@example.org"}).json
    missing_case = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": guest["id"], "table_id": table_id, "signed_on": "2026-03-02"})
    assert missing_case.status_code == 422 and "case_ref" in missing_case.json["error"]["fields"]
    ok = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": guest["id"], "table_id": table_id, "case_ref": "EN-1", "signed_on": "2026-03-02"})
    assert ok.status_code == 201
    for_case = api.get(f"/api/v1/check?person={guest['id']}&table={table_id}&on=2026-03-02&case=EN-1").json
    assert for_case["allowed"] and for_case["basis"] == "incidental"
    other = api.get(f"/api/v1/tables/{table_id}/entitled?on=2026-03-02&case=EN-2").json
    assert guest["id"] not in [p["id"] for p in other["people"]]


def test_people_endpoint_stores_employment_dates(api, app_session):
    org = api.post("/api/v1/organisations", {"name": "Org"}).json
    response = api.post("/api/v1/people", {"name": "Tijdelijk", "initials": "T.", "organisation_id": org["id"], "function": "Stagiair", "email": "t@example.org", "employed_until": "2026-06-30"})
    assert response.status_code == 201 and response.json["employed_until"] == "2026-06-30"
    assert app_session.get(Person, response.json["id"]).employed_until.isoformat() == "2026-06-30"
