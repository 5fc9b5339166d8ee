"""Who may do what in the product itself (*autorisatie*): the one entitlement decider
for staff accounts, scoped by the registry.

A staff account holds **grants**: a role with a scope (:class:`registry.models.Grant`).

| role | scope | may |
|---|---|---|
| ``admin`` | everything | everything; reads of resident data are logged like anyone's |
| ``coordinator`` | a covenant or one table | manage partners and tables (covenant scope), declarations, consents, meetings, signing, within scope |
| ``chair`` | one table | read the table, plan and check meetings, record need-to-know, withdraw a consent |
| ``partner_contact`` | one organisation | see the covenants and tables its organisation is in, its own people and their declarations; send a Bijlage 1 to its own employees; never resident data |
| ``privacy_officer`` | a covenant | read the access log and the evidence log |

**Resident data** (a consent's resident name and birth date, its PDFs and sealed copy)
is readable by a coordinator or chair of the table only while the person linked to the
account is entitled at that table *today* by the registry (:func:`registry.queries.check`
allows, structurally) — so revoking their Bijlage 1, ending their employment or ending
their organisation's partnership ends the access the same moment. An admin may always.

A view first loads the record (404 for an unknown id, the same for everyone), then asks
:func:`authorize` with a :class:`Target` built by one of the ``*_target`` functions, and
gets back the :class:`Use` (role and scope) to write into the access log. Refusals are
:class:`registry.errors.Forbidden` (code ``forbidden``) or :class:`NotEntitled` (code
``not_entitled``). Nothing here knows Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry import queries, rules
from registry.errors import Forbidden, NotFound
from registry.models import (
    Case, CaseParticipant, CaseTable, Consent, Covenant, CovenantAmendment, Declaration, Grant, Meeting, MeetingCase, Partnership,
    Person, TableRoleHolder, User, meeting_participant,
)
from registry.texts import N_, _

READ = "read"
"""See a covenant, a table and who may join it, people and their declarations (no resident data)."""
MANAGE_COVENANT = "manage_covenant"
"""Draft and edit a covenant, its partners and tables; notice, termination, exclusion, start."""
MANAGE_DECLARATIONS = "manage_declarations"
"""Record, send and revoke a Bijlage 1/2."""
SEND_BIJLAGE1 = "send_bijlage1"
"""Send a Bijlage 1 for signing (partner contacts: to their own employees only)."""
MANAGE_PEOPLE = "manage_people"
"""Register organisations and people."""
MANAGE_CONSENTS = "manage_consents"
"""Record a Bijlage 4 and send it for signing (resident data)."""
MEETINGS = "meetings"
"""Plan and check meetings, record need-to-know withdrawals (art. 6)."""
WITHDRAW_CONSENT = "withdraw_consent"
"""Withdraw a resident's consent (resident data)."""
RESIDENT_DATA = "resident_data"
"""Read resident data: a consent, its PDF and sealed copy."""
SIGNING = "signing"
"""Send, cancel, resend, record paper or in-person signing; read signers' personal data."""
LOGS = "logs"
"""Read the access log and the evidence log."""
ADMIN = "admin"
"""Manage accounts, read the outbox."""
CASES = "cases"
"""See a case's file: phases, participants, sharing bases, action list — as its phase allows."""
MANAGE_CASES = "manage_cases"
"""Open a case, move it between phases, close and evaluate it, add participants."""
RETENTION = "retention"
"""Keep a case longer (an exception with a review date) or reopen an archived one."""
SUBJECT_REQUESTS = "subject_requests"
"""The register of residents' requests (AVG art. 15–17): record, export, erase."""

