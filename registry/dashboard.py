"""The coordinator's day (*wat wacht er*): the dashboard's lines for one account, as of a date.

One plain function, :func:`dashboard`, computes every line; the start page and
``GET /api/v1/dashboard`` both call it. A line is there only when something waits:

| kind | what | who sees it |
|---|---|---|
| ``awaiting_signature`` | documents with an open signing request, per document, with age in days and reminders sent | the accounts that may send it (covenant: its coordinators; Bijlage 1/2: coordinators of the table or covenant; Bijlage 4: those who may record consents) |
| ``missing_bijlage1`` | per table, people who take part without a valid Bijlage 1 today (see :func:`lacking_bijlage1`) | coordinators of the table or covenant |
| ``consents_pending`` / ``consents_declined`` / ``consents_expiring`` | Bijlage 4 sent and waiting; declined in the last 90 days; waiting with a link that expires within 7 days — per consent, labelled with the case reference only (no resident's name) | coordinators and chairs of the table |
| ``notices_ending`` | partnerships whose notice period ends within 3 months | everyone who reads the covenant |
| ``employments_ending`` | people with a Bijlage 1 (or a table role) whose employment ends within 3 months | everyone who reads the table |
| ``cases_overdue`` | cases whose phase term passed (:func:`registry.cases.due_dates`) | those who may see the case in its phase |
| ``evaluation_due`` | covenants whose annual evaluation (art. 12) is due (:mod:`registry.evaluations`) | coordinators of the covenant |

Every item carries the URL of the page where it is resolved; URLs come from a
:class:`Links` the caller gives (this module knows no Flask). Resident data never
appears here: a consent is named by its case reference and table, and the consent page
it links to checks entitlement and logs the read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from registry import access, evaluations, queries, rules
from registry.texts import N_, _, long_date
from registry.models import (
    Case, CaseParticipant, CaseTable, Consent, Covenant, Declaration, Meeting, MeetingCase, Partnership, Person,
    TableRoleHolder, User, meeting_participant,
)

HORIZON_MONTHS = 3
"""Notices and employments ending within this many months are shown."""
DECLINED_DAYS = 90
"""A declined consent stays on the dashboard this long (a new consent may be needed)."""
EXPIRING_DAYS = 7
"""A waiting consent whose signing link expires within this many days is "expiring"."""

LABELS = {
    "awaiting_signature": N_("Wacht op ondertekening"),
    "missing_bijlage1": N_("Deelnemers zonder Bijlage 1"),
    "consents_pending": N_("Toestemmingen in afwachting"),
    "consents_declined": N_("Toestemmingen geweigerd"),
    "consents_expiring": N_("Toestemmingen waarvan de link bijna verloopt"),
    "notices_ending": N_("Opzeggingen die binnen 3 maanden ingaan"),
    "employments_ending": N_("Dienstverbanden die binnen 3 maanden eindigen"),
    "cases_overdue": N_("Casussen over hun termijn"),
    "evaluation_due": N_("Jaarlijkse evaluatie van het convenant (art. 12)"),
}
"""The Dutch heading of each line (the web page translates them by kind)."""


class Links(Protocol):
    """Where each kind of record is resolved (the web layer builds these with url_for)."""

    def covenant(self, covenant_id: int) -> str: ...
    def table(self, table_id: int) -> str: ...
    def declaration(self, declaration_id: int) -> str: ...
    def consent(self, consent_id: int) -> str: ...
    def person(self, person_id: int) -> str: ...
    def case(self, case_id: int) -> str: ...


@dataclass(frozen=True)
class Item:
    """One thing that waits, with the page where it is resolved.

    ``count`` is how many it stands for (a table's people without a Bijlage 1);
    ``on`` the day that matters (ends on, due on); ``age_days`` and ``reminders``
    only for documents waiting for signature; ``group`` what the line's chart counts by.
    """

    label: str
    url: str
    detail: str = ""
    count: int = 1
    on: dt.date | None = None
    age_days: int | None = None
    reminders: int | None = None
    group: str = ""


@dataclass(frozen=True)
class Line:
    """One line of the dashboard: a kind, its Dutch label, how many, and the items."""

    kind: str
    label: str
    count: int
    items: tuple[Item, ...]
    bars: tuple[tuple[str, int], ...] = field(default=())
    """(group, count) per table or document kind, for a small chart; empty: no chart."""


def dashboard(session: Session, user: User, links: Links, today: dt.date | None = None) -> list[Line]:
    """Every line that has something waiting for ``user`` on ``today`` (default: today)."""
    on = today or rules.today()
    if not user.is_active or not user.grants:
        return []
    builders = (_awaiting_signature, _missing_bijlage1, _consents, _notices_ending, _employments_ending,
                _cases_overdue, _evaluation_due)
    lines: list[Line] = []
    for build in builders:
        lines.extend(line for line in build(session, user, links, on) if line.count)
    return lines


def as_json(lines: list[Line], on: dt.date) -> dict:
    """The API's shape: ``{"on", "lines": [{"kind", "label", "count", "bars", "items": [...]}]}``."""
    def item(i: Item) -> dict:
        data = {"label": i.label, "detail": i.detail, "count": i.count, "url": i.url, "group": i.group,
                "on": i.on.isoformat() if i.on else None}
        if i.age_days is not None:
            data["age_days"], data["reminders"] = i.age_days, i.reminders
        return data

    return {"on": on.isoformat(), "lines": [
        {"kind": line.kind, "label": line.label, "count": line.count,
         "bars": [{"label": label, "count": count} for label, count in line.bars],
         "items": [item(i) for i in line.items]} for line in lines]}


# ----------------------------------------------------------------------------- scope


def _visible(session: Session, model, ids: set[int] | None, *order) -> list:
    """Rows of ``model`` among ``ids`` (None: every row), in ``order``."""
    if ids is not None and not ids:
        return []
    query = select(model).order_by(*order, model.id)
    if ids is not None:
        query = query.where(model.id.in_(ids))
    return list(session.scalars(query))


def _tables(session: Session, user: User, permission: str) -> list[CaseTable]:
    """The tables the user may ``permission``, by name."""
    return _visible(session, CaseTable, access.visible_table_ids(session, user, permission), CaseTable.name)


def _covenants(session: Session, user: User, permission: str) -> list[Covenant]:
    """The covenants the user may ``permission``, by title."""
    return _visible(session, Covenant, access.visible_covenant_ids(session, user, permission), Covenant.title)


def _bars(items: list[Item]) -> tuple[tuple[str, int], ...]:
    """Counts per group, largest first (a chart only when there is more than one bar's worth)."""
    counts: dict[str, int] = {}
    for i in items:
        counts[i.group] = counts.get(i.group, 0) + i.count
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _line(kind: str, items: list[Item], chart: bool = False) -> Line:
    return Line(kind, _(LABELS[kind]), sum(i.count for i in items), tuple(items), _bars(items) if chart else ())


# ----------------------------------------------------------------------------- lines


KIND_LABELS = {"covenant": N_("Convenant"), "declaration": N_("Verklaring"), "consent": N_("Toestemming")}


def _awaiting_signature(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Documents with open signing requests that the user may send, oldest first."""
    from signatures.models import EvidenceEvent, SigningRequest
    from signatures.subjects import amsterdam_date, declaration_title

    rows = session.execute(
        select(SigningRequest.subject_kind, SigningRequest.subject_id, func.count(SigningRequest.id),
               func.min(SigningRequest.created_at))
        .where(SigningRequest.status.in_(("pending", "opened")),
               SigningRequest.subject_kind.in_(("covenant", "declaration", "consent")))
        .group_by(SigningRequest.subject_kind, SigningRequest.subject_id)).all()
    if not rows:
        return []
    covenants = {c.id for c in _covenants(session, user, access.SIGNING)}
    declaration_tables = {t.id for t in _tables(session, user, access.SIGNING)}
    consent_tables = {t.id for t in _tables(session, user, access.MANAGE_CONSENTS)}
    reminders = {(kind, subject_id): count for kind, subject_id, count in session.execute(
        select(EvidenceEvent.subject_kind, EvidenceEvent.subject_id, func.count())
        .where(EvidenceEvent.event == "reminded").group_by(EvidenceEvent.subject_kind, EvidenceEvent.subject_id))}
    items = []
    for kind, subject_id, waiting, first in rows:
        described = _describe(session, kind, subject_id, covenants, declaration_tables, consent_tables, links,
                              declaration_title)
        if described is None:
            continue
        label, url, group = described
        detail = (_("%(n)s ondertekenaar wacht", n=waiting) if waiting == 1
                  else _("%(n)s ondertekenaars wachten", n=waiting))
        items.append(Item(label, url, detail, on=amsterdam_date(first), age_days=(on - amsterdam_date(first)).days,
                          reminders=int(reminders.get((kind, subject_id), 0)), group=group))
    items.sort(key=lambda i: (-(i.age_days or 0), i.label))
    return [Line("awaiting_signature", _(LABELS["awaiting_signature"]), len(items), tuple(items), _bars(items))]


def _describe(session: Session, kind: str, subject_id: int, covenants: set[int], declaration_tables: set[int],
              consent_tables: set[int], links: Links, declaration_title) -> tuple[str, str, str] | None:
    """Label, URL and chart group of a waiting document, or None when out of the user's scope."""
    if kind == "covenant":
        covenant = session.get(Covenant, subject_id)
        if covenant is None or covenant.id not in covenants:
            return None
        signed = sum(1 for p in covenant.partnerships if p.signed_on)
        return (_("%(title)s (%(signed)s van %(total)s partners getekend)", title=covenant.title, signed=signed,
                  total=len(covenant.partnerships)), links.covenant(covenant.id), _(KIND_LABELS[kind]))
    if kind == "declaration":
        declaration = session.get(Declaration, subject_id)
        if declaration is None or declaration.table_id not in declaration_tables:
            return None
        number = declaration_title(declaration).split(" — ")[0]
        return (f"{number}: {declaration.person.name} ({declaration.table.name})", links.declaration(declaration.id),
                number)
    consent = session.get(Consent, subject_id)
    if consent is None or consent.erased_on is not None or consent.case.table_id not in consent_tables:
        return None
    return (_("Toestemming casus %(case)s (%(table)s)", case=consent.case.reference, table=consent.case.table.name),
            links.consent(consent.id), _(KIND_LABELS[kind]))


def participants(session: Session, table: CaseTable, on: dt.date) -> set[int]:
    """The people who take part at a table: its chair, coordinator and other role holders,
    anyone with a Bijlage 1 or 2 there (signed, waiting or revoked), the active participants
    of its cases, and those invited to its meetings from a year before ``on``."""
    ids = {pid for pid in (table.chair_id, table.coordinator_id) if pid}
    ids |= set(session.scalars(select(TableRoleHolder.person_id).where(TableRoleHolder.table_id == table.id)))
    ids |= set(session.scalars(select(Declaration.person_id).where(Declaration.table_id == table.id)))
    ids |= set(session.scalars(select(CaseParticipant.person_id).join(Case, Case.id == CaseParticipant.case_id)
                               .where(Case.table_id == table.id, CaseParticipant.ended_on.is_(None))))
    ids |= set(session.scalars(
        select(meeting_participant.c.person_id)
        .join(MeetingCase, MeetingCase.id == meeting_participant.c.meeting_case_id)
        .join(Meeting, Meeting.id == MeetingCase.meeting_id)
        .where(Meeting.table_id == table.id, Meeting.starts_at >= dt.datetime.combine(on - dt.timedelta(days=365), dt.time()))))
    return ids


def lacking_bijlage1(session: Session, table: CaseTable, on: dt.date) -> list[Person]:
    """The people who take part at the table (:func:`participants`) and would join it
    structurally but for a Bijlage 1: employed on ``on``, of an organisation that is a
    partner on ``on``, and without a Bijlage 1 for this table that is valid on ``on``
    (never signed, waiting for signature, or revoked). By name."""
    partners = {p.organisation_id for p, _name, decision in queries.organisation_decisions(session, table.covenant, on)
                if decision.allowed}
    if not partners:
        return []
    valid = set(session.scalars(select(Declaration.person_id).where(
        Declaration.table_id == table.id, Declaration.kind == rules.STRUCTURAL, Declaration.signed_on <= on,
        or_(Declaration.revoked_on.is_(None), Declaration.revoked_on > on))))
    wanted = participants(session, table, on) - valid
    if not wanted:
        return []
    people = session.scalars(select(Person).where(
        Person.id.in_(wanted), Person.organisation_id.in_(partners),
        or_(Person.employed_from.is_(None), Person.employed_from <= on),
        or_(Person.employed_until.is_(None), Person.employed_until >= on)).order_by(Person.name, Person.id))
    return list(people)


def _missing_bijlage1(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Per table the user coordinates: how many who take part lack a Bijlage 1."""
    items = []
    for table in _tables(session, user, access.MANAGE_DECLARATIONS):
        lacking = lacking_bijlage1(session, table, on)
        if lacking:
            names = ", ".join(p.name for p in lacking[:3]) + (" …" if len(lacking) > 3 else "")
            items.append(Item(table.name, links.table(table.id) + "#bijlage1", names, count=len(lacking),
                              group=table.name))
    return [_line("missing_bijlage1", items, chart=True)]


def _consents(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Consents waiting, declined lately, or waiting with a link about to expire."""
    from signatures.models import SigningRequest
    from signatures.subjects import amsterdam_date

    tables = {t.id: t for t in _tables(session, user, access.RESIDENT_DATA)}
    if not tables:
        return []
    rows = session.execute(
        select(Consent, Case.reference, Case.table_id).join(Case, Case.id == Consent.case_id)
        .where(Case.table_id.in_(tables), Consent.erased_on.is_(None), Consent.signed_on.is_(None),
               Consent.withdrawn_on.is_(None), Case.closed_on.is_(None))
        .order_by(Consent.id)).all()
    open_requests: dict[int, dt.datetime] = {}
    for subject_id, expires_at in session.execute(
            select(SigningRequest.subject_id, func.min(SigningRequest.expires_at))
            .where(SigningRequest.subject_kind == "consent", SigningRequest.status.in_(("pending", "opened")))
            .group_by(SigningRequest.subject_id)).all():
        open_requests[subject_id] = expires_at
    pending, declined, expiring = [], [], []
    for consent, reference, table_id in rows:
        table_name = tables[table_id].name
        label = _("Casus %(case)s", case=reference)
        url = links.consent(consent.id)
        if consent.declined_on is not None:
            if consent.declined_on >= on - dt.timedelta(days=DECLINED_DAYS):
                declined.append(Item(label, url, table_name, on=consent.declined_on, group=table_name))
            continue
        if consent.id not in open_requests:
            continue
        expires = amsterdam_date(open_requests[consent.id])
        pending.append(Item(label, url, table_name, on=expires, group=table_name))
        if expires <= on + dt.timedelta(days=EXPIRING_DAYS):
            expiring.append(Item(label, url, _("%(table)s: de link verloopt", table=table_name), on=expires, group=table_name))
    return [_line("consents_pending", pending, chart=True), _line("consents_declined", declined, chart=True),
            _line("consents_expiring", expiring)]


def _notices_ending(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Partnerships of the user's covenants whose notice ends within :data:`HORIZON_MONTHS`."""
    covenants = {c.id: c for c in _covenants(session, user, access.READ)}
    if not covenants:
        return []
    until = rules.add_months(on, HORIZON_MONTHS)
    rows = session.scalars(select(Partnership).where(
        Partnership.covenant_id.in_(covenants), Partnership.ends_on.is_not(None), Partnership.ends_on > on,
        Partnership.ends_on <= until, Partnership.ended_immediately_on.is_(None), Partnership.excluded_on.is_(None))
        .order_by(Partnership.ends_on, Partnership.id)).all()
    items = [Item(p.organisation.name, links.covenant(p.covenant_id), covenants[p.covenant_id].title, on=p.ends_on)
             for p in rows]
    return [_line("notices_ending", items)]


def _employments_ending(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """People at the user's tables (a Bijlage 1 not revoked, or a table role) whose last
    working day falls within :data:`HORIZON_MONTHS`."""
    tables = _tables(session, user, access.READ)
    if not tables:
        return []
    table_ids = [t.id for t in tables]
    ids = set(session.scalars(select(Declaration.person_id).where(
        Declaration.table_id.in_(table_ids), Declaration.kind == rules.STRUCTURAL, Declaration.revoked_on.is_(None))))
    ids |= {pid for t in tables for pid in (t.chair_id, t.coordinator_id) if pid}
    ids |= set(session.scalars(select(TableRoleHolder.person_id).where(TableRoleHolder.table_id.in_(table_ids))))
    if not ids:
        return []
    until = rules.add_months(on, HORIZON_MONTHS)
    people = session.scalars(select(Person).where(
        Person.id.in_(ids), Person.employed_until.is_not(None), Person.employed_until >= on,
        Person.employed_until <= until).order_by(Person.employed_until, Person.name)).all()
    items = [Item(p.name, links.person(p.id), p.organisation.name, on=p.employed_until) for p in people]
    return [_line("employments_ending", items)]


def _cases_overdue(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Active cases the user may see whose current phase's term passed, per table."""
    from registry import cases

    items = []
    for table in _tables(session, user, access.CASES):
        pack = cases.pack_of_table(table)
        for case in session.scalars(select(Case).where(Case.table_id == table.id, Case.closed_on.is_(None),
                                                       Case.retention_stage == "active").order_by(Case.id)):
            passed = [d for d in cases.due_dates(case, on, pack) if d.passed]
            if passed and access.may_see_case(session, user, case):
                first = min(passed, key=lambda d: d.date)
                items.append(Item(_("Casus %(case)s", case=case.reference), links.case(case.id), f"{table.name}: {first.label}",
                                  on=first.date, group=table.name))
    items.sort(key=lambda i: (i.on or on, i.label))
    return [_line("cases_overdue", items, chart=True)]


def _evaluation_due(session: Session, user: User, links: Links, on: dt.date) -> list[Line]:
    """Covenants the user coordinates whose annual evaluation is due."""
    covenants = [c for c in _covenants(session, user, access.MANAGE_COVENANT) if c.status == "in_force"]
    last = evaluations.last_held(session, [c.id for c in covenants])
    items = []
    for covenant in covenants:
        due = evaluations.next_due(covenant, last.get(covenant.id))
        if due is not None and due <= on:
            detail = (_("laatste evaluatie %(day)s", day=long_date(last[covenant.id])) if covenant.id in last
                      else _("nog nooit geëvalueerd"))
            items.append(Item(covenant.title, links.covenant(covenant.id) + "#evaluatie", detail, on=due))
    return [_line("evaluation_due", items)]
