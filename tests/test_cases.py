"""A case's life through the API: opening with a bringer, phases from the pack with who
may see the case in each, due dates, closure with a reason code (``not_belonging``
deletes at once), evaluation, participants in pack roles, sharing bases; every refused
request leaves nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Api

REPO_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

PHASED = '''
[cases]
legal_basis = "consent"
min_age = 18
procesregisseur = true

[[phases]]
key = "aanmelding"
label = "1. Aanmelding"
visible_to = ["bringer", "procesregisseur"]

[[phases]]
key = "overleg"
label = "3. Casusoverleg"
visible_to = ["bringer", "procesregisseur", "chair", "coordinator", "participants"]
[[phases.deadlines]]
months = 6
kind = "due"
label = "terug aan tafel"
[[phases.deadlines]]
months = 2
kind = "not_before"
label = "passieve regie op zijn vroegst"

[[case_roles]]
key = "expert"
label = "expert"

[[case_roles]]
key = "adhoc"
label = "ad-hocpartner"
ad_hoc = true

[[tracks]]
key = "1"
label = "Spoor 1"

[retention]
from = "closed"
archive_after_months = 6
delete_after_months = 12
'''


def emmen_variant(tmp_path, monkeypatch, name: str, case_rules: str) -> str:
    """A packs folder with the repository's packs plus ``name``: Emmen's texts with these
    case-life keys instead of Emmen's own; TEMPLATE_PACKS_DIR points at it."""
    root = tmp_path / "packs"
    root.mkdir()
    for pack in REPO_TEMPLATES.iterdir():
        if (pack / "pack.toml").is_file():
            (root / pack.name).symlink_to(pack)
    shutil.copytree(REPO_TEMPLATES / "emmen-casustafel", root / name)
    manifest = root / name / "pack.toml"
    text = manifest.read_text(encoding="utf-8").replace('name = "emmen-casustafel"', f'name = "{name}"')
    manifest.write_text(text.split("# Art. 4/11 and Bijlage 3")[0] + case_rules, encoding="utf-8")
    monkeypatch.setenv("TEMPLATE_PACKS_DIR", str(root))
    return name


@pytest.fixture
def phased_pack(tmp_path, monkeypatch):
    """The repository's packs plus ``fase-test``: Emmen's texts with restricted phases."""
    return emmen_variant(tmp_path, monkeypatch, "fase-test", PHASED)


def _org_person(api, org_name, name):
    org = api.post("/api/v1/organisations", {"name": org_name}).json["id"]
    person = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": org,
                                         "function": "Medewerker", "email": f"{name.lower()}@example.org"}).json["id"]
    return org, person


def _world(api, pack):
    covenant = api.post("/api/v1/covenants", {"pack": pack, "title": "C", "region": "Emmen"}).json["id"]
    toegang, chair = _org_person(api, "Stichting de Toegang Emmen", "Anouk")
    sedna, coordinator = _org_person(api, "Stichting Welzijnsorganisatie Sedna", "Gerda")
    ggd, bringer = _org_person(api, "GGD Drenthe", "Mira")
    for org, rep in ((toegang, chair), (sedna, coordinator), (ggd, bringer)):
        added = api.post(f"/api/v1/covenants/{covenant}/partners",
                         {"organisation_id": org, "representative_id": rep, "signed_on": "2026-01-05"})
        assert added.status_code == 201, added.json
    table = api.post("/api/v1/tables", {"covenant_id": covenant, "name": "Noord", "area": "Emmen-Noord",
                                        "chair_id": chair, "coordinator_id": coordinator}).json["id"]
    return dict(covenant=covenant, table=table, chair=chair, coordinator=coordinator, bringer=bringer, ggd=ggd,
                toegang=toegang)


def _client_for(app, app_session, client, grants=(), person_id=None):
    """An API client for a new account with these grants and this linked person."""
    from registry import accounts

    count = len(accounts.list_users(app_session)) if hasattr(accounts, "list_users") else id(grants)
    user = accounts.create_user(app_session, f"u{count}-{person_id}-{len(grants)}@example.org", "een lang wachtwoord",
                                name="Gebruiker", person_id=person_id, grants=list(grants), created_by="test")
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return Api(client, token)