ROLES_FOR = {
    READ: {"coordinator", "chair", "partner_contact"},
    MANAGE_COVENANT: {"coordinator"},
    MANAGE_DECLARATIONS: {"coordinator"},
    SEND_BIJLAGE1: {"coordinator", "partner_contact"},
    MANAGE_PEOPLE: {"coordinator", "partner_contact"},
    MANAGE_CONSENTS: {"coordinator"},
    MEETINGS: {"coordinator", "chair"},
    WITHDRAW_CONSENT: {"coordinator", "chair"},
    RESIDENT_DATA: {"coordinator", "chair"},
    SIGNING: {"coordinator"},
    LOGS: {"privacy_officer"},
    ADMIN: set(),
    CASES: {"coordinator", "chair", "partner_contact"},
    MANAGE_CASES: {"coordinator", "chair", "partner_contact"},
    RETENTION: {"coordinator"},
    SUBJECT_REQUESTS: {"privacy_officer"},
}
"""Besides ``admin`` (who may everything), the roles that may each permission in scope."""

RESIDENT_PERMISSIONS = frozenset({MANAGE_CONSENTS, WITHDRAW_CONSENT, RESIDENT_DATA})
"""Permissions that touch resident data: they also need today's entitlement at the table."""

CASE_STAFF_AUDIENCES = frozenset({"procesregisseur", "chair", "coordinator"})
"""Audiences of a phase that may also manage the case in it (move, close, participants)."""


class NotEntitled(Forbidden):
    """The account's role covers this table, but its person is not entitled there today (403)."""

    code = "not_entitled"


@dataclass(frozen=True)
class Target:
    """Where a record lives, as far as grants are concerned.

    ``covenant_ids`` and ``table_ids`` are the covenants and tables the record belongs
    to (a person: those of their partnerships, declarations and table roles);
    ``organisation_id`` the organisation it belongs to (a person, a declaration);
    ``partner_ids`` the organisations that are in the covenant (for partner contacts
    reading it); ``resident_table_id`` the table whose entitlement guards resident data.
    """

    covenant_ids: frozenset[int] = frozenset()
    table_ids: frozenset[int] = frozenset()
    organisation_id: int | None = None
    partner_ids: frozenset[int] = frozenset()
    resident_table_id: int | None = None
    structural_only: bool = field(default=False)
    case_id: int | None = None
    """The case the record belongs to: its phase decides who sees it, archived and erased close it."""
    partners_of: int | None = None
    """The covenant whose listed organisations are ``partner_ids``, read by :func:`authorize`
    only when the account has an organisation's grant (a partner contact): an admin's or a
    chair's request is spared the query."""


ANYWHERE = Target()
"""A target for actions without a place (an admin's or any coordinator's)."""


@dataclass(frozen=True)
class Use:
    """The grant an action was allowed under, for the access log (NEN 7513)."""

    user_id: int
    email: str
    role: str
    scope: str
    organisation_id: int | None


# ----------------------------------------------------------------------------- deciding


def authorize(session: Session, user: User, permission: str, target: Target = ANYWHERE,
              today: dt.date | None = None) -> Use:
    """Allow ``user`` to do ``permission`` on ``target`` or raise Forbidden / NotEntitled.

    Returns the :class:`Use` (the first grant that allows it; an admin grant first).
    """
    grants = sorted(user.grants, key=lambda g: g.role != "admin")
    if not user.is_active or not grants:
        raise Forbidden(_("U heeft geen rechten in deze omgeving."))
    table_covenants = _covenants_of_tables(session, {g.table_id for g in grants if g.table_id})
    if target.partners_of is not None and any(g.organisation_id is not None for g in grants):
        target = replace(target, partner_ids=_partners(session, target.partners_of), partners_of=None)
    not_entitled: NotEntitled | None = None
    for grant in grants:
        if not _grant_allows(grant, permission, target, table_covenants):
            continue
        if grant.role != "admin" and permission in RESIDENT_PERMISSIONS:
            problem = _resident_entitlement(session, user, target, today or rules.today())
            if problem is not None:
                not_entitled = not_entitled or problem
                continue
        if target.case_id is not None:
            _case_gate(session, user, target.case_id, permission)
        return _use(session, user, grant)
    if not_entitled is not None:
        raise not_entitled
    raise Forbidden(_("U heeft geen rechten voor deze gegevens of handeling."))


