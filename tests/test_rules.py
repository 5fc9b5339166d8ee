"""The entitlement rules of design.md section 2, edge by edge, on plain facts (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import rules
from registry.rules import (
    CaseFacts,
    CovenantFacts,
    DeclarationFacts,
    PartnershipFacts,
    PersonFacts,
    TableFacts,
)

D = dt.date
COVENANT = CovenantFacts(id=1, title="Convenant Emmen", in_force_on=D(2025, 5, 12))
NORTH = TableFacts(10, "Casustafel Emmen-Noord")
SOUTH = TableFacts(11, "Casustafel Emmen-Zuid")
GGD = PartnershipFacts(organisation_id=5, organisation_name="GGD Drenthe", signed_on=D(2025, 5, 8))
MIRA = PersonFacts(id=1, name="Mira Kamphuis", organisation_id=5, organisation_name="GGD Drenthe")


def b1(table=NORTH, signed_on=D(2025, 5, 20), revoked_on=None, id_=1):
    """A Bijlage 1 for a table."""
    return DeclarationFacts(id_, rules.STRUCTURAL, table.id, table.name, signed_on, None, revoked_on)


def b2(case_ref="EN-1", table=NORTH, signed_on=D(2026, 3, 2), id_=2):
    """A Bijlage 2 for a table and case."""
    return DeclarationFacts(id_, rules.INCIDENTAL, table.id, table.name, signed_on, case_ref)


def codes(decision: rules.Decision) -> list[str]:
    """The reason codes of a decision, in order."""
    return [r.code for r in decision.reasons]


def decide(on, person=MIRA, partnership=GGD, declarations=(), covenant=COVENANT, table=NORTH, case_ref=None, case=None):
    """Shorthand for ``person_decision``."""
    return rules.person_decision(person, table, covenant, partnership, list(declarations), on, case_ref, case)


# ----------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("given", "ends"),
    [
        (D(2025, 11, 30), D(2026, 2, 28)),  # 30 February does not exist
        (D(2027, 11, 30), D(2028, 2, 29)),  # leap year
        (D(2026, 1, 31), D(2026, 4, 30)),  # 31 April does not exist
        (D(2026, 1, 10), D(2026, 4, 10)),
        (D(2026, 10, 15), D(2027, 1, 15)),  # across the year end
    ],
)
def test_notice_ends_three_calendar_months_later_clamped_to_month_end(given, ends):
    assert rules.notice_end_date(given) == ends


def test_term_renews_tacitly_by_one_year_after_three():
    assert rules.current_term_end(COVENANT, D(2025, 5, 12)) == D(2028, 5, 11)
    assert rules.current_term_end(COVENANT, D(2028, 5, 11)) == D(2028, 5, 11)
    assert rules.current_term_end(COVENANT, D(2028, 5, 12)) == D(2029, 5, 11)
    assert rules.current_term_end(COVENANT, D(2034, 1, 1)) == D(2034, 5, 11)
    assert rules.current_term_end(COVENANT, D(2025, 5, 11)) is None



def _term_end_one_renewal_at_a_time(covenant, on):
    """The term's last day counted as the covenant reads: each renewal from the last."""
    end = rules.add_years(covenant.in_force_on, covenant.initial_years)
    while end <= on:
        end = rules.add_years(end, covenant.renewal_years)
    return end - dt.timedelta(days=1)


@pytest.mark.parametrize(("in_force_on", "initial", "renewal"),
                         [(D(2025, 5, 12), 3, 1), (D(2024, 2, 29), 1, 1), (D(2020, 1, 31), 2, 5)])
def test_the_term_looked_up_is_the_term_counted_renewal_by_renewal(in_force_on, initial, renewal):
    """The remembered list of terms gives the day the covenant's own counting gives, on
    every term boundary (29 February stays 28 February after the first year), and past
    the listed century too."""
    covenant = CovenantFacts(id=2, title="C", in_force_on=in_force_on, initial_years=initial, renewal_years=renewal)
    days = [in_force_on + dt.timedelta(days=n) for n in range(0, 12 * 366, 5)]
    days += [rules.add_years(in_force_on, n) + dt.timedelta(days=d) for n in range(0, 40) for d in (-1, 0, 1)]
    days += [D(2160, 3, 1), D(2400, 2, 28), D(2400, 2, 29)]
    for on in days:
        if on >= in_force_on:
            assert rules.current_term_end(covenant, on) == _term_end_one_renewal_at_a_time(covenant, on), on


