"""The register of residents' requests (*verzoeken van betrokkenen*, AVG art. 15–21;
covenant art. 9): record a request, list the open ones with their statutory deadline,
mark one handled, export what is held about the resident (art. 15) and erase it (art. 17).

**Deadline.** A request is answered within one month of receipt (art. 12(3)):
``due_on = received_on + 1 calendar month`` (:func:`registry.rules.add_months`; 31
January → 28/29 February). Open and past that date: overdue.

**Scope.** A request may name a covenant (``covenant_id``): that covenant's privacy
officers handle it, and its export and erasure reach only the tables of that covenant
(each covenant's partners are joint controllers of their own table's data). A request
without a covenant concerns every covenant and is an administrator's.

**Finding a resident.** Cases are pseudonymous; a resident is linked to the registry
only by the name and birth date on their consents (Bijlage 4). Every lookup goes through
:func:`find_consents`. A case without a consent of this resident cannot be found by name.

**Erasure.** Every consent of the resident in scope is erased
(:func:`registry.erasure.erase_consent`: identity, documents, signers' data; the evidence
chain still verifies). A case is erased as a whole (:func:`registry.erasure.erase_case`)
only when no consent of *another* resident remains on it: a case may concern a family
(a child and its parents, siblings), and another person's case file is not this
resident's to erase. Such a case is kept and named in the answer. Sealed PDFs that
other parties downloaded are out of reach; the answer says so (:data:`ERASURE_NOTE`).

Plain Python over a SQLAlchemy session; functions ``flush`` and never ``commit``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry import crypto, erasure, packs, rules
from registry.crypto import normalise_name  # noqa: F401  (the one normalisation, re-exported)
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import (
    AccessLogEntry, Case, CaseTable, Consent, Covenant, Meeting, MeetingCase, Organisation, SubjectRequest, User,
)
from registry.texts import N_, _, long_date

KINDS = {
    "access": N_("inzage (art. 15 AVG)"),
    "correction": N_("rectificatie (art. 16 AVG)"),
    "erasure": N_("verwijdering (art. 17 AVG)"),
    "restriction": N_("beperking van de verwerking (art. 18 AVG)"),
    "objection": N_("bezwaar (art. 21 AVG)"),
}
"""The kinds of request, with their Dutch names and articles."""

OUTCOMES = {
    "granted": N_("toegewezen en uitgevoerd"),
    "partly_granted": N_("gedeeltelijk toegewezen"),
    "refused": N_("afgewezen"),
    "withdrawn": N_("ingetrokken door de inwoner"),
    "no_data": N_("geen gegevens gevonden"),
}
"""How a request ended (*uitkomst*): a short code, optionally with a short text."""

DEADLINE_MONTHS = 1
"""AVG art. 12(3): the controller answers within one month of receipt."""

NAME_MAX = 200
OUTCOME_TEXT_MAX = 500

ERASURE_NOTE = N_("Verwijderd uit deze dienst. Gewaarmerkte PDF's die partners of de inwoner eerder hebben "
                   "gedownload, en kopieën in de eigen dossiers van partners, vallen buiten het bereik van deze "
                   "dienst: vraag de ontvangers (de partners in het convenant) die zelf te verwijderen.")
"""What the erasure answer says about copies outside the service."""

EVENT_LABELS = {"opened": N_("aangemeld"), "phase": N_("naar fase"), "closed": N_("afgesloten"), "evaluated": N_("geëvalueerd"),
                "reopened": N_("heropend"), "exception": N_("bewaartermijn verlengd"), "archived": N_("gearchiveerd")}
"""Dutch names of a case's recorded steps, for the export."""


# ----------------------------------------------------------------------------- finding


def find_consents(session: Session, name: str, birth_date: dt.date) -> list[Consent]:
    """Every consent (not yet erased) of the resident with this name and birth date, by id.

    The one way this service finds a resident's records: one indexed query on
    ``Consent.resident_key``, the keyed hash (:func:`registry.crypto.resident_key`) of the
    normalised name and the birth date — names are encrypted, so SQL cannot compare them,
    and nothing is decrypted to search.
    """
    key = crypto.resident_key(name, birth_date)
    return list(session.scalars(select(Consent).where(Consent.resident_key == key, Consent.erased_on.is_(None))
                                .order_by(Consent.id)))


def consents_in_scope(session: Session, request: SubjectRequest) -> list[Consent]:
    """:func:`find_consents` for the request's resident, limited to its covenant."""
    found = find_consents(session, request.resident_name, request.resident_birth_date)
    if request.covenant_id is None:
        return found
    return [c for c in found if c.case.table.covenant_id == request.covenant_id]