def widest_use(session: Session, user: User) -> Use:
    """The account's widest grant (admin first) as a :class:`Use`, for logging a read of
    a list that spans several scopes (the signing overview, the logs)."""
    grant = sorted(user.grants, key=lambda g: g.role != "admin")[0]
    return _use(session, user, grant)


def may(session: Session, user: User, permission: str, target: Target = ANYWHERE) -> bool:
    """True when :func:`authorize` would allow it (for showing or hiding a button)."""
    try:
        authorize(session, user, permission, target)
    except Forbidden:
        return False
    return True


def require_role_for(user: User, permission: str) -> None:
    """Forbidden unless some grant's role may ``permission`` somewhere (before a form whose
    scope is only known once it is filled in; the saved record is checked again)."""
    if not user.is_active or not any(g.role == "admin" or g.role in ROLES_FOR.get(permission, set())
                                     for g in user.grants):
        raise Forbidden(_("U heeft geen rechten voor deze handeling."))


def _grant_allows(grant: Grant, permission: str, target: Target, table_covenants: dict[int, int]) -> bool:
    """Does this one grant cover ``permission`` on ``target``?"""
    if grant.role == "admin":
        return True
    if grant.role not in ROLES_FOR.get(permission, set()):
        return False
    if grant.covenant_id is not None:
        return grant.covenant_id in target.covenant_ids
    if grant.table_id is not None:
        if grant.table_id in target.table_ids:
            return True
        # a table's chair or coordinator may read the covenant its table belongs to
        return permission == READ and not target.table_ids and table_covenants.get(grant.table_id) in target.covenant_ids
    if grant.organisation_id is not None:
        if permission == READ and grant.organisation_id in target.partner_ids:
            return True
        if permission == SEND_BIJLAGE1 and not target.structural_only:
            return False
        return target.organisation_id == grant.organisation_id
    return False


def _resident_entitlement(session: Session, user: User, target: Target, today: dt.date) -> NotEntitled | None:
    """None when the user's person is entitled structurally at the target's table today."""
    if target.resident_table_id is None:
        return NotEntitled(_("Deze gegevens horen bij geen casustafel waaraan u deelneemt."))
    if user.person_id is None:
        return NotEntitled(_("Uw account is niet gekoppeld aan een persoon in het register; "
                             "inzage in gegevens van inwoners is daarom niet mogelijk."))
    decision = queries.check(session, user.person_id, target.resident_table_id, today)
    if decision.allowed and decision.basis == rules.STRUCTURAL:
        return None
    reasons = " ".join(r.text for r in decision.reasons) or _("geen structurele deelname")
    refused = NotEntitled(_("U bent vandaag niet gerechtigd aan deze casustafel, dus geen inzage in gegevens "
                            "van inwoners: %(reasons)s", reasons=reasons))
    refused.reasons = reasons  # the action list's refusal names the same reasons
    return refused


def _use(session: Session, user: User, grant: Grant) -> Use:
    """The log line's who: user, role, scope and the organisation the user acts for."""
    organisation_id = grant.organisation_id
    if organisation_id is None and user.person_id is not None:
        person = session.get(Person, user.person_id)
        organisation_id = person.organisation_id if person else None
    return Use(user.id, user.email, grant.role, grant.scope, organisation_id)


def _covenants_of_tables(session: Session, table_ids: set[int]) -> dict[int, int]:
    """Table id → covenant id for the tables of table-scoped grants."""
    if not table_ids:
        return {}
    return dict(session.execute(select(CaseTable.id, CaseTable.covenant_id).where(CaseTable.id.in_(table_ids))).all())


# ----------------------------------------------------------------------------- targets


def _partners(session: Session, covenant_id: int) -> frozenset[int]:
    """Every organisation listed in the covenant (signed or not, ended or not)."""
    return frozenset(session.scalars(select(Partnership.organisation_id).where(Partnership.covenant_id == covenant_id)))


