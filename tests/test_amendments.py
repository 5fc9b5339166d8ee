"""Amendments (art. 13): a new version of the covenant's text, sent to every current
partner, in force from the day the last of them signed; the old version answers for
earlier dates. Through the API (exact contract), the real signing flow and the
renderer (PDF read back with pdftotext)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from registry import amendments, rules
from registry.documents import build
from registry.models import Covenant, CovenantAmendment
from tests import signing_support as support
from tests.readback import one_line, pdf_text


def _in_force(api, partners: int = 2) -> tuple[int, list[dict]]:
    """A covenant in force whose partners signed on paper a week ago."""
    signed = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    covenant_id, reps = support.covenant_with_partners(api, partners, signed_on=signed)
    return covenant_id, reps


def test_the_exact_contract_and_in_force_when_the_last_signed(api, client, app_session):
    covenant_id, reps = _in_force(api)
    created = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Artikel 6: nieuwe bewaartermijn"})
    assert created.status_code == 201, created.json
    assert {"id", "version", "status"} <= set(created.json)
    assert created.json["version"] == 2 and created.json["status"] == "pending"
    aid = created.json["id"]
    state = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert state["status"] == "pending" and state["in_force_on"] is None and state["signed_by"] == []
    assert sorted(m["name"] for m in state["missing"]) == ["Partner 0", "Partner 1"]

    sent = api.post(f"/api/v1/covenants/{covenant_id}/amendments/{aid}/signing-requests")
    assert sent.status_code == 201 and len(sent.json["requests"]) == 2
    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links[reps[0]["email"]], reps[0]["name"]).status_code == 303
    half = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert half["status"] == "pending" and [s["name"] for s in half["signed_by"]] == ["Partner 0"]
    assert [m["name"] for m in half["missing"]] == ["Partner 1"]
    assert support.sign_via_form(client, links[reps[1]["email"]], reps[1]["name"]).status_code == 303
    done = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert done["status"] == "in_force" and done["in_force_on"] == rules.today().isoformat() and done["missing"] == []

    # The old version answers for earlier dates, the new one from in_force_on.
    app_session.expire_all()
    covenant = app_session.get(Covenant, covenant_id)
    assert amendments.version_on(app_session, covenant, rules.today() - dt.timedelta(days=1)) is None
    assert amendments.version_on(app_session, covenant, rules.today()).version == 2
    assert build.covenant_doc_on(app_session, covenant, rules.today() - dt.timedelta(days=1)).text_version == 1
    new = build.covenant_doc_on(app_session, covenant, rules.today())
    assert new.text_version == 2 and new.amendment_summary == "Artikel 6: nieuwe bewaartermijn"
    # The sealed amendment (the one renderer: the covenant text with its version number).
    sealed = api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf")  # the covenant itself: paper, no seal
    assert sealed.status_code in (200, 409)
    doc = app_session.scalar(select(CovenantAmendment).where(CovenantAmendment.id == aid))
    text = one_line(pdf_text(build.subject_document(app_session, "amendment", doc.id).pdf))
    assert "Versie 2 van de tekst" in text and "nieuwe bewaartermijn" in text


def test_a_partner_that_left_is_not_waited_for(api, app_session):
    covenant_id, reps = _in_force(api)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    org_ids = [p["organisation_id"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]]
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_ids[1]}/exclusion",
                    {"on": rules.today().isoformat(), "reason": "Brak de geheimhouding"}).status_code == 200
    state = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert [m["organisation_id"] for m in state["missing"]] == [org_ids[0]]
    # the remaining partner signs on paper (recorded through the registry); then the
    # other partner is terminated too: nobody is missing any more.
    from registry.models import CovenantAmendment

    amendment = app_session.get(CovenantAmendment, aid)
    amendments.sign(app_session, amendment, org_ids[0], rules.today())
    app_session.commit()
    done = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert done["status"] == "in_force" and done["in_force_on"] == rules.today().isoformat()


def test_refusals(api):
    covenant_id, _reps = _in_force(api, 1)
    url = f"/api/v1/covenants/{covenant_id}/amendments"
    assert api.post(url, {}).status_code == 422
    assert api.post(url, {"summary": "  "}).json["error"]["fields"] == {"summary": "Beschrijf kort wat er verandert."}
    first = api.post(url, {"summary": "Eerste"})
    assert first.status_code == 201
    second = api.post(url, {"summary": "Tweede"})
    assert second.status_code == 409 and "summary" in second.json["error"]["fields"]
    assert api.get(f"{url}/999999").status_code == 404
    draft = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Concept", "region": "Emmen"}).json
    assert api.post(f"/api/v1/covenants/{draft['id']}/amendments", {"summary": "x"}).status_code == 409


def test_openapi_describes_the_routes(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert "post" in paths["/api/v1/covenants/{covenant_id}/amendments"]
    assert "get" in paths["/api/v1/covenants/{covenant_id}/amendments/{amendment_id}"]
    assert "post" in paths["/api/v1/covenants/{covenant_id}/amendments/{amendment_id}/signing-requests"]


def test_the_web_pdf_of_an_earlier_date_is_the_old_version(logged_in, api, client):
    covenant_id, reps = _in_force(api, 1)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    assert api.post(f"/api/v1/covenants/{covenant_id}/amendments/{aid}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(logged_in.application.test_client(), link, reps[0]["name"]).status_code == 303
    today, yesterday = rules.today(), rules.today() - dt.timedelta(days=1)
    now = one_line(pdf_text(logged_in.get(f"/covenants/{covenant_id}/convenant.pdf?on={today.isoformat()}").data))
    before = one_line(pdf_text(logged_in.get(f"/covenants/{covenant_id}/convenant.pdf?on={yesterday.isoformat()}").data))
    assert "Versie 2 van de tekst" in now and "Nieuwe bijlage 3" in now
    assert "Versie 2 van de tekst" not in before


def test_excluding_the_last_missing_partner_brings_it_into_force(api, app_session):
    covenant_id, _reps = _in_force(api)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    org_ids = [p["organisation_id"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]]
    amendment = app_session.get(CovenantAmendment, aid)
    amendments.sign(app_session, amendment, org_ids[0], rules.today())
    app_session.commit()
    assert api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json["status"] == "pending"
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_ids[1]}/exclusion",
                    {"on": rules.today().isoformat(), "reason": "Brak de geheimhouding"}).status_code == 200
    done = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert done["status"] == "in_force" and done["in_force_on"] == rules.today().isoformat() and done["missing"] == []


def _requests_of(app_session, aid: int) -> dict[str, str]:
    """Signer e-mail → status of the amendment's signing requests."""
    from signatures.models import SigningRequest

    app_session.expire_all()
    return {r.signer_email: r.status for r in app_session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == "amendment", SigningRequest.subject_id == aid))}


