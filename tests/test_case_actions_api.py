"""Per case the covenant's own duties through the API: the casusregie (a partner on that
date), the procesregisseur (where the pack has one; entitled at the table), and a
meeting's action list (Emmen art. 7) — who does what by when, as codes, readable only by
the meeting's entitled participants; sharing bases in the chair's check."""

from __future__ import annotations

import datetime as dt

from tests.test_cases import _client_for, _org_person, _world, phased_pack  # noqa: F401  (fixture)


def _declare(api, person, table, signed_on="2026-01-10"):
    made = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person, "table_id": table,
                                             "signed_on": signed_on})
    assert made.status_code == 201, made.json
    return made.json["id"]


def _case(api, w, reference="EN-2026-01", **extra):
    made = api.post("/api/v1/cases", {"table_id": w["table"], "reference": reference, "opened_on": "2026-02-01",
                                      "brought_by_person_id": w["bringer"], **extra})
    assert made.status_code == 201, made.json
    return made.json


def test_casusregie_goes_to_a_partner_valid_on_that_date(api, app_session):
    from registry.models import Case, CaseEvent

    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    path = f"/api/v1/cases/{case['id']}/casusregie"
    outsider, _ = _org_person(api, "Woningcorporatie Lefier", "Sanne")
    refused = api.post(path, {"organisation_id": outsider, "on": "2026-03-01"})
    assert refused.status_code == 422 and "geen convenantpartner" in refused.json["error"]["fields"]["organisation_id"]
    early = api.post(path, {"organisation_id": w["ggd"], "on": "2026-01-01"})
    assert early.status_code == 422 and set(early.json["error"]["fields"]) == {"on"}
    assert api.post(path, {"organisation_id": 999999}).status_code == 404
    assert api.post(path, {"organisation_id": "x"}).status_code == 422
    app_session.expire_all()
    assert app_session.get(Case, case["id"]).casusregie_organisation_id is None
    done = api.post(path, {"organisation_id": w["ggd"], "on": "2026-03-01"})
    assert done.status_code == 200 and done.json["casusregie_organisation_id"] == w["ggd"]
    assert api.post(path, {"organisation_id": w["ggd"], "on": "2026-03-02"}).status_code == 409
    app_session.expire_all()
    events = app_session.query(CaseEvent).filter_by(case_id=case["id"], kind="casusregie").all()
    assert [(e.on, e.reason) for e in events] == [(dt.date(2026, 3, 1), "casusregie bij GGD Drenthe")]


def test_no_procesregisseur_where_the_pack_has_none(api):
    plain = _world(api, "emmen-casustafel")
    case = _case(api, plain)
    refused = api.post(f"/api/v1/cases/{case['id']}/procesregisseur", {"person_id": plain["chair"]})
    assert refused.status_code == 422 and "geen procesregisseur" in refused.json["error"]["fields"]["person_id"]


def test_procesregisseur_must_be_entitled_at_the_table(api, phased_pack):
    w = _world(api, phased_pack)
    case = _case(api, w, "ZVH-1", age=40)
    path = f"/api/v1/cases/{case['id']}/procesregisseur"
    no_bijlage = api.post(path, {"person_id": w["chair"], "on": "2026-03-01"})
    assert no_bijlage.status_code == 422 and "Bijlage 1" in no_bijlage.json["error"]["fields"]["person_id"]
    _declare(api, w["chair"], w["table"])
    named = api.post(path, {"person_id": w["chair"], "on": "2026-03-01"})
    assert named.status_code == 200 and named.json["procesregisseur_id"] == w["chair"]
    assert api.post(path, {"person_id": 999999}).status_code == 404


def _meeting_world(api, app, app_session, client):
    w = _world(api, "emmen-casustafel")
    for person in (w["chair"], w["coordinator"], w["bringer"]):
        w[f"decl_{person}"] = _declare(api, person, w["table"])
    case = _case(api, w)
    day = dt.date.today() + dt.timedelta(days=7)
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": f"{day.isoformat()}T14:00", "cases": [
        {"case_ref": "EN-2026-01", "invitee_ids": [w["chair"], w["bringer"]]},
        {"case_ref": "EN-2026-02", "invitee_ids": [w["chair"]]}]})
    assert meeting.status_code == 201, meeting.json
    w.update(case=case["id"], meeting=meeting.json["id"], day=day)
    return w


