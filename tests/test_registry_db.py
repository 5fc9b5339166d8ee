"""Services and queries on a real database (SQLite and PostgreSQL): the rules end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import cases, queries, services
from registry.errors import Conflict, NotFound, ValidationError
from tests import factories as f

D = dt.date


@pytest.fixture
def world(session):
    """A covenant of two partners (signed 5 and 12 May 2025), a non-partner, two tables."""
    ggd, toegang, housing = f.organisation(session, "GGD"), f.organisation(session, "Toegang"), f.organisation(session, "Woonstichting")
    cov = f.covenant(session, [(ggd, D(2025, 5, 5)), (toegang, D(2025, 5, 12))])
    north, south = f.table(session, cov, "Noord"), f.table(session, cov, "Zuid")
    mira = f.person(session, ggd, "Mira")
    sanne = f.person(session, housing, "Sanne")
    services.create_declaration(session, kind="structural", person_id=mira.id, table_id=north.id, signed_on=D(2025, 5, 20))
    services.create_declaration(session, kind="incidental", person_id=sanne.id, table_id=north.id, case_ref="EN-1", signed_on=D(2026, 3, 2))
    session.commit()
    return dict(cov=cov, ggd=ggd, toegang=toegang, housing=housing, north=north, south=south, mira=mira, sanne=sanne)


def test_covenant_comes_into_force_when_the_last_founding_partner_signs(session):
    a, b = f.organisation(session), f.organisation(session)
    cov = f.covenant(session)
    for org in (a, b):
        services.add_partner(session, cov, organisation_id=org.id, representative_id=f.person(session, org).id)
    services.sign_partnership(session, cov.partnerships[0], D(2025, 6, 1))
    assert cov.in_force_on is None and cov.status == "draft"
    services.sign_partnership(session, cov.partnerships[1], D(2025, 6, 9))
    assert cov.in_force_on == D(2025, 6, 9) and cov.status == "in_force"


def test_started_early_unsigned_founder_joins_from_its_own_signature(session):
    a, b = f.organisation(session), f.organisation(session)
    cov = f.covenant(session)
    services.add_partner(session, cov, organisation_id=a.id, representative_id=f.person(session, a).id, signed_on=D(2025, 6, 1))
    services.add_partner(session, cov, organisation_id=b.id, representative_id=f.person(session, b).id)
    services.start_covenant(session, cov, D(2025, 6, 15))
    services.sign_partnership(session, cov.partnerships[1], D(2025, 7, 1))
    assert cov.in_force_on == D(2025, 6, 15)
    decisions = {p.organisation_id: d for p, _n, d in queries.organisation_decisions(session, cov, D(2025, 6, 30))}
    assert decisions[a.id].allowed and not decisions[b.id].allowed
    assert queries.organisation_decisions(session, cov, D(2025, 7, 1))[1][2].allowed


def test_accession_after_coming_into_force(session, world):
    newcomer = f.organisation(session, "Cosis")
    services.add_partner(session, world["cov"], organisation_id=newcomer.id, representative_id=f.person(session, newcomer).id, signed_on=D(2026, 2, 1))
    worker = f.person(session, newcomer)
    services.create_declaration(session, kind="structural", person_id=worker.id, table_id=world["north"].id, signed_on=D(2026, 1, 15))
    session.commit()
    assert world["cov"].partnerships[-1].founding is False
    assert not queries.check(session, worker.id, world["north"].id, D(2026, 1, 31)).allowed
    decision = queries.check(session, worker.id, world["north"].id, D(2026, 2, 1))
    assert decision.allowed and "sinds 1 februari 2026" in decision.reasons[0].text


def test_entitled_lists_people_with_basis_and_case(session, world):
    result = queries.entitled(session, world["north"].id, D(2026, 3, 2), "EN-1")
    assert {o.name for o in result.organisations} == {"GGD", "Toegang"}
    assert [(p.name, p.basis) for p in result.people] == [("Mira", "structural"), ("Sanne", "incidental")]
    other_case = queries.entitled(session, world["north"].id, D(2026, 3, 2), "EN-2")
    assert [p.name for p in other_case.people] == ["Mira"]
    south = queries.entitled(session, world["south"].id, D(2026, 3, 2))
    assert south.people == ()


def test_history_stays_answerable_after_notice(session, world):
    partnership = services.partnership_of(session, world["cov"], world["ggd"].id)
    services.give_notice(session, partnership, D(2026, 1, 10))
    session.commit()
    assert partnership.ends_on == D(2026, 4, 10)
    assert queries.check(session, world["mira"].id, world["north"].id, D(2026, 4, 9)).allowed
    after = queries.check(session, world["mira"].id, world["north"].id, D(2026, 4, 10))
    assert not after.allowed and after.reasons[0].code == "notice_ended"
    assert queries.check(session, world["mira"].id, world["north"].id, D(2025, 6, 1)).allowed


def test_closed_case_ends_incidental_entitlement(session, world):
    case = services.find_case(session, world["north"].id, "EN-1")
    cases.close_case(session, case, on=D(2026, 6, 1), reason="handled", by="test")
    session.commit()
    assert queries.check(session, world["sanne"].id, world["north"].id, D(2026, 5, 31), "EN-1").allowed
    closed = queries.check(session, world["sanne"].id, world["north"].id, D(2026, 6, 1), "EN-1")
    assert [r.code for r in closed.reasons] == ["case_closed"]


def test_tables_for_a_person(session, world):
    services.create_declaration(session, kind="structural", person_id=world["mira"].id, table_id=world["south"].id, signed_on=D(2026, 1, 1))
    session.commit()
    names = lambda on: [t.name for t, _d, _c in queries.tables_for(session, world["mira"].id, on)]  # noqa: E731
    assert names(D(2025, 12, 31)) == ["Casustafel Noord"]
    assert sorted(names(D(2026, 1, 1))) == ["Casustafel Noord", "Casustafel Zuid"]
    guest = queries.tables_for(session, world["sanne"].id, D(2026, 3, 2))
    assert [(t.name, c) for t, _d, c in guest] == [("Casustafel Noord", "EN-1")]


def test_service_errors_name_the_field(session, world):
    with pytest.raises(Conflict) as dup:
        services.create_organisation(session, "GGD")
    assert "name" in dup.value.fields
    with pytest.raises(ValidationError) as wrong_rep:
        services.add_partner(session, world["cov"], organisation_id=world["housing"].id, representative_id=world["mira"].id)
    assert "representative_id" in wrong_rep.value.fields
    with pytest.raises(NotFound):
        services.create_declaration(session, kind="structural", person_id=999, table_id=world["north"].id)
    with pytest.raises(ValidationError) as no_case:
        services.create_declaration(session, kind="incidental", person_id=world["sanne"].id, table_id=world["north"].id)
    assert "case_ref" in no_case.value.fields
    partnership = services.partnership_of(session, world["cov"], world["ggd"].id)
    services.exclude(session, partnership, D(2026, 1, 1), "lek")
    with pytest.raises(Conflict):
        services.give_notice(session, partnership, D(2026, 2, 1))
