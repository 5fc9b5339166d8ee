"""Meetings of a casustafel and the chair's check before each one (art. 6 of the covenant).

Before every meeting the chair checks that the right partners are invited and that each
needs to know each case. :func:`meeting_check` answers that for every case on the agenda
and every invitee taking part in it: allowed or not and on which basis (the one decision
of :mod:`registry.rules`), every reason with its dates, whether a valid consent
(Bijlage 4) names the invitee's organisation and for which data categories, and the
warnings a coordinator acts on.

The check is as of the meeting date and reads the database every time (a few set-based
queries, no cache), so a withdrawal, notice or exclusion saved a moment ago changes the
next answer. Writes (:func:`plan_meeting`, :func:`withdraw_need_to_know`) flush and never
commit, like :mod:`registry.services`.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, null, select, union_all
from sqlalchemy.orm import Session

from registry import packs, queries, rules, services, texts
from registry.cases import SHARING_BASES
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import (
    Case,
    CaseTable,
    Consent,
    Covenant,
    Meeting,
    MeetingCase,
    MeetingInvitee,
    NeedToKnowWithdrawal,
    Organisation,
    Person,
    SharingBasis,
    consent_recipient,
    meeting_participant,
)
from registry.texts import _, long_date

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The themes and age bands of the template pack (Emmen). Labels only: a case on the
# agenda carries no WAT-information, just these coarse, enumerated tags.
# Defaults when no template pack says otherwise; the views pass the pack's own lists
# (``[meetings]`` in pack.toml), so a region can bring its own themes and age bands.
THEMES = ("jeugd", "ouderen", "volwassenen", "GGZ", "verslaving", "wonen")
AGE_BANDS = ("0-18", "18-27", "28-80", "80+")
MAX_CASES = 100
MAX_INVITEES = 200


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class AgendaItem:
    """One case to put on the agenda (*agendapunt*): reference, labels and who takes part."""

    case_ref: str
    theme: str | None = None
    age_band: str | None = None
    invitee_ids: tuple[int, ...] = ()
    family_roles: tuple[str, ...] = ()
    """Keys of the pack's ``[[case_participants]]`` taking part in their own case (e.g.
    ``ouder_met_gezag``, ``jongere``): roles only, never names (DAT, no WAT)."""


@dataclass(frozen=True)
class PlannedMeeting:
    """What planning answers: the meeting (flushed, not committed) and the warnings about
    it that do not refuse it (``meeting_in_past``, :func:`date_warnings`); the warnings
    are answered, not stored."""

    meeting: Meeting
    warnings: tuple[rules.Reason, ...] = ()


def plan_meeting(
    session: Session,
    *,
    table_id: int,
    starts_at: dt.datetime,
    location: str | None,
    cases: list[AgendaItem],
    planned_by: str | None = None,
    on_request: bool = False,
) -> PlannedMeeting:
    """Plan a meeting (*overleg plannen*): its cases, invitees and per-case participants,
    answered with the warnings about its date.

    Every error names its field (``cases[1].theme``); nothing is written unless all are
    right. A case reference new to the table opens that case on the meeting date. A
    meeting *op afroep* (``on_request``, besides the fixed dates) needs a pack with
    ``[meetings] on_request = true``. Themes, age bands and the family roles of a case
    come from the covenant's pack.
    """
    table = services.get(session, CaseTable, table_id, "table_id")
    pack = packs.cached_pack(table.covenant.pack)
    if on_request:
        if pack is None or not pack.meetings_on_request:
            raise ValidationError(
                _("Dit convenant kent geen overleg op afroep."),
                {"on_request": _("Volgens het convenant komt de casustafel alleen op vaste momenten bijeen.")},
            )
    choices = agenda_choices(table)
    _validate_agenda(location, cases, choices.themes, choices.age_bands)
    _validate_family_roles(cases, pack.case_participants if pack else ())
    person_ids = list(dict.fromkeys(pid for item in cases for pid in item.invitee_ids))
    people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))} if person_ids else {}
    unknown = {
        f"cases[{i}].invitee_ids": f"Persoon {pid} bestaat niet."
        for i, item in enumerate(cases) for pid in item.invitee_ids if pid not in people
    }
    if unknown:
        raise NotFound(_("Onbekende genodigde."), unknown)
    meeting = Meeting(table=table, starts_at=starts_at, location=(location or "").strip() or None, planned_by=planned_by,
                      on_request=bool(on_request))
    meeting.invitees = [MeetingInvitee(person=people[pid]) for pid in person_ids]
    for position, item in enumerate(cases):
        case = services.ensure_case(session, table, item.case_ref, starts_at.date(), by=planned_by,
                                    field=f"cases[{position}].case_ref")
        meeting.cases.append(
            MeetingCase(
                case=case, position=position, theme=item.theme, age_band=item.age_band,
                participants=[people[pid] for pid in dict.fromkeys(item.invitee_ids)],
                family_roles=list(dict.fromkeys(item.family_roles)) or None,
            )
        )
    session.add(meeting)
    session.flush()
    return PlannedMeeting(meeting, date_warnings(starts_at))


def date_warnings(starts_at: dt.datetime, today: dt.date | None = None) -> tuple[rules.Reason, ...]:
    """Warnings about a meeting's date that do not refuse it: a date before today is
    allowed (recording a meeting held earlier) but must be confirmed on the form and is
    named in the API's ``warnings``."""
    today = today or rules.today()
    if starts_at.date() < today:
        return (rules.Reason("meeting_in_past", "De datum van het overleg ligt in het verleden."),)
    return ()


