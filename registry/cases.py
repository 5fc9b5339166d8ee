"""A case's life (*verloop van een casus*): opening, phases, participants, closure and
evaluation, as the covenant's pack defines them.

A case is known only by its pseudonymous reference. It starts in the pack's first phase
(or a named one), moves from phase to phase with date, who and why (a
:class:`registry.models.CaseEvent` per step), and ends with a closure whose reason is a
fixed code (:data:`CLOSE_REASONS`) and, where the covenant asks for it (Emmen art. 6), an
evaluation date. Phase terms (:class:`registry.packs.PhaseDeadline`) become due dates.
Retention (:mod:`registry.retention`) takes over after the closure.

Plain Python over a SQLAlchemy session; functions ``flush`` and never ``commit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import packs, queries, rules
from registry.errors import Archived, Conflict, Gone, NotFound, ValidationError
from registry.models import (
    Case, CaseEvent, CaseParticipant, CaseTable, Declaration, Organisation, Partnership, Person, SharingBasis,
)
from registry.texts import N_, _, long_date

CLOSE_REASONS = {
    "handled": N_("afgehandeld"),
    "deescalated": N_("afgeschaald"),
    "not_belonging": N_("hoort niet aan deze tafel"),
    "referred": N_("overgedragen"),
    "withdrawn": N_("ingetrokken door de aanmelder"),
}
"""Why a case closes (*reden van afsluiting*). ``not_belonging`` (ZVH: *de casus blijkt
niet thuis te horen in het ZVH*) deletes the case at once."""

SHARING_BASES = {
    "own_task": N_("eigen wettelijke taak"),
    "consent": N_("toestemming van de inwoner"),
    "none": N_("geen grondslag: deelt niet"),
}
"""A partner's weighing of its basis for sharing in a case (art. 5 and 7)."""

REASON_MAX = 500
"""Longest reason of a phase move, closure or exception (administrative text, no WAT)."""


def pack_of(case: Case) -> packs.Pack:
    """The pack of the case's covenant (a missing pack: an empty default pack's rules)."""
    return packs.cached_pack(case.table.covenant.pack) or _FALLBACK


def pack_of_table(table: CaseTable) -> packs.Pack:
    """The pack of a table's covenant (a missing pack: the empty default pack's rules)."""
    return packs.cached_pack(table.covenant.pack) or _FALLBACK


_FALLBACK = packs.Pack(
    name="", title="", region="", municipality="", version="", language="nl", path=packs.packs_dir(),
    documents=(), term=packs.DEFAULT_TERM, areas=(), table_roles=(), consent_categories=(),
    consent_recipients=(), founding_partners=(), meeting_themes=(), age_bands=(),
)


def current_phase(case: Case, pack: packs.Pack | None = None) -> packs.Phase:
    """The phase the case is in: its recorded phase, else the pack's first."""
    pack = pack or pack_of(case)
    return pack.phase(case.phase) or pack.phases[0]


def ensure_readable(case: Case) -> None:
    """Raise Gone for an erased case and Archived for an archived one (the file is closed)."""
    if case.retention_stage == "erased":
        raise Gone(_("Deze casus is verwijderd volgens de bewaartermijn of een verzoek van de inwoner."))
    if case.retention_stage == "archived":
        raise Archived(_("Deze casus is gearchiveerd: het dossier is gesloten tot iemand met de juiste "
                       "rechten het heropent, met een reden."))


def _reason(value: str | None, required: bool = False) -> str | None:
    """A trimmed reason, or a field error (too long, or missing when required)."""
    text = (value or "").strip() or None
    if text is None and required:
        raise ValidationError(_("Vul een reden in."), {"reason": _("Vul een reden in.")})
    if text is not None and len(text) > REASON_MAX:
        raise ValidationError(_("Reden te lang."), {"reason": _('Maximaal %(REASON_MAX)s tekens.', REASON_MAX=REASON_MAX)})
    return text


