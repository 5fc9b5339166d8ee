"""The case pages: a case's file with its forms, the table's case list with passed
deadlines, a new case from the table page, the meeting's action list — each for the
accounts the case's phase and the registry allow, with Dutch field errors that write
nothing, escaping, and every read in the access log."""

from __future__ import annotations

import datetime as dt
import re

from tests.auth_support import csrf_of, login
from tests.test_case_actions_api import _declare
from tests.test_cases import _org_person, _world, phased_pack  # noqa: F401  (fixture)


def _web(app, make_user, grants=(), person_id=None):
    """A fresh web client logged in as a new account with these grants and this person."""
    email, password, secret = make_user(grants=grants, person_id=person_id)
    client = app.test_client()
    response = login(client, email, password, secret)
    assert response.status_code == 302 and "/login" not in response.headers["Location"], response.get_data(as_text=True)
    return client


def _post(client, page_url, url, prefix, data):
    """Post one form of a page with the page's CSRF token under the form's prefix."""
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    fields = {f"{prefix}-{k}" if prefix else k: v for k, v in data.items()}
    fields[f"{prefix}-csrf_token" if prefix else "csrf_token"] = token
    return client.post(url, data=fields)


def _case(api, w, reference="EN-2026-01", **extra):
    made = api.post("/api/v1/cases", {"table_id": w["table"], "reference": reference, "opened_on": "2026-02-01",
                                      "brought_by_person_id": w["bringer"], **extra})
    assert made.status_code == 201, made.json
    return made.json


def test_the_case_page_shows_the_file_and_its_read_is_logged(api, logged_in, app_session):
    from registry.models import AccessLogEntry

    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    assert api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "inbreng", "on": "2026-02-03",
                                                          "reason": "format ontvangen"}).status_code == 200
    assert api.post(f"/api/v1/cases/{case['id']}/participants", {"person_id": w["chair"], "on": "2026-02-04"}).status_code == 201
    assert api.post(f"/api/v1/cases/{case['id']}/sharing-basis", {"organisation_id": w["ggd"], "basis": "consent"}).status_code == 200
    assert api.post(f"/api/v1/cases/{case['id']}/casusregie", {"organisation_id": w["toegang"], "on": "2026-02-05"}).status_code == 200
    page = logged_in.get(f"/cases/{case['id']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("Casus EN-2026-01", "2. Inbreng &amp; coördinatie", "sinds 3 februari 2026", "Mira", "GGD Drenthe",
                 "Anouk", "toestemming van de inwoner", "casusregie bij Stichting de Toegang Emmen",
                 "naar een andere fase: 1. Signaleren → 2. Inbreng &amp; coördinatie", "format ontvangen",
                 "Fase wijzigen", "Casus afsluiten", "Deelnemer toevoegen", "Hoort niet aan deze tafel"):
        assert text in html, text
    assert "Procesregisseur" not in html  # Emmen has none per case
    # the organisation of the participant without a recorded basis shows that
    assert "niet vastgelegd" in html
    app_session.expire_all()
    assert app_session.query(AccessLogEntry).filter_by(subject_kind="case", subject_id=case["id"]).count() == 1
    assert logged_in.get("/cases/999999").status_code == 404


def test_phases_decide_who_sees_the_case_page_and_the_table_lists_only_those(api, app, app_session, make_user,
                                                                             phased_pack):
    w = _world(api, phased_pack)
    case = _case(api, w, "ZVH-1", age=30)
    coordinator = _web(app, make_user, [{"role": "coordinator", "table_id": w["table"]}])
    bringer = _web(app, make_user, [{"role": "partner_contact", "organisation_id": w["ggd"]}])
    other = _web(app, make_user, [{"role": "partner_contact", "organisation_id": w["toegang"]}])
    path = f"/cases/{case['id']}"
    refused = coordinator.get(path)
    assert refused.status_code == 403 and "alleen zichtbaar voor" in refused.get_data(as_text=True)
    assert other.get(path).status_code == 403
    assert bringer.get(path).status_code == 200
    table = f"/tables/{w['table']}"
    assert "ZVH-1" not in coordinator.get(table).get_data(as_text=True)
    assert "ZVH-1" in bringer.get(table).get_data(as_text=True)

    assert api.post(f"/api/v1/cases/{case['id']}/phase", {"phase": "overleg", "on": "2026-03-01"}).status_code == 200
    assert coordinator.get(path).status_code == 200
    late = coordinator.get(f"{table}?on=2026-09-02").get_data(as_text=True)
    row = late[late.index('id="casussen"'):late.index("</table>", late.index('id="casussen"'))]
    assert "ZVH-1" in row and "uiterlijk 1 september 2026: terug aan tafel" in row and "verlopen" in row
    assert "op zijn vroegst 1 mei 2026" in row
    in_time = coordinator.get(f"{table}?on=2026-09-01").get_data(as_text=True)
    assert "verlopen" not in in_time[in_time.index('id="casussen"'):]
    # the procesregisseur form exists where the pack has one; a person without Bijlage 1 is refused
    html = coordinator.get(path).get_data(as_text=True)
    assert "Procesregisseur" in html and 'id="form-regisseur"' in html
    answer = _post(coordinator, path, f"{path}/procesregisseur", "regisseur", {"person_id": str(w["chair"]), "on": "2026-03-02"})
    assert answer.status_code == 422 and "structureel aan deze casustafel" in answer.get_data(as_text=True)