# ----------------------------------------------------------------------------- the register


def create_request(session: Session, *, kind: str | None, resident_name: str | None,
                   resident_birth_date: dt.date | None, received_on: dt.date | None, by: str,
                   covenant_id: int | None = None, today: dt.date | None = None) -> SubjectRequest:
    """Record a request (received today unless ``received_on``); its deadline follows.

    Field errors (Dutch, by field): an unknown kind, an empty or too long name, a birth
    date or receipt date in the future, a birth date after the receipt.
    """
    today = today or rules.today()
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = _("Kies het soort verzoek: %(choices)s.", choices=", ".join(_(k) for k in KINDS.values()))
    name = " ".join((resident_name or "").split())
    if not name:
        errors["resident_name"] = _("Vul de naam van de inwoner in.")
    elif len(name) > NAME_MAX:
        errors["resident_name"] = _("De naam is te lang (maximaal %(max)s tekens).", max=NAME_MAX)
    received = received_on or today
    if received > today:
        errors["received_on"] = _("De ontvangstdatum ligt in de toekomst.")
    if resident_birth_date is None:
        errors["resident_birth_date"] = _("Vul de geboortedatum van de inwoner in.")
    elif resident_birth_date > received:
        errors["resident_birth_date"] = _("De geboortedatum ligt na de ontvangstdatum.")
    if covenant_id is not None and session.get(Covenant, covenant_id) is None:
        raise NotFound(_("Dit convenant bestaat niet."), {"covenant_id": _("Onbekend convenant.")})
    if errors:
        raise ValidationError(_("Het verzoek kan niet worden vastgelegd."), errors)
    request = SubjectRequest(kind=kind, resident_name=name, resident_birth_date=resident_birth_date,
                             received_on=received, due_on=due_date(received), recorded_by=by,
                             covenant_id=covenant_id)
    session.add(request)
    session.flush()
    return request


def due_date(received_on: dt.date) -> dt.date:
    """The statutory deadline of a request received on ``received_on``."""
    return rules.add_months(received_on, DEADLINE_MONTHS)


def is_overdue(request: SubjectRequest, on: dt.date | None = None) -> bool:
    """Open and past its deadline on ``on`` (today)."""
    return request.handled_on is None and request.due_on < (on or rules.today())


def open_requests(session: Session, covenant_ids: set[int] | None = None) -> list[SubjectRequest]:
    """Requests not yet handled, soonest deadline first; ``covenant_ids`` None: all,
    else only those of these covenants (a privacy officer's)."""
    stmt = select(SubjectRequest).where(SubjectRequest.handled_on.is_(None)).order_by(
        SubjectRequest.due_on, SubjectRequest.id)
    if covenant_ids is not None:
        stmt = stmt.where(SubjectRequest.covenant_id.in_(covenant_ids or {-1}))
    return list(session.scalars(stmt))


def handled_requests(session: Session, covenant_ids: set[int] | None = None, limit: int = 50) -> list[SubjectRequest]:
    """The most recently handled requests (for the register page)."""
    stmt = select(SubjectRequest).where(SubjectRequest.handled_on.is_not(None)).order_by(
        SubjectRequest.handled_on.desc(), SubjectRequest.id.desc()).limit(limit)
    if covenant_ids is not None:
        stmt = stmt.where(SubjectRequest.covenant_id.in_(covenant_ids or {-1}))
    return list(session.scalars(stmt))


def get_request(session: Session, request_id: int) -> SubjectRequest:
    """The request with this id, or NotFound naming ``request_id``."""
    request = session.get(SubjectRequest, request_id)
    if request is None:
        raise NotFound(_("Dit verzoek bestaat niet."), {"request_id": _("Onbekend verzoek.")})
    return request


def mark_handled(session: Session, request: SubjectRequest, *, outcome: str | None, by: str,
                 outcome_text: str | None = None, on: dt.date | None = None,
                 today: dt.date | None = None) -> SubjectRequest:
    """Record how a request ended (outcome code, optional short text) and when."""
    today = today or rules.today()
    if request.handled_on is not None:
        raise Conflict(_("Dit verzoek is al afgehandeld."),
                       {"handled_on": _('Afgehandeld op %(value)s.', value=long_date(request.handled_on))})
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = _("Kies de uitkomst: %(choices)s.", choices=", ".join(_(o) for o in OUTCOMES.values()))
    text = " ".join((outcome_text or "").split()) or None
    if text is not None and len(text) > OUTCOME_TEXT_MAX:
        errors["outcome_text"] = _("Maximaal %(max)s tekens.", max=OUTCOME_TEXT_MAX)
    handled_on = on or today
    if handled_on < request.received_on:
        errors["handled_on"] = _("Het verzoek is ontvangen op %(date)s.", date=long_date(request.received_on))
    elif handled_on > today:
        errors["handled_on"] = _("De datum ligt in de toekomst.")
    if errors:
        raise ValidationError(_("Het verzoek kan niet worden afgehandeld."), errors)
    request.outcome, request.outcome_text = outcome, text
    request.handled_on, request.handled_by = handled_on, by
    session.flush()
    return request