def test_a_case_opens_in_the_first_phase_moves_and_closes_with_its_history(api):
    w = _world(api, "emmen-casustafel")
    opened = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "EN-2026-01", "opened_on": "2026-02-01",
                                        "brought_by_person_id": w["bringer"]})
    assert opened.status_code == 201, opened.json
    case = opened.json
    assert {k: case[k] for k in ("reference", "table_id", "phase", "opened_on", "closed_on")} == {
        "reference": "EN-2026-01", "table_id": w["table"], "phase": "signaleren", "opened_on": "2026-02-01",
        "closed_on": None}
    assert case["brought_by_organisation_id"] == w["ggd"]
    again = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "EN-2026-01"})
    assert again.status_code == 409 and set(again.json["error"]["fields"]) == {"reference"}

    moved = api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "inbreng", "on": "2026-02-03",
                                                            "reason": "format casusinbreng ontvangen"})
    assert moved.status_code == 200 and moved.json["phase"] == "inbreng" and moved.json["phase_since"] == "2026-02-03"
    unknown = api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "triage"})
    assert unknown.status_code == 422 and "signaleren" in unknown.json["error"]["fields"]["phase"]
    early = api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "casustafel", "on": "2026-02-02"})
    assert early.status_code == 422 and set(early.json["error"]["fields"]) == {"on"}

    bad_reason = api.post(f"/api/v1/cases/{case['id']}/closure", {"on": "2026-03-01", "reason": "klaar"})
    assert bad_reason.status_code == 422 and set(bad_reason.json["error"]["fields"]) == {"reason"}
    closed = api.post(f"/api/v1/cases/{case['id']}/closure", {"on": "2026-03-01", "reason": "handled"})
    assert closed.status_code == 200 and closed.json["closed_on"] == "2026-03-01"
    assert api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "evaluatie"}).status_code == 409
    early_eval = api.post(f"/api/v1/cases/{case['id']}/evaluation", {"on": "2026-02-20"})
    assert early_eval.status_code == 422 and set(early_eval.json["error"]["fields"]) == {"evaluated_on"}
    evaluated = api.post(f"/api/v1/cases/{case['id']}/evaluation", {"on": "2026-03-15"})
    assert evaluated.status_code == 200 and evaluated.json["evaluated_on"] == "2026-03-15"

    file = api.get(f"/api/v1/cases/{case['id']}").json
    assert [(e["kind"], e["from_phase"], e["to_phase"], e["on"]) for e in file["events"]] == [
        ("opened", None, "signaleren", "2026-02-01"), ("phase", "signaleren", "inbreng", "2026-02-03"),
        ("closed", None, None, "2026-03-01"), ("evaluated", None, None, "2026-03-15")]
    assert file["events"][1]["reason"] == "format casusinbreng ontvangen"
    assert file["events"][1]["recorded_by"] == "admin@example.org"


def test_a_case_that_does_not_belong_is_deleted_at_once(api, app_session):
    from registry.models import Case, CaseEvent, RetentionFigure

    w = _world(api, "emmen-casustafel")
    case = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "EN-NIET-HIER",
                                      "opened_on": "2026-02-01"}).json
    consent = api.post("/api/v1/consents", {
        "table_id": w["table"], "case_ref": "EN-NIET-HIER", "signed_by": "resident",
        "resident_name": "Wilhelmina Zeldzaamheid", "resident_birth_date": "1960-04-04", "purpose": "bespreking",
        "categories": ["name_address"], "recipients": [w["ggd"]], "signed_on": "2026-02-02"})
    assert consent.status_code == 201, consent.json
    closed = api.post(f"/api/v1/cases/{case['id']}/closure", {"on": "2026-02-10", "reason": "not_belonging"})
    assert closed.status_code == 200, closed.json
    assert closed.json["retention_stage"] == "erased" and closed.json["reference"] == f"verwijderd-{case['id']}"
    app_session.expire_all()
    row = app_session.get(Case, case["id"])
    assert row.reference.startswith("verwijderd-") and row.brought_by_person_id is None
    assert app_session.query(CaseEvent).filter_by(case_id=case["id"]).count() == 0
    figures = {(f.month, f.kind): f.count for f in app_session.query(RetentionFigure).filter_by(table_id=w["table"])}
    assert figures[("2026-02", "case_not_belonging")] == 1
    assert api.get(f"/api/v1/cases/{case['id']}").status_code == 410
    assert api.get(f"/api/v1/cases/{case['id']}").json["error"]["code"] == "erased"
    gone = api.get(f"/api/v1/consents/{consent.json['id']}")
    assert gone.status_code == 410 and gone.json["error"]["code"] == "erased"
    assert figures[("2026-02", "consent_erased")] == 1
    from registry.models import Consent

    erased = app_session.get(Consent, consent.json["id"])
    assert erased.resident_name == "" and erased.resident_birth_date is None and erased.erased_on is not None
    listed = api.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]
    assert case["id"] not in [c["id"] for c in listed]