def test_forms_show_dutch_field_errors_and_write_nothing(api, logged_in, app_session):
    from registry.models import Case, CaseEvent

    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    path = f"/cases/{case['id']}"
    events = lambda: app_session.query(CaseEvent).filter_by(case_id=case["id"]).count()  # noqa: E731
    before = events()

    bad = _post(logged_in, path, f"{path}/phase", "phase", {"phase": "triage", "on": ""})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Vul de datum in." in html
    bad = _post(logged_in, path, f"{path}/phase", "phase", {"phase": "triage", "on": "2026-02-05"})
    assert bad.status_code == 422 and "Kies uit: signaleren" in bad.get_data(as_text=True)
    early = _post(logged_in, path, f"{path}/phase", "phase", {"phase": "inbreng", "on": "2026-01-01"})
    assert early.status_code == 422 and "De casus is in de huidige fase sinds 2026-02-01." in early.get_data(as_text=True)
    not_a_date = _post(logged_in, path, f"{path}/closure", "close", {"reason": "handled", "on": "morgen"})
    assert not_a_date.status_code == 422 and "Geen geldige datum" in not_a_date.get_data(as_text=True)
    no_reason = _post(logged_in, path, f"{path}/closure", "close", {"reason": "", "on": "2026-03-01"})
    assert no_reason.status_code == 422 and "Kies een reden." in no_reason.get_data(as_text=True)
    outsider, _ = _org_person(api, "Woningcorporatie Lefier", "Sanne")
    regie = _post(logged_in, path, f"{path}/casusregie", "regie", {"organisation_id": str(outsider), "on": "2026-03-01"})
    assert regie.status_code == 422 and "Alleen een convenantpartner" in regie.get_data(as_text=True)
    basis = _post(logged_in, path, f"{path}/sharing-basis", "basis", {"organisation_id": str(w["ggd"]), "basis": "gut"})
    assert basis.status_code == 422 and "Kies uit: own_task" in basis.get_data(as_text=True)
    nobody = _post(logged_in, path, f"{path}/participants", "participant", {"person_id": "x"})
    assert nobody.status_code == 422 and "Kies een persoon." in nobody.get_data(as_text=True)
    evaluation = _post(logged_in, path, f"{path}/evaluation", "evaluation", {"on": "2026-03-01"})
    assert evaluation.status_code == 422 and "Sluit de casus eerst af." in evaluation.get_data(as_text=True)
    app_session.expire_all()
    assert events() == before
    row = app_session.get(Case, case["id"])
    assert row.phase == "signaleren" and row.closed_on is None and row.casusregie_organisation_id is None

    # and the same forms do their work
    moved = _post(logged_in, path, f"{path}/phase", "phase", {"phase": "inbreng", "on": "2026-02-05", "reason": "x"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(path)
    closed = _post(logged_in, path, f"{path}/closure", "close", {"reason": "handled", "on": "2026-03-01"})
    assert closed.status_code == 302
    html = logged_in.get(path).get_data(as_text=True)
    assert "afgesloten op 1 maart 2026 (afgehandeld)" in html and "Evaluatie vastleggen" in html
    assert "Fase wijzigen" not in html
    assert _post(logged_in, path, f"{path}/evaluation", "evaluation", {"on": "2026-03-10"}).status_code == 302
    app_session.expire_all()
    assert app_session.get(Case, case["id"]).evaluated_on == dt.date(2026, 3, 10)


def test_a_new_case_from_the_table_page(api, logged_in, app_session):
    from registry.models import Case

    w = _world(api, "emmen-casustafel")
    table = f"/tables/{w['table']}"
    page = logged_in.get(table).get_data(as_text=True)
    assert "Nieuwe casus aanmelden" in page
    empty = _post(logged_in, table, f"{table}/cases", "new", {"reference": "", "opened_on": "2026-02-01"})
    assert empty.status_code == 422 and "Vul de casusreferentie in." in empty.get_data(as_text=True)
    assert app_session.query(Case).count() == 0
    made = _post(logged_in, table, f"{table}/cases", "new", {"reference": "EN-2026-020", "opened_on": "2026-02-01",
                                                             "brought_by": str(w["bringer"])})
    assert made.status_code == 302, made.get_data(as_text=True)
    app_session.expire_all()
    case = app_session.query(Case).one()
    assert case.reference == "EN-2026-020" and case.brought_by_person_id == w["bringer"]
    again = _post(logged_in, table, f"{table}/cases", "new", {"reference": "EN-2026-020"})
    assert again.status_code == 422 and "Deze referentie is al in gebruik." in again.get_data(as_text=True)
    assert app_session.query(Case).count() == 1
    assert "EN-2026-020" in logged_in.get(table).get_data(as_text=True)


def test_the_new_case_form_asks_the_age_where_the_pack_has_a_minimum(api, logged_in, app_session, phased_pack):
    from registry.models import Case

    w = _world(api, phased_pack)
    table = f"/tables/{w['table']}"
    minor = _post(logged_in, table, f"{table}/cases", "new", {"reference": "ZVH-2", "age": "17"})
    assert minor.status_code == 422 and "18 jaar en ouder" in minor.get_data(as_text=True)
    assert app_session.query(Case).count() == 0


def test_a_partner_contact_without_the_case_rights_sees_no_forms(api, app, make_user, app_session):
    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    bringer = _web(app, make_user, [{"role": "partner_contact", "organisation_id": w["ggd"]}])
    other = _web(app, make_user, [{"role": "partner_contact", "organisation_id": w["toegang"]}])
    html = bringer.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "Casus EN-2026-01" in html  # the bringer's own organisation
    assert other.get(f"/cases/{case['id']}").status_code == 403
    assert _post(other, f"/tables/{w['table']}", f"/cases/{case['id']}/phase", "phase",
                 {"phase": "inbreng", "on": "2026-02-05"}).status_code == 403
    assert "Nieuwe casus aanmelden" not in _web(app, make_user).get("/").get_data(as_text=True)


def test_a_reference_like_a_script_is_escaped(api, logged_in):
    w = _world(api, "emmen-casustafel")
    evil = '<script>alert("x")</script>'
    case = _case(api, w, evil)
    for url in (f"/cases/{case['id']}", f"/tables/{w['table']}"):
        html = logged_in.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "&lt;script&gt;alert" in html, url


def _meeting(api, w):
    for person in (w["chair"], w["coordinator"], w["bringer"]):
        w[f"decl_{person}"] = _declare(api, person, w["table"])
    day = dt.date.today() + dt.timedelta(days=7)
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": f"{day.isoformat()}T14:00", "cases": [
        {"case_ref": "EN-2026-01", "invitee_ids": [w["chair"], w["bringer"]]}]})
    assert meeting.status_code == 201, meeting.json
    return meeting.json["id"], day


