"""API v1 for meetings: plan, check, batch check, a person's tables, withdrawals, OpenAPI."""

from __future__ import annotations

import pytest

from tests.meetings.world import build


@pytest.fixture
def world(app_session):
    """The shared meeting world, committed in the app's database."""
    return build(app_session)


def plan_body(world, starts_at="2026-03-10T14:00", **extra):
    """A meeting with EN-1 (Mira, Sanne) and EN-2 (Mira, Sanne)."""
    both = [world["mira"].id, world["sanne"].id]
    return {
        "table_id": world["north"].id, "starts_at": starts_at, "location": "Gemeentehuis",
        "cases": [{"case_ref": "EN-1", "theme": "jeugd", "age_band": "0-18", "invitee_ids": both},
                  {"case_ref": "EN-2", "theme": "wonen", "age_band": "28-80", "invitee_ids": both}],
        **extra,
    }


def test_plan_then_check_a_meeting(api, world):
    response = api.post("/api/v1/meetings", json=plan_body(world))
    assert response.status_code == 201, response.json
    meeting = response.json
    assert meeting["starts_at"] == "2026-03-10T14:00" and [c["case_ref"] for c in meeting["cases"]] == ["EN-1", "EN-2"]
    check = api.get(f"/api/v1/meetings/{meeting['id']}/check")
    assert check.status_code == 200
    data = check.json
    assert data["meeting_id"] == meeting["id"] and data["on"] == "2026-03-10" and data["checked_at"]
    sanne = {c["case_ref"]: next(i for i in c["invitees"] if i["person_id"] == world["sanne"].id) for c in data["cases"]}
    assert (sanne["EN-1"]["allowed"], sanne["EN-1"]["basis"]) == (True, "incidental")
    assert sanne["EN-2"]["allowed"] is False and [w["code"] for w in sanne["EN-2"]["warnings"]] == ["bijlage2_needed"]
    mira = next(i for i in data["cases"][0]["invitees"] if i["person_id"] == world["mira"].id)
    assert mira["consent"]["covered"] is True and mira["consent"]["categories"] == ["name_address", "situation_summary"]
    assert sanne["EN-1"]["consent"] == {"covered": False, "categories": [], "reason": sanne["EN-1"]["consent"]["reason"],
                                        "legal_basis": "consent"}


def test_plan_meeting_names_every_bad_field(api, world):
    body = plan_body(world, starts_at="dinsdag", location="x" * 201)
    body["cases"][1] = {"case_ref": "", "theme": "diagnose", "invitee_ids": "Mira"}
    response = api.post("/api/v1/meetings", json=body)
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"starts_at", "location", "cases[1].case_ref", "cases[1].invitee_ids"}
    response = api.post("/api/v1/meetings", json=plan_body(world) | {"cases": [{"case_ref": "EN-1", "theme": "diagnose", "invitee_ids": [world["mira"].id]}]})
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"cases[0].theme"}
    assert api.post("/api/v1/meetings", json=plan_body(world) | {"table_id": 99999}).status_code == 404
    assert api.get("/api/v1/meetings/99999/check").status_code == 404


def test_batch_check_answers_in_the_order_asked(api, world):
    checks = [{"person_id": world["sanne"].id, "case_ref": "EN-2"}, {"person_id": world["mira"].id},
              {"person_id": world["sanne"].id, "case_ref": "EN-1"}]
    response = api.post("/api/v1/check/batch", json={"on": "2026-03-10", "table_id": world["north"].id, "checks": checks})
    assert response.status_code == 200
    results = response.json["results"]
    assert [(r["person_id"], r["case_ref"], r["allowed"], r["basis"]) for r in results] == [
        (world["sanne"].id, "EN-2", False, None), (world["mira"].id, None, True, "structural"), (world["sanne"].id, "EN-1", True, "incidental"),
    ]
    assert results[0]["reasons"] and all({"code", "text"} <= set(r) for r in results[0]["reasons"])
    bad = api.post("/api/v1/check/batch", json={"table_id": world["north"].id, "checks": [{"person_id": "x"}]})
    assert bad.status_code == 422 and "checks[0].person_id" in bad.json["error"]["fields"]
    unknown = api.post("/api/v1/check/batch", json={"table_id": world["north"].id, "checks": [{"person_id": 99999}]})
    assert unknown.status_code == 404 and "checks[0].person_id" in unknown.json["error"]["fields"]


def test_people_tables_on_a_date(api, world):
    response = api.get(f"/api/v1/people/{world['sanne'].id}/tables?on=2026-03-10")
    assert response.status_code == 200
    assert [(t["name"], t["case_ref"], t["basis"]) for t in response.json["tables"]] == [("Casustafel Noord", "EN-1", "incidental")]
    assert api.get(f"/api/v1/people/{world['sanne'].id}/tables?on=2026-03-01").json["tables"] == []
    assert api.get(f"/api/v1/people/{world['sanne'].id}/tables?on=gisteren").status_code == 400


def test_consent_withdrawal_is_recorded_with_who_and_changes_the_next_check(api, world):
    meeting = api.post("/api/v1/meetings", json=plan_body(world)).json
    before = api.get(f"/api/v1/meetings/{meeting['id']}/check").json["cases"][0]["invitees"][0]
    assert before["consent"]["covered"] is True
    response = api.post(f"/api/v1/consents/{world['consent'].id}/withdrawal", json={"on": "2026-03-05"})
    assert response.status_code == 200
    assert response.json["withdrawn_on"] == "2026-03-05" and response.json["withdrawn_by"] == "admin@example.org"
    after = api.get(f"/api/v1/meetings/{meeting['id']}/check").json["cases"][0]["invitees"][0]
    assert after["consent"]["covered"] is False and after["consent"]["reason"]["code"] == "consent_withdrawn"
    assert [w["code"] for w in after["warnings"]] == ["consent_withdrawn"]
    again = api.post(f"/api/v1/consents/{world['consent'].id}/withdrawal", json={"on": "2026-03-06"})
    assert again.status_code == 409
    assert api.post(f"/api/v1/consents/{world['consent'].id}/withdrawal", json={}).status_code == 422
    assert api.post("/api/v1/consents/99999/withdrawal", json={"on": "2026-03-05"}).status_code == 404


def test_need_to_know_withdrawal_through_the_api(api, world):
    meeting = api.post("/api/v1/meetings", json=plan_body(world)).json
    body = {"table_id": world["north"].id, "case_ref": "EN-2", "organisation_id": world["ggd"].id, "on": "2026-03-01"}
    response = api.post("/api/v1/need-to-know-withdrawals", json=body)
    assert response.status_code == 201 and response.json["recorded_by"] == "admin@example.org"
    mira = api.get(f"/api/v1/meetings/{meeting['id']}/check").json["cases"][1]["invitees"][0]
    assert mira["allowed"] is False and mira["reasons"][0]["code"] == "need_to_know_withdrawn"
    assert api.post("/api/v1/need-to-know-withdrawals", json=body).status_code == 409


def test_meeting_routes_need_a_token_and_are_in_openapi(client, app):
    assert client.get("/api/v1/meetings/1/check").status_code == 401
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/v1/meetings", "/api/v1/meetings/{meeting_id}/check", "/api/v1/check/batch",
                 "/api/v1/people/{person_id}/tables", "/api/v1/consents/{consent_id}/withdrawal", "/api/v1/need-to-know-withdrawals"):
        assert path in paths
    # Coverage of every /api/v1 route is tested once, in tests/test_api.py.
