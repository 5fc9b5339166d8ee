"""The pure meeting rules: consent coverage (art. 11), need-to-know (art. 6) and warnings."""

from __future__ import annotations

import datetime as dt

import pytest

from registry import rules
from registry.rules import CaseFacts, ConsentFacts, CovenantFacts, DeclarationFacts, PartnershipFacts, PersonFacts, TableFacts

D = dt.date
GGD_ID, HOUSING_ID = 5, 7
COVENANT = CovenantFacts(id=1, title="Convenant Emmen", in_force_on=D(2025, 5, 12))
NORTH = TableFacts(10, "Casustafel Noord")
GGD = PartnershipFacts(organisation_id=GGD_ID, organisation_name="GGD", signed_on=D(2025, 5, 8))
MIRA = PersonFacts(id=1, name="Mira", organisation_id=GGD_ID, organisation_name="GGD")
SANNE = PersonFacts(id=2, name="Sanne", organisation_id=HOUSING_ID, organisation_name="Woonstichting")
B1 = DeclarationFacts(1, rules.STRUCTURAL, NORTH.id, NORTH.name, D(2025, 5, 20))
B2 = DeclarationFacts(2, rules.INCIDENTAL, NORTH.id, NORTH.name, D(2026, 3, 2), "EN-1")
CONSENT = ConsentFacts(1, D(2026, 2, 16), None, frozenset({GGD_ID}), ("name_address", "situation_summary"))


def cover(consents, on, org=GGD_ID, case=None):
    """Shorthand for ``consent_coverage``."""
    return rules.consent_coverage(list(consents), org, "GGD", on, case)


@pytest.mark.parametrize(
    ("on", "covered", "code"),
    [
        (D(2026, 2, 15), False, "consent_signed_later"),
        (D(2026, 2, 16), True, "consent_covered"),
        (D(2026, 3, 4), True, "consent_covered"),
        (D(2026, 3, 5), False, "consent_withdrawn"),  # withdrawn on 5 March: not on that day
    ],
)
def test_consent_coverage_before_and_after_signing_and_withdrawal(on, covered, code):
    withdrawn = ConsentFacts(1, D(2026, 2, 16), D(2026, 3, 5), frozenset({GGD_ID}), ("name_address",))
    answer = cover([withdrawn], on)
    assert (answer.covered, answer.reason.code) == (covered, code)
    assert answer.categories == (("name_address",) if covered else ())


def test_consent_names_the_organisation_or_only_anonymous_information():
    assert cover([CONSENT], D(2026, 3, 1)).categories == ("name_address", "situation_summary")
    other = cover([CONSENT], D(2026, 3, 1), org=HOUSING_ID)
    assert not other.covered and other.reason.code == "consent_not_named"
    assert "alleen anonieme of DAT-informatie" in other.reason.text
    assert cover([], D(2026, 3, 1)).reason.code == "consent_missing"


def test_consent_categories_are_the_union_of_valid_consents():
    second = ConsentFacts(2, D(2026, 2, 20), None, frozenset({GGD_ID}), ("situation_summary", "school"))
    assert cover([CONSENT, second], D(2026, 3, 1)).categories == ("name_address", "situation_summary", "school")
    assert cover([CONSENT, second], D(2026, 2, 17)).categories == ("name_address", "situation_summary")


def test_consent_lapses_when_the_case_closes_and_pending_is_not_valid():
    closed = CaseFacts("EN-1", D(2026, 1, 1), D(2026, 4, 1))
    assert cover([CONSENT], D(2026, 3, 31), case=closed).covered
    assert cover([CONSENT], D(2026, 4, 1), case=closed).reason.code == "consent_case_closed"
    pending = ConsentFacts(3, None, None, frozenset({GGD_ID}), ("name_address",))
    assert cover([pending], D(2026, 4, 1)).reason.code == "consent_pending"


def test_need_to_know_withdrawal_holds_from_its_date():
    allowed = rules.person_decision(MIRA, NORTH, COVENANT, GGD, [B1], D(2026, 3, 10), "EN-1")
    assert rules.need_to_know_decision(allowed, D(2026, 3, 11), "GGD", "EN-1", D(2026, 3, 10)).allowed
    after = rules.need_to_know_decision(allowed, D(2026, 3, 10), "GGD", "EN-1", D(2026, 3, 10))
    assert not after.allowed and after.basis is None and [r.code for r in after.reasons] == ["need_to_know_withdrawn"]
    assert rules.need_to_know_decision(allowed, None, "GGD", "EN-1", D(2030, 1, 1)) is allowed


def warnings_for(person, partnership, declarations, on, case_ref="EN-1", coverage=None):
    """Shorthand: the decision and the invitee warnings on ``on``."""
    decision = rules.person_decision(person, NORTH, COVENANT, partnership, list(declarations), on, case_ref)
    coverage = coverage or cover([], on)
    return [w.code for w in rules.invitee_warnings(decision, person, NORTH, COVENANT, partnership, list(declarations), on, case_ref, coverage)]