def test_phases_decide_who_sees_the_case(api, app, app_session, client, phased_pack):
    w = _world(api, phased_pack)
    procesregisseur = _org_person(api, "Stichting de Toegang Emmen 2", "Pieter")[1]
    case = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "ZVH-1", "opened_on": "2026-02-01",
                                      "brought_by_person_id": w["bringer"], "age": 34}).json
    assert case["phase"] == "aanmelding"
    from registry.models import Case

    app_session.get(Case, case["id"]).procesregisseur_id = procesregisseur
    app_session.commit()
    coordinator = _client_for(app, app_session, client, [{"role": "coordinator", "table_id": w["table"]}])
    chair = _client_for(app, app_session, client, [{"role": "chair", "table_id": w["table"]}], w["chair"])
    bringer_contact = _client_for(app, app_session, client, [{"role": "partner_contact", "organisation_id": w["ggd"]}])
    regisseur = _client_for(app, app_session, client, (), procesregisseur)
    other_contact = _client_for(app, app_session, client, [{"role": "partner_contact", "organisation_id": w["toegang"]}])

    path = f"/api/v1/cases/{case['id']}"
    assert coordinator.get(path).status_code == 403
    assert "aanmelder" in coordinator.get(path).json["error"]["message"]
    assert chair.get(path).status_code == 403
    assert other_contact.get(path).status_code == 403
    assert bringer_contact.get(path).status_code == 200
    assert regisseur.get(path).status_code == 200
    assert [c["id"] for c in coordinator.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]] == []
    assert [c["id"] for c in regisseur.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]] == [case["id"]]
    # the coordinator cannot move what it cannot see; the procesregisseur can
    assert coordinator.post(f"{path}/phase", {"phase": "overleg"}).status_code == 403
    moved = regisseur.post(f"{path}/phase", {"phase": "overleg", "on": "2026-03-01", "reason": "triage gedaan"})
    assert moved.status_code == 200, moved.json
    assert coordinator.get(path).status_code == 200 and chair.get(path).status_code == 200
    due = moved.json["due"]
    assert {(d["kind"], d["date"], d["label"]) for d in due} == {
        ("due", "2026-09-01", "terug aan tafel"), ("not_before", "2026-05-01", "passieve regie op zijn vroegst")}
    late = coordinator.get(f"/api/v1/tables/{w['table']}/cases?on=2026-09-02").json["cases"][0]["due"]
    assert [d["passed"] for d in late if d["kind"] == "due"] == [True]
    in_time = coordinator.get(f"/api/v1/tables/{w['table']}/cases?on=2026-09-01").json["cases"][0]["due"]
    assert [d["passed"] for d in in_time if d["kind"] == "due"] == [False]
    bad_on = coordinator.get(f"/api/v1/tables/{w['table']}/cases?on=2026-13-01")
    assert bad_on.status_code in (400, 422) and "on" in bad_on.json["error"]["fields"]

    # reading a case file is logged
    from registry.models import AccessLogEntry

    app_session.expire_all()
    assert app_session.query(AccessLogEntry).filter_by(subject_kind="case", subject_id=case["id"]).count() >= 4