def open_case(session: Session, table: CaseTable, reference: str, *, opened_on: dt.date, by: str,
              phase: str | None = None, brought_by: Person | None = None, age: int | None = None,
              track: str | None = None, implied: bool = False) -> Case:
    """Open a case at a table (*aanmelding*) in the pack's first phase or ``phase``.

    ``age`` (whole years on ``opened_on``, not stored) is required where the pack has a
    ``min_age`` (Neteland: adults only) and refused below it — except for a case
    ``implied`` by a Bijlage 2, a consent or a meeting that names a new reference
    (:func:`registry.services.ensure_case`), where nobody is asked the age. A reference
    that exists at the table is a conflict.
    """
    pack = packs.cached_pack(table.covenant.pack) or _FALLBACK
    errors: dict[str, str] = {}
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = _("Vul de casusreferentie in.")
    elif len(reference) > 100:
        errors["reference"] = _("De casusreferentie is te lang (maximaal %(max)s tekens).", max=100)
    elif problem := rules.case_reference_problem(reference):
        errors["reference"] = problem
    if phase is not None and pack.phase(phase) is None:
        errors["phase"] = _("Onbekende fase; kies uit: %(choices)s.", choices=", ".join(p.label for p in pack.phases))
    if track is not None and track not in {t.key for t in pack.tracks}:
        errors["track"] = (_("Deze tafel kent geen sporen.") if not pack.tracks else
                           _("Onbekend spoor; kies uit: %(choices)s.", choices=", ".join(t.label for t in pack.tracks)))
    minimum = pack.case_rules.min_age
    if minimum is not None and age is None and not implied:
        errors["age"] = _("Deze tafel bespreekt alleen volwassenen: vul de leeftijd in (minimaal %(min)s).",
                          min=minimum)
    elif minimum is not None and age is not None and age < minimum:
        errors["age"] = _("Deze tafel bespreekt alleen inwoners van %(min)s jaar en ouder; "
                          "een casus van een minderjarige hoort hier niet.", min=minimum)
    if age is not None and not 0 <= age <= 130:
        errors["age"] = _("Vul een leeftijd tussen 0 en 130 in.")
    if errors:
        raise ValidationError(_("De casus kan niet worden aangemeld."), errors)
    if session.scalar(select(Case.id).where(Case.table_id == table.id, Case.reference == reference)):
        raise Conflict(_("Deze casus bestaat al aan deze tafel."), {"reference": _("Deze referentie is al in gebruik.")})
    first = pack.phase(phase) or pack.phases[0]
    case = Case(table_id=table.id, reference=reference, opened_on=opened_on, phase=first.key,
                phase_since=opened_on, track=track,
                brought_by_person_id=brought_by.id if brought_by else None,
                brought_by_organisation_id=brought_by.organisation_id if brought_by else None)
    session.add(case)
    session.flush()
    session.add(CaseEvent(case_id=case.id, kind="opened", on=opened_on, to_phase=first.key, recorded_by=by))
    session.flush()
    return case


def move_phase(session: Session, case: Case, phase: str, *, on: dt.date, by: str, reason: str | None = None) -> Case:
    """Move the case to ``phase`` from ``on`` (*faseovergang*), recording who and why."""
    ensure_readable(case)
    pack = pack_of(case)
    target = pack.phase(phase)
    if target is None:
        raise ValidationError(_("Onbekende fase."), {"phase": _("Kies uit: ") + ", ".join(p.key for p in pack.phases) + "."})
    if case.closed_on is not None:
        raise Conflict(_("De casus is gesloten."), {"phase": _('Gesloten per %(closed_on)s.', closed_on=long_date(case.closed_on))})
    since = case.phase_since or case.opened_on
    if on < since:
        raise ValidationError(_("Datum te vroeg."), {"on": _('De casus is in de huidige fase sinds %(since)s.', since=since)})
    current = current_phase(case, pack)
    if target.key == current.key:
        raise Conflict(_("De casus is al in deze fase."), {"phase": _('Al in fase %(label)s.', label=current.label)})
    session.add(CaseEvent(case_id=case.id, kind="phase", on=on, from_phase=current.key, to_phase=target.key,
                          reason=_reason(reason), recorded_by=by))
    case.phase, case.phase_since = target.key, on
    session.flush()
    return case