def test_the_action_list_is_kept_by_the_coordinator_with_codes_and_dutch_field_errors(api, app, app_session, client):
    from registry.models import ActionItem

    w = _meeting_world(api, app, app_session, client)
    path = f"/api/v1/meetings/{w['meeting']}/actions"
    due = (w["day"] + dt.timedelta(days=14)).isoformat()
    bad = api.post(path, {"case_ref": "EN-2026-01", "person_id": w["coordinator"], "action": "bellen",
                          "due_on": (w["day"] - dt.timedelta(days=1)).isoformat()})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"action", "due_on", "person_id"}
    assert "uitgenodigd" in bad.json["error"]["fields"]["person_id"]
    off_agenda = api.post(path, {"case_ref": "EN-ELDERS", "person_id": w["chair"], "action": "referral", "due_on": due})
    assert off_agenda.status_code == 422 and set(off_agenda.json["error"]["fields"]) == {"case_ref"}
    neither = api.post(path, {"person_id": w["chair"], "action": "referral", "due_on": due})
    assert neither.status_code == 422 and "case_ref" in neither.json["error"]["fields"]
    app_session.expire_all()
    assert app_session.query(ActionItem).count() == 0

    made = api.post(path, {"case_ref": "EN-2026-01", "person_id": w["bringer"], "action": "feedback_bringer",
                           "due_on": due})
    assert made.status_code == 201, made.json
    assert made.json["action_label"] == "terugkoppeling aan de inbrenger" and made.json["done_on"] is None
    by_id = api.post(path, {"case_id": w["case"], "person_id": w["chair"], "action": "report_back", "due_on": due})
    assert by_id.status_code == 201 and by_id.json["case_ref"] == "EN-2026-01"
    listed = api.get(path).json["actions"]
    assert [(a["person_id"], a["action"]) for a in listed] == [(w["bringer"], "feedback_bringer"),
                                                               (w["chair"], "report_back")]
    early = api.post(f"/api/v1/actions/{made.json['id']}/done", {"on": (w["day"] - dt.timedelta(days=1)).isoformat()})
    assert early.status_code == 422 and set(early.json["error"]["fields"]) == {"on"}
    finished = api.post(f"/api/v1/actions/{made.json['id']}/done", {"on": w["day"].isoformat()})
    assert finished.status_code == 200 and finished.json["done_on"] == w["day"].isoformat()
    assert api.post(f"/api/v1/actions/{made.json['id']}/done", {"on": w["day"].isoformat()}).status_code == 409
    assert api.post("/api/v1/actions/999999/done", {}).status_code == 404


def test_the_action_list_is_readable_by_an_entitled_invitee_and_not_after_revocation(api, app, app_session, client):
    from registry.models import AccessLogEntry

    w = _meeting_world(api, app, app_session, client)
    path = f"/api/v1/meetings/{w['meeting']}/actions"
    due = (w["day"] + dt.timedelta(days=14)).isoformat()
    for ref, person in (("EN-2026-01", w["bringer"]), ("EN-2026-02", w["chair"])):
        assert api.post(path, {"case_ref": ref, "person_id": person, "action": "referral", "due_on": due}).status_code == 201
    invitee = _client_for(app, app_session, client, (), w["bringer"])
    outsider_person = _org_person(api, "Stichting de Toegang Emmen 2", "Pieter")[1]
    outsider = _client_for(app, app_session, client, (), outsider_person)
    contact = _client_for(app, app_session, client, [{"role": "partner_contact", "organisation_id": w["ggd"]}])

    seen = invitee.get(path)
    assert seen.status_code == 200, seen.json
    assert [a["case_ref"] for a in seen.json["actions"]] == ["EN-2026-01"]  # only the case they were invited for
    assert outsider.get(path).status_code == 403
    assert contact.get(path).status_code == 403
    # an invitee reads but does not keep the list
    assert invitee.post(path, {"case_ref": "EN-2026-01", "person_id": w["bringer"], "action": "referral",
                               "due_on": due}).status_code == 403
    own = seen.json["actions"][0]["id"]
    other = [a["id"] for a in api.get(path).json["actions"] if a["case_ref"] == "EN-2026-02"][0]
    assert invitee.post(f"/api/v1/actions/{other}/done", {}).status_code == 403
    assert invitee.post(f"/api/v1/actions/{own}/done", {"on": w["day"].isoformat()}).status_code == 200

    revoked = api.post(f"/api/v1/declarations/{w['decl_' + str(w['bringer'])]}/revocation",
                       {"on": dt.date.today().isoformat()})
    assert revoked.status_code == 200, revoked.json
    refused = invitee.get(path)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_entitled"
    assert "ingetrokken" in refused.json["error"]["message"] or "Bijlage 1" in refused.json["error"]["message"]
    app_session.expire_all()
    assert app_session.query(AccessLogEntry).filter_by(subject_kind="action_list", subject_id=w["meeting"]).count() == 2


def test_the_chairs_check_shows_each_invited_partners_sharing_basis(api, app, app_session, client):
    w = _meeting_world(api, app, app_session, client)
    recorded = api.post(f"/api/v1/cases/{w['case']}/sharing-basis", {"organisation_id": w["ggd"], "basis": "own_task"})
    assert recorded.status_code == 200
    check = api.get(f"/api/v1/meetings/{w['meeting']}/check").json
    first = {i["person_id"]: i["sharing_basis"] for i in check["cases"][0]["invitees"]}
    assert first[w["bringer"]] == {"basis": "own_task", "label": "eigen wettelijke taak"}
    assert first[w["chair"]] is None


def test_action_items_go_with_the_case(api, app, app_session, client):
    from registry.models import ActionItem

    w = _meeting_world(api, app, app_session, client)
    due = (w["day"] + dt.timedelta(days=14)).isoformat()
    assert api.post(f"/api/v1/meetings/{w['meeting']}/actions", {"case_ref": "EN-2026-01", "person_id": w["chair"],
                                                                "action": "referral", "due_on": due}).status_code == 201
    closed = api.post(f"/api/v1/cases/{w['case']}/closure", {"on": dt.date.today().isoformat(), "reason": "not_belonging"})
    assert closed.status_code == 200, closed.json
    app_session.expire_all()
    assert app_session.query(ActionItem).filter_by(case_id=w["case"]).count() == 0