def test_a_covenant_answer_is_the_same_for_every_day_of_one_term_and_changes_at_its_end():
    """covenant_reason is remembered per term, not per day: the last day of a term and
    the first of the next differ in their text; two days of one term do not."""
    last = rules.current_term_end(COVENANT, D(2025, 6, 1))
    assert rules.covenant_reason(COVENANT, D(2025, 6, 1)) == rules.covenant_reason(COVENANT, last)
    first_renewed = rules.covenant_reason(COVENANT, last + dt.timedelta(days=1))[1].text
    assert "stilzwijgend verlengd tot en met 11 mei 2029" in first_renewed
    assert "looptijd tot en met 11 mei 2028" in rules.covenant_reason(COVENANT, last)[1].text


# ----------------------------------------------------------------------------- organisations


def test_partner_from_the_day_it_signed_not_the_day_before():
    covenant = CovenantFacts(1, "C", in_force_on=D(2025, 5, 1))
    late = PartnershipFacts(7, "Stichting Cosis", signed_on=D(2025, 6, 1), founding=False)
    assert not rules.organisation_decision(covenant, late, D(2025, 5, 31)).allowed
    assert codes(rules.organisation_decision(covenant, late, D(2025, 5, 31))) == ["covenant_signed_later"]
    allowed = rules.organisation_decision(covenant, late, D(2025, 6, 1))
    assert allowed.allowed and codes(allowed) == ["partner", "covenant_in_force"]
    assert "sinds 1 juni 2025" in allowed.reasons[0].text and "toegetreden" in allowed.reasons[0].text


def test_founding_partner_that_signed_early_is_partner_from_coming_into_force():
    decision_before = rules.organisation_decision(COVENANT, GGD, D(2025, 5, 11))
    assert not decision_before.allowed
    assert codes(decision_before) == ["covenant_not_in_force"]
    decision = rules.organisation_decision(COVENANT, GGD, D(2025, 5, 12))
    assert decision.allowed and "sinds 12 mei 2025" in decision.reasons[0].text


def test_covenant_not_yet_in_force_denies_everyone():
    draft = CovenantFacts(1, "C", in_force_on=None)
    decision = rules.organisation_decision(draft, GGD, D(2030, 1, 1))
    assert not decision.allowed and codes(decision) == ["covenant_not_in_force"]


def test_organisation_that_is_not_a_partner():
    decision = rules.organisation_decision(COVENANT, None, D(2026, 1, 1), "Woonstichting")
    assert not decision.allowed
    assert codes(decision) == ["not_partner"] and "Woonstichting" in decision.reasons[0].text


def test_unsigned_partner_is_not_entitled():
    unsigned = PartnershipFacts(5, "GGD Drenthe", signed_on=None)
    assert codes(rules.organisation_decision(COVENANT, unsigned, D(2026, 1, 1))) == ["covenant_not_signed"]


@pytest.mark.parametrize(("given", "ends"), [(D(2025, 11, 30), D(2026, 2, 28)), (D(2026, 1, 31), D(2026, 4, 30))])
def test_notice_keeps_entitlement_until_the_day_before_the_end(given, ends):
    leaving = PartnershipFacts(5, "GGD Drenthe", D(2025, 5, 8), notice_given_on=given, ends_on=rules.notice_end_date(given))
    last_day = rules.organisation_decision(COVENANT, leaving, ends - dt.timedelta(days=1))
    assert last_day.allowed
    assert [w.code for w in last_day.warnings] == ["notice_given"]
    assert rules.iso(ends) in last_day.warnings[0].text
    ended = rules.organisation_decision(COVENANT, leaving, ends)
    assert not ended.allowed and codes(ended) == ["notice_ended"]
    assert rules.iso(given) in ended.reasons[0].text and rules.iso(ends) in ended.reasons[0].text


def test_notice_day_itself_is_still_entitled_and_warned_from_then_on():
    leaving = PartnershipFacts(5, "GGD", D(2025, 5, 8), notice_given_on=D(2026, 1, 10), ends_on=D(2026, 4, 10))
    on_notice_day = rules.organisation_decision(COVENANT, leaving, D(2026, 1, 10))
    assert on_notice_day.allowed and [w.code for w in on_notice_day.warnings] == ["notice_given"]
    # As of a date before the notice was given, nobody knew of it yet: no warning.
    assert rules.organisation_decision(COVENANT, leaving, D(2026, 1, 9)).warnings == ()


def test_immediate_termination_ends_on_its_date():
    ended = PartnershipFacts(5, "GGD", D(2025, 5, 8), ended_immediately_on=D(2026, 3, 1))
    assert rules.organisation_decision(COVENANT, ended, D(2026, 2, 28)).allowed
    decision = rules.organisation_decision(COVENANT, ended, D(2026, 3, 1))
    assert not decision.allowed and codes(decision) == ["terminated"]


