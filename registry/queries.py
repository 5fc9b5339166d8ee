"""Registry questions, each as of a date: ``check``, ``entitled`` and ``tables_for``.

They load the few rows a question needs (by indexed keys), turn them into plain facts
and let :mod:`registry.rules` decide. Nothing is cached, so an answer always reflects
the latest committed writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import rules
from registry.errors import NotFound
from registry.models import Case, CaseTable, Covenant, Declaration, Organisation, Partnership, Person


@dataclass(frozen=True)
class OrganisationEntitlement:
    """A partner organisation entitled on the date, with its reasons."""

    id: int
    name: str
    reasons: tuple[rules.Reason, ...]
    warnings: tuple[rules.Reason, ...] = ()


@dataclass(frozen=True)
class PersonEntitlement:
    """A person entitled on the date, with basis (structural/incidental) and reasons."""

    id: int
    name: str
    organisation_id: int
    organisation_name: str
    basis: str
    reasons: tuple[rules.Reason, ...]
    warnings: tuple[rules.Reason, ...] = ()


@dataclass(frozen=True)
class Entitlement:
    """Who may join a table on a date (for a case): organisations and people."""

    table_id: int
    on: dt.date
    case: str | None
    organisations: tuple[OrganisationEntitlement, ...]
    people: tuple[PersonEntitlement, ...]


# ----------------------------------------------------------------------------- fact loading


def covenant_facts(covenant: Covenant, terms: tuple[int, int] = (3, 1)) -> rules.CovenantFacts:
    """The rules' view of a covenant (term lengths come from its template pack)."""
    return rules.CovenantFacts(
        id=covenant.id,
        title=covenant.title,
        in_force_on=covenant.in_force_on,
        ended_on=covenant.ended_on,
        initial_years=terms[0],
        renewal_years=terms[1],
    )


def partnership_facts(partnership: Partnership, organisation_name: str) -> rules.PartnershipFacts:
    """The rules' view of a partnership row."""
    return rules.PartnershipFacts(
        organisation_id=partnership.organisation_id,
        organisation_name=organisation_name,
        signed_on=partnership.signed_on,
        founding=partnership.founding,
        notice_given_on=partnership.notice_given_on,
        ends_on=partnership.ends_on,
        ended_immediately_on=partnership.ended_immediately_on,
        excluded_on=partnership.excluded_on,
        exclusion_reason=partnership.exclusion_reason,
    )


def person_facts(person: Person, organisation_name: str) -> rules.PersonFacts:
    """The rules' view of a person."""
    return rules.PersonFacts(
        id=person.id,
        name=person.name,
        organisation_id=person.organisation_id,
        organisation_name=organisation_name,
        employed_from=person.employed_from,
        employed_until=person.employed_until,
    )


def declaration_facts(declaration: Declaration, table_name: str) -> rules.DeclarationFacts:
    """The rules' view of a declaration."""
    return rules.DeclarationFacts(
        id=declaration.id,
        kind=declaration.kind,
        table_id=declaration.table_id,
        table_name=table_name,
        signed_on=declaration.signed_on,
        case_ref=declaration.case_ref,
        revoked_on=declaration.revoked_on,
    )


def case_facts(session: Session, table_id: int, case_ref: str | None) -> rules.CaseFacts | None:
    """The case on this table with this reference, if the registry knows it."""
    if not case_ref:
        return None
    case = session.scalar(select(Case).where(Case.table_id == table_id, Case.reference == case_ref))
    if case is None:
        return None
    return rules.CaseFacts(reference=case.reference, opened_on=case.opened_on, closed_on=case.closed_on)


def _table_and_covenant(session: Session, table_id: int) -> tuple[CaseTable, Covenant]:
    """Load a table with its covenant or raise NotFound naming ``table``."""
    row = session.execute(
        select(CaseTable, Covenant).join(Covenant, Covenant.id == CaseTable.covenant_id).where(CaseTable.id == table_id)
    ).first()
    if row is None:
        raise NotFound(f"Casustafel {table_id} bestaat niet.", {"table": "Bestaat niet."})
    return row[0], row[1]


def _person_declarations(session: Session, person_id: int) -> list[rules.DeclarationFacts]:
    """All declarations a person ever signed or was asked to sign, with table names."""
    rows = session.execute(
        select(Declaration, CaseTable.name)
        .join(CaseTable, CaseTable.id == Declaration.table_id)
        .where(Declaration.person_id == person_id)
    ).all()
    return [declaration_facts(d, name) for d, name in rows]


# ----------------------------------------------------------------------------- questions


