"""The covenant's whole life on the web (staff): notice, immediate termination with the
decision, exclusion with the reason, accession (sent for signing), amendments (art. 13),
ending the covenant, revoking a Bijlage 1/2 and ending an employment — each shown in
the history with who did it and when, through the same services as the API."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from registry import rules
from tests import signing_support as support
from tests.auth_support import csrf_of, login

ADMIN = "admin@example.org"


def _iso(day: dt.date) -> str:
    return day.isoformat()


@pytest.fixture
def covenant(api):
    """A covenant in force since a week ago with two partners (paper); (id, [org ids], reps)."""
    covenant_id, reps = support.covenant_with_partners(api, 2, signed_on=_iso(rules.today() - dt.timedelta(days=7)))
    orgs = [r["organisation_id"] for r in reps]
    return covenant_id, orgs, reps


def _post(client, page_path: str, action: str, data: dict):
    """Post a form of a page with the page's CSRF token (as a browser would)."""
    page = client.get(page_path).get_data(as_text=True)
    return client.post(action, data={**data, "csrf_token": csrf_of(page)})


def _page(client, covenant_id: int) -> str:
    response = client.get(f"/covenants/{covenant_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_notice_termination_and_exclusion_with_the_history(logged_in, api, covenant):
    covenant_id, orgs, _reps = covenant
    path = f"/covenants/{covenant_id}"
    page = _page(logged_in, covenant_id)
    assert "Partners vandaag" in page and "Wijziging voorstellen" in page and "Het convenant beëindigen" in page
    today = rules.today()

    done = _post(logged_in, path, f"{path}/partners/{orgs[0]}/einde", {"kind": "notice", "on": _iso(today)})
    assert done.status_code == 302
    page = _page(logged_in, covenant_id)
    assert "Opzegging: Partner 0" in page and ADMIN in page and "opgezegd, nog partner" in page
    assert "notice_given" not in page  # never a status code

    # Immediate termination needs the decision: a Dutch message at the form, nothing changed.
    refused = _post(logged_in, path, f"{path}/partners/{orgs[1]}/einde", {"kind": "termination", "on": _iso(today)})
    assert refused.status_code == 422 and "Beschrijf het meerderheidsbesluit." in refused.get_data(as_text=True)
    bad_date = _post(logged_in, path, f"{path}/partners/{orgs[1]}/einde", {"kind": "exclusion", "on": "2026-13-45", "text": "x"})
    assert bad_date.status_code == 422 and "Geen geldige datum" in bad_date.get_data(as_text=True)

    excluded = _post(logged_in, path, f"{path}/partners/{orgs[1]}/einde",
                     {"kind": "exclusion", "on": _iso(today), "text": "Brak de geheimhouding <b>bewust</b>"})
    assert excluded.status_code == 302
    page = _page(logged_in, covenant_id)
    assert "Uitsluiting: Partner 1" in page and "Brak de geheimhouding &lt;b&gt;bewust&lt;/b&gt;" in page
    statuses = {p["organisation_id"]: p["status"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]}
    assert statuses == {orgs[0]: "notice_given", orgs[1]: "excluded"}


def test_termination_through_the_api_shows_in_the_same_history(logged_in, api, covenant):
    covenant_id, orgs, _reps = covenant
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{orgs[0]}/termination",
                    {"on": _iso(rules.today()), "decision": "Besluit van 3 maart"}).status_code == 200
    page = _page(logged_in, covenant_id)
    assert "Directe beëindiging bij meerderheidsbesluit: Partner 0" in page and "Besluit van 3 maart" in page


