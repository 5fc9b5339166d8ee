"""The dashboard (registry.dashboard): each line appears when its condition holds and not
otherwise, scoped to the account's grants; the start page and GET /api/v1/dashboard show
the same lines; the covenant's annual evaluation (art. 12) is recorded on its page."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from registry import accounts, cases, dashboard, evaluations, rules, services
from registry.accounts import GrantSpec
from registry.errors import ValidationError
from registry.models import CovenantEvaluation, Partnership
from signatures import workflow
from tests import factories as f
from tests.meetings.world import build, plan

D = dt.date
CONFIG = {"PUBLIC_BASE_URL": "https://casustafel.example", "SIGNING_LINK_DAYS": 14}
BASE = "https://casustafel.example"


class Links:
    """Plain URLs, so a test reads which record an item leads to."""

    def covenant(self, covenant_id): return f"/covenants/{covenant_id}"
    def table(self, table_id): return f"/tables/{table_id}"
    def declaration(self, declaration_id): return f"/declarations/{declaration_id}"
    def consent(self, consent_id): return f"/consents/{consent_id}"
    def person(self, person_id): return f"/people/{person_id}"
    def case(self, case_id): return f"/cases/{case_id}"


@pytest.fixture
def world(session):
    world = build(session)
    world["piet"].email = "piet@toegang.example"
    south = services.create_table(session, covenant_id=world["cov"].id, name="Casustafel Zuid", area="Zuid")
    world["south"] = south
    users = {
        "admin": accounts.create_user(session, "admin@x.example", "een lang wachtwoord", is_admin=True),
        "coord_cov": accounts.create_user(session, "cc@x.example", "een lang wachtwoord",
                                          grants=[GrantSpec("coordinator", covenant_id=world["cov"].id)]),
        "coord_north": accounts.create_user(session, "cn@x.example", "een lang wachtwoord",
                                            grants=[GrantSpec("coordinator", table_id=world["north"].id)]),
        "coord_south": accounts.create_user(session, "cs@x.example", "een lang wachtwoord",
                                            grants=[GrantSpec("coordinator", table_id=south.id)]),
        "chair_north": accounts.create_user(session, "ch@x.example", "een lang wachtwoord",
                                            grants=[GrantSpec("chair", table_id=world["north"].id)],
                                            person_id=world["anouk"].id),
        "nogrant": accounts.create_user(session, "no@x.example", "een lang wachtwoord"),
    }
    session.commit()
    world["users"] = users
    return world


def lines(session, user, today=None) -> dict[str, dashboard.Line]:
    return {line.kind: line for line in dashboard.dashboard(session, user, Links(), today or rules.today())}


def who_sees(session, world, kind, today=None) -> set[str]:
    return {name for name, user in world["users"].items() if kind in lines(session, user, today)}


def test_nothing_waits_in_a_quiet_world(session, world):
    # The evaluation is not due before a year in force; nobody lacks anything.
    assert lines(session, world["users"]["admin"], D(2026, 3, 1)) == {}
    assert lines(session, world["users"]["nogrant"]) == {}


def test_awaiting_signature_by_document_with_age_and_reminders(session, world):
    declaration = services.create_declaration(session, kind="structural", person_id=world["piet"].id,
                                              table_id=world["north"].id)
    session.commit()
    assert "awaiting_signature" not in lines(session, world["users"]["admin"])  # recorded, not sent
    [invitation] = workflow.send_for_signing(session, CONFIG, "declaration", declaration.id, actor="t", base_url=BASE)
    invitation.request.created_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=5)
    session.commit()
    line = lines(session, world["users"]["coord_north"])["awaiting_signature"]
    [item] = line.items
    assert line.count == 1 and item.url == f"/declarations/{declaration.id}"
    assert "Piet" in item.label and "Bijlage 1" in item.label and item.age_days == 5 and item.reminders == 0
    workflow.remind(session, CONFIG, invitation.request.id, actor="t", base_url=BASE)
    session.commit()
    assert lines(session, world["users"]["coord_north"])["awaiting_signature"].items[0].reminders == 1
    # Scope: those who may send a Bijlage 1 at Noord; not the chair, not Zuid's coordinator.
    assert who_sees(session, world, "awaiting_signature") == {"admin", "coord_cov", "coord_north"}
    workflow.cancel(session, invitation.request.id, actor="t")
    session.commit()
    assert who_sees(session, world, "awaiting_signature") == set()


def test_covenant_awaiting_signature_counts_partners(session, world):
    org = f.organisation(session, "Nieuwe partner")
    rep = f.person(session, org, "R. Vertegenwoordiger", email="rep@nieuw.example")
    services.add_partner(session, world["cov"], organisation_id=org.id, representative_id=rep.id)
    session.commit()
    workflow.send_for_signing(session, CONFIG, "covenant", world["cov"].id, actor="t", base_url=BASE)
    session.commit()
    [item] = lines(session, world["users"]["coord_cov"])["awaiting_signature"].items
    assert item.url == f"/covenants/{world['cov'].id}" and "3 van 4 partners getekend" in item.label
    assert who_sees(session, world, "awaiting_signature") == {"admin", "coord_cov"}


def test_missing_bijlage1_for_people_who_take_part(session, world):
    assert who_sees(session, world, "missing_bijlage1") == set()
    # Piet (a partner's employee) and Sanne (no partner: Bijlage 2 is her way) are invited.
    plan(session, world, rules.today() + dt.timedelta(days=7), {"EN-1": [world["piet"], world["sanne"]]})
    line = lines(session, world["users"]["coord_north"])["missing_bijlage1"]
    [item] = line.items
    assert item.count == 1 and item.label == "Casustafel Noord" and "Piet" in item.detail
    assert item.url == f"/tables/{world['north'].id}#bijlage1" and line.bars == (("Casustafel Noord", 1),)
    assert [p.name for p in dashboard.lacking_bijlage1(session, world["north"], rules.today())] == ["Piet"]
    assert who_sees(session, world, "missing_bijlage1") == {"admin", "coord_cov", "coord_north"}
    services.create_declaration(session, kind="structural", person_id=world["piet"].id, table_id=world["north"].id,
                                signed_on=rules.today())
    session.commit()
    assert who_sees(session, world, "missing_bijlage1") == set()


def test_a_revoked_bijlage1_is_missing_again(session, world):
    mira_declaration = next(d for d in session.scalars(select(services.Declaration))
                            if d.person_id == world["mira"].id)
    services.revoke_declaration(session, mira_declaration, rules.today() - dt.timedelta(days=1))
    session.commit()
    [item] = lines(session, world["users"]["coord_north"])["missing_bijlage1"].items
    assert "Mira" in item.detail


def test_consents_pending_declined_and_expiring(session, world):
    consent = services.create_consent(
        session, table_id=world["north"].id, case_ref="EN-1", signed_by="resident", resident_name="Tessa (fictief)",
        resident_birth_date=D(1984, 2, 17), purpose="Afstemmen.", categories=["name_address"],
        recipient_ids=[world["ggd"].id])
    session.commit()
    assert not {"consents_pending", "consents_declined"} & set(lines(session, world["users"]["admin"]))
    from signatures.subjects import Signer

    [invitation] = workflow.send_for_signing(session, CONFIG, "consent", consent.id, actor="t", base_url=BASE,
                                             signers=[Signer("Tessa (fictief)", "tessa@x.example", "resident")])
    session.commit()
    found = lines(session, world["users"]["chair_north"])
    [item] = found["consents_pending"].items
    assert item.label == "Casus EN-1" and "Tessa" not in item.label + item.detail  # no resident data
    assert item.url == f"/consents/{consent.id}" and "consents_expiring" not in found
    near_expiry = invitation.request.expires_at.date() - dt.timedelta(days=3)
    assert "consents_expiring" in lines(session, world["users"]["chair_north"], near_expiry)
    assert who_sees(session, world, "consents_pending") == {"admin", "coord_cov", "coord_north", "chair_north"}
    services.decline_consent(session, consent, rules.today())
    invitation.request.status = "declined"
    session.commit()
    found = lines(session, world["users"]["coord_north"])
    assert "consents_pending" not in found and found["consents_declined"].items[0].url == f"/consents/{consent.id}"
    assert "consents_declined" not in lines(session, world["users"]["coord_north"], rules.today() + dt.timedelta(days=91))


def test_notices_ending_within_three_months(session, world):
    partnership = session.scalar(select(Partnership).where(Partnership.organisation_id == world["ggd"].id))
    services.give_notice(session, partnership, D(2026, 9, 30))
    session.commit()
    assert partnership.ends_on == D(2026, 12, 30)
    [item] = lines(session, world["users"]["chair_north"], D(2026, 10, 1))["notices_ending"].items
    assert item.label == "GGD" and item.on == D(2026, 12, 30) and item.url == f"/covenants/{world['cov'].id}"
    assert "notices_ending" not in lines(session, world["users"]["chair_north"], D(2026, 9, 29))  # more than 3 months
    assert "notices_ending" not in lines(session, world["users"]["chair_north"], D(2026, 12, 30))  # ended
    assert who_sees(session, world, "notices_ending", D(2026, 10, 1)) == {
        "admin", "coord_cov", "coord_north", "coord_south", "chair_north"}


def test_employments_ending_of_people_at_my_tables(session, world):
    services.end_employment(session, world["mira"], D(2027, 1, 31))
    session.commit()
    [item] = lines(session, world["users"]["coord_north"], D(2026, 12, 1))["employments_ending"].items
    assert item.label == "Mira" and item.url == f"/people/{world['mira'].id}" and item.on == D(2027, 1, 31)
    assert "employments_ending" not in lines(session, world["users"]["coord_north"], D(2026, 10, 1))
    assert who_sees(session, world, "employments_ending", D(2026, 12, 1)) == {
        "admin", "coord_cov", "coord_north", "chair_north"}  # Mira is at Noord, not at Zuid


def test_cases_past_a_deadline(session):
    ggd = f.organisation(session, "GGD")
    cov = f.covenant(session, [(ggd, D(2025, 1, 6))])
    cov.pack = "neteland-casusoverleg"
    table = f.table(session, cov)
    case = cases.open_case(session, table, "NL-1", opened_on=D(2026, 1, 5), by="t", phase="uitvoering", age=40)
    admin = accounts.create_user(session, "a@x.example", "een lang wachtwoord", is_admin=True)
    other = accounts.create_user(session, "o@x.example", "een lang wachtwoord",
                                 grants=[GrantSpec("chair", table_id=f.table(session, cov, "Zuid").id)])
    session.commit()
    assert "cases_overdue" not in lines(session, admin, D(2026, 7, 5))  # due 2026-07-05: not passed yet
    [item] = lines(session, admin, D(2026, 7, 6))["cases_overdue"].items
    assert item.label == "Casus NL-1" and item.url == f"/cases/{case.id}" and item.on == D(2026, 7, 5)
    assert "cases_overdue" not in lines(session, other, D(2026, 7, 6))


def test_annual_evaluation_due_and_recorded(session, world):
    coord = world["users"]["coord_cov"]
    assert "evaluation_due" not in lines(session, coord, D(2026, 5, 11))  # in force 2025-05-12
    [item] = lines(session, coord, D(2026, 5, 12))["evaluation_due"].items
    assert item.url == f"/covenants/{world['cov'].id}#evaluatie" and item.detail == "nog nooit geëvalueerd"
    assert who_sees(session, world, "evaluation_due", D(2026, 5, 12)) == {"admin", "coord_cov"}
    evaluations.record_evaluation(session, world["cov"], held_on=D(2026, 6, 1), note="Alle partners.", recorded_by="t")
    session.commit()
    assert "evaluation_due" not in lines(session, coord, D(2027, 5, 31))
    [item] = lines(session, coord, D(2027, 6, 1))["evaluation_due"].items
    assert item.detail == "laatste evaluatie 1 juni 2026"


def test_an_evaluation_needs_a_real_past_date(session, world):
    for held_on, field in ((None, "held_on"), (rules.today() + dt.timedelta(days=1), "held_on"), (D(2025, 5, 1), "held_on")):
        with pytest.raises(ValidationError) as refused:
            evaluations.record_evaluation(session, world["cov"], held_on=held_on, note="", recorded_by="t")
        assert field in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        evaluations.record_evaluation(session, world["cov"], held_on=D(2026, 1, 1), note="x" * 2001, recorded_by="t")
    assert "note" in refused.value.fields


# ----------------------------------------------------------------------------- web and API


@pytest.fixture
def web_world(app_session):
    world = build(app_session)
    world["piet"].email = "piet@toegang.example"
    app_session.commit()
    plan(app_session, world, rules.today() + dt.timedelta(days=7), {"EN-1": [world["piet"]]})
    return world


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def test_start_page_and_api_show_the_same_lines(logged_in, api, web_world):
    page = text_of(logged_in.get("/"))
    answer = api.get("/api/v1/dashboard")
    assert answer.status_code == 200
    kinds = [line["kind"] for line in answer.json["lines"]]
    assert "missing_bijlage1" in kinds and "evaluation_due" in kinds
    assert answer.json["on"] == rules.today().isoformat()
    missing = next(line for line in answer.json["lines"] if line["kind"] == "missing_bijlage1")
    assert missing["count"] == 1 and missing["items"][0]["url"] == f"/tables/{web_world['north'].id}#bijlage1"
    assert "Deelnemers zonder Bijlage 1" in page and f'href="/tables/{web_world["north"].id}#bijlage1"' in page
    assert "Jaarlijkse evaluatie van het convenant (art. 12)" in page and "nog nooit geëvalueerd" in page


def test_api_dashboard_is_scoped_and_needs_a_token(client, app_session, web_world):
    assert client.get("/api/v1/dashboard").status_code == 401
    chair = accounts.create_user(app_session, "chair@x.example", "een lang wachtwoord",
                                 grants=[GrantSpec("chair", table_id=web_world["north"].id)])
    nobody = accounts.create_user(app_session, "nobody@x.example", "een lang wachtwoord")
    tokens = {u.email: accounts.create_token(app_session, u) for u in (chair, nobody)}
    app_session.commit()
    get = lambda email: client.get("/api/v1/dashboard", headers={"Authorization": f"Bearer {tokens[email]}"}).json
    assert get("nobody@x.example")["lines"] == []
    assert {line["kind"] for line in get("chair@x.example")["lines"]} == set()  # no coordinator's lines


def test_dashboard_chart_is_svg_with_a_text_equivalent(logged_in, app_session, web_world):
    south = services.create_table(app_session, covenant_id=web_world["cov"].id, name="Casustafel Zuid", area="Zuid")
    services.create_declaration(app_session, kind="structural", person_id=web_world["mira"].id, table_id=south.id)
    app_session.commit()
    page = logged_in.get("/").get_data(as_text=True)
    section = page[page.index('id="dash-missing_bijlage1"'):]
    section = section[:section.index("</section>")]
    assert "<svg" in section and 'aria-hidden="true"' in section and "<script" not in page
    assert "Casustafel Noord: 1" in section and "Casustafel Zuid: 1" in section  # the hidden text list


def test_evaluation_form_on_the_covenant_page(logged_in, app_session, web_world):
    path = f"/covenants/{web_world['cov'].id}"
    page = logged_in.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    bad = logged_in.post(f"{path}/evaluaties", data={"csrf_token": token, "held_on": "2026-13-45", "note": "x"})
    assert bad.status_code == 422 and "Geen geldige datum" in bad.get_data(as_text=True)
    assert 'value="2026-13-45"' in bad.get_data(as_text=True)
    future = logged_in.post(f"{path}/evaluaties", data={"csrf_token": token, "held_on": "2999-01-01"})
    assert future.status_code == 422 and "ligt na vandaag" in future.get_data(as_text=True)
    done = logged_in.post(f"{path}/evaluaties", data={"csrf_token": token, "held_on": "2026-06-01",
                                                       "note": "Alle partners <b>aanwezig</b>."})
    assert done.status_code == 302
    page = text_of(logged_in.get(path))
    assert "De evaluatie is vastgelegd." in page and "1 juni 2026" in page and "&lt;b&gt;" in logged_in.get(path).get_data(as_text=True)
    assert "De volgende evaluatie is uiterlijk op 1 juni 2027." in page
    assert app_session.scalar(select(CovenantEvaluation)).recorded_by == "admin@example.org"