def test_min_age_refuses_a_case_of_a_minor_and_roles_come_from_the_pack(api, phased_pack):
    w = _world(api, phased_pack)
    missing = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "X-1"})
    assert missing.status_code == 422 and set(missing.json["error"]["fields"]) == {"age"}
    minor = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "X-1", "age": 17})
    assert minor.status_code == 422 and "18 jaar en ouder" in minor.json["error"]["fields"]["age"]
    track = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "X-1", "age": 18, "track": "4"})
    assert track.status_code == 422 and set(track.json["error"]["fields"]) == {"track"}
    case = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "X-1", "age": 18, "track": "1"})
    assert case.status_code == 201 and case.json["track"] == "1"
    case_id = case.json["id"]

    no_role = api.post(f"/api/v1/cases/{case_id}/participants", {"person_id": w["chair"]})
    assert no_role.status_code == 422 and set(no_role.json["error"]["fields"]) == {"role"}
    expert = api.post(f"/api/v1/cases/{case_id}/participants", {"person_id": w["chair"], "role": "expert"})
    assert expert.status_code == 201 and expert.json["ad_hoc"] is False
    assert api.post(f"/api/v1/cases/{case_id}/participants", {"person_id": w["chair"], "role": "expert"}).status_code == 409
    # an ad hoc partner needs a signed Bijlage 2 for this case
    outsider_org, outsider = _org_person(api, "Woningcorporatie Lefier", "Sanne")
    refused = api.post(f"/api/v1/cases/{case_id}/participants", {"person_id": outsider, "role": "adhoc",
                                                                "on": "2026-03-01"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"person_id"}
    declared = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": outsider, "table_id": w["table"],
                                                 "case_ref": "X-1", "signed_on": "2026-02-20"})
    assert declared.status_code == 201, declared.json
    joined = api.post(f"/api/v1/cases/{case_id}/participants", {"person_id": outsider, "role": "adhoc",
                                                               "on": "2026-03-01"})
    assert joined.status_code == 201 and joined.json["ad_hoc"] is True

    basis = api.post(f"/api/v1/cases/{case_id}/sharing-basis", {"organisation_id": w["ggd"], "basis": "own_task"})
    assert basis.status_code == 200 and basis.json["basis"] == "own_task"
    bad = api.post(f"/api/v1/cases/{case_id}/sharing-basis", {"organisation_id": w["ggd"], "basis": "gut"})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"basis"}
    file = api.get(f"/api/v1/cases/{case_id}").json
    assert [(p["role"], p["ad_hoc"]) for p in file["participants"]] == [("expert", False), ("adhoc", True)]
    assert [(b["organisation_id"], b["basis"]) for b in file["sharing_bases"]] == [(w["ggd"], "own_task")]


def test_packs_list_phases_legal_basis_min_age_and_retention(api):
    packs = {p["name"]: p for p in api.get("/api/v1/packs").json["packs"]}
    emmen = packs["emmen-casustafel"]
    assert [p["key"] for p in emmen["phases"]] == ["signaleren", "inbreng", "casustafel", "acties",
                                                   "terugkoppeling", "evaluatie"]
    assert emmen["legal_basis"] == "consent" and emmen["min_age"] is None
    assert emmen["retention"] == {"from": "evaluated", "archive_after_months": None, "delete_after_months": 3,
                                  "exception_max_months": 6}


def test_a_bijlage_2_for_a_new_reference_opens_the_case_the_one_way(api, phased_pack):
    """A case implied by a Bijlage 2 opens through the same open_case: first phase, an
    "opened" step, the same reference rules; the age is not asked there."""
    w = _world(api, phased_pack)
    declared = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": w["bringer"], "table_id": w["table"],
                                                 "case_ref": "FT-2026-09", "signed_on": "2026-02-01"})
    assert declared.status_code == 201, declared.json
    listed = {c["reference"]: c for c in api.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]}
    assert listed["FT-2026-09"]["phase"] == "aanmelding" and listed["FT-2026-09"]["opened_on"] == "2026-02-01"
    file = api.get(f"/api/v1/cases/{listed['FT-2026-09']['id']}").json
    assert [(e["kind"], e["to_phase"], e["on"]) for e in file["events"]] == [("opened", "aanmelding", "2026-02-01")]
    # the same reference rules, naming the declaration's own field
    long = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": w["bringer"], "table_id": w["table"],
                                             "case_ref": "Jan Jansen, Dorpsstraat 1"})
    assert long.status_code == 422 and set(long.json["error"]["fields"]) == {"case_ref"}