def test_accession_is_sent_for_signing(logged_in, api, covenant):
    covenant_id, _orgs, _reps = covenant
    org = api.post("/api/v1/organisations", {"name": "Nieuwe Partner"}).json
    rep = api.post("/api/v1/people", {"name": "Nina Nieuw", "initials": "N.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "nina@nieuw.example"}).json
    path = f"/covenants/{covenant_id}"
    assert "Nieuwe Partner — Nina Nieuw" in _page(logged_in, covenant_id)
    done = _post(logged_in, path, f"{path}/toetreding", {"representative_id": str(rep["id"])})
    assert done.status_code == 302
    assert "nina@nieuw.example" in support.links_by_recipient(api)
    page = _page(logged_in, covenant_id)
    assert "Toetreding (ter ondertekening verstuurd): Nieuwe Partner (Nina Nieuw)" in page
    assert "nog niet getekend" in page
    again = _post(logged_in, path, f"{path}/toetreding", {"representative_id": str(rep["id"])})
    assert again.status_code == 409


def test_amendment_on_the_web_who_signed_who_is_missing(logged_in, client, api, covenant):
    covenant_id, _orgs, reps = covenant
    path = f"/covenants/{covenant_id}"
    proposed = _post(logged_in, path, f"{path}/wijzigingen", {"summary": "Artikel 4: nieuwe categorieën"})
    assert proposed.status_code == 302
    amendment_path = proposed.headers["Location"]
    page = logged_in.get(amendment_path).get_data(as_text=True)
    assert "Wijziging, versie 2" in page and "Partner 0" in page and "Ter ondertekening versturen" in page
    sent = _post(logged_in, amendment_path, amendment_path + "/versturen", {})
    assert sent.status_code == 302
    link = support.links_by_recipient(api)[reps[0]["email"]]
    logged_in.post("/logout", data={"csrf_token": csrf_of(logged_in.get("/").get_data(as_text=True))})
    assert support.sign_via_form(client, link, reps[0]["name"]).status_code == 303
    login(client, ADMIN, "correct horse battery", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    page = client.get(amendment_path).get_data(as_text=True)
    signed = page.split("Getekend</h2>")[1].split("</ul>")[0]
    missing = page.split("Ontbreekt nog</h2>")[1].split("</ul>")[0]
    assert "Partner 0" in signed and "Partner 1" in missing
    covenant_page = _page(client, covenant_id)
    assert "Wijziging voorgesteld" in covenant_page and "Wijziging ter ondertekening verstuurd" in covenant_page


def test_ending_the_covenant_by_majority_decision(logged_in, api, client, covenant):
    covenant_id, _orgs, _reps = covenant
    path = f"/covenants/{covenant_id}"
    today = rules.today()
    refused = _post(logged_in, path, f"{path}/einde", {"kind": "decision", "on": _iso(today), "decision": ""})
    assert refused.status_code == 422
    ended = _post(logged_in, path, f"{path}/einde", {"kind": "decision", "on": _iso(today),
                                                     "decision": "Meerderheidsbesluit van de stuurgroep"})
    assert ended.status_code == 302
    page = _page(logged_in, covenant_id)
    assert "Convenant beëindigd" in page and "Meerderheidsbesluit van de stuurgroep" in page
    partners = api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]
    assert partners and all(p["status"] == "covenant_not_in_force" for p in partners)
    yesterday = api.get(f"/api/v1/covenants/{covenant_id}/partners?on={_iso(today - dt.timedelta(days=1))}").json
    assert all(p["status"] == "partner" for p in yesterday["partners"])
    public = client.get(f"/openbaar/convenanten/{covenant_id}").get_data(as_text=True)
    assert "Partner 0" not in public and "Partner 1" not in public
    assert _post(logged_in, path, f"{path}/einde", {"kind": "term"}).status_code == 409


def test_ending_at_the_end_of_a_fixed_term(logged_in, api, covenant, app_session):
    covenant_id, _orgs, _reps = covenant
    from registry.models import Covenant

    row = app_session.get(Covenant, covenant_id)
    path = f"/covenants/{covenant_id}"
    # Emmen renews itself: there is no fixed term to end at.
    assert "Einde van de looptijd vastleggen" not in _page(logged_in, covenant_id)
    assert _post(logged_in, path, f"{path}/einde", {"kind": "term"}).status_code == 409
    assert row.ended_on is None


def test_revocation_on_the_declaration_page(logged_in, api, covenant):
    covenant_id, _orgs, reps = covenant
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    declaration = api.post("/api/v1/declarations", {"kind": "structural", "person_id": reps[0]["id"], "table_id": table["id"],
                                                     "signed_on": _iso(rules.today() - dt.timedelta(days=3))}).json
    path = f"/declarations/{declaration['id']}"
    assert "Verklaring intrekken" in logged_in.get(path).get_data(as_text=True)
    done = _post(logged_in, path, f"{path}/intrekking", {"on": _iso(rules.today())})
    assert done.status_code == 302
    page = logged_in.get(path).get_data(as_text=True)
    assert "Ingetrokken" in page and "Verklaring ingetrokken" in page and ADMIN in page
    assert "Verklaring intrekken" not in page
    check = api.get(f"/api/v1/check?person={reps[0]['id']}&table={table['id']}").json
    assert not check["allowed"] and "bijlage1_revoked" in {r["code"] for r in check["reasons"]}


def test_end_of_employment_on_the_person_page(logged_in, api, covenant):
    _covenant_id, _orgs, reps = covenant
    path = f"/people/{reps[1]['id']}"
    assert "Einde dienstverband" in logged_in.get(path).get_data(as_text=True)
    until = rules.today() - dt.timedelta(days=1)
    done = _post(logged_in, path, f"{path}/uit-dienst", {"until": _iso(until)})
    assert done.status_code == 302
    page = logged_in.get(path).get_data(as_text=True)
    assert "Einde dienstverband" in page and ADMIN in page and re.search(r"in dienst tot en met", page)


def test_a_chair_may_not(client, api, covenant, make_user):
    covenant_id, orgs, _reps = covenant
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    email, password, secret = make_user(grants=[{"role": "chair", "table_id": table["id"]}])
    login(client, email, password, secret)
    page = client.get(f"/covenants/{covenant_id}").get_data(as_text=True)
    assert "Wijziging voorstellen" not in page and "Opzeggen, beëindigen of uitsluiten" not in page
    token = csrf_of(client.get("/").get_data(as_text=True))
    answer = client.post(f"/covenants/{covenant_id}/partners/{orgs[0]}/einde",
                         data={"kind": "notice", "on": _iso(rules.today()), "csrf_token": token})
    assert answer.status_code == 403


def test_ending_a_fixed_term_covenant_at_the_end_of_its_term(logged_in, api):
    cov = api.post("/api/v1/covenants", {"pack": "ggz-casusaanpak", "title": "Intentieverklaring GGZ", "region": "Drenthe"}).json
    org = api.post("/api/v1/organisations", {"name": "GGZ Partner"}).json
    rep = api.post("/api/v1/people", {"name": "Gert Ggz", "initials": "G.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "gert@ggz.example"}).json
    signed = _iso(rules.today() - dt.timedelta(days=7))
    assert api.post(f"/api/v1/covenants/{cov['id']}/partners", {"organisation_id": org["id"], "representative_id": rep["id"],
                                                                "signed_on": signed}).status_code == 201
    path = f"/covenants/{cov['id']}"
    page = _page(logged_in, cov["id"])
    assert "Einde van de looptijd vastleggen" in page and "31 december 2027" in page
    assert _post(logged_in, path, f"{path}/einde", {"kind": "term"}).status_code == 302
    page = _page(logged_in, cov["id"])
    assert "Convenant beëindigd" in page and "einde van de looptijd" in page and "1 januari 2028" in page
    last = api.get(f"/api/v1/covenants/{cov['id']}/partners?on=2027-12-31").json["partners"]
    after = api.get(f"/api/v1/covenants/{cov['id']}/partners?on=2028-01-01").json["partners"]
    assert [p["status"] for p in last] == ["partner"] and [p["status"] for p in after] == ["covenant_not_in_force"]


def test_accession_through_the_api_is_the_same_as_on_the_web(logged_in, api, covenant):
    covenant_id, _orgs, _reps = covenant
    org = api.post("/api/v1/organisations", {"name": "API Partner"}).json
    rep = api.post("/api/v1/people", {"name": "Anna Api", "initials": "A.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "anna@api.example"}).json
    listed = api.post(f"/api/v1/covenants/{covenant_id}/partners",
                      {"organisation_id": org["id"], "representative_id": rep["id"]})
    # the contract as before: 201 with the partnership and its covenant
    assert listed.status_code == 201
    assert {"covenant_id", "organisation_id", "representative_id", "founding", "signed_on", "covenant"} <= set(listed.json)
    assert listed.json["signed_on"] is None
    # sent for signing like the web does, and in the history with who and when
    assert "anna@api.example" in support.links_by_recipient(api)
    page = _page(logged_in, covenant_id)
    assert "Toetreding (ter ondertekening verstuurd): API Partner (Anna Api)" in page and ADMIN in page
    again = api.post(f"/api/v1/covenants/{covenant_id}/partners", {"organisation_id": org["id"], "representative_id": rep["id"]})
    assert again.status_code == 409


def test_accession_on_paper_through_the_api_is_in_the_history_without_a_mail(logged_in, api, covenant):
    covenant_id, _orgs, _reps = covenant
    org = api.post("/api/v1/organisations", {"name": "Papieren Partner"}).json
    rep = api.post("/api/v1/people", {"name": "Piet Papier", "initials": "P.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "piet@papier.example"}).json
    listed = api.post(f"/api/v1/covenants/{covenant_id}/partners",
                      {"organisation_id": org["id"], "representative_id": rep["id"], "signed_on": _iso(rules.today())})
    assert listed.status_code == 201 and listed.json["signed_on"] == _iso(rules.today())
    assert "piet@papier.example" not in support.links_by_recipient(api)
    assert "Toetreding (ter ondertekening verstuurd): Papieren Partner (Piet Papier)" in _page(logged_in, covenant_id)


def test_the_covenant_page_logs_the_signers_read_at_the_views_commit(logged_in, api, app_session):
    """The page helper only logs; the view commits — also when a refused step shows the page again."""
    from sqlalchemy import func, select

    from registry.models import AccessLogEntry

    def reads() -> int:
        app_session.expire_all()
        return app_session.scalar(select(func.count()).select_from(AccessLogEntry).where(
            AccessLogEntry.subject_kind == "signing_requests"))

    covenant_id, _reps = support.covenant_with_partners(api, 1)  # a draft
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    path = f"/covenants/{covenant_id}"
    before = reads()
    _page(logged_in, covenant_id)
    assert reads() == before + 1
    page = logged_in.get(path).get_data(as_text=True)  # the form's CSRF token (one more read)
    refused = logged_in.post(f"{path}/wijzigingen", data={"summary": "Te vroeg", "csrf_token": csrf_of(page)})
    assert refused.status_code == 409 and "Partners" in refused.get_data(as_text=True)  # the page again
    assert reads() == before + 3
    ended = logged_in.post(f"{path}/einde", data={"kind": "term", "csrf_token": csrf_of(page)})
    assert ended.status_code == 409 and reads() == before + 4