def record_attendance(session: Session, meeting: Meeting, present: set[int] | frozenset[int], *, by: str,
                      today: dt.date | None = None, now: dt.datetime | None = None) -> Meeting:
    """Record who actually attended (*presentie*): every invitee in ``present`` was there,
    every other invitee was not. Only on or after the meeting day; recording again
    replaces the earlier answer (who and when are kept of the latest). Flushes only.
    """
    if meeting.on > (today or rules.today()):
        raise ValidationError(_("Het overleg heeft nog niet plaatsgevonden."),
                              {"attended": _("Leg de aanwezigheid vast op of na de dag van het overleg.")})
    invited = {i.person_id for i in meeting.invitees}
    strangers = sorted(set(present) - invited)
    if strangers:
        raise ValidationError(_("Alleen genodigden kunnen aanwezig zijn."),
                              {"attended": _("Niet uitgenodigd voor dit overleg: %(ids)s.",
                                             ids=", ".join(map(str, strangers)))})
    for invitee in meeting.invitees:
        invitee.attended = invitee.person_id in present
    meeting.attendance_recorded_by = by
    meeting.attendance_recorded_at = (now or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None)
    session.flush()
    return meeting


@dataclass(frozen=True)
class AgendaChoices:
    """What a table's agenda may say, from its covenant's pack: themes, age bands and the
    family roles that take part in their own case (key, label)."""

    themes: tuple[str, ...]
    age_bands: tuple[str, ...]
    family_roles: tuple[tuple[str, str], ...]


def agenda_choices(table: CaseTable) -> AgendaChoices:
    """The choices of a table's planning form (the pack's, else the defaults)."""
    pack = packs.cached_pack(table.covenant.pack)
    return AgendaChoices(
        (pack.meeting_themes if pack else ()) or THEMES, (pack.age_bands if pack else ()) or AGE_BANDS,
        tuple((role.key, role.label) for role in (pack.case_participants if pack else ())),
    )


def _validate_family_roles(cases: list[AgendaItem], roles) -> None:
    """Family roles must be the pack's case participants; one with a minimum age (a
    *jongere* from 12) needs an age band that starts at that age or later."""
    by_key = {role.key: role for role in roles}
    errors: dict[str, str] = {}
    for i, item in enumerate(cases):
        for key in item.family_roles:
            role = by_key.get(key)
            if role is None:
                allowed = (", ".join(r.label for r in roles)
                           or _("geen (dit convenant kent geen deelname van inwoners aan hun casus)"))
                errors[f"cases[{i}].family_roles"] = _("Onbekende rol '%(key)s'; kies uit: %(choices)s.",
                                                       key=key, choices=allowed)
            elif role.min_age is not None:
                youngest = rules.age_band_bounds(item.age_band)[0]
                if youngest is None or youngest < role.min_age:
                    errors[f"cases[{i}].family_roles"] = _(
                        "Een %(role)s neemt pas vanaf %(age)s jaar deel aan de eigen casus; "
                        "kies een leeftijdscategorie vanaf %(age)s jaar.", role=role.label, age=role.min_age)
    if errors:
        raise ValidationError(_("Controleer de deelnemers van de casussen."), errors)