def close_case(session: Session, case: Case, *, on: dt.date, reason: str, by: str,
               evaluated_on: dt.date | None = None) -> Case:
    """Close the case (*afsluiten*) with a reason code and optionally its evaluation date.

    From ``on`` nobody joins for it and its consents lapse. ``not_belonging`` deletes the
    case at once (ZVH): only non-identifying administration remains.
    """
    ensure_readable(case)
    if reason not in CLOSE_REASONS:
        raise ValidationError(_("Onbekende reden."), {"reason": _("Kies uit: ") + ", ".join(CLOSE_REASONS) + "."})
    if case.closed_on is not None:
        raise Conflict(_("De casus is al gesloten."), {"on": _('Gesloten per %(closed_on)s.', closed_on=long_date(case.closed_on))})
    if on < case.opened_on:
        raise ValidationError(_("Datum vóór opening."), {"on": _('De casus is geopend op %(opened_on)s.', opened_on=long_date(case.opened_on))})
    if evaluated_on is not None and evaluated_on < on:
        raise ValidationError(_("Evaluatie vóór afsluiting."), {"evaluated_on": _("De evaluatie volgt op de afsluiting.")})
    case.closed_on, case.close_reason = on, reason
    session.add(CaseEvent(case_id=case.id, kind="closed", on=on, reason=CLOSE_REASONS[reason], recorded_by=by))
    if evaluated_on is not None:
        record_evaluation(session, case, on=evaluated_on, by=by)
    session.flush()
    if reason == "not_belonging":
        from registry import erasure

        erasure.erase_case(session, case, on=on, rule="not_belonging", by=by)
    return case


def record_evaluation(session: Session, case: Case, *, on: dt.date, by: str) -> Case:
    """Record that the closed case was evaluated (*geëvalueerd*, Emmen art. 6 and step 6)."""
    ensure_readable(case)
    if case.closed_on is None:
        raise Conflict(_("De casus is nog niet gesloten."), {"evaluated_on": _("Sluit de casus eerst af.")})
    if case.evaluated_on is not None:
        raise Conflict(_("Al geëvalueerd."), {"evaluated_on": _('Geëvalueerd op %(evaluated_on)s.', evaluated_on=long_date(case.evaluated_on))})
    if on < case.closed_on:
        raise ValidationError(_("Evaluatie vóór afsluiting."), {"evaluated_on": _('De casus is gesloten op %(closed_on)s.', closed_on=long_date(case.closed_on))})
    case.evaluated_on = on
    session.add(CaseEvent(case_id=case.id, kind="evaluated", on=on, recorded_by=by))
    session.flush()
    return case


# ----------------------------------------------------------------------------- participants


def add_participant(session: Session, case: Case, person: Person, *, on: dt.date, by: str,
                    role: str | None = None) -> CaseParticipant:
    """Add a person to the case in a pack role. An ``ad_hoc`` role (of a non-partner)
    needs a signed incidental declaration (Bijlage 2) for this case, valid on ``on``."""
    ensure_readable(case)
    pack = pack_of(case)
    errors: dict[str, str] = {}
    case_role = pack.case_role(role)
    if role is not None and case_role is None:
        errors["role"] = (_("Deze tafel kent geen rollen per casus.") if not pack.case_roles else
                          _("Onbekende rol; kies uit: %(choices)s.",
                            choices=", ".join(r.label for r in pack.case_roles)))
    if pack.case_roles and role is None:
        errors["role"] = _("Kies een rol: %(choices)s.", choices=", ".join(r.label for r in pack.case_roles))
    if case.closed_on is not None:
        errors["case_id"] = _("De casus is gesloten per %(date)s.", date=long_date(case.closed_on))
    if errors:
        raise ValidationError(_("De deelnemer kan niet worden toegevoegd."), errors)
    if case_role is not None and case_role.ad_hoc and not has_incidental_declaration(session, case, person, on):
        raise ValidationError(_("Geen geheimhoudingsverklaring voor deze casus."), {
            "person_id": _("Een ad-hocpartner neemt alleen deel met een getekende verklaring van geheimhouding "
                         "voor deze casus (de incidentele verklaring).")})
    if session.scalar(select(CaseParticipant.id).where(CaseParticipant.case_id == case.id,
                                                       CaseParticipant.person_id == person.id)):
        raise Conflict(_("Deze persoon neemt al deel aan de casus."), {"person_id": _("Al deelnemer.")})
    participant = CaseParticipant(case_id=case.id, person_id=person.id, role=role, ad_hoc=bool(case_role and case_role.ad_hoc),
                                  added_on=on, added_by=by)
    session.add(participant)
    session.flush()
    return participant