# ----------------------------------------------------------------------------- the export


@dataclass(frozen=True)
class ExportTable:
    id: int
    name: str
    covenant: str


@dataclass(frozen=True)
class ExportConsent:
    id: int
    case_reference: str
    table: ExportTable
    signed_by: str
    recipients: tuple[str, ...]
    other_recipients: tuple[str, ...]
    categories: tuple[tuple[str, str], ...]  # (key, label)
    purpose: str
    contact_person: str | None
    created_on: dt.date
    signed_on: dt.date | None
    withdrawn_on: dt.date | None
    declined_on: dt.date | None
    status: str


@dataclass(frozen=True)
class ExportStep:
    on: dt.date
    kind: str
    kind_label: str
    phase: str | None
    phase_label: str | None


@dataclass(frozen=True)
class ExportCase:
    id: int
    reference: str
    table: ExportTable
    opened_on: dt.date
    closed_on: dt.date | None
    phase: str
    phase_label: str
    steps: tuple[ExportStep, ...]
    meetings: tuple[dt.date, ...]


@dataclass(frozen=True)
class ExportRead:
    at: dt.datetime
    user: str
    email: str | None
    role: str | None
    organisation_id: int | None
    organisation: str | None
    action: str
    subject_kind: str
    subject_id: int | None


@dataclass(frozen=True)
class Export:
    """What the service holds about a resident (art. 15), as plain data: the JSON answer
    and the PDF's view-model. Dates only for phases and meetings (DAT, no WAT)."""

    request_id: int
    kind: str
    received_on: dt.date
    due_on: dt.date
    resident_name: str
    resident_birth_date: dt.date
    scope: str
    exported_on: dt.date
    consents: tuple[ExportConsent, ...]
    cases: tuple[ExportCase, ...]
    reads: tuple[ExportRead, ...]


def build_export(session: Session, request: SubjectRequest, *, on: dt.date | None = None) -> Export:
    """Every consent, case (phases, meeting dates) and logged read of the request's
    resident within its scope. Building it changes nothing; the caller logs the export."""
    from signatures.subjects import consent_status

    found = consents_in_scope(session, request)
    tables: dict[int, ExportTable] = {}

    def table_of(table: CaseTable) -> ExportTable:
        if table.id not in tables:
            tables[table.id] = ExportTable(table.id, table.name, table.covenant.title)
        return tables[table.id]

    consents = []
    cases: dict[int, Case] = {}
    for consent in found:
        pack = packs.cached_pack(consent.case.table.covenant.pack)
        labels = {c.key: c.label for c in pack.consent_categories} if pack else {}
        consents.append(ExportConsent(
            id=consent.id, case_reference=consent.case.reference, table=table_of(consent.case.table),
            signed_by=consent.signed_by, recipients=tuple(o.name for o in consent.recipients),
            other_recipients=tuple(consent.other_recipients or ()),
            categories=tuple((key, labels.get(key, key)) for key in consent.categories or ()),
            purpose=consent.purpose or "", contact_person=consent.contact_person,
            created_on=consent.created_at.date(), signed_on=consent.signed_on, withdrawn_on=consent.withdrawn_on,
            declined_on=consent.declined_on, status=consent_status(session, consent)))
        cases.setdefault(consent.case_id, consent.case)
    case_rows = [_export_case(session, case, table_of(case.table)) for case in cases.values()]
    return Export(
        request_id=request.id, kind=request.kind, received_on=request.received_on, due_on=request.due_on,
        resident_name=request.resident_name, resident_birth_date=request.resident_birth_date,
        scope=request.covenant.title if request.covenant else "alle convenanten",
        exported_on=on or rules.today(), consents=tuple(consents), cases=tuple(case_rows),
        reads=tuple(_reads(session, request, found, list(cases))))


