"""Who signs a consent (the pack's [[consent_signers]] age bands), and a consent is valid
only when every required signer signed: a decline by any of them makes it `declined`,
never sealed, never counted by the meeting check.

The rule is unit-tested on the packs; the rest runs through the API (both databases)
and the real signing pages, as an attacker tried it: a 13-year-old signing alone, a
"resident and parents" consent signed by the resident only, two parents of whom one
declines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from registry import consents as rule
from registry.models import Consent
from registry.packs import load_pack
from signatures.models import SignedDocument, SigningRequest
from tests import signing_support as support
from tests.readback import one_line, pdf_text

TODAY = dt.date.today()


def born(years: int, days: int = 0) -> dt.date:
    """The birth date of someone exactly ``years`` old today (plus ``days`` older)."""
    try:
        day = TODAY.replace(year=TODAY.year - years)
    except ValueError:  # 29 February
        day = TODAY.replace(year=TODAY.year - years, day=28)
    return day - dt.timedelta(days=days)


# ----------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("pack", ["emmen-casustafel", "onderwijs-jeugdhulp", "ggz-casusaanpak"])
def test_every_pack_has_the_age_bands(pack):
    bands = [(b.below_age, b.signers) for b in load_pack(pack).consent_signers]
    assert bands == [(12, ("parents",)), (16, ("resident", "parents")), (None, ("resident",))]


@pytest.mark.parametrize(("age", "signers"), [
    (0, ("parents",)), (6, ("parents",)), (11, ("parents",)), (12, ("resident", "parents")),
    (13, ("resident", "parents")), (15, ("resident", "parents")), (16, ("resident",)), (17, ("resident",)), (80, ("resident",)),
])
def test_required_signers_by_age(age, signers):
    pack = load_pack("emmen-casustafel")
    on = dt.date(2026, 6, 15)
    assert rule.required_signers(pack, dt.date(2026 - age, 6, 15), on) == signers


def test_the_age_counts_on_the_signing_date():
    pack = load_pack("onderwijs-jeugdhulp")
    birth = dt.date(2014, 6, 15)
    assert rule.required_signers(pack, birth, dt.date(2026, 6, 14)) == ("parents",)  # 11, one day before 12
    assert rule.required_signers(pack, birth, dt.date(2026, 6, 15)) == ("resident", "parents")
    assert rule.age_on(dt.date(2012, 2, 29), dt.date(2026, 2, 28)) == 13
    assert rule.age_on(dt.date(2012, 2, 29), dt.date(2026, 3, 1)) == 14


def test_the_rule_in_dutch_names_the_band():
    pack = load_pack("onderwijs-jeugdhulp")
    on = dt.date(2026, 6, 15)
    assert rule.rule_text(pack, dt.date(2013, 1, 1), on) == \
        "Voor een inwoner van 13 jaar tekenen de jongere én de ouders/verzorgers (12 tot 16 jaar)."
    assert rule.rule_text(pack, dt.date(2020, 1, 1), on) == \
        "Voor een inwoner van 6 jaar tekenen de ouders/verzorgers (jonger dan 12 jaar)."
    assert rule.rule_text(pack, dt.date(2009, 1, 1), on) == \
        "Voor een inwoner van 17 jaar tekent de jongere zelf (16 jaar en ouder)."


def test_signed_by_and_roles():
    assert rule.roles_of("resident_and_parents") == ("resident", "parents")
    assert rule.signed_by_for(("parents", "resident")) == "resident_and_parents"
    assert rule.signed_by_for(("parents",)) == "parents"


def test_status_is_one_function():
    class C:  # the four dates the status reads
        def __init__(self, signed_on=None, declined_on=None, withdrawn_on=None):
            self.signed_on, self.declined_on, self.withdrawn_on = signed_on, declined_on, withdrawn_on
    day = dt.date(2026, 3, 1)
    assert rule.status(C(), sent=False) == "draft"
    assert rule.status(C(), sent=True) == "pending"
    assert rule.status(C(signed_on=day), sent=True) == "signed"
    assert rule.status(C(declined_on=day), sent=True) == "declined"
    assert rule.status(C(signed_on=day, withdrawn_on=day), sent=True) == "withdrawn"


# ----------------------------------------------------------------------------- through the API


def world(api, pack: str = "emmen-casustafel", area: str = "Emmen-Noord") -> dict:
    """A covenant of ``pack`` in force with one partner, a table, and a professional of the partner."""
    cov = api.post("/api/v1/covenants", {"pack": pack, "title": "Convenant", "region": "Regio"}).json
    org = api.post("/api/v1/organisations", {"name": f"Partner {pack}"}).json
    rep = api.post("/api/v1/people", {"name": "Vera Vertegenwoordiger", "initials": "V.", "organisation_id": org["id"],
                                      "function": "Directeur", "email": "vera@partner.example"}).json
    assert api.post(f"/api/v1/covenants/{cov['id']}/partners", {
        "organisation_id": org["id"], "representative_id": rep["id"], "signed_on": "2025-05-05"}).status_code == 201
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": f"Casustafel {area}", "area": area})
    assert table.status_code == 201, table.json
    pro = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": org["id"],
                                      "function": "Jeugdverpleegkundige", "email": "mira@partner.example"}).json
    category = load_pack(pack).consent_categories[0].key
    return {"covenant": cov["id"], "org": org["id"], "table": table.json["id"], "pro": pro["id"], "category": category}


def consent(api, w: dict, signed_by: str, birth: dt.date | None, **extra):
    body = {"table_id": w["table"], "case_ref": "CASE-1", "signed_by": signed_by, "resident_name": "Sem de Vries",
            "purpose": "passende hulp te vinden", "categories": [w["category"]], "recipients": [w["org"]],
            **({"resident_birth_date": birth.isoformat()} if birth else {}), **extra}
    return api.post("/api/v1/consents", body)


def refused(response, field: str) -> str:
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    return response.json["error"]["fields"][field]


@pytest.mark.parametrize(("pack", "area"), [("onderwijs-jeugdhulp", "MDO"), ("emmen-casustafel", "Emmen-Noord")])
def test_a_13_year_old_signing_alone_is_refused(api, app_session, pack, area):
    w = world(api, pack, area)
    message = refused(consent(api, w, "resident", born(13)), "signed_by")
    assert message == "Voor een inwoner van 13 jaar tekenen de jongere én de ouders/verzorgers (12 tot 16 jaar)."
    refused(consent(api, w, "parents", born(13)), "signed_by")
    assert app_session.scalar(select(func.count()).select_from(Consent)) == 0
    assert consent(api, w, "resident_and_parents", born(13)).status_code == 201


def test_a_6_year_old_signing_alone_is_refused_in_emmen(api):
    w = world(api)
    message = refused(consent(api, w, "resident", born(6)), "signed_by")
    assert "6 jaar" in message and "ouders/verzorgers" in message and "jonger dan 12 jaar" in message
    refused(consent(api, w, "resident_and_parents", born(6), signed_on=TODAY.isoformat()), "signed_by")
    assert consent(api, w, "parents", born(6)).status_code == 201


def test_the_rule_uses_the_signing_date_of_a_paper_consent(api):
    w = world(api)
    birth = dt.date(2014, 6, 15)  # 11 on 2026-06-14, 12 a day later
    assert consent(api, w, "parents", birth, signed_on="2026-06-14").status_code == 201
    refused(consent(api, w, "parents", birth, signed_on="2026-06-15"), "signed_by")


def test_a_17_year_old_signs_alone_and_a_birth_date_is_required(api):
    w = world(api)
    ok = consent(api, w, "resident", born(17), contact_person="Mira Kamphuis, jeugdverpleegkundige GGD")
    assert ok.status_code == 201, ok.json
    assert ok.json["status"] == "draft" and ok.json["required_signers"] == ["resident"]
    assert ok.json["contact_person"] == "Mira Kamphuis, jeugdverpleegkundige GGD"
    refused(consent(api, w, "resident", None), "resident_birth_date")
    refused(consent(api, w, "resident", born(40), contact_person="x" * 201), "contact_person")
    refused(consent(api, w, "resident", born(40), categories=["not_in_the_pack"]), "categories")


def test_get_shows_status_required_signers_and_the_pdf_prints_the_contact_person(api):
    w = world(api)
    created = consent(api, w, "resident_and_parents", born(14), contact_person="Mira Kamphuis").json
    got = api.get(f"/api/v1/consents/{created['id']}")
    assert got.status_code == 200
    assert got.json["status"] == "draft" and got.json["required_signers"] == ["resident", "parents"]
    assert got.json["contact_person"] == "Mira Kamphuis" and got.json["declined_on"] is None
    text = one_line(pdf_text(api.get(f"/api/v1/consents/{created['id']}/document.pdf").data))
    assert "Contactpersoon: Mira Kamphuis" in text
    signed = consent(api, w, "resident", born(30), signed_on="2026-03-02").json
    assert api.get(f"/api/v1/consents/{signed['id']}").json["status"] == "signed"
    withdrawn = api.post(f"/api/v1/consents/{signed['id']}/withdrawal", {"on": "2026-03-05"})
    assert withdrawn.status_code == 200
    assert api.get(f"/api/v1/consents/{signed['id']}").json["status"] == "withdrawn"


@pytest.mark.parametrize(("pack", "area"), [("onderwijs-jeugdhulp", "Verzuim"), ("ggz-casusaanpak", "Regionaal casusoverleg")])
def test_the_other_packs_print_the_contact_person(api, pack, area):
    w = world(api, pack, area)
    created = consent(api, w, "resident", born(30), contact_person="Karin Contact").json
    text = one_line(pdf_text(api.get(f"/api/v1/consents/{created['id']}/document.pdf").data))
    assert "Contactpersoon: Karin Contact" in text


# ----------------------------------------------------------------------------- signing: every required signer


def send(api, consent_id: int, *signers: tuple[str, str, str]):
    return api.post(f"/api/v1/consents/{consent_id}/signing-requests", {"signers": [
        {"name": name, "email": email, "role": role} for name, email, role in signers]})


def test_an_empty_list_of_signers_is_a_field_error_not_a_crash(api):
    """``signers: []`` is refused naming the field (marshmallow formats the message: a
    brace in it once made this a 500)."""
    created = consent(api, world(api), "resident", born(30)).json
    answer = api.post(f"/api/v1/consents/{created['id']}/signing-requests", {"signers": []})
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["fields"]["signers"] == "Geef ten minste één ondertekenaar, elk met name, email en role."


def check_covered(api, w: dict) -> bool:
    """Does tomorrow's meeting check count a consent for the professional's organisation?"""
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": f"{tomorrow}T14:00",
                                            "cases": [{"case_ref": "CASE-1", "invitee_ids": [w["pro"]]}]})
    assert meeting.status_code == 201, meeting.json
    check = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    return check["cases"][0]["invitees"][0]["consent"]["covered"]


def sealed_rows(app_session, consent_id: int) -> list[str]:
    app_session.expire_all()
    return list(app_session.scalars(select(SignedDocument.status).where(
        SignedDocument.subject_kind == "consent", SignedDocument.subject_id == consent_id)))


def statuses(app_session, consent_id: int) -> dict[str, str]:
    app_session.expire_all()
    return {r.signer_email: r.status for r in app_session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == "consent", SigningRequest.subject_id == consent_id))}


def test_resident_and_parents_needs_both_before_it_is_valid_and_sealed(api, client, app_session):
    w = world(api)
    consent_id = consent(api, w, "resident_and_parents", born(14)).json["id"]

    message = refused(send(api, consent_id, ("Sem de Vries", "sem@mail.example", "resident")), "signers")
    assert "ouders/verzorgers" in message
    assert statuses(app_session, consent_id) == {}

    sent = send(api, consent_id, ("Sem de Vries", "sem@mail.example", "resident"),
                ("Anna de Vries", "anna@mail.example", "parents"))
    assert sent.status_code == 201, sent.json
    assert api.get(f"/api/v1/consents/{consent_id}").json["status"] == "pending"
    links = support.links_by_recipient(api)

    assert support.sign_via_form(client, links["sem@mail.example"], "Sem de Vries").status_code == 303
    got = api.get(f"/api/v1/consents/{consent_id}").json
    assert got["status"] == "pending" and got["signed_on"] is None
    assert check_covered(api, w) is False
    assert sealed_rows(app_session, consent_id) == []
    assert api.get(f"/api/v1/consents/{consent_id}/signed.pdf").status_code == 409

    assert support.sign_via_form(client, links["anna@mail.example"], "Anna de Vries").status_code == 303
    got = api.get(f"/api/v1/consents/{consent_id}").json
    assert got["status"] == "signed" and got["signed_on"] is not None
    assert sealed_rows(app_session, consent_id) == ["pending_seal"]
    assert support.worker_round(api)["sealed"] == 1
    assert sealed_rows(app_session, consent_id) == ["sealed"]
    assert api.get(f"/api/v1/consents/{consent_id}/signed.pdf").status_code == 200
    assert check_covered(api, w) is True


def test_wrong_roles_are_refused(api):
    w = world(api)
    adult = consent(api, w, "resident", born(17)).json["id"]
    refused(send(api, adult, ("Sem de Vries", "sem@mail.example", "resident"),
                 ("Anna de Vries", "anna@mail.example", "parents")), "signers")
    child = consent(api, w, "parents", born(7)).json["id"]
    refused(send(api, child, ("Sem de Vries", "sem@mail.example", "resident")), "signers")
    refused(send(api, adult, ("Sem de Vries", "sem@mail.example", "resident"),
                 ("Sem de Vries", "sem2@mail.example", "resident")), "signers")


def test_two_parents_one_signs_one_declines_gives_declined_never_sealed(api, client, app_session):
    w = world(api)
    consent_id = consent(api, w, "parents", born(7)).json["id"]
    assert consent(api, w, "parents", born(7)).status_code == 201  # another consent on the same case stays apart
    sent = send(api, consent_id, ("Anna de Vries", "anna@mail.example", "parents"),
                ("Bram de Vries", "bram@mail.example", "parents"))
    assert sent.status_code == 201, sent.json
    links = support.links_by_recipient(api)

    assert support.sign_via_form(client, links["anna@mail.example"], "Anna de Vries").status_code == 303
    assert api.get(f"/api/v1/consents/{consent_id}").json["status"] == "pending"  # every invited parent signs
    assert sealed_rows(app_session, consent_id) == []

    page = client.get(support.path_of(links["bram@mail.example"]))
    token = support.CSRF_RE.search(page.get_data(as_text=True)).group(1)
    declined = client.post(support.path_of(links["bram@mail.example"]) + "/weigeren",
                           data={"csrf_token": token, "reason": "niet mee eens"})
    assert declined.status_code == 200

    got = api.get(f"/api/v1/consents/{consent_id}").json
    assert got["status"] == "declined" and got["signed_on"] is None and got["declined_on"] is not None
    assert sealed_rows(app_session, consent_id) == []
    assert statuses(app_session, consent_id) == {"anna@mail.example": "signed", "bram@mail.example": "declined"}
    assert check_covered(api, w) is False
    assert api.get(f"/api/v1/consents/{consent_id}/signed.pdf").status_code == 409
    notice = next(m for m in api.get("/api/v1/outbox").json["messages"] if m["subject"].startswith("Geweigerd:"))
    assert "Bram de Vries heeft geweigerd" in notice["body"] and "wordt nooit geldig" in notice["body"]
    # declined is final: no new invitations
    again = send(api, consent_id, ("Carla de Vries", "carla@mail.example", "parents"))
    assert again.status_code == 409
    # the backstop job does not seal it either
    from signatures import workflow
    workflow.complete_pending(client.application.extensions["db_sessions"], client.application.config)
    assert sealed_rows(app_session, consent_id) == []


def test_a_decline_cancels_the_other_open_requests(api, client, app_session):
    w = world(api)
    consent_id = consent(api, w, "resident_and_parents", born(13)).json["id"]
    assert send(api, consent_id, ("Sem de Vries", "sem@mail.example", "resident"),
                ("Anna de Vries", "anna@mail.example", "parents"),
                ("Bram de Vries", "bram@mail.example", "parents")).status_code == 201
    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links["anna@mail.example"], "Anna de Vries").status_code == 303

    page = client.get(support.path_of(links["bram@mail.example"]))
    token = support.CSRF_RE.search(page.get_data(as_text=True)).group(1)
    assert client.post(support.path_of(links["bram@mail.example"]) + "/weigeren", data={"csrf_token": token}).status_code == 200

    assert statuses(app_session, consent_id) == {"sem@mail.example": "cancelled", "anna@mail.example": "signed",
                                                 "bram@mail.example": "declined"}
    assert api.get(f"/api/v1/consents/{consent_id}").json["status"] == "declined"
    # the resident's link no longer works
    cancelled = client.get(support.path_of(links["sem@mail.example"]))
    assert cancelled.status_code != 200 and "ingetrokken" in cancelled.get_data(as_text=True)
    assert sealed_rows(app_session, consent_id) == []


def test_the_record_page_shows_status_and_signers_in_dutch(api, logged_in, app_session):
    w = world(api)
    consent_id = consent(api, w, "resident_and_parents", born(14), contact_person="Mira Kamphuis").json["id"]
    page = logged_in.get(f"/consents/{consent_id}").get_data(as_text=True)
    assert "concept (vastgelegd, nog niet verstuurd)" in page
    assert "de inwoner en ouders/verzorgers" in page and "Mira Kamphuis" in page
    assert 'name="role_1" value="parents"' in page  # a row per signer the consent needs
    assert send(api, consent_id, ("Sem de Vries", "sem@mail.example", "resident"),
                ("Anna de Vries", "anna@mail.example", "parents")).status_code == 201
    page = logged_in.get(f"/consents/{consent_id}").get_data(as_text=True)
    assert "verstuurd, wacht op ondertekening" in page


def test_the_web_form_stores_the_contact_person_and_refuses_the_wrong_signer(api, logged_in, app_session):
    w = world(api)
    page = logged_in.get("/forms/bijlage4").get_data(as_text=True)
    assert 'name="contact_person"' in page
    token = support.CSRF_RE.search(page).group(1)
    data = {"csrf_token": token, "resident_name": "Sem de Vries", "resident_birth_date": born(13).isoformat(),
            "signed_by": "resident", "purpose": "hulp", "categories": [w["category"]], "recipients": [str(w["org"])],
            "case_ref": "CASE-9", "table_id": str(w["table"]), "contact_person": "Mira Kamphuis"}
    refused_page = logged_in.post("/forms/bijlage4", data=data)
    assert refused_page.status_code == 200
    assert "tekenen de jongere én de ouders/verzorgers (12 tot 16 jaar)" in refused_page.get_data(as_text=True)
    saved = logged_in.post("/forms/bijlage4", data={**data, "signed_by": "resident_and_parents"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    app_session.expire_all()
    assert app_session.scalar(select(Consent.contact_person)) == "Mira Kamphuis"