def has_incidental_declaration(session: Session, case: Case, person: Person, on: dt.date) -> bool:
    """A signed, unrevoked Bijlage 2 of ``person`` for this case at its table, on ``on``."""
    for declaration in session.scalars(select(Declaration).where(
            Declaration.person_id == person.id, Declaration.table_id == case.table_id,
            Declaration.kind == rules.INCIDENTAL, Declaration.case_ref == case.reference)):
        if declaration.signed_on is not None and declaration.signed_on <= on and (
                declaration.revoked_on is None or on < declaration.revoked_on):
            return True
    return False


def record_sharing_basis(session: Session, case: Case, organisation_id: int, basis: str, *,
                         on: dt.date, by: str) -> SharingBasis:
    """Record (or replace) a partner's weighing of its basis for sharing in this case."""
    ensure_readable(case)
    if basis not in SHARING_BASES:
        raise ValidationError(_("Onbekende grondslag."), {"basis": _("Kies uit: ") + ", ".join(SHARING_BASES) + "."})
    row = session.scalar(select(SharingBasis).where(SharingBasis.case_id == case.id,
                                                    SharingBasis.organisation_id == organisation_id))
    if row is None:
        row = SharingBasis(case_id=case.id, organisation_id=organisation_id)
        session.add(row)
    row.basis, row.recorded_on, row.recorded_by = basis, on, by
    session.flush()
    return row


# ----------------------------------------------------------------------------- regie


def partner_decision(session: Session, case: Case, organisation_id: int, on: dt.date) -> rules.Decision:
    """Is the organisation a partner of the case's covenant on ``on``? (the registry's rule)."""
    covenant = case.table.covenant
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_("Deze organisatie bestaat niet."), {"organisation_id": _("Onbekende organisatie.")})
    partnership = session.scalar(select(Partnership).where(Partnership.covenant_id == covenant.id,
                                                           Partnership.organisation_id == organisation_id))
    return rules.organisation_decision(
        queries.covenant_facts(covenant),
        queries.partnership_facts(partnership, organisation.name) if partnership is not None else None,
        on, organisation.name)


def _open_for_regie(case: Case, on: dt.date, field: str) -> None:
    """A closed case gets no new regie; a date before the opening is refused."""
    ensure_readable(case)
    if case.closed_on is not None:
        raise Conflict(_("De casus is gesloten."), {field: _('Gesloten per %(closed_on)s.', closed_on=long_date(case.closed_on))})
    if on < case.opened_on:
        raise ValidationError(_("Datum vóór opening."), {"on": _('De casus is geopend op %(opened_on)s.', opened_on=long_date(case.opened_on))})


def set_casusregie(session: Session, case: Case, organisation_id: int, on: dt.date, by: str) -> Case:
    """Give the *casusregie* of the case to a partner (Emmen art. 5 and 7) from ``on``.

    The organisation must be a partner of the covenant on that date (the registry's
    :func:`registry.rules.organisation_decision`, with its Dutch reasons when not). A
    :class:`CaseEvent` ``casusregie`` records the change.
    """
    _open_for_regie(case, on, "organisation_id")
    decision = partner_decision(session, case, organisation_id, on)
    if not decision.allowed:
        raise ValidationError(_("Geen convenantpartner op deze datum."), {
            "organisation_id": _("Alleen een convenantpartner kan de casusregie voeren: ")
                               + " ".join(r.text for r in decision.reasons)})
    if case.casusregie_organisation_id == organisation_id:
        raise Conflict(_("Deze partner voert de casusregie al."), {"organisation_id": _("Voert de casusregie al.")})
    name = session.get(Organisation, organisation_id).name
    case.casusregie_organisation_id = organisation_id
    session.add(CaseEvent(case_id=case.id, kind="casusregie", on=on, reason=f"casusregie bij {name}"[:REASON_MAX],
                          recorded_by=by))
    session.flush()
    return case