def test_exclusion_ends_on_its_date_with_reason():
    excluded = PartnershipFacts(5, "GGD", D(2025, 5, 8), excluded_on=D(2026, 6, 1), exclusion_reason="gegevens gelekt")
    assert rules.organisation_decision(COVENANT, excluded, D(2026, 5, 31)).allowed
    decision = rules.organisation_decision(COVENANT, excluded, D(2026, 6, 1))
    assert codes(decision) == ["excluded"] and "gegevens gelekt" in decision.reasons[0].text


def test_earliest_end_wins_when_notice_and_exclusion_overlap():
    both = PartnershipFacts(5, "GGD", D(2025, 5, 8), notice_given_on=D(2026, 1, 10), ends_on=D(2026, 4, 10), excluded_on=D(2026, 2, 1))
    assert codes(rules.organisation_decision(COVENANT, both, D(2026, 2, 1))) == ["excluded"]


def test_tacit_renewal_years_after_the_first_term_keeps_entitlement():
    decision = rules.organisation_decision(COVENANT, GGD, D(2033, 8, 1))
    assert decision.allowed
    in_force, why = rules.covenant_reason(COVENANT, D(2033, 8, 1))
    assert in_force and "stilzwijgend verlengd tot en met 11 mei 2034" in why.text


def test_ended_covenant_denies():
    ended = CovenantFacts(1, "C", in_force_on=D(2025, 5, 12), ended_on=D(2027, 1, 1))
    assert codes(rules.organisation_decision(ended, GGD, D(2027, 1, 1))) == ["covenant_ended"]
    assert rules.organisation_decision(ended, GGD, D(2026, 12, 31)).allowed


# ----------------------------------------------------------------------------- people, structural


def test_structural_participant_allowed_with_reasons_and_dates():
    decision = decide(D(2025, 5, 20), declarations=[b1()])
    assert decision.allowed and decision.basis == rules.STRUCTURAL
    assert codes(decision) == ["partner", "bijlage1_signed", "covenant_in_force"]
    assert "Bijlage 1 getekend op 20 mei 2025 voor Casustafel Emmen-Noord" in decision.reasons[1].text


def test_day_before_bijlage1_signature_is_denied():
    decision = decide(D(2025, 5, 19), declarations=[b1()])
    assert not decision.allowed and codes(decision) == ["bijlage1_signed_later"]


def test_bijlage1_for_another_table_does_not_count():
    decision = decide(D(2026, 1, 1), declarations=[b1(table=SOUTH)])
    assert not decision.allowed
    assert codes(decision) == ["bijlage1_other_table"]
    assert "Casustafel Emmen-Zuid" in decision.reasons[0].text


def test_no_bijlage1_at_all():
    assert codes(decide(D(2026, 1, 1))) == ["bijlage1_missing"]


def test_revoked_bijlage1_ends_on_revocation_date():
    declarations = [b1(revoked_on=D(2026, 2, 1))]
    assert decide(D(2026, 1, 31), declarations=declarations).allowed
    assert codes(decide(D(2026, 2, 1), declarations=declarations)) == ["bijlage1_revoked"]


def test_pending_bijlage1_is_not_a_signature():
    assert codes(decide(D(2026, 1, 1), declarations=[b1(signed_on=None)])) == ["bijlage1_pending"]


def test_person_of_an_organisation_that_is_not_a_partner_is_denied_even_with_bijlage1():
    decision = decide(D(2026, 1, 1), partnership=None, declarations=[b1()])
    assert not decision.allowed and codes(decision) == ["not_partner"]


def test_employment_end_is_inclusive():
    leaving = PersonFacts(1, "Mira", 5, "GGD Drenthe", employed_until=D(2026, 3, 31))
    last_day = decide(D(2026, 3, 31), person=leaving, declarations=[b1()])
    assert last_day.allowed and "employed" in codes(last_day)
    after = decide(D(2026, 4, 1), person=leaving, declarations=[b1()])
    assert not after.allowed and codes(after) == ["employment_ended"]


def test_employment_not_started():
    newcomer = PersonFacts(1, "Mira", 5, "GGD Drenthe", employed_from=D(2026, 2, 1))
    assert codes(decide(D(2026, 1, 31), person=newcomer, declarations=[b1()])) == ["not_employed_yet"]