def test_partner_without_bijlage1_gets_both_declaration_warnings():
    assert warnings_for(MIRA, GGD, [], D(2026, 3, 10)) == ["bijlage1_missing", "bijlage2_needed"]
    assert warnings_for(MIRA, GGD, [B1], D(2026, 3, 10)) == []
    # Before the Bijlage 1 was signed the warning is there, from its date it is gone.
    assert warnings_for(MIRA, GGD, [B1], D(2025, 5, 19)) == ["bijlage1_missing", "bijlage2_needed"]


def test_incidental_guest_needs_bijlage2_for_each_case():
    assert warnings_for(SANNE, None, [B2], D(2026, 3, 10), "EN-1") == []
    assert warnings_for(SANNE, None, [B2], D(2026, 3, 10), "EN-2") == ["bijlage2_needed"]
    assert warnings_for(SANNE, None, [B2], D(2026, 3, 1), "EN-1") == ["bijlage2_needed"]


def test_notice_warns_before_and_after_the_partnership_ends():
    noticed = PartnershipFacts(GGD_ID, "GGD", D(2025, 5, 8), notice_given_on=D(2026, 1, 10), ends_on=D(2026, 4, 10))
    assert warnings_for(MIRA, noticed, [B1], D(2026, 4, 9)) == ["notice_given"]
    # Once ended, only a Bijlage 2 for the case could still let Mira join.
    assert warnings_for(MIRA, noticed, [B1], D(2026, 4, 10)) == ["bijlage2_needed", "notice_before_meeting"]
    assert warnings_for(MIRA, GGD, [B1], D(2026, 4, 10)) == []


def test_consent_withdrawal_is_a_warning_only_once_it_applies():
    withdrawn = ConsentFacts(1, D(2026, 2, 16), D(2026, 3, 5), frozenset({GGD_ID}), ("name_address",))
    assert warnings_for(MIRA, GGD, [B1], D(2026, 3, 4), coverage=cover([withdrawn], D(2026, 3, 4))) == []
    assert warnings_for(MIRA, GGD, [B1], D(2026, 3, 5), coverage=cover([withdrawn], D(2026, 3, 5))) == ["consent_withdrawn"]


def test_role_warnings_for_missing_or_unentitled_chair_and_coordinator():
    assert rules.role_warning("chair", None, None).code == "no_chair"
    assert rules.role_warning("coordinator", None, None).code == "no_coordinator"
    entitled = rules.person_decision(MIRA, NORTH, COVENANT, GGD, [B1], D(2026, 3, 10))
    assert rules.role_warning("chair", "Mira", entitled) is None
    revoked = DeclarationFacts(1, rules.STRUCTURAL, NORTH.id, NORTH.name, D(2025, 5, 20), None, D(2026, 3, 1))
    denied = rules.person_decision(MIRA, NORTH, COVENANT, GGD, [revoked], D(2026, 3, 10))
    warning = rules.role_warning("chair", "Mira", denied)
    assert warning.code == "chair_not_entitled" and "ingetrokken per 1 maart 2026" in warning.text


def test_memoised_rules_answer_from_the_facts_given_never_from_an_earlier_call():
    """covenant_reason and organisation_decision are memoised on their (immutable) facts:
    a changed partnership is a different key, so an exclusion shows at once."""
    on = D(2026, 3, 10)
    assert rules.organisation_decision(COVENANT, GGD, on).allowed
    excluded = PartnershipFacts(GGD_ID, "GGD", D(2025, 5, 8), excluded_on=D(2026, 3, 1), exclusion_reason="lek")
    assert [r.code for r in rules.organisation_decision(COVENANT, excluded, on).reasons] == ["excluded"]
    ended = CovenantFacts(id=1, title="Convenant Emmen", in_force_on=D(2025, 5, 12), ended_on=D(2026, 3, 1))
    assert rules.covenant_reason(ended, on)[1].code == "covenant_ended"
    assert rules.covenant_reason(COVENANT, on)[1].code == "covenant_in_force"


@pytest.mark.parametrize("on", [D(2025, 5, 19), D(2025, 5, 20), D(2026, 3, 1), D(2026, 3, 2), D(2027, 1, 1)])
@pytest.mark.parametrize("case_ref", ["EN-1", "EN-2"])
def test_has_valid_declaration_agrees_with_declaration_reason(on, case_ref):
    revoked = DeclarationFacts(3, rules.STRUCTURAL, NORTH.id, NORTH.name, D(2025, 5, 20), None, D(2026, 6, 1))
    for declarations in ([B1], [B2], [revoked], [B1, B2], []):
        for kind in (rules.STRUCTURAL, rules.INCIDENTAL):
            assert rules.has_valid_declaration(kind, declarations, NORTH.id, on, case_ref) == rules.declaration_reason(kind, declarations, NORTH, on, case_ref)[0]