def _validate_agenda(
    location: str | None, cases: list[AgendaItem], themes: tuple[str, ...], age_bands: tuple[str, ...]
) -> None:
    """Every field error of an agenda at once (Dutch, per field)."""
    errors: dict[str, str] = {}
    if location and len(location) > 200:
        errors["location"] = _("De locatie is te lang (maximaal %(max)s tekens).", max=200)
    if not cases:
        errors["cases"] = _("Zet ten minste één casus op de agenda.")
    elif len(cases) > MAX_CASES:
        errors["cases"] = _("Maximaal %(max)s casussen per overleg.", max=MAX_CASES)
    seen: set[str] = set()
    for i, item in enumerate(cases):
        ref = item.case_ref.strip()
        if not ref:
            errors[f"cases[{i}].case_ref"] = _("Vul de (pseudonieme) casusreferentie in.")
        elif len(ref) > 100:
            errors[f"cases[{i}].case_ref"] = _("De casusreferentie is te lang (maximaal %(max)s tekens).", max=100)
        elif problem := rules.case_reference_problem(ref):
            errors[f"cases[{i}].case_ref"] = problem
        elif ref in seen:
            errors[f"cases[{i}].case_ref"] = _("Casus %(ref)s staat al op de agenda.", ref=ref)
        seen.add(ref)
        if item.theme is not None and item.theme not in themes:
            errors[f"cases[{i}].theme"] = _("Kies een thema uit: %(choices)s.", choices=", ".join(themes))
        if item.age_band is not None and item.age_band not in age_bands:
            errors[f"cases[{i}].age_band"] = _("Kies een leeftijdscategorie uit: %(choices)s.",
                                               choices=", ".join(age_bands))
        if not item.invitee_ids:
            errors[f"cases[{i}].invitee_ids"] = _("Kies ten minste één deelnemer voor deze casus.")
        elif len(item.invitee_ids) > MAX_INVITEES:
            errors[f"cases[{i}].invitee_ids"] = _("Maximaal %(max)s deelnemers per casus.", max=MAX_INVITEES)
    if errors:
        raise ValidationError(_("Controleer de velden."), errors)


def withdraw_need_to_know(
    session: Session, *, table_id: int, case_ref: str, organisation_id: int, on: dt.date, by: str
) -> NeedToKnowWithdrawal:
    """Record that a partner no longer needs to know a case (art. 6), from ``on``, and by whom."""
    case = services.find_case(session, table_id, (case_ref or "").strip())
    if case is None:
        raise NotFound(_("Deze casus bestaat niet aan deze tafel."), {"case_ref": _("Onbekende casus.")})
    services.get(session, Organisation, organisation_id, "organisation_id")
    existing = session.scalar(
        select(NeedToKnowWithdrawal).where(
            NeedToKnowWithdrawal.case_id == case.id, NeedToKnowWithdrawal.organisation_id == organisation_id
        )
    )
    if existing is not None:
        raise Conflict(_("Al aangegeven."), {"organisation_id": _('Al aangegeven per %(effective_on)s.', effective_on=long_date(existing.effective_on))})
    withdrawal = NeedToKnowWithdrawal(case=case, organisation_id=organisation_id, effective_on=on, recorded_by=by)
    session.add(withdrawal)
    session.flush()
    return withdrawal


# ----------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class InviteeCheck:
    """One invitee for one case: may they sit at the table, on which basis, with which data."""

    person_id: int
    name: str
    organisation_id: int
    organisation_name: str
    allowed: bool
    basis: str | None
    reasons: tuple[rules.Reason, ...]
    consent: rules.ConsentCoverage
    warnings: tuple[rules.Reason, ...]
    sharing_basis: str | None = None
    """The organisation's recorded basis for sharing in this case (a key of
    :data:`registry.cases.SHARING_BASES`), or None when it has not weighed it yet."""
    sharing_basis_label: str | None = None
    """Its Dutch label, shown beside the consent column."""
    attended: bool | None = None
    """Present at the meeting (recorded afterwards, :func:`record_attendance`); None: not recorded."""