def _export_case(session: Session, case: Case, table: ExportTable) -> ExportCase:
    from registry import cases as case_rules

    pack = case_rules.pack_of(case)
    labels = {p.key: p.label for p in pack.phases}
    phase = case_rules.current_phase(case, pack)
    steps = tuple(ExportStep(e.on, e.kind, _(EVENT_LABELS[e.kind]) if e.kind in EVENT_LABELS else e.kind, e.to_phase,
                             labels.get(e.to_phase) if e.to_phase else None) for e in case.events)
    meeting_days = session.scalars(select(Meeting.starts_at).join(MeetingCase, MeetingCase.meeting_id == Meeting.id)
                                   .where(MeetingCase.case_id == case.id).order_by(Meeting.starts_at))
    return ExportCase(id=case.id, reference=case.reference, table=table, opened_on=case.opened_on,
                      closed_on=case.closed_on, phase=phase.key, phase_label=phase.label, steps=steps,
                      meetings=tuple(dict.fromkeys(moment.date() for moment in meeting_days)))


def _reads(session: Session, request: SubjectRequest, consents: list[Consent], case_ids: list[int]) -> list[ExportRead]:
    """Access-log entries about the resident's consents, their signing requests, their
    cases and this request's earlier exports, oldest first."""
    from signatures.models import SigningRequest

    consent_ids = [c.id for c in consents]
    signing_ids = list(session.scalars(select(SigningRequest.id).where(
        SigningRequest.subject_kind == "consent", SigningRequest.subject_id.in_(consent_ids)))) if consent_ids else []
    subjects = [("consent", consent_ids), ("case", case_ids), ("signing_request", signing_ids),
                ("subject_request", [request.id])]
    conditions = [(AccessLogEntry.subject_kind == kind) & AccessLogEntry.subject_id.in_(ids)
                  for kind, ids in subjects if ids]
    entries = list(session.scalars(select(AccessLogEntry).where(or_(*conditions)).order_by(AccessLogEntry.seq)))
    users = {u.id: u for u in session.scalars(select(User).where(
        User.id.in_({e.user_id for e in entries if e.user_id is not None})))} if entries else {}
    organisations = dict(session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_({e.organisation_id for e in entries if e.organisation_id is not None}))).all()) if entries else {}
    found = []
    for entry in entries:
        user = users.get(entry.user_id)
        found.append(ExportRead(
            at=entry.occurred_at, user=(user.name if user and user.name else entry.actor or "onbekend"),
            email=entry.actor, role=entry.role, organisation_id=entry.organisation_id,
            organisation=organisations.get(entry.organisation_id), action=entry.action,
            subject_kind=entry.subject_kind, subject_id=entry.subject_id))
    return found


# ----------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did: consents and cases erased, cases kept (and why)."""

    consents: tuple[int, ...]
    cases: tuple[int, ...]
    kept_cases: tuple[tuple[int, str], ...]  # (case id, reason)
    note: str = field(default_factory=lambda: _(ERASURE_NOTE))  # in the language of the one who erased


def erase(session: Session, request: SubjectRequest, *, by: str, on: dt.date | None = None) -> ErasureResult:
    """Carry out an erasure request (art. 17) at once and mark it handled (see the module
    text); 409 when the request is not an erasure request or already handled."""
    on = on or rules.today()
    if request.kind != "erasure":
        raise Conflict(_("Alleen een verzoek tot verwijdering kan worden uitgevoerd als verwijdering."),
                       {"kind": _('Dit verzoek is een verzoek om %(value)s.', value=KINDS[request.kind])})
    if request.handled_on is not None:
        raise Conflict(_("Dit verzoek is al afgehandeld."),
                       {"handled_on": _('Afgehandeld op %(value)s.', value=long_date(request.handled_on))})
    found = consents_in_scope(session, request)
    own = {c.id for c in found}
    rule = f"subject_request:{request.id}"
    case_list: dict[int, Case] = {}
    for consent in found:
        case_list.setdefault(consent.case_id, consent.case)
        erasure.erase_consent(session, consent, on=on, rule=rule, by=by)
    erased_cases, kept = [], []
    for case in case_list.values():
        others = session.scalar(select(Consent.id).where(
            Consent.case_id == case.id, Consent.erased_on.is_(None), Consent.id.not_in(own or {-1})).limit(1))
        if others is not None:
            kept.append((case.id, "De casus heeft ook toestemmingen van een andere inwoner (bijvoorbeeld een "
                                  "gezinslid); alleen de gegevens van deze inwoner zijn verwijderd."))
            continue
        if erasure.erase_case(session, case, on=on, rule=rule, by=by):
            erased_cases.append(case.id)
    summary = f"{len(own)} toestemming(en) en {len(erased_cases)} casus(sen) verwijderd"
    if kept:
        summary += f"; {len(kept)} casus(sen) behouden vanwege gegevens van anderen"
    mark_handled(session, request, outcome="granted" if own else "no_data", by=by, outcome_text=summary + ".",
                 on=on, today=on)
    return ErasureResult(tuple(sorted(own)), tuple(erased_cases), tuple(kept))
