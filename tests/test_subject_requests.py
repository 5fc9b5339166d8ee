"""The register of residents' requests (AVG art. 15–21): recording with the statutory
deadline, the access export (JSON and PDF) with consents, cases, phases, meeting dates
and the access log's reads — the export itself logged — and erasure that leaves the
evidence chain intact; who may; the privacy officer's pages."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import rules
from tests.auth_support import csrf_of, login
from tests.conftest import Api
from tests.readback import one_line, pdf_text

RESIDENT = ("José  de Vries", "1980-05-01")


def _org_person(api, org_name, name):
    org = api.post("/api/v1/organisations", {"name": org_name}).json["id"]
    person = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": org,
                                         "function": "Medewerker", "email": f"{name.lower()}@example.org"}).json["id"]
    return org, person


def _world(api):
    """A covenant with three signed partners and a table whose coordinator is entitled."""
    covenant = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "C", "region": "Emmen"}).json["id"]
    toegang, chair = _org_person(api, "Stichting de Toegang Emmen", "Anouk")
    sedna, coordinator = _org_person(api, "Stichting Welzijnsorganisatie Sedna", "Gerda")
    ggd, worker = _org_person(api, "GGD Drenthe", "Mira")
    for org, rep in ((toegang, chair), (sedna, coordinator), (ggd, worker)):
        assert api.post(f"/api/v1/covenants/{covenant}/partners",
                        {"organisation_id": org, "representative_id": rep, "signed_on": "2026-01-05"}).status_code == 201
    table = api.post("/api/v1/tables", {"covenant_id": covenant, "name": "Casustafel Noord", "area": "Emmen-Noord",
                                        "chair_id": chair, "coordinator_id": coordinator}).json["id"]
    declared = api.post("/api/v1/declarations", {"kind": "structural", "person_id": coordinator, "table_id": table,
                                                 "signed_on": "2026-01-06"})
    assert declared.status_code == 201, declared.json
    return dict(covenant=covenant, table=table, chair=chair, coordinator=coordinator, ggd=ggd, sedna=sedna)


def _consent(api, w, case_ref, name, birth_date, **extra):
    made = api.post("/api/v1/consents", {
        "table_id": w["table"], "case_ref": case_ref, "signed_by": "resident", "resident_name": name,
        "resident_birth_date": birth_date, "purpose": "bespreking aan de casustafel",
        "categories": ["name_address"], "recipients": [w["ggd"]], "signed_on": "2026-02-02", **extra})
    assert made.status_code == 201, made.json
    return made.json


def _token_client(app_session, client, email, grants=(), person_id=None):
    from registry import accounts

    user = accounts.create_user(app_session, email, "een lang wachtwoord", name=email.split("@")[0].title(),
                                person_id=person_id, grants=list(grants), created_by="test")
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return Api(client, token)


def _case_id(api, w, reference):
    cases = api.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]
    return next(c["id"] for c in cases if c["reference"] == reference)


@pytest.fixture
def scene(api, app_session, client):
    """The resident's consents on two cases (one shared with a family member), a near
    namesake with another birth date, a phase move, a meeting, a coordinator's read."""
    w = _world(api)
    mine = _consent(api, w, "EN-2026-01", *RESIDENT)
    shared = _consent(api, w, "EN-2026-02", "jose de vries", "1980-05-01", signed_on=None)
    sibling = _consent(api, w, "EN-2026-02", "Anna de Vries", "2016-03-03", signed_by="parents")
    namesake = _consent(api, w, "EN-2026-03", "José de Vries", "1981-05-01")
    case1 = _case_id(api, w, "EN-2026-01")
    assert api.post(f"/api/v1/cases/{case1}/phase", {"phase": "inbreng", "on": "2026-02-03",
                                                     "reason": "iets over de inhoud"}).status_code == 200
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": "2026-03-10T14:00",
                                            "location": "Raadhuis",
                                            "cases": [{"case_ref": "EN-2026-01", "invitee_ids": [w["chair"]]}]})
    assert meeting.status_code == 201, meeting.json
    coordinator = _token_client(app_session, client, "gerda.coord@example.org",
                                [{"role": "coordinator", "table_id": w["table"]}], w["coordinator"])
    read = coordinator.get(f"/api/v1/consents/{mine['id']}")
    assert read.status_code == 200, read.json
    privacy = _token_client(app_session, client, "privacy@example.org",
                            [{"role": "privacy_officer", "covenant_id": w["covenant"]}])
    return dict(w=w, mine=mine, shared=shared, sibling=sibling, namesake=namesake, case1=case1,
                coordinator=coordinator, privacy=privacy)