def covenant_target(session: Session, covenant_id: int) -> Target:
    """A covenant: its coordinators and privacy officers; its tables' staff and partners read it."""
    return Target(covenant_ids=frozenset({covenant_id}), partners_of=covenant_id)


def table_target(session: Session, table: CaseTable) -> Target:
    """A case table; resident data of its cases is guarded by entitlement at it."""
    return Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                  partners_of=table.covenant_id, resident_table_id=table.id)


def person_target(session: Session, person: Person) -> Target:
    """A person: their organisation, and the covenants and tables they take part in."""
    tables = set(session.scalars(select(Declaration.table_id).where(Declaration.person_id == person.id)))
    tables |= set(session.scalars(select(CaseTable.id).where(
        or_(CaseTable.chair_id == person.id, CaseTable.coordinator_id == person.id))))
    covenants = set(session.scalars(select(Partnership.covenant_id).where(
        Partnership.organisation_id == person.organisation_id)))
    covenants |= set(_covenants_of_tables(session, tables).values())
    return Target(covenant_ids=frozenset(covenants), table_ids=frozenset(tables),
                  organisation_id=person.organisation_id, structural_only=True)


def declaration_target(session: Session, declaration: Declaration) -> Target:
    """A Bijlage 1/2: its table, and the organisation of the person who signs it."""
    table = declaration.table
    return Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                  organisation_id=declaration.person.organisation_id,
                  structural_only=declaration.kind == rules.STRUCTURAL)


def consent_target(session: Session, consent: Consent) -> Target:
    """A Bijlage 4: resident data of its case's table, as the case's phase allows. An
    erased consent (retention, an erasure request) is Gone for everyone: 410 ``erased``."""
    if consent.erased_on is not None:
        from registry.errors import Gone

        raise Gone(_("Deze toestemming is verwijderd volgens de bewaartermijn of een verzoek van de inwoner."))
    table = consent.case.table
    return Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                  resident_table_id=table.id, case_id=consent.case_id)


def case_target(session: Session, case: Case) -> Target:
    """A case: its table's staff, and the partner contacts of the bringing organisation."""
    table = case.table
    return Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                  organisation_id=case.brought_by_organisation_id, structural_only=True, case_id=case.id)


# ----------------------------------------------------------------------------- cases by phase


def case_audiences(session: Session, user: User, case: Case) -> set[str]:
    """Which of a phase's audiences (:data:`registry.packs.PHASE_AUDIENCES`) the user is
    for this case: by grant (coordinator, chair, the bringing organisation's partner
    contact) and by the linked person (bringer, procesregisseur, participant)."""
    found: set[str] = set()
    table = case.table
    for grant in user.grants if user.is_active else ():
        if grant.role == "coordinator" and (grant.table_id == table.id or grant.covenant_id == table.covenant_id):
            found.add("coordinator")
        elif grant.role == "chair" and grant.table_id == table.id:
            found.add("chair")
        elif (grant.role == "partner_contact" and case.brought_by_organisation_id is not None
              and grant.organisation_id == case.brought_by_organisation_id):
            found.add("bringer")
    person_id = user.person_id if user.is_active else None
    if person_id is None:
        return found
    if person_id == case.brought_by_person_id:
        found.add("bringer")
    if person_id == table.chair_id:
        found.add("chair")
    if person_id == table.coordinator_id:
        found.add("coordinator")
    if person_id == case.procesregisseur_id or session.scalar(select(TableRoleHolder.id).where(
            TableRoleHolder.table_id == table.id, TableRoleHolder.role == "procesregisseur",
            TableRoleHolder.person_id == person_id)):
        found.add("procesregisseur")
    if session.scalar(select(CaseParticipant.id).where(
            CaseParticipant.case_id == case.id, CaseParticipant.person_id == person_id,
            CaseParticipant.ended_on.is_(None))) or session.scalar(
            select(MeetingCase.id).join(meeting_participant, meeting_participant.c.meeting_case_id == MeetingCase.id)
            .where(MeetingCase.case_id == case.id, meeting_participant.c.person_id == person_id)):
        found.add("participants")
    return found