def test_the_action_list_on_the_meeting_page_and_for_an_invitee(api, app, logged_in, make_user, app_session):
    from registry.models import ActionItem

    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    meeting, day = _meeting(api, w)
    assert api.post(f"/api/v1/cases/{case['id']}/sharing-basis", {"organisation_id": w["ggd"], "basis": "own_task"}).status_code == 200
    check = logged_in.get(f"/meetings/{meeting}").get_data(as_text=True)
    assert "Actielijst (artikel 7)" in check and "Actie toevoegen" in check
    assert "Grondslag verstrekking" in check and "eigen wettelijke taak" in check

    actions_url = f"/meetings/{meeting}/actions"
    bad = _post(logged_in, actions_url, actions_url, "action", {"case_id": str(case["id"]), "person_id": str(w["coordinator"]),
                                                                "action": "", "due_on": (day - dt.timedelta(days=1)).isoformat()})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Kies een actie." in html
    bad = _post(logged_in, actions_url, actions_url, "action", {"case_id": str(case["id"]), "person_id": str(w["coordinator"]),
                                                                "action": "referral", "due_on": (day - dt.timedelta(days=1)).isoformat()})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "uitgenodigd" in html and "niet vóór het overleg" in html
    assert app_session.query(ActionItem).count() == 0
    due = (day + dt.timedelta(days=10)).isoformat()
    made = _post(logged_in, actions_url, actions_url, "action", {"case_id": str(case["id"]), "person_id": str(w["bringer"]),
                                                                 "action": "feedback_bringer", "due_on": due})
    assert made.status_code == 302
    assert "terugkoppeling aan de inbrenger" in logged_in.get(f"/meetings/{meeting}").get_data(as_text=True)

    invitee = _web(app, make_user, (), w["bringer"])
    own = invitee.get(actions_url)
    assert own.status_code == 200
    html = own.get_data(as_text=True)
    assert "terugkoppeling aan de inbrenger" in html and "Actie toevoegen" not in html
    item = app_session.query(ActionItem).one()
    done = invitee.post(f"/actions/{item.id}/done", data={"on": day.isoformat(), "csrf_token": csrf_of(html)})
    assert done.status_code == 302
    app_session.expire_all()
    assert app_session.get(ActionItem, item.id).done_on == day
    stranger = _web(app, make_user, (), _org_person(api, "Stichting de Toegang Emmen 2", "Pieter")[1])
    assert stranger.get(actions_url).status_code == 403

    revoked = api.post(f"/api/v1/declarations/{w['decl_' + str(w['bringer'])]}/revocation", {"on": dt.date.today().isoformat()})
    assert revoked.status_code == 200, revoked.json
    refused = invitee.get(actions_url)
    assert refused.status_code == 403 and "actielijst" in refused.get_data(as_text=True)
    assert re.search(r"Bijlage 1", refused.get_data(as_text=True))