def test_a_request_is_recorded_with_its_statutory_deadline_and_bad_fields_are_named(scene):
    privacy = scene["privacy"]
    made = privacy.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "José de Vries",
                                                      "resident_birth_date": "1980-05-01", "received_on": "2026-01-31"})
    assert made.status_code == 201, made.json
    body = made.json
    assert {k: body[k] for k in ("kind", "received_on", "due_on", "handled_on", "covenant_id")} == {
        "kind": "access", "received_on": "2026-01-31", "due_on": "2026-02-28", "handled_on": None,
        "covenant_id": scene["w"]["covenant"]}
    assert body["overdue"] is True  # received in January 2026, open

    today = privacy.post("/api/v1/subject-requests", {"kind": "objection", "resident_name": "X",
                                                       "resident_birth_date": "1990-01-01"}).json
    assert today["received_on"] == rules.today().isoformat()
    assert today["due_on"] == rules.add_months(rules.today(), 1).isoformat() and today["overdue"] is False

    for bad, field in (({"kind": "complaint"}, "kind"), ({"resident_name": "   "}, "resident_name"),
                       ({"resident_birth_date": "1980-13-01"}, "resident_birth_date"),
                       ({"received_on": (rules.today() + dt.timedelta(days=1)).isoformat()}, "received_on"),
                       ({"resident_birth_date": "2026-02-01", "received_on": "2026-01-31"}, "resident_birth_date")):
        answer = privacy.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "José de Vries",
                                                            "resident_birth_date": "1980-05-01", **bad})
        assert answer.status_code == 422 and field in answer.json["error"]["fields"], (bad, answer.json)

    listed = privacy.get("/api/v1/subject-requests").json["requests"]
    assert [r["id"] for r in listed] == [body["id"], today["id"]]  # soonest deadline first
    handled = privacy.post(f"/api/v1/subject-requests/{today['id']}/handling",
                           {"outcome": "refused", "outcome_text": "geen gegevens van deze persoon"})
    assert handled.status_code == 200 and handled.json["handled_on"] == rules.today().isoformat()
    assert privacy.post(f"/api/v1/subject-requests/{today['id']}/handling", {"outcome": "granted"}).status_code == 409
    assert [r["id"] for r in privacy.get("/api/v1/subject-requests").json["requests"]] == [body["id"]]


def test_the_export_holds_that_residents_consents_cases_phases_meetings_and_reads(scene, app_session):
    from registry.models import AccessLogEntry

    privacy, w = scene["privacy"], scene["w"]
    request = privacy.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "jose DE vries",
                                                         "resident_birth_date": "1980-05-01"}).json
    export = privacy.get(f"/api/v1/subject-requests/{request['id']}/export")
    assert export.status_code == 200, export.json
    data = export.json
    assert data["resident"] == {"name": "jose DE vries", "birth_date": "1980-05-01"}
    assert [c["id"] for c in data["consents"]] == [scene["mine"]["id"], scene["shared"]["id"]]  # not the namesake
    first = data["consents"][0]
    assert first["case_reference"] == "EN-2026-01" and first["table"]["name"] == "Casustafel Noord"
    assert first["recipients"] == ["GGD Drenthe"] and first["status"] == "signed"
    assert first["signed_on"] == "2026-02-02" and first["withdrawn_on"] is None
    assert [c["key"] for c in first["categories"]] == ["name_address"] and first["categories"][0]["label"]
    assert [c["reference"] for c in data["cases"]] == ["EN-2026-01", "EN-2026-02"]
    case = data["cases"][0]
    assert [(p["on"], p["phase"]) for p in case["phases"]][-1] == ("2026-02-03", "inbreng")
    assert all(set(p) == {"on", "kind", "phase", "label"} for p in case["phases"])  # no reasons, no WAT
    assert "iets over de inhoud" not in export.get_data(as_text=True)
    assert case["meetings"] == [{"on": "2026-03-10"}]  # a date: no time, no location
    assert "Raadhuis" not in export.get_data(as_text=True)
    reads = [r for r in data["reads"] if r["subject"] == {"kind": "consent", "id": scene["mine"]["id"]}]
    assert len(reads) == 1
    assert reads[0]["email"] == "gerda.coord@example.org" and reads[0]["who"] == "Gerda.Coord"
    assert reads[0]["organisation"] == "Stichting Welzijnsorganisatie Sedna" and reads[0]["action"] == "view"
    assert reads[0]["at"].startswith(dt.datetime.now(dt.timezone.utc).date().isoformat()[:4])

    app_session.expire_all()
    logged = app_session.query(AccessLogEntry).filter_by(subject_kind="subject_request", subject_id=request["id"],
                                                         action="export").all()
    assert len(logged) == 1 and logged[0].details["covenant_id"] == w["covenant"]
    assert logged[0].details["consents"] == [scene["mine"]["id"], scene["shared"]["id"]]
    # the privacy officer reads that hand-out in the access log
    entries = privacy.get("/api/v1/access-log").json["entries"]
    assert any(e["action"] == "export" and e["subject"] == {"kind": "subject_request", "id": request["id"]}
               for e in entries)
    # a second export lists the first one among the reads of this request
    again = privacy.get(f"/api/v1/subject-requests/{request['id']}/export").json
    assert [r["action"] for r in again["reads"] if r["subject"]["kind"] == "subject_request"] == ["export"]