@dataclass(frozen=True)
class CaseCheck:
    """One case on the agenda with the check of every invitee taking part in it."""

    case_ref: str
    theme: str | None
    age_band: str | None
    invitees: tuple[InviteeCheck, ...]
    family_participants: tuple[tuple[str, str], ...] = ()
    """(key, label) of the family roles taking part in their own case, without a declaration."""
    warnings: tuple[rules.Reason, ...] = ()
    """Case-level warnings, e.g. ``no_parent_invited`` for a minor's case."""
    retention_stage: str = "active"
    """``archived``: the case's file is closed (:mod:`registry.retention`); its row shows
    only the reference and *gearchiveerd* — no invitees, no consents, no labels."""


@dataclass(frozen=True)
class MeetingCheck:
    """The chair's check of a whole meeting (*toetsing vooraf*), as plain data."""

    meeting_id: int
    table_id: int
    table_name: str
    starts_at: dt.datetime
    location: str | None
    on: dt.date
    checked_at: dt.datetime
    warnings: tuple[rules.Reason, ...]
    cases: tuple[CaseCheck, ...]
    legal_basis: str = packs.CONSENT
    """How information is shared at this table (the pack's ``[cases] legal_basis``)."""
    legal_basis_label: str = packs.LEGAL_BASIS_LABELS[packs.CONSENT]
    """Its Dutch name, printed in the consent column when the basis is not consent."""
    attendance_recorded_by: str | None = None
    """Who recorded who attended; None while attendance is not recorded (the list then
    shows no presence column)."""
    attendance_recorded_at: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time in Europe/Amsterdam (the time a check ran)."""
    return dt.datetime.now(AMSTERDAM)


def meeting_check(session: Session, meeting_id: int, checked_at: dt.datetime | None = None) -> MeetingCheck:
    """Check every case and invitee of a meeting as of the meeting date (art. 6 and 11).

    Six statements whatever the size of the meeting (the meeting with its table and
    pack, the agenda, who takes part in which case, people with partnerships and
    declarations, consents with recipients, need-to-know withdrawals with sharing
    bases), each built once; every decision comes from :func:`registry.rules.person_decision`.
    An invitee's check for a case is remembered by the facts it is made of (:class:`_Memo`):
    checking an unchanged meeting again (the page, then the list) recomputes nothing.
    """
    meeting = _meeting(session, meeting_id)
    on = meeting.starts_at.date()
    agenda = _agenda(session, meeting_id)
    participants, attended = _participants(session, meeting_id)
    role_ids = [pid for pid in (meeting.chair_id, meeting.coordinator_id) if pid is not None]
    person_ids = list(dict.fromkeys([*(pid for pids in participants.values() for pid in pids), *role_ids]))
    table_f, covenant_f, people, declarations = queries.people_at_table(session, meeting.table_id, person_ids)
    case_ids = [row.case_id for row in agenda if row.retention_stage != "archived"]
    pack = packs.cached_pack(meeting.pack)
    basis, basis_label = packs.legal_basis(pack), packs.legal_basis_label(pack)
    # Without consent as the basis (art. 458ter Sw.) no consent is read, asked or missed.
    no_consent = None if packs.consent_applies(pack) else rules.legal_basis_coverage(basis, basis_label)
    consents = _consents(session, case_ids) if no_consent is None else {}
    need_to_know, bases = _case_positions(session, case_ids)
    facts = _Facts(table_f, covenant_f, people, declarations, on, no_consent)
    roles = pack.case_participants if pack else ()
    labels = {role.key: role.label for role in roles}
    memo = _MEMO.of_meeting(facts)
    cases = tuple(
        CaseCheck(row.reference, None, None, (), retention_stage="archived",
                  warnings=(rules.Reason("case_archived", "Deze casus is gearchiveerd: het dossier is gesloten."),))
        if row.retention_stage == "archived" else
        CaseCheck(
            row.reference, row.theme, row.age_band,
            memo.invitees(row, participants.get(row.meeting_case_id, ()), consents.get(row.case_id, ()),
                          need_to_know.get(row.case_id, {}), bases.get(row.case_id, {}), attended),
            tuple((key, labels.get(key, key)) for key in (row.family_roles or ())),
            rules.family_warnings(row.age_band, tuple(row.family_roles or ()), tuple(labels)),
        )
        for row in agenda
    )
    return MeetingCheck(
        meeting.id, meeting.table_id, meeting.table_name, meeting.starts_at, meeting.location, on,
        checked_at or now(), _role_warnings(facts, meeting), cases, basis, basis_label,
        meeting.attendance_recorded_by, meeting.attendance_recorded_at,
    )


@dataclass(frozen=True)
class _Facts:
    """What every invitee check of one meeting shares."""

    table: rules.TableFacts
    covenant: rules.CovenantFacts
    people: dict
    declarations: dict
    on: dt.date
    no_consent: rules.ConsentCoverage | None = None
    """The consent column's answer for every invitee when the legal basis is not consent."""