def test_retention_exception_and_reopening_on_the_web(api, app, logged_in, make_user, app_session):
    from registry import retention, rules
    from registry.models import Case, CaseEvent

    w = _world(api, "emmen-casustafel")
    case = _case(api, w)
    path = f"/cases/{case['id']}"
    assert "Langer bewaren (uitzondering)" in logged_in.get(path).get_data(as_text=True)
    too_far = (rules.add_months(rules.today(), 7)).isoformat()
    far = _post(logged_in, path, f"{path}/retention-exception", "hold", {"reason": "lopend onderzoek", "review_on": too_far})
    assert far.status_code == 422 and "Hoogstens 6 maanden vooruit" in far.get_data(as_text=True)
    empty = _post(logged_in, path, f"{path}/retention-exception", "hold", {"reason": "", "review_on": ""})
    assert empty.status_code == 422 and "Vul een motivering in." in empty.get_data(as_text=True)
    app_session.expire_all()
    assert app_session.get(Case, case["id"]).retention_review_on is None
    review = (rules.add_months(rules.today(), 3)).isoformat()
    held = _post(logged_in, path, f"{path}/retention-exception", "hold", {"reason": "lopend onderzoek", "review_on": review})
    assert held.status_code == 302
    html = logged_in.get(path).get_data(as_text=True)
    assert f"bewaard tot de herbeoordeling op {review}" in html and "lopend onderzoek" in html
    assert "uitzondering op de bewaartermijn" in html  # the history names it

    # archived: the file is closed; the chair gets 403, the one who may reopen sees the reopening form
    row = app_session.get(Case, case["id"])
    retention.archive(app_session, row, on=rules.today(), rule="test", by="test")
    app_session.commit()
    chair = _web(app, make_user, [{"role": "chair", "table_id": w["table"]}], w["chair"])
    assert chair.get(path).status_code == 403
    archived = logged_in.get(path)
    text = archived.get_data(as_text=True)
    assert archived.status_code == 200 and "gearchiveerd" in text and "Casus heropenen" in text
    assert "Mira" not in text  # nothing of the file
    no_reason = _post(logged_in, path, f"{path}/reopening", "reopen", {"reason": ""})
    assert no_reason.status_code == 422 and "Vul een reden in." in no_reason.get_data(as_text=True)
    reopened = _post(logged_in, path, f"{path}/reopening", "reopen", {"reason": "nieuw signaal"})
    assert reopened.status_code == 302 and reopened.headers["Location"].endswith(path)
    app_session.expire_all()
    assert app_session.get(Case, case["id"]).retention_stage == "active"
    assert [e.kind for e in app_session.query(CaseEvent).filter_by(case_id=case["id"])][-1] == "reopened"
    assert chair.get(path).status_code == 200