def test_the_export_pdf_names_the_resident_and_their_consents(scene):
    privacy = scene["privacy"]
    request = privacy.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "José de Vries",
                                                         "resident_birth_date": "1980-05-01"}).json
    pdf = privacy.get(f"/api/v1/subject-requests/{request['id']}/export.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == f'attachment; filename="inzage-verzoek-{request["id"]}.pdf"'
    text = one_line(pdf_text(pdf.data))
    assert "José de Vries" in text and "1 mei 1980" in text
    assert f"Toestemming {scene['mine']['id']} · casus EN-2026-01 · Casustafel Noord" in text
    assert f"Toestemming {scene['shared']['id']} · casus EN-2026-02" in text
    assert "EN-2026-03" not in text and "GGD Drenthe" in text
    assert "2026-03-10" in text and "gerda.coord@example.org" in text
    assert "Stichting Welzijnsorganisatie Sedna" in text


def test_erasure_erases_the_resident_keeps_a_family_case_and_the_chains_verify(scene, api, app_session):
    from registry import access_log
    from registry.models import Case, Consent
    from signatures import evidence

    privacy = scene["privacy"]
    access_request = privacy.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "José de Vries",
                                                                "resident_birth_date": "1980-05-01"}).json
    refused = privacy.post(f"/api/v1/subject-requests/{access_request['id']}/erasure")
    assert refused.status_code == 409 and set(refused.json["error"]["fields"]) == {"kind"}

    request = privacy.post("/api/v1/subject-requests", {"kind": "erasure", "resident_name": "José de Vries",
                                                         "resident_birth_date": "1980-05-01"}).json
    erased = privacy.post(f"/api/v1/subject-requests/{request['id']}/erasure")
    assert erased.status_code == 200, erased.json
    body = erased.json
    assert body["erased"]["consents"] == [scene["mine"]["id"], scene["shared"]["id"]]
    assert body["erased"]["cases"] == [scene["case1"]]
    shared_case = _case_id(api, scene["w"], "EN-2026-02")
    assert [k["case_id"] for k in body["kept_cases"]] == [shared_case]
    assert "buiten het bereik" in body["note"] and "PDF" in body["note"]
    assert body["request"]["handled_on"] == rules.today().isoformat() and body["request"]["outcome"] == "granted"
    assert privacy.post(f"/api/v1/subject-requests/{request['id']}/erasure").status_code == 409

    for consent in (scene["mine"], scene["shared"]):
        gone = api.get(f"/api/v1/consents/{consent['id']}")
        assert gone.status_code == 410 and gone.json["error"]["code"] == "erased"
    assert api.get(f"/api/v1/consents/{scene['sibling']['id']}").status_code == 200
    assert api.get(f"/api/v1/consents/{scene['namesake']['id']}").status_code == 200
    app_session.expire_all()
    assert app_session.get(Case, scene["case1"]).retention_stage == "erased"
    assert app_session.get(Case, shared_case).retention_stage == "active"
    assert app_session.get(Consent, scene["mine"]["id"]).resident_name == ""
    assert evidence.verify_chain(app_session).ok
    assert access_log.verify(app_session).ok
    # afterwards the export finds nothing of the resident
    after = privacy.get(f"/api/v1/subject-requests/{access_request['id']}/export").json
    assert after["consents"] == [] and after["cases"] == []