def _invitee_check(facts: _Facts, person_id: int, row, consents: list[rules.ConsentFacts], need_to_know: dict,
                   bases: dict[int, str] | None = None, attended: bool | None = None) -> InviteeCheck:
    """Decision, consent answer and warnings for one invitee and one case."""
    person, partnership = facts.people[person_id]
    declarations = facts.declarations.get(person_id, [])
    case = rules.CaseFacts(row.reference, row.opened_on, row.closed_on)
    decision = rules.person_decision(
        person, facts.table, facts.covenant, partnership, declarations, facts.on, row.reference, case
    )
    decision = rules.need_to_know_decision(
        decision, need_to_know.get(person.organisation_id), person.organisation_name, row.reference, facts.on
    )
    coverage = facts.no_consent or rules.consent_coverage(
        consents, person.organisation_id, person.organisation_name, facts.on, case, facts.covenant.consent_annex
    )
    warnings = rules.invitee_warnings(
        decision, person, facts.table, facts.covenant, partnership, declarations, facts.on, row.reference, coverage
    )
    basis = (bases or {}).get(person.organisation_id)
    return InviteeCheck(
        person.id, person.name, person.organisation_id, person.organisation_name,
        decision.allowed, decision.basis, decision.reasons, coverage, warnings,
        basis, SHARING_BASES.get(basis) if basis else None, attended,
    )


class _Memo:
    """Invitee checks remembered by the complete facts they are made of.

    :func:`_invitee_check` is a pure function of the meeting's shared facts (table,
    covenant, date, legal basis, the language of the texts), the person's facts
    (person, partnership, declarations), the case's facts (reference, dates, consents,
    withdrawals, sharing bases) and whether they attended. Each of those groups is
    hashed once per check and stands for a small number (a *token*) that is never given
    to other facts, so a changed row yields other facts, another token and a fresh
    check: nothing can be stale. Hashing the full facts of every one of 600 pairs would
    cost about as much as deciding them; hashing 1 + 30 + 20 groups costs little.
    Bounded: when full, everything is forgotten at once (tokens are never reused).
    """

    MAX_CHECKS = 20_000
    """About 30 meetings of 30 invitees x 20 cases (some tens of MB per process)."""

    def __init__(self):
        self._tokens: dict = {}
        self._checks: dict = {}
        self._next = itertools.count(1)

    def clear(self) -> None:
        """Forget every remembered check (tests and the benchmark's cold figures)."""
        self._tokens, self._checks = {}, {}

    def token(self, key) -> int:
        """The number standing for ``key`` (hashable immutable facts)."""
        token = self._tokens.get(key)
        if token is None:
            token = self._tokens.setdefault(key, next(self._next))
        return token

    def of_meeting(self, facts: _Facts) -> _MeetingMemo:
        """The memo of one meeting check with these shared facts."""
        if len(self._checks) > self.MAX_CHECKS:
            self.clear()
        shared = self.token((texts.language(), facts.table, facts.covenant, facts.on, facts.no_consent))
        return _MeetingMemo(self, facts, shared, {})