def _case_gate(session: Session, user: User, case_id: int, permission: str) -> None:
    """Erased → Gone; archived → Archived (except reopening it); then the case's phase
    must show it to one of the user's audiences (an admin passes)."""
    from registry import cases

    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("Deze casus bestaat niet."), {"case_id": _("Onbekende casus.")})
    if case.retention_stage == "erased":
        cases.ensure_readable(case)
    if permission == RETENTION:
        return
    cases.ensure_readable(case)
    if user.is_admin:
        return
    phase = cases.current_phase(case)
    audiences = case_audiences(session, user, case) & set(phase.visible_to)
    if permission in (MANAGE_CASES,) and not audiences & (CASE_STAFF_AUDIENCES | {"bringer"}):
        audiences = set()
    if not audiences:
        raise Forbidden(_("In de fase '%(label)s' is deze casus alleen zichtbaar voor: ", label=phase.label)
                        + ", ".join(_(_AUDIENCE_LABELS[a]) for a in phase.visible_to) + ".")


_AUDIENCE_LABELS = {"bringer": N_("de aanmelder"), "procesregisseur": N_("de procesregisseur"), "chair": N_("de voorzitter"),
                    "coordinator": N_("de coördinator"), "participants": N_("de deelnemers aan de casus")}


def may_see_case(session: Session, user: User, case: Case) -> bool:
    """Whether :func:`authorize_case` would show the case (for a table's list; an archived
    case is listed — findable — but its file stays closed)."""
    from registry import cases

    if not cases.listed(case):
        return False
    if case.retention_stage == "archived":
        try:
            authorize(session, user, CASES, Target(covenant_ids=frozenset({case.table.covenant_id}),
                                                   table_ids=frozenset({case.table_id}),
                                                   organisation_id=case.brought_by_organisation_id))
            return True
        except Forbidden:
            return False
    try:
        authorize_case(session, user, case, CASES)
    except Forbidden:
        return False
    return True


def authorize_case(session: Session, user: User, case: Case, permission: str = CASES) -> Use:
    """Allow ``permission`` (:data:`CASES`, :data:`MANAGE_CASES`, :data:`RETENTION`) on a
    case, or raise. Grants decide first; a person without a fitting grant (a case's
    procesregisseur or participant) may still see — and as procesregisseur manage — the
    case while its phase shows it to them. The returned Use names that audience."""
    target = case_target(session, case)
    try:
        return authorize(session, user, permission, target)
    except NotFound:
        raise
    except Forbidden as refused:
        if permission == RETENTION or not user.is_active or user.person_id is None:
            raise
        from registry import cases

        cases.ensure_readable(case)
        own = case_audiences(session, user, case) & set(cases.current_phase(case).visible_to)
        own -= {"coordinator", "chair"}  # those come from grants, checked above
        if permission == MANAGE_CASES:
            own &= {"procesregisseur"}
        if not own:
            raise refused
        person = session.get(Person, user.person_id)
        role = "procesregisseur" if "procesregisseur" in own else sorted(own)[0]
        return Use(user.id, user.email, role, f"case:{case.id}", person.organisation_id if person else None)


def subject_request_target(request) -> Target:
    """A resident's request (:class:`registry.models.SubjectRequest`): the privacy
    officers of its covenant; one without a covenant concerns every covenant (admins)."""
    return Target(covenant_ids=frozenset({request.covenant_id}) if request.covenant_id else frozenset())


# ----------------------------------------------------------------------------- action lists


@dataclass(frozen=True)
class ActionListAccess:
    """Who reads a meeting's action list: the :class:`Use` for the log, the cases whose
    lines the account sees (None: all of them) and whether it may record and close lines."""

    use: Use
    case_ids: frozenset[int] | None
    may_record: bool