def test_who_may_handle_requests(scene, app_session, client, api):
    privacy, coordinator, w = scene["privacy"], scene["coordinator"], scene["w"]
    request = privacy.post("/api/v1/subject-requests", {"kind": "erasure", "resident_name": "José de Vries",
                                                         "resident_birth_date": "1980-05-01"}).json
    path = f"/api/v1/subject-requests/{request['id']}"
    for method, url in (("post", "/api/v1/subject-requests"), ("get", "/api/v1/subject-requests"),
                        ("get", f"{path}/export"), ("get", f"{path}/export.pdf"), ("post", f"{path}/erasure")):
        answer = getattr(coordinator, method)(url, **({"json": {}} if method == "post" else {}))
        assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", (url, answer.json)
    other_covenant = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "D", "region": "Assen"}).json
    stranger = _token_client(app_session, client, "other.privacy@example.org",
                             [{"role": "privacy_officer", "covenant_id": other_covenant["id"]}])
    assert stranger.get(f"{path}/export").status_code == 403
    assert stranger.get("/api/v1/subject-requests").json["requests"] == []
    assert stranger.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "X",
                                                       "resident_birth_date": "1990-01-01",
                                                       "covenant_id": w["covenant"]}).status_code == 403
    # an admin's request without a covenant concerns every covenant: only admins handle it
    everywhere = api.post("/api/v1/subject-requests", {"kind": "access", "resident_name": "José de Vries",
                                                        "resident_birth_date": "1980-05-01"}).json
    assert everywhere["covenant_id"] is None
    assert privacy.get(f"/api/v1/subject-requests/{everywhere['id']}/export").status_code == 403
    assert api.get(f"/api/v1/subject-requests/{everywhere['id']}/export").json["scope"] == "alle convenanten"
    assert api.get("/api/v1/subject-requests/99999/export").status_code == 404
    assert privacy.post(f"{path}/erasure").status_code == 200


def test_find_consents_compares_normalised_names_and_the_birth_date(scene, app_session):
    from registry.subject_requests import find_consents, normalise_name

    assert normalise_name("  José \t de  VRIES ") == "jose de vries" == normalise_name("Jose de Vries")
    found = find_consents(app_session, "JOSE DE VRIES", dt.date(1980, 5, 1))
    assert [c.id for c in found] == [scene["mine"]["id"], scene["shared"]["id"]]
    assert find_consents(app_session, "José de Vries", dt.date(1981, 5, 1))[0].id == scene["namesake"]["id"]
    assert find_consents(app_session, "José de Vriesje", dt.date(1980, 5, 1)) == []


def test_the_register_pages_list_with_deadline_record_export_and_erase(scene, logged_in, app_session):
    from registry.models import SubjectRequest

    client = logged_in
    page = client.get("/verzoeken")
    assert page.status_code == 200 and "Verzoeken van inwoners" in page.get_data(as_text=True)
    form = client.get("/verzoeken/nieuw").get_data(as_text=True)
    bad = client.post("/verzoeken/nieuw", data={"csrf_token": csrf_of(form), "kind": "erasure",
                                                 "resident_name": " ", "resident_birth_date": "2030-01-01",
                                                 "received_on": "2026-01-31", "covenant_id": ""})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Vul de naam van de inwoner in." in text
    assert "De geboortedatum ligt na de ontvangstdatum." in text
    made = client.post("/verzoeken/nieuw", data={"csrf_token": csrf_of(form), "kind": "erasure",
                                                  "resident_name": "José de Vries", "resident_birth_date": "1980-05-01",
                                                  "received_on": "2026-01-31",
                                                  "covenant_id": str(scene["w"]["covenant"])})
    assert made.status_code == 302, made.get_data(as_text=True)
    request = app_session.query(SubjectRequest).one()
    listing = client.get("/verzoeken").get_data(as_text=True)
    assert "José de Vries" in listing and "2026-02-28" in listing and "overdue" in listing
    assert "termijn verstreken" in listing
    detail = client.get(f"/verzoeken/{request.id}").get_data(as_text=True)
    assert "Inzage-export (PDF)" in detail and "Inzage-export (JSON)" in detail and "Verwijderen" in detail
    assert client.get(f"/verzoeken/{request.id}/inzage.pdf").mimetype == "application/pdf"
    assert client.get(f"/verzoeken/{request.id}/inzage.json").json["consents"]
    confirm = client.get(f"/verzoeken/{request.id}/verwijderen")
    assert confirm.status_code == 200 and "2 toestemming" in confirm.get_data(as_text=True)
    done = client.post(f"/verzoeken/{request.id}/verwijderen",
                       data={"csrf_token": csrf_of(confirm.get_data(as_text=True)), "confirm": "y"})
    assert done.status_code == 302
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "buiten het bereik" in after and "Afgehandeld" in after
    app_session.expire_all()
    assert app_session.get(SubjectRequest, request.id).handled_on == rules.today()


def test_the_menu_shows_the_register_to_privacy_officers_only(scene, client, make_user):
    from tests.auth_support import logged_in_as  # noqa: F401

    email, password, secret = make_user([{"role": "privacy_officer", "covenant_id": scene["w"]["covenant"]}])
    assert login(client, email, password, secret).status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert 'href="/verzoeken"' in home
    listing = client.get("/verzoeken")
    assert listing.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(home)})
    email, password, secret = make_user([{"role": "coordinator", "table_id": scene["w"]["table"]}])
    assert login(client, email, password, secret).status_code == 302
    assert 'href="/verzoeken"' not in client.get("/").get_data(as_text=True)
    assert client.get("/verzoeken").status_code == 403