@dataclass
class _MeetingMemo:
    """:class:`_Memo` for one meeting check: its shared token and its people's tokens."""

    memo: _Memo
    facts: _Facts
    shared: int
    people: dict

    def person(self, person_id: int) -> int:
        """The token of one person's facts (person, partnership, declarations)."""
        token = self.people.get(person_id)
        if token is None:
            person, partnership = self.facts.people[person_id]
            token = self.memo.token((person, partnership, tuple(self.facts.declarations.get(person_id, ()))))
            self.people[person_id] = token
        return token

    def invitees(self, row, person_ids, consents, need_to_know: dict, bases: dict, attended: dict):
        """The checks of one agenda row's participants, computed only for facts not seen before."""
        case = self.memo.token((row.reference, row.opened_on, row.closed_on, tuple(consents),
                                tuple(sorted(need_to_know.items())), tuple(sorted(bases.items()))))
        checks, people, shared = self.memo._checks, self.people, self.shared
        result = []
        for pid in person_ids:
            was_there = attended.get(pid)
            key = (shared, people.get(pid) or self.person(pid), case, was_there)
            check = checks.get(key)
            if check is None:
                check = checks[key] = _invitee_check(self.facts, pid, row, consents, need_to_know, bases, was_there)
            result.append(check)
        return tuple(result)


_MEMO = _Memo()
clear_memo = _MEMO.clear


def _role_warnings(facts: _Facts, meeting) -> tuple[rules.Reason, ...]:
    """The chair and the coordinator must themselves be entitled at the table on the date."""
    warnings = []
    for role, person_id in (("chair", meeting.chair_id), ("coordinator", meeting.coordinator_id)):
        if person_id is None or person_id not in facts.people:
            warnings.append(rules.role_warning(role, None, None))
            continue
        person, partnership = facts.people[person_id]
        decision = rules.person_decision(
            person, facts.table, facts.covenant, partnership, facts.declarations.get(person_id, []), facts.on
        )
        warnings.append(rules.role_warning(role, person.name, decision))
    return tuple(w for w in warnings if w is not None)


# ----------------------------------------------------------------------------- fact loading
#
# Built once, with bound parameters, and run on the session's connection (plain rows,
# no ORM objects): building a SELECT and loading ORM objects cost more than the
# indexed lookups themselves. Every statement reads the latest committed rows.

_MEETING = (
    select(
        Meeting.id, Meeting.starts_at, Meeting.location, Meeting.attendance_recorded_by,
        Meeting.attendance_recorded_at, CaseTable.id.label("table_id"), CaseTable.name.label("table_name"),
        CaseTable.chair_id, CaseTable.coordinator_id, Covenant.pack,
    )
    .join(CaseTable, CaseTable.id == Meeting.table_id)
    .join(Covenant, Covenant.id == CaseTable.covenant_id)
    .where(Meeting.id == bindparam("meeting_id"))
)


def _meeting(session: Session, meeting_id: int):
    """The meeting's row with its table (id, name, chair, coordinator) and its covenant's
    pack, or NotFound."""
    row = session.connection().execute(_MEETING, {"meeting_id": meeting_id}).first()
    if row is None:
        raise NotFound(_('Overleg %(meeting_id)s bestaat niet.', meeting_id=meeting_id), {"meeting": _("Bestaat niet.")})
    return row


_AGENDA = (
    select(
        MeetingCase.id.label("meeting_case_id"), MeetingCase.case_id, Case.reference,
        MeetingCase.theme, MeetingCase.age_band, MeetingCase.family_roles, Case.opened_on, Case.closed_on,
        Case.retention_stage,
    )
    .join(Case, Case.id == MeetingCase.case_id)
    .where(MeetingCase.meeting_id == bindparam("meeting_id"))
    .order_by(MeetingCase.position, MeetingCase.id)
)

_PARTICIPANTS = (
    select(meeting_participant.c.meeting_case_id, meeting_participant.c.person_id, MeetingInvitee.attended)
    .select_from(MeetingCase)
    .join(meeting_participant, meeting_participant.c.meeting_case_id == MeetingCase.id)
    .outerjoin(MeetingInvitee, and_(MeetingInvitee.meeting_id == MeetingCase.meeting_id,
                                    MeetingInvitee.person_id == meeting_participant.c.person_id))
    .where(MeetingCase.meeting_id == bindparam("meeting_id"))
    .order_by(MeetingCase.position, MeetingCase.id, MeetingInvitee.id)
)