def test_partner_leaving_takes_its_people_with_it():
    leaving = PartnershipFacts(5, "GGD Drenthe", D(2025, 5, 8), notice_given_on=D(2026, 1, 10), ends_on=D(2026, 4, 10))
    before = decide(D(2026, 4, 9), partnership=leaving, declarations=[b1()])
    assert before.allowed and [w.code for w in before.warnings] == ["notice_given"]
    assert codes(decide(D(2026, 4, 10), partnership=leaving, declarations=[b1()])) == ["notice_ended"]


def test_denial_names_every_missing_condition():
    leaving = PersonFacts(1, "Mira", 5, "GGD Drenthe", employed_until=D(2026, 1, 1))
    excluded = PartnershipFacts(5, "GGD", D(2025, 5, 8), excluded_on=D(2026, 1, 15), exclusion_reason="x")
    decision = decide(D(2026, 2, 1), person=leaving, partnership=excluded, declarations=[b1(table=SOUTH)])
    assert not decision.allowed
    assert codes(decision) == ["employment_ended", "excluded", "bijlage1_other_table"]


# ----------------------------------------------------------------------------- people, incidental


GUEST = PersonFacts(9, "Sanne Hofstra", 99, "Woonstichting")


def test_incidental_participant_allowed_for_their_case_only():
    allowed = decide(D(2026, 3, 2), person=GUEST, partnership=None, declarations=[b2()], case_ref="EN-1")
    assert allowed.allowed and allowed.basis == rules.INCIDENTAL
    assert codes(allowed) == ["bijlage2_signed", "covenant_in_force"] and "casus EN-1" in allowed.reasons[0].text
    other = decide(D(2026, 3, 2), person=GUEST, partnership=None, declarations=[b2()], case_ref="EN-2")
    assert not other.allowed
    assert "bijlage2_other_case" in codes(other) and "not_partner" in codes(other)


def test_incidental_participant_day_before_signature():
    decision = decide(D(2026, 3, 1), person=GUEST, partnership=None, declarations=[b2()], case_ref="EN-1")
    assert not decision.allowed and "bijlage2_signed_later" in codes(decision)


def test_incidental_participant_without_a_case_is_told_to_name_one():
    decision = decide(D(2026, 3, 2), person=GUEST, partnership=None, declarations=[b2()])
    assert not decision.allowed and "case_required" in codes(decision)


def test_bijlage2_for_another_table_does_not_count():
    decision = decide(D(2026, 3, 2), person=GUEST, partnership=None, declarations=[b2(table=SOUTH)], case_ref="EN-1")
    assert not decision.allowed and "bijlage2_other_table" in codes(decision)


def test_structural_basis_wins_over_incidental():
    decision = decide(D(2026, 3, 2), declarations=[b1(), b2()], case_ref="EN-1")
    assert decision.basis == rules.STRUCTURAL


def test_closed_case_blocks_everyone_from_its_closing_date():
    case = CaseFacts("EN-1", D(2026, 1, 1), closed_on=D(2026, 4, 1))
    open_day = decide(D(2026, 3, 31), person=GUEST, partnership=None, declarations=[b2()], case_ref="EN-1", case=case)
    assert open_day.allowed
    closed = decide(D(2026, 4, 1), person=GUEST, partnership=None, declarations=[b2()], case_ref="EN-1", case=case)
    assert not closed.allowed and "case_closed" in codes(closed)
    structural = decide(D(2026, 4, 1), declarations=[b1()], case_ref="EN-1", case=case)
    assert not structural.allowed and codes(structural) == ["case_closed"]


# ----------------------------------------------------------------------------- consent and amendments


def test_consent_holds_from_signing_until_withdrawal_or_case_closing():
    consent = rules.ConsentFacts(1, signed_on=D(2026, 2, 16), withdrawn_on=D(2026, 5, 1))
    assert not rules.consent_valid(consent, D(2026, 2, 15))
    assert rules.consent_valid(consent, D(2026, 2, 16))
    assert rules.consent_valid(consent, D(2026, 4, 30))
    assert not rules.consent_valid(consent, D(2026, 5, 1))
    closed = CaseFacts("EN-7", D(2026, 1, 1), closed_on=D(2026, 3, 1))
    assert not rules.consent_valid(rules.ConsentFacts(2, D(2026, 2, 16), None), D(2026, 3, 1), closed)


def test_amendment_needs_every_current_partner():
    approvals = {1: D(2026, 1, 5), 2: D(2026, 1, 9)}
    assert not rules.amendment_in_force({1, 2, 3}, approvals, D(2026, 2, 1))
    assert not rules.amendment_in_force({1, 2}, approvals, D(2026, 1, 8))
    assert rules.amendment_in_force({1, 2}, approvals, D(2026, 1, 9))