def authorize_action_list(session: Session, user: User, meeting: Meeting, *, record: bool = False,
                          today: dt.date | None = None) -> ActionListAccess:
    """Allow reading (or, with ``record``, keeping) a meeting's action list, or raise.

    Readable only by the meeting's entitled participants (Emmen art. 7): an admin; the
    table's coordinator or chair (a :data:`MEETINGS` grant at the table) whose linked
    person is entitled at the table structurally today; and each person invited for a
    case on the agenda who is entitled at the table for that case
    (:func:`registry.queries.check`) on the meeting's date and still today — they see the
    lines of those cases only. Keeping the list (record a line, mark one done) is the
    coordinator's and chair's; a person may also mark their own line done.
    """
    day = today or rules.today()
    target = meeting_target(session, meeting)
    refused: Forbidden | None = None
    try:
        use = authorize(session, user, MEETINGS, target)
    except Forbidden as exc:
        refused = exc
    else:
        if user.is_admin:
            return ActionListAccess(use, None, True)
        problem = _resident_entitlement(session, user, target, day)
        if problem is None:
            return ActionListAccess(use, None, True)
        refused = NotEntitled(_("U bent vandaag niet gerechtigd aan deze casustafel, dus geen inzage in de "
                                "actielijst: %(reasons)s",
                                reasons=getattr(problem, "reasons", None) or problem.message))
    if record or not user.is_active or user.person_id is None:
        raise refused
    rows = session.execute(
        select(MeetingCase.case_id, Case.reference).join(Case, Case.id == MeetingCase.case_id)
        .join(meeting_participant, meeting_participant.c.meeting_case_id == MeetingCase.id)
        .where(MeetingCase.meeting_id == meeting.id, meeting_participant.c.person_id == user.person_id)).all()
    if not rows:
        raise refused
    allowed, reasons = set(), []
    for case_id, reference in rows:
        decisions = [queries.check(session, user.person_id, meeting.table_id, on, reference)
                     for on in dict.fromkeys((meeting.on, day))]
        if all(d.allowed for d in decisions):
            allowed.add(case_id)
        else:
            reasons.extend(r.text for d in decisions if not d.allowed for r in d.reasons)
    if not allowed:
        raise NotEntitled(_("U bent niet gerechtigd aan deze casustafel, dus geen inzage in de actielijst: ")
                          + " ".join(dict.fromkeys(reasons)))
    person = session.get(Person, user.person_id)
    use = Use(user.id, user.email, "participant", f"meeting:{meeting.id}", person.organisation_id if person else None)
    return ActionListAccess(use, frozenset(allowed), False)


def may_close_action(access: ActionListAccess, user: User, item_person_id: int, item_case_id: int) -> bool:
    """The list's keepers close any line; a reader closes their own line of a case they see."""
    if access.may_record:
        return True
    return (user.person_id == item_person_id and access.case_ids is not None and item_case_id in access.case_ids)


def meeting_target(session: Session, meeting: Meeting) -> Target:
    """A meeting: the table it belongs to."""
    return Target(covenant_ids=frozenset({meeting.table.covenant_id}), table_ids=frozenset({meeting.table_id}),
                  resident_table_id=meeting.table_id)


def organisation_target(session: Session, organisation_id: int) -> Target:
    """An organisation: its own contacts, and the coordinators of covenants it is in."""
    covenants = frozenset(session.scalars(select(Partnership.covenant_id).where(
        Partnership.organisation_id == organisation_id)))
    return Target(covenant_ids=covenants, organisation_id=organisation_id, structural_only=True)


def subject_target(session: Session, kind: str, subject_id: int) -> Target | None:
    """The target of a signing subject (``covenant``, ``declaration``, ``consent``,
    ``meeting``), or None when it does not exist."""
    model = {"covenant": Covenant, "declaration": Declaration, "consent": Consent, "meeting": Meeting,
             "amendment": CovenantAmendment}.get(kind)
    row = session.get(model, subject_id) if model else None
    if row is None:
        return None
    if kind == "covenant":
        return covenant_target(session, subject_id)
    if kind == "amendment":  # an amendment (art. 13) is the covenant's: the same people sign and read it
        return covenant_target(session, row.covenant_id)
    return {"declaration": declaration_target, "consent": consent_target, "meeting": meeting_target}[kind](session, row)