def _agenda(session: Session, meeting_id: int):
    """The agenda rows in order (meeting case id, case id, reference, labels, case dates)."""
    return session.connection().execute(_AGENDA, {"meeting_id": meeting_id}).all()


def _participants(session: Session, meeting_id: int) -> tuple[dict[int, list[int]], dict[int, bool | None]]:
    """Per agenda row the people taking part, in the order they were invited, and per
    person whether they attended (None: not recorded)."""
    participants: dict[int, list[int]] = {}
    attended: dict[int, bool | None] = {}
    for meeting_case_id, person_id, was_there in session.connection().execute(_PARTICIPANTS, {"meeting_id": meeting_id}).all():
        participants.setdefault(meeting_case_id, []).append(person_id)
        attended[person_id] = was_there
    return participants, attended


_CASE_IDS = bindparam("case_ids", expanding=True)

_CONSENTS = (
    select(
        Consent.id, Consent.case_id, Consent.signed_on, Consent.withdrawn_on, Consent.categories,
        consent_recipient.c.organisation_id,
    )
    .outerjoin(consent_recipient, consent_recipient.c.consent_id == Consent.id)
    .where(Consent.case_id.in_(_CASE_IDS), Consent.declined_on.is_(None))  # declined: never valid
    .order_by(Consent.id)
)


def _consents(session: Session, case_ids: list[int]) -> dict[int, list[rules.ConsentFacts]]:
    """The Bijlage 4 consents of these cases with their recipient organisations."""
    if not case_ids:
        return {}
    rows = session.connection().execute(_CONSENTS, {"case_ids": case_ids}).all()
    grouped: dict[int, tuple] = {}
    for r in rows:
        entry = grouped.setdefault(r.id, (r, set()))
        if r.organisation_id is not None:
            entry[1].add(r.organisation_id)
    result: dict[int, list[rules.ConsentFacts]] = {}
    for r, recipients in grouped.values():
        result.setdefault(r.case_id, []).append(
            rules.ConsentFacts(r.id, r.signed_on, r.withdrawn_on, frozenset(recipients), tuple(r.categories or ()))
        )
    return result


# Need-to-know withdrawals and sharing bases in one statement: both are (case,
# organisation) → one value, and both values are never NULL, so the column that is
# filled tells the rows apart.
_CASE_POSITIONS = union_all(
    select(NeedToKnowWithdrawal.case_id, NeedToKnowWithdrawal.organisation_id,
           NeedToKnowWithdrawal.effective_on, null().label("basis"))
    .where(NeedToKnowWithdrawal.case_id.in_(_CASE_IDS)),
    select(SharingBasis.case_id, SharingBasis.organisation_id, null(), SharingBasis.basis)
    .where(SharingBasis.case_id.in_(_CASE_IDS)),
)


def _case_positions(session: Session, case_ids: list[int]) -> tuple[dict[int, dict[int, dt.date]], dict[int, dict[int, str]]]:
    """Per case: organisation → date from which it no longer needs to know the case, and
    organisation → its recorded basis for sharing (art. 5, 6 and 7)."""
    need_to_know: dict[int, dict[int, dt.date]] = {}
    bases: dict[int, dict[int, str]] = {}
    if not case_ids:
        return need_to_know, bases
    for case_id, organisation_id, effective_on, basis in session.connection().execute(
            _CASE_POSITIONS, {"case_ids": case_ids}).all():
        if effective_on is not None:
            need_to_know.setdefault(case_id, {})[organisation_id] = effective_on
        else:
            bases.setdefault(case_id, {})[organisation_id] = basis
    return need_to_know, bases


def consents_of_meeting(session: Session, meeting_id: int) -> list[tuple[str, Consent]]:
    """The consents of the cases on a meeting's agenda, with their case reference (for the
    page that lets a coordinator record a withdrawal); an archived case's file is closed."""
    rows = session.execute(
        select(Case.reference, Consent)
        .join(MeetingCase, MeetingCase.case_id == Case.id)
        .join(Consent, Consent.case_id == Case.id)
        .where(MeetingCase.meeting_id == meeting_id, Case.retention_stage == "active")
        .order_by(MeetingCase.position, Consent.id)
    ).all()
    return [(ref, consent) for ref, consent in rows]