def test_excluding_a_partner_cancels_its_open_request_and_brings_it_into_force(api, client, app_session):
    from signatures.evidence import events_for
    from signatures.models import SignedDocument

    covenant_id, reps = _in_force(api)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    assert api.post(f"/api/v1/covenants/{covenant_id}/amendments/{aid}/signing-requests").status_code == 201
    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links[reps[0]["email"]], reps[0]["name"]).status_code == 303
    org_ids = [p["organisation_id"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]]
    assert _requests_of(app_session, aid)[reps[1]["email"]] == "pending"

    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_ids[1]}/exclusion",
                    {"on": rules.today().isoformat(), "reason": "Brak de geheimhouding"}).status_code == 200
    statuses = _requests_of(app_session, aid)
    assert statuses == {reps[0]["email"]: "signed", reps[1]["email"]: "cancelled"}
    cancelled = [e for e in events_for(app_session, "amendment", aid) if e.event == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0].actor == "admin@example.org" and cancelled[0].occurred_at is not None
    # the excluded partner's link no longer opens the amendment
    assert client.get(support.path_of(links[reps[1]["email"]])).status_code in (404, 410)
    done = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert done["status"] == "in_force" and done["missing"] == [] and done["in_force_on"] == rules.today().isoformat()
    # complete, so it waits for its seal (the cancelled request no longer holds it open)
    assert app_session.scalar(select(SignedDocument).where(SignedDocument.subject_kind == "amendment",
                                                           SignedDocument.subject_id == aid)) is not None


def test_a_later_end_is_released_by_the_daily_backstop(api, app, app_session):
    from signatures import workflow

    covenant_id, reps = _in_force(api)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    assert api.post(f"/api/v1/covenants/{covenant_id}/amendments/{aid}/signing-requests").status_code == 201
    org_ids = [p["organisation_id"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"]]
    # a notice: still a partner until the notice ends, so still asked
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{org_ids[1]}/notice",
                    {"given_on": rules.today().isoformat()}).status_code == 200
    assert set(_requests_of(app_session, aid).values()) == {"pending"}
    missing = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json["missing"]
    assert sorted(m["organisation_id"] for m in missing) == sorted(org_ids)
    # the day after the notice ended, the backstop cancels its request
    from registry.models import Partnership

    partnership = app_session.scalar(select(Partnership).where(Partnership.covenant_id == covenant_id,
                                                               Partnership.organisation_id == org_ids[1]))
    partnership.ends_on = rules.today()  # as if the notice months have passed
    app_session.commit()
    assert workflow.release_all_departed(app_session) == 1
    app_session.commit()
    assert _requests_of(app_session, aid) == {reps[0]["email"]: "pending", reps[1]["email"]: "cancelled"}
    left = api.get(f"/api/v1/covenants/{covenant_id}/amendments/{aid}").json
    assert [m["organisation_id"] for m in left["missing"]] == [org_ids[0]] and left["status"] == "pending"


def test_on_a_fresh_demo_an_amendment_is_sent_to_every_representative(api, app_session):
    from forms_service import demo
    from registry.models import Person

    demo.load_demo(app_session)
    app_session.commit()
    covenant = app_session.scalar(select(Covenant).where(Covenant.title == demo.DEMO_TITLE))
    representatives = [p.representative for p in covenant.partnerships]
    assert all(r.email and r.email.endswith(".example.org") and ".." not in r.email for r in representatives)
    aid = api.post(f"/api/v1/covenants/{covenant.id}/amendments", {"summary": "Artikel 6: nieuwe bewaartermijn"}).json["id"]
    sent = api.post(f"/api/v1/covenants/{covenant.id}/amendments/{aid}/signing-requests")
    assert sent.status_code == 201, sent.json
    assert len(sent.json["requests"]) == len(representatives)


def test_an_older_demo_gets_the_missing_addresses(app_session):
    from forms_service import demo
    from registry.models import Person

    demo.load_demo(app_session)
    people = app_session.scalars(select(Person)).all()
    before = {p.id: p.email for p in people}
    for person in people[:4]:
        person.email = None  # as a demo loaded before the representatives had an address
    app_session.commit()
    assert demo.load_demo(app_session) is None  # already there: only the addresses are filled in
    app_session.commit()
    app_session.expire_all()
    after = {p.id: p.email for p in app_session.scalars(select(Person))}
    assert after == before
    assert demo.fill_demo_addresses(app_session, app_session.scalar(select(Covenant))) == 0