def signing_permission(kind: str, target: Target, purpose: str) -> str:
    """The permission a signing action on a document of ``kind`` needs.

    ``purpose`` ``send`` (send, resend, cancel, in person, paper) or ``copy`` (the sealed
    PDF, which holds the signers' names, IPs and user agents). A Bijlage 4 is resident
    data either way; a Bijlage 1 may be sent by a partner contact to its own employees.
    """
    if kind == "consent":
        return MANAGE_CONSENTS if purpose == "send" else RESIDENT_DATA
    if kind == "declaration" and purpose == "send" and target.structural_only:
        return SEND_BIJLAGE1
    return SIGNING


def authorize_signing(session: Session, user: User, kind: str, subject_id: int, purpose: str) -> Use:
    """Allow a signing action on a subject, or raise NotFound / Forbidden / NotEntitled."""
    target = subject_target(session, kind, subject_id)
    if target is None:
        raise NotFound(_("Dit document bestaat niet."), {"subject_id": _("Onbekend document.")})
    return authorize(session, user, signing_permission(kind, target, purpose), target)


def authorize_register_person(session: Session, user: User, organisation_id: int) -> Use:
    """Register a person: any coordinator (guests come from any organisation, for a
    Bijlage 2), or the partner contact of that organisation."""
    try:
        return authorize(session, user, MANAGE_DECLARATIONS,
                         Target(covenant_ids=organisation_target(session, organisation_id).covenant_ids))
    except Forbidden:
        if any(g.role == "coordinator" for g in user.grants) and user.is_active:
            grant = next(g for g in user.grants if g.role == "coordinator")
            return _use(session, user, grant)
        return authorize(session, user, MANAGE_PEOPLE, organisation_target(session, organisation_id))


# ----------------------------------------------------------------------------- lists


def _all_partners(session: Session) -> dict[int, frozenset[int]]:
    """Covenant id → every organisation listed in it, in one query."""
    partners: dict[int, set[int]] = {}
    for covenant_id, organisation_id in session.execute(select(Partnership.covenant_id, Partnership.organisation_id)):
        partners.setdefault(covenant_id, set()).add(organisation_id)
    return {covenant_id: frozenset(orgs) for covenant_id, orgs in partners.items()}


def visible_table_ids(session: Session, user: User, permission: str = READ) -> set[int] | None:
    """The tables the user may ``permission`` (None = every table: an admin)."""
    if user.is_admin:
        return None
    if not user.is_active:
        return set()
    partners = _all_partners(session)
    tables = set()
    for table_id, covenant_id in session.execute(select(CaseTable.id, CaseTable.covenant_id)).all():
        target = Target(covenant_ids=frozenset({covenant_id}), table_ids=frozenset({table_id}),
                        partner_ids=partners.get(covenant_id, frozenset()))
        if any(_grant_allows(g, permission, target, {}) for g in user.grants):
            tables.add(table_id)
    return tables


def visible_covenant_ids(session: Session, user: User, permission: str = READ) -> set[int] | None:
    """The covenants the user may ``permission`` (None = every covenant: an admin)."""
    if user.is_admin:
        return None
    if not user.is_active:
        return set()
    partners = _all_partners(session)
    table_covenants = _covenants_of_tables(session, {g.table_id for g in user.grants if g.table_id})
    visible = set()
    for covenant_id in session.scalars(select(Covenant.id)):
        target = Target(covenant_ids=frozenset({covenant_id}), partner_ids=partners.get(covenant_id, frozenset()))
        if any(_grant_allows(g, permission, target, table_covenants) for g in user.grants):
            visible.add(covenant_id)
    return visible
