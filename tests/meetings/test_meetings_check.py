"""The chair's meeting check on a real database (SQLite and PostgreSQL), event by event."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from registry import cases, meetings, queries, services
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import CaseTable, Declaration
from tests.meetings.world import D, build, codes, invitee, plan


@pytest.fixture
def world(session):
    """The shared meeting world (see tests/meetings/world.py)."""
    return build(session)


def test_incidental_participant_allowed_for_one_case_and_not_the_other(session, world):
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["mira"], world["sanne"]]})
    check = meetings.meeting_check(session, meeting.id)
    one, two = invitee(check, "EN-1", world["sanne"]), invitee(check, "EN-2", world["sanne"])
    assert (one.allowed, one.basis, codes(one.reasons)) == (True, "incidental", ["bijlage2_signed", "covenant_in_force"])
    assert not two.allowed and two.basis is None and "bijlage2_other_case" in codes(two.reasons)
    assert codes(two.warnings) == ["bijlage2_needed"]
    mira = invitee(check, "EN-2", world["mira"])
    assert (mira.allowed, mira.basis) == (True, "structural")
    assert "20 mei 2025" in " ".join(r.text for r in mira.reasons)  # reasons carry their dates


def test_only_the_participants_of_a_case_are_checked_for_it(session, world):
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["mira"]]})
    check = meetings.meeting_check(session, meeting.id)
    assert [[i.name for i in c.invitees] for c in check.cases] == [["Mira", "Sanne"], ["Mira"]]
    assert [(c.case_ref, c.theme, c.age_band) for c in check.cases] == [("EN-1", "jeugd", "0-18"), ("EN-2", "jeugd", "0-18")]
    assert check.on == D(2026, 3, 10) and check.warnings == ()


def test_missing_bijlage1_before_and_after_it_is_signed(session, world):
    before = plan(session, world, D(2026, 3, 10), {"EN-1": [world["piet"]]})
    after = plan(session, world, D(2026, 4, 10), {"EN-1": [world["piet"]]})
    services.create_declaration(session, kind="structural", person_id=world["piet"].id, table_id=world["north"].id, signed_on=D(2026, 4, 1))
    session.commit()
    piet_before = invitee(meetings.meeting_check(session, before.id), "EN-1", world["piet"])
    assert not piet_before.allowed and codes(piet_before.warnings) == ["bijlage1_missing", "bijlage2_needed"]
    assert "bijlage1_signed_later" in codes(piet_before.reasons)
    piet_after = invitee(meetings.meeting_check(session, after.id), "EN-1", world["piet"])
    assert piet_after.allowed and piet_after.warnings == ()


def test_bijlage2_needed_until_the_guest_signs_for_the_case(session, world):
    early = plan(session, world, D(2026, 3, 1), {"EN-1": [world["sanne"]]})
    on_time = plan(session, world, D(2026, 3, 2), {"EN-1": [world["sanne"]]})
    assert codes(invitee(meetings.meeting_check(session, early.id), "EN-1", world["sanne"]).warnings) == ["bijlage2_needed"]
    assert invitee(meetings.meeting_check(session, on_time.id), "EN-1", world["sanne"]).warnings == ()


def test_notice_before_and_after_the_partnership_ends(session, world):
    services.give_notice(session, services.partnership_of(session, world["cov"], world["ggd"].id), D(2026, 1, 10))
    session.commit()
    before = plan(session, world, D(2026, 4, 9), {"EN-1": [world["mira"]]})
    on_end = plan(session, world, D(2026, 4, 10), {"EN-1": [world["mira"]]})
    mira_before = invitee(meetings.meeting_check(session, before.id), "EN-1", world["mira"])
    assert mira_before.allowed and codes(mira_before.warnings) == ["notice_given"]
    mira_after = invitee(meetings.meeting_check(session, on_end.id), "EN-1", world["mira"])
    assert not mira_after.allowed and codes(mira_after.reasons)[0] == "notice_ended"
    assert "notice_before_meeting" in codes(mira_after.warnings)


def test_consent_answer_before_and_after_withdrawal(session, world):
    before_signing = plan(session, world, D(2026, 2, 15), {"EN-1": [world["mira"]]})
    before = plan(session, world, D(2026, 3, 4), {"EN-1": [world["mira"], world["sanne"]]})
    after = plan(session, world, D(2026, 3, 5), {"EN-1": [world["mira"]]})
    early = invitee(meetings.meeting_check(session, before_signing.id), "EN-1", world["mira"]).consent
    assert not early.covered and early.reason.code == "consent_signed_later"
    check = meetings.meeting_check(session, before.id)
    mira = invitee(check, "EN-1", world["mira"])
    assert mira.consent.covered and mira.consent.categories == ("name_address", "situation_summary")
    assert not invitee(check, "EN-1", world["sanne"]).consent.covered  # Woonstichting is not named
    services.withdraw_consent(session, world["consent"], D(2026, 3, 5), "Tessa (fictief), per brief")
    session.commit()
    assert invitee(meetings.meeting_check(session, before.id), "EN-1", world["mira"]).consent.covered
    withdrawn = invitee(meetings.meeting_check(session, after.id), "EN-1", world["mira"])
    assert not withdrawn.consent.covered and withdrawn.consent.reason.code == "consent_withdrawn"
    assert codes(withdrawn.warnings) == ["consent_withdrawn"] and withdrawn.allowed


def test_consent_of_a_closed_case_lapses(session, world):
    meeting = plan(session, world, D(2026, 6, 2), {"EN-1": [world["mira"]]})
    cases.close_case(session, services.find_case(session, world["north"].id, "EN-1"), on=D(2026, 6, 1),
                     reason="handled", by="test")
    session.commit()
    mira = invitee(meetings.meeting_check(session, meeting.id), "EN-1", world["mira"])
    assert not mira.allowed and codes(mira.reasons) == ["case_closed"]
    assert mira.consent.reason.code == "consent_case_closed"


def test_need_to_know_withdrawal_from_its_date(session, world):
    before = plan(session, world, D(2026, 3, 9), {"EN-1": [world["mira"]], "EN-2": [world["mira"]]})
    after = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]], "EN-2": [world["mira"]]})
    meetings.withdraw_need_to_know(session, table_id=world["north"].id, case_ref="EN-2", organisation_id=world["ggd"].id, on=D(2026, 3, 10), by="gerda@example.org")
    session.commit()
    assert invitee(meetings.meeting_check(session, before.id), "EN-2", world["mira"]).allowed
    check = meetings.meeting_check(session, after.id)
    assert invitee(check, "EN-1", world["mira"]).allowed
    gone = invitee(check, "EN-2", world["mira"])
    assert not gone.allowed and codes(gone.reasons) == ["need_to_know_withdrawn"]
    with pytest.raises(Conflict):
        meetings.withdraw_need_to_know(session, table_id=world["north"].id, case_ref="EN-2", organisation_id=world["ggd"].id, on=D(2026, 3, 11), by="x")


def test_chair_and_coordinator_must_be_entitled_themselves(session, world):
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    declaration = session.scalars(select(Declaration).where(Declaration.person_id == world["anouk"].id)).one()
    services.revoke_declaration(session, declaration, D(2026, 3, 10))
    world["north"].coordinator_id = None
    session.commit()
    check = meetings.meeting_check(session, meeting.id)
    assert codes(check.warnings) == ["chair_not_entitled", "no_coordinator"]
    earlier = plan(session, world, D(2026, 3, 9), {"EN-1": [world["mira"]]})
    assert codes(meetings.meeting_check(session, earlier.id).warnings) == ["no_coordinator"]


def test_fresh_writes_change_the_next_answer_at_once(session, world, engine):
    """A second session (another request) sees an exclusion committed a moment ago."""
    from database.engine import make_session_factory

    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    with make_session_factory(engine)() as reader:
        assert invitee(meetings.meeting_check(reader, meeting.id), "EN-1", world["mira"]).allowed
        assert queries.check(reader, world["mira"].id, world["north"].id, D(2026, 3, 10)).allowed
        reader.commit()
        services.exclude(session, services.partnership_of(session, world["cov"], world["ggd"].id), D(2026, 3, 1), "lek")
        session.commit()
        mira = invitee(meetings.meeting_check(reader, meeting.id), "EN-1", world["mira"])
        assert not mira.allowed and codes(mira.reasons)[0] == "excluded"
        assert not queries.check(reader, world["mira"].id, world["north"].id, D(2026, 3, 10)).allowed


def test_meeting_check_agrees_with_the_single_check(session, world):
    people = [world["mira"], world["sanne"], world["piet"], world["anouk"]]
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": people, "EN-2": people})
    check = meetings.meeting_check(session, meeting.id)
    for case in check.cases:
        for item in case.invitees:
            single = queries.check(session, item.person_id, world["north"].id, D(2026, 3, 10), case.case_ref)
            assert (item.allowed, item.basis, item.reasons) == (single.allowed, single.basis, single.reasons)


def test_check_many_answers_in_the_order_asked(session, world):
    asked = [(world["sanne"].id, "EN-2"), (world["mira"].id, None), (world["sanne"].id, "EN-1")]
    answers = queries.check_many(session, world["north"].id, D(2026, 3, 10), asked)
    assert [(a.allowed, a.basis) for a in answers] == [(False, None), (True, "structural"), (True, "incidental")]
    with pytest.raises(NotFound) as unknown:
        queries.check_many(session, world["north"].id, D(2026, 3, 10), [(world["mira"].id, None), (999999, None)])
    assert unknown.value.fields == {"checks[1].person_id": "Bestaat niet."}


def test_plan_meeting_names_every_bad_field_and_writes_nothing(session, world):
    items = [
        meetings.AgendaItem("EN-1", "onbekend", "0-18", (world["mira"].id,)),
        meetings.AgendaItem("EN-1", "jeugd", "12-14", ()),
        meetings.AgendaItem(" ", None, None, (world["mira"].id,)),
    ]
    with pytest.raises(ValidationError) as bad:
        meetings.plan_meeting(session, table_id=world["north"].id, starts_at=dt.datetime(2026, 3, 10, 14), location=None, cases=items)
    assert set(bad.value.fields) == {"cases[0].theme", "cases[1].case_ref", "cases[1].age_band", "cases[1].invitee_ids", "cases[2].case_ref"}
    with pytest.raises(NotFound) as unknown:
        meetings.plan_meeting(session, table_id=world["north"].id, starts_at=dt.datetime(2026, 3, 10, 14), location=None,
                              cases=[meetings.AgendaItem("EN-9", None, None, (999999,))])
    assert "cases[0].invitee_ids" in unknown.value.fields
    session.rollback()
    assert services.find_case(session, world["north"].id, "EN-9") is None
    with pytest.raises(NotFound):
        meetings.meeting_check(session, 424242)


def test_a_long_lived_session_sees_a_new_chair(session, world, engine):
    """Objects survive commits in our sessions (expire_on_commit=False); the check reloads them."""
    from database.engine import make_session_factory

    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    with make_session_factory(engine)() as reader:
        kept = reader.get(CaseTable, world["north"].id)  # e.g. a page that showed the table first
        assert meetings.meeting_check(reader, meeting.id).warnings == () and kept.chair_id == world["anouk"].id
        reader.commit()
        world["north"].chair_id = world["sanne"].id  # Sanne holds only a Bijlage 2: no chair material
        session.commit()
        assert codes(meetings.meeting_check(reader, meeting.id).warnings) == ["chair_not_entitled"]


def _statements_of(session, fn) -> int:
    """How many SQL statements ``fn()`` sends (SQLAlchemy's ``before_cursor_execute``)."""
    from sqlalchemy import event

    sent = []
    engine = session.get_bind()
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return len(sent)


def test_the_check_sends_the_same_few_statements_whatever_the_size_of_the_meeting(session, world):
    small = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"]]})
    people = [world[name] for name in ("mira", "sanne", "piet", "anouk", "gerda")]
    large = plan(session, world, D(2026, 3, 11), {f"EN-{i}": people for i in range(1, 9)})
    session.commit()
    meetings.clear_memo()
    counts = [_statements_of(session, lambda m=m: meetings.meeting_check(session, m.id)) for m in (small, large, large)]
    assert counts[0] == counts[1] == counts[2] <= 6, counts


def test_a_remembered_check_is_the_check_computed_anew_and_follows_every_change(session, world):
    meeting = plan(session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]], "EN-2": [world["mira"], world["sanne"]]})
    meetings.clear_memo()
    cold = meetings.meeting_check(session, meeting.id)
    warm = meetings.meeting_check(session, meeting.id, checked_at=cold.checked_at)
    assert warm == cold
    declaration = session.scalars(select(Declaration).where(Declaration.person_id == world["mira"].id)).one()
    declaration.revoked_on = D(2026, 3, 1)
    session.commit()
    after = meetings.meeting_check(session, meeting.id)
    assert not invitee(after, "EN-1", world["mira"]).allowed
    assert "bijlage1_revoked" in codes(invitee(after, "EN-2", world["mira"]).reasons)
    meetings.clear_memo()
    assert meetings.meeting_check(session, meeting.id, checked_at=after.checked_at) == after