def set_procesregisseur(session: Session, case: Case, person: Person, on: dt.date, by: str) -> Case:
    """Make ``person`` the case's procesregisseur from ``on``, where the pack has one per
    case (``[cases] procesregisseur = true``). The person must be entitled at the table
    structurally on that date (:func:`registry.queries.check`: Bijlage 1, employed,
    organisation a partner); a :class:`CaseEvent` ``procesregisseur`` records it."""
    _open_for_regie(case, on, "person_id")
    pack = pack_of(case)
    label = pack.case_rules.procesregisseur_label
    if not pack.case_rules.procesregisseur:
        raise ValidationError(_("Geen procesregisseur per casus."), {
            "person_id": _("Dit convenant kent geen procesregisseur per casus.")})
    decision = queries.check(session, person.id, case.table_id, on)
    if not (decision.allowed and decision.basis == rules.STRUCTURAL):
        raise ValidationError(_('Niet gerechtigd als %(label)s.', label=label), {
            "person_id": _('De %(label)s moet structureel aan deze casustafel deelnemen: ', label=label)
                         + " ".join(r.text for r in decision.reasons)})
    if case.procesregisseur_id == person.id:
        raise Conflict(_("Al %(label)s.", label=label), {"person_id": _('Is al %(label)s van deze casus.', label=label)})
    case.procesregisseur_id = person.id
    session.add(CaseEvent(case_id=case.id, kind="procesregisseur", on=on,
                          reason=f"{label}: {person.name}"[:REASON_MAX], recorded_by=by))
    session.flush()
    return case


# ----------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class DueDate:
    """A phase term as a date: ``kind`` ``due`` (at the latest) or ``not_before``; ``passed``
    when a ``due`` date lies before ``on`` (shown on the table's page and in the API)."""

    phase: str
    label: str
    kind: str
    date: dt.date
    passed: bool


def due_dates(case: Case, on: dt.date, pack: packs.Pack | None = None) -> list[DueDate]:
    """The terms of the case's current phase, counted from the day it entered it."""
    if case.closed_on is not None or case.retention_stage != "active":
        return []
    phase = current_phase(case, pack)
    since = case.phase_since or case.opened_on
    found = []
    for deadline in phase.deadlines:
        date = rules.add_months(since, deadline.months)
        found.append(DueDate(phase.key, deadline.label, deadline.kind, date,
                             passed=deadline.kind == "due" and date < on))
    return found


def listed(case: Case) -> bool:
    """Whether a case appears in a table's list: an erased one does not (a tombstone)."""
    return case.retention_stage != "erased"


def sharing_bases(session: Session, case: Case) -> list[SharingBasis]:
    """Each partner's recorded basis for sharing in the case, by organisation."""
    return list(session.scalars(select(SharingBasis).where(SharingBasis.case_id == case.id)
                                .order_by(SharingBasis.organisation_id)))


def table_cases(session: Session, table: CaseTable) -> list[Case]:
    """The cases a table lists (erased ones are tombstones), oldest first; who may see
    each is :func:`registry.access.may_see_case`."""
    return [case for case in session.scalars(select(Case).where(Case.table_id == table.id)
                                             .order_by(Case.opened_on, Case.id)) if listed(case)]


def invited_organisations(session: Session, case: Case) -> list[Organisation]:
    """The partners invited for the case: the organisations of its participants and of
    the people invited for it at a meeting, plus any with a recorded sharing basis."""
    from registry.models import MeetingCase, meeting_participant

    ids = set(session.scalars(select(Person.organisation_id).join(CaseParticipant, CaseParticipant.person_id == Person.id)
                              .where(CaseParticipant.case_id == case.id)))
    ids |= set(session.scalars(
        select(Person.organisation_id).join(meeting_participant, meeting_participant.c.person_id == Person.id)
        .join(MeetingCase, MeetingCase.id == meeting_participant.c.meeting_case_id).where(MeetingCase.case_id == case.id)))
    ids |= set(session.scalars(select(SharingBasis.organisation_id).where(SharingBasis.case_id == case.id)))
    if not ids:
        return []
    return list(session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)))


EVENT_LABELS = {"opened": N_("aangemeld"), "phase": N_("naar een andere fase"), "closed": N_("afgesloten"),
                "evaluated": N_("geëvalueerd"), "casusregie": N_("casusregie"), "procesregisseur": N_("procesregisseur"),
                "exception": N_("uitzondering op de bewaartermijn"), "archived": N_("gearchiveerd"), "reopened": N_("heropend")}
"""The Dutch name of each kind of :class:`CaseEvent` (the case's history)."""


def get_case(session: Session, case_id: int) -> Case:
    """The case with this id, or NotFound."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(_("Deze casus bestaat niet."), {"case_id": _("Onbekende casus.")})
    return case