def check(
    session: Session,
    person_id: int,
    table_id: int,
    on: dt.date,
    case_ref: str | None = None,
    terms: tuple[int, int] = (3, 1),
) -> rules.Decision:
    """May this person join this table on ``on`` (for ``case_ref``)? With every reason."""
    table, covenant = _table_and_covenant(session, table_id)
    row = session.execute(
        select(Person, Organisation.name).join(Organisation).where(Person.id == person_id)
    ).first()
    if row is None:
        raise NotFound(f"Persoon {person_id} bestaat niet.", {"person": "Bestaat niet."})
    person, organisation_name = row
    partnership = session.scalar(
        select(Partnership).where(
            Partnership.covenant_id == covenant.id, Partnership.organisation_id == person.organisation_id
        )
    )
    return rules.person_decision(
        person_facts(person, organisation_name),
        rules.TableFacts(table.id, table.name),
        covenant_facts(covenant, terms),
        partnership_facts(partnership, organisation_name) if partnership else None,
        _person_declarations(session, person.id),
        on,
        case_ref,
        case_facts(session, table.id, case_ref),
    )


def organisation_decisions(
    session: Session, covenant: Covenant, on: dt.date, terms: tuple[int, int] = (3, 1)
) -> list[tuple[Partnership, str, rules.Decision]]:
    """Every listed partner of a covenant with its decision on ``on``."""
    facts = covenant_facts(covenant, terms)
    rows = session.execute(
        select(Partnership, Organisation.name)
        .join(Organisation, Organisation.id == Partnership.organisation_id)
        .where(Partnership.covenant_id == covenant.id)
        .order_by(Organisation.name)
    ).all()
    return [(p, name, rules.organisation_decision(facts, partnership_facts(p, name), on)) for p, name in rows]


def entitled(
    session: Session,
    table_id: int,
    on: dt.date,
    case_ref: str | None = None,
    terms: tuple[int, int] = (3, 1),
) -> Entitlement:
    """Which organisations and which people may join this table on ``on`` (for a case)."""
    table, covenant = _table_and_covenant(session, table_id)
    covenant_f = covenant_facts(covenant, terms)
    table_f = rules.TableFacts(table.id, table.name)
    org_rows = organisation_decisions(session, covenant, on, terms)
    organisations = tuple(
        OrganisationEntitlement(p.organisation_id, name, d.reasons, d.warnings) for p, name, d in org_rows if d.allowed
    )
    partnerships = {p.organisation_id: partnership_facts(p, name) for p, name, _ in org_rows}
    case = case_facts(session, table.id, case_ref)
    people = []
    for person, organisation_name, declarations in _declarants(session, table.id, table.name):
        decision = rules.person_decision(
            person_facts(person, organisation_name),
            table_f,
            covenant_f,
            partnerships.get(person.organisation_id),
            declarations,
            on,
            case_ref,
            case,
        )
        if decision.allowed:
            people.append(
                PersonEntitlement(
                    person.id, person.name, person.organisation_id, organisation_name,
                    decision.basis, decision.reasons, decision.warnings,
                )
            )
    return Entitlement(table.id, on, case_ref, organisations, tuple(sorted(people, key=lambda p: (p.name, p.id))))


def _declarants(session: Session, table_id: int, table_name: str):
    """People with any declaration for this table, each with their declarations here.

    Declarations for other tables do not matter for an entitlement here, so only this
    table's rows are loaded (one indexed query).
    """
    rows = session.execute(
        select(Declaration, Person, Organisation.name)
        .join(Person, Person.id == Declaration.person_id)
        .join(Organisation, Organisation.id == Person.organisation_id)
        .where(Declaration.table_id == table_id)
        .order_by(Person.id, Declaration.id)
    ).all()
    grouped: dict[int, tuple[Person, str, list[rules.DeclarationFacts]]] = {}
    for declaration, person, organisation_name in rows:
        entry = grouped.setdefault(person.id, (person, organisation_name, []))
        entry[2].append(declaration_facts(declaration, table_name))
    return list(grouped.values())


def tables_for(session: Session, person_id: int, on: dt.date) -> list[tuple[CaseTable, rules.Decision]]:
    """The tables a person may join structurally on ``on`` (each with its decision),
    plus tables where they hold a Bijlage 2 for a case, checked for that case."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"Persoon {person_id} bestaat niet.", {"person": "Bestaat niet."})
    declarations = session.scalars(select(Declaration).where(Declaration.person_id == person_id)).all()
    results = []
    seen: set[tuple[int, str | None]] = set()
    for declaration in sorted(declarations, key=lambda d: (d.table_id, d.kind, d.case_ref or "")):
        key = (declaration.table_id, declaration.case_ref if declaration.kind == rules.INCIDENTAL else None)
        if key in seen:
            continue
        seen.add(key)
        decision = check(session, person_id, declaration.table_id, on, key[1])
        if decision.allowed:
            results.append((session.get(CaseTable, declaration.table_id), decision, key[1]))
    return results
