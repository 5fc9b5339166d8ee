"""Registry questions, each as of a date: ``check``, ``entitled`` and ``tables_for``.

They load the few rows a question needs (by indexed keys), turn them into plain facts
and let :mod:`registry.rules` decide. No row is cached, so an answer always reflects
the latest committed writes; the covenant's term and annex numbers come from its
template pack (``covenant.pack``), read once per manifest version
(:func:`registry.packs.cached_pack`).
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.pool import QueuePool

from registry import packs, rules
from registry.errors import NotFound
from registry.models import Case, CaseTable, Covenant, Declaration, Organisation, Partnership, Person
from registry.texts import _


class OrganisationEntitlement(NamedTuple):
    """A partner organisation entitled on the date, with its reasons."""

    id: int
    name: str
    reasons: tuple[rules.Reason, ...]
    warnings: tuple[rules.Reason, ...] = ()


class PersonEntitlement(NamedTuple):
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


def pack_facts(pack_name: str | None) -> dict:
    """What the rules take from a covenant's template pack: its term (initial years,
    renewal years, fixed last day) and the printed numbers of its declarations and consent
    form. A covenant whose pack is missing gets the defaults (3 years, renewed by 1,
    Bijlage 1/2/4)."""
    return _facts_of_pack(packs.cached_pack(pack_name))


def _facts_of_pack(pack) -> dict:
    """:func:`pack_facts` of a loaded pack (None: the defaults)."""
    term = pack.term if pack is not None else packs.DEFAULT_TERM
    return {
        "initial_years": term.initial_years,
        "renewal_years": term.renewal_years,
        "ends_on": term.ends_on,
        "structural_annex": packs.annex_number(pack, "structural_declaration"),
        "incidental_annex": packs.annex_number(pack, "incidental_declaration"),
        "consent_annex": packs.annex_number(pack, "consent"),
    }


def covenant_facts(covenant: Covenant) -> rules.CovenantFacts:
    """The rules' view of a covenant (term and annex numbers come from its template pack)."""
    return _covenant_facts(covenant.id, covenant.title, covenant.in_force_on, covenant.ended_on, covenant.pack)


_COVENANT_FACTS: dict[tuple, tuple[object, rules.CovenantFacts]] = {}
_COVENANT_FACTS_MAX = 4096


def _covenant_facts(id_: int, title: str, in_force_on, ended_on, pack_name: str | None) -> rules.CovenantFacts:
    """CovenantFacts from the covenant's columns and its pack.

    Remembered by every column it is made of, as the driver gave it (SQLite's dates are
    ISO text until the facts are made), and by the pack object itself, which
    :func:`registry.packs.cached_pack` replaces when the manifest changes (its ``stat``
    still runs on every call): a changed covenant row or an edited pack makes new facts,
    so nothing here can be stale; it spares each check reading the pack's annexes again."""
    pack = packs.cached_pack(pack_name)
    key = (id_, title, in_force_on, ended_on, pack_name)
    hit = _COVENANT_FACTS.get(key)
    if hit is not None and hit[0] is pack:
        return hit[1]
    facts = rules.CovenantFacts(id_, title, _as_date(in_force_on), _as_date(ended_on), **_facts_of_pack(pack))
    if len(_COVENANT_FACTS) >= _COVENANT_FACTS_MAX:
        _COVENANT_FACTS.clear()
    _COVENANT_FACTS[key] = (pack, facts)
    return facts


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
        select(CaseTable, Covenant)
        .join(Covenant, Covenant.id == CaseTable.covenant_id)
        .where(CaseTable.id == table_id)
        .execution_options(populate_existing=True)  # never an object kept from an earlier transaction
    ).first()
    if row is None:
        raise NotFound(_('Casustafel %(table_id)s bestaat niet.', table_id=table_id), {"table": _("Bestaat niet.")})
    return row[0], row[1]


# The statements below are built once, with bound parameters: building a SELECT costs
# more than running it on an indexed key, and SQLAlchemy caches the compiled form.

_PERSON_COLUMNS = (
    Person.id, Person.name, Person.organisation_id, Organisation.name,
    Person.employed_from, Person.employed_until,
)
_PARTNERSHIP_COLUMNS = (
    Partnership.id, Partnership.signed_on, Partnership.founding, Partnership.notice_given_on,
    Partnership.ends_on, Partnership.ended_immediately_on, Partnership.excluded_on, Partnership.exclusion_reason,
)
_PERSON_IDS = bindparam("person_ids", expanding=True)

# One round trip for everything a check needs but the case: the table, its covenant,
# each person, their organisation's partnership in it and every declaration they hold
# (one row per declaration; a person without any still gets one row). On PostgreSQL a
# round trip is the unit of cost, so the shape matters more than the row count.
_DECLARATION_TABLE = aliased(CaseTable)


def _table_people_and_declarations(person_match):
    """The statement above for the people ``person_match`` selects."""
    return (
        select(
            CaseTable.id, CaseTable.name, Covenant.id, Covenant.title, Covenant.in_force_on, Covenant.ended_on,
            *_PERSON_COLUMNS, *_PARTNERSHIP_COLUMNS,
            Declaration.id, Declaration.kind, Declaration.table_id, _DECLARATION_TABLE.name,
            Declaration.signed_on, Declaration.case_ref, Declaration.revoked_on,
            Covenant.pack,  # last, so the slices below stay put
        )
        .select_from(CaseTable)
        .join(Covenant, Covenant.id == CaseTable.covenant_id)
        .join(Person, person_match)
        .join(Organisation, Organisation.id == Person.organisation_id)
        .outerjoin(
            Partnership,
            and_(Partnership.organisation_id == Person.organisation_id, Partnership.covenant_id == CaseTable.covenant_id),
        )
        .outerjoin(Declaration, Declaration.person_id == Person.id)
        .outerjoin(_DECLARATION_TABLE, _DECLARATION_TABLE.id == Declaration.table_id)
        .where(CaseTable.id == bindparam("table_id"))
        .order_by(Person.id, Declaration.id)
    )


_TABLE_PEOPLE_AND_DECLARATIONS = _table_people_and_declarations(Person.id.in_(_PERSON_IDS))
_PERSON_SLICE = slice(6, 20)  # person and partnership columns of a row above
_DECLARATION_SLICE = slice(20, 27)
_PACK = 27

CHECK_STATEMENT = (
    _table_people_and_declarations(Person.id == bindparam("person_id"))
    .add_columns(Case.reference, Case.opened_on, Case.closed_on)
    .outerjoin(Case, and_(Case.table_id == CaseTable.id, Case.reference == bindparam("case_ref")))
)
"""The one statement of :func:`check`: the above for one person (``=``, not an expanding
IN, so its SQL is fixed) with the one case the check names last (None when the registry
does not know the reference). :func:`check` runs it compiled once per dialect on the
session's own driver connection (:func:`driver_sql`), so the answer costs the statement
and little more."""

_DRIVER_SQL: dict[tuple[int, str], tuple[str, tuple[str, ...] | None, dict]] = {}


def driver_sql(statement, dialect) -> tuple[str, tuple[str, ...] | None, dict]:
    """One of this module's prebuilt statements as the driver's SQL for ``dialect``, the
    parameter names in order for a positional driver (None: the driver takes a dict), and
    the values the statement itself binds (its constants, such as a declaration kind).
    Compiled once per statement and dialect: the statements are module constants."""
    key = (id(statement), dialect.name)
    hit = _DRIVER_SQL.get(key)
    if hit is None:
        compiled = statement.compile(dialect=dialect)
        constants = {name: value for name, value in compiled.params.items() if value is not None}
        hit = (compiled.string, tuple(compiled.positiontup) if compiled.positional else None, constants)
        _DRIVER_SQL[key] = hit
    return hit


_CASES = select(Case.reference, Case.opened_on, Case.closed_on).where(
    Case.table_id == bindparam("table_id"), Case.reference.in_(bindparam("references", expanding=True))
)


def _person_row(row) -> tuple[rules.PersonFacts, rules.PartnershipFacts | None]:
    """Person columns then partnership columns (all None without a partnership) as facts."""
    pid, name, org_id, org_name, employed_from, employed_until = row[:6]
    person = rules.PersonFacts(pid, name, org_id, org_name, employed_from, employed_until)
    partnership = rules.PartnershipFacts(org_id, org_name, *row[7:]) if row[6] is not None else None
    return person, partnership


def cases_by_reference(session: Session, table_id: int, references: list[str]) -> dict[str, rules.CaseFacts]:
    """The known cases of a table by reference (unknown references are simply absent)."""
    references = list(dict.fromkeys(references))
    if not references:
        return {}
    rows = session.connection().execute(_CASES, {"table_id": table_id, "references": references})
    return {ref: rules.CaseFacts(ref, opened, closed) for ref, opened, closed in rows}


# ----------------------------------------------------------------------------- questions


def people_at_table(
    session: Session, table_id: int, person_ids: list[int]
) -> tuple[rules.TableFacts, rules.CovenantFacts, dict, dict[int, list[rules.DeclarationFacts]]]:
    """The table and covenant facts, each known person with their partnership, and every
    declaration of theirs, in one query. Unknown person ids are simply absent; an unknown
    table raises NotFound."""
    rows = session.connection().execute(
        _TABLE_PEOPLE_AND_DECLARATIONS, {"table_id": table_id, "person_ids": list(person_ids)}
    ).all()
    return _facts_of_rows(session, table_id, rows)


def _facts_of_rows(session: Session, table_id: int, rows):
    """:func:`people_at_table`'s answer from the rows of its statement."""
    if not rows:  # no known person (or no table): the table's own facts, or NotFound
        table, covenant = _table_and_covenant(session, table_id)
        return rules.TableFacts(table.id, table.name), covenant_facts(covenant), {}, {}
    people: dict[int, tuple[rules.PersonFacts, rules.PartnershipFacts | None]] = {}
    declarations: dict[int, list[rules.DeclarationFacts]] = {}
    for row in rows:
        pid = row[6]
        if pid not in people:
            people[pid] = _person_row(row[_PERSON_SLICE])
            declarations[pid] = []
        if row[20] is not None:
            declarations[pid].append(rules.DeclarationFacts(*row[_DECLARATION_SLICE]))
    table_f = rules.TableFacts(rows[0][0], rows[0][1])
    covenant_f = _covenant_facts(*rows[0][2:6], rows[0][_PACK])
    return table_f, covenant_f, people, declarations


def check(
    session: Session,
    person_id: int,
    table_id: int,
    on: dt.date,
    case_ref: str | None = None,
) -> rules.Decision:
    """May this person join this table on ``on`` (for ``case_ref``)? With every reason.

    One statement, case included (:data:`CHECK_STATEMENT`), in the session's transaction
    when it has one, so it sees what the request wrote; a session that has not begun one
    asks outside any transaction instead: on PostgreSQL a pooled connection in autocommit
    mode (one round trip: no BEGIN, no ROLLBACK), on a SQLite file the thread's own reader
    (:class:`_SqliteReaders`). The answer is the same as :func:`check_many` for the one pair."""
    rows = _check_rows(session, {"table_id": table_id, "person_id": person_id, "case_ref": case_ref})
    if not rows:  # no such table (NotFound naming it) or no such person
        _table_and_covenant(session, table_id)
        raise NotFound(_("Persoon %(id)s bestaat niet.", id=person_id), {"person": _("Bestaat niet.")})
    return _decision_of_check_rows(rows, on, case_ref)


def _check_rows(session: Session, params: dict) -> list[tuple]:
    """The rows of :data:`CHECK_STATEMENT` as the driver returns them."""
    if session.in_transaction():
        return _session_rows(session, CHECK_STATEMENT, params)
    engine = session.bind or session.get_bind()
    if engine.dialect.name == "sqlite" and isinstance(getattr(engine, "pool", None), QueuePool):
        return _sqlite_rows(engine, params)
    for attempt in (1, 2):  # a connection the server dropped is replaced once (there is no pre-ping)
        pooled = engine.raw_connection()
        dbapi = pooled.dbapi_connection
        autocommit = engine.dialect.name == "postgresql"  # SQLite's driver begins nothing for a SELECT
        try:
            if autocommit:
                dbapi.autocommit = True
            return _driver_rows(engine.dialect, dbapi, params)
        except DBAPIError as exc:
            if attempt == 2 or not exc.connection_invalidated:
                raise
            pooled.invalidate(exc)
        finally:
            if autocommit and pooled.dbapi_connection is not None:
                dbapi.autocommit = False
            pooled.close()
    raise AssertionError("unreachable")


class _SqliteReaders(threading.local):
    """Each thread's own connection per SQLite database file, for checks outside a
    transaction: SQLite's driver begins nothing for a SELECT, so each check is its own
    read of the latest committed data, and it spares the pool's checkout and return
    (reset included), which cost a third of a check. Made by the engine (its pragmas
    run), then detached from its pool; closed when the thread or the engine is gone."""

    def __init__(self) -> None:
        self.by_engine: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


_SQLITE_READERS = _SqliteReaders()


def _sqlite_rows(engine, params: dict) -> list[tuple]:
    """:data:`CHECK_STATEMENT`'s rows on this thread's reader of ``engine`` (a file
    database: its pool is a QueuePool); a reader that failed is dropped, not reused."""
    readers = _SQLITE_READERS.by_engine
    dbapi = readers.get(engine)
    if dbapi is None:
        pooled = engine.raw_connection()
        dbapi = pooled.dbapi_connection
        pooled.detach()
        readers[engine] = dbapi
    try:
        return _driver_rows(engine.dialect, dbapi, params)
    except DBAPIError:
        readers.pop(engine, None)
        dbapi.close()
        raise


def _driver_rows(dialect, dbapi, params: dict, connection=None, statement=CHECK_STATEMENT) -> list[tuple]:
    """Run ``statement`` (default :data:`CHECK_STATEMENT`) on a driver connection and
    fetch its rows as the driver gives them (SQLite's dates as ISO text), errors wrapped
    as SQLAlchemy's (a lost connection marked ``connection_invalidated``, and
    invalidated when it belongs to ``connection``). A positional driver is SQLite's,
    which gets a date parameter as the ISO text SQLAlchemy stores (psycopg takes dates)."""
    sql, names, constants = driver_sql(statement, dialect)
    if constants:
        params = {**constants, **params}
    cursor = None
    try:
        cursor = dbapi.cursor()
        cursor.execute(sql, [_sqlite_value(params[name]) for name in names] if names is not None else params)
        return cursor.fetchall()
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi, cursor)
        if lost and connection is not None:
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect) from exc
    finally:
        if cursor is not None:
            cursor.close()


def _session_rows(session: Session, statement, params: dict) -> list[tuple]:
    """``statement``'s driver rows in the session's transaction (it sees what the request
    wrote): the rows of a question with hundreds of them, without SQLAlchemy's per-row
    processing."""
    connection = session.connection()
    return _driver_rows(connection.dialect, connection.connection.dbapi_connection, params, connection, statement)


def _sqlite_value(value):
    """A parameter as SQLite's driver gets it from SQLAlchemy: a date as ISO text."""
    return value.isoformat() if value.__class__ is dt.date else value


def _as_date(value, _fromisoformat=dt.date.fromisoformat) -> dt.date | None:
    """A DATE column as the driver gives it: a date (psycopg) or SQLite's ISO text."""
    return _fromisoformat(value) if value.__class__ is str else value


def _partnership_facts(organisation_id: int, organisation_name: str, columns) -> rules.PartnershipFacts:
    """PartnershipFacts from the driver's values of ``_PARTNERSHIP_COLUMNS[1:]`` (signed
    on, founding, notice, end, immediate end, exclusion and its reason)."""
    signed_on, founding, notice_given_on, ends_on, ended_immediately_on, excluded_on, reason = columns
    return rules.PartnershipFacts(organisation_id, organisation_name, _as_date(signed_on), bool(founding),
                                  _as_date(notice_given_on), _as_date(ends_on), _as_date(ended_immediately_on),
                                  _as_date(excluded_on), reason)


def _decision_of_check_rows(rows: list[tuple], on: dt.date, case_ref: str | None) -> rules.Decision:
    """:func:`check`'s decision from the driver rows of :data:`CHECK_STATEMENT` (one
    person; one row per declaration, declaration columns None without any). Mapped by
    hand: the columns are fixed, and this is most of what a check costs in Python."""
    first = rows[0]
    table = rules.TableFacts(first[0], first[1])
    covenant = _covenant_facts(first[2], first[3], first[4], first[5], first[_PACK])
    person = rules.PersonFacts(first[6], first[7], first[8], first[9], _as_date(first[10]), _as_date(first[11]))
    partnership = _partnership_facts(first[8], first[9], first[13:20]) if first[12] is not None else None
    # The rules read a person's declarations at this table, and of those elsewhere only the
    # first of each kind (its table's name in "signed for another table"): the others are
    # not turned into facts, which is most of the mapping for someone at many tables.
    declarations = []
    elsewhere: set[str] = set()
    for row in rows:
        if row[20] is None:
            continue
        if row[22] != table.id:
            if row[21] in elsewhere:
                continue
            elsewhere.add(row[21])
        declarations.append(
            rules.DeclarationFacts(row[20], row[21], row[22], row[23], _as_date(row[24]), row[25], _as_date(row[26]))
        )
    case = None
    if case_ref and first[_PACK + 1] is not None:
        case = rules.CaseFacts(first[_PACK + 1], _as_date(first[_PACK + 2]), _as_date(first[_PACK + 3]))
    return rules.person_decision(person, table, covenant, partnership, declarations, on, case_ref, case)


def check_many(
    session: Session,
    table_id: int,
    on: dt.date,
    checks: list[tuple[int, str | None]],
    fields: tuple[str, ...] | None = None,
) -> list[rules.Decision]:
    """``check`` for many (person, case) pairs at one table, in the order asked.

    The facts are loaded in one set-based query (two when cases are named) whatever the
    number of pairs, so a batch of hundreds costs little more than one. An unknown person raises NotFound
    naming ``fields[i]`` (default ``checks[i].person_id``).
    """
    person_ids = list(dict.fromkeys(pid for pid, _ in checks))
    table_f, covenant_f, people, declarations = people_at_table(session, table_id, person_ids)
    for i, (pid, _ref) in enumerate(checks):
        if pid not in people:
            field = fields[i] if fields else f"checks[{i}].person_id"
            raise NotFound(_('Persoon %(pid)s bestaat niet.', pid=pid), {field: _("Bestaat niet.")})
    cases = cases_by_reference(session, table_id, [ref for _, ref in checks if ref])
    return [
        rules.person_decision(
            people[pid][0], table_f, covenant_f, people[pid][1], declarations.get(pid, []),
            on, ref, cases.get(ref) if ref else None,
        )
        for pid, ref in checks
    ]


def organisation_decisions(
    session: Session, covenant: Covenant, on: dt.date
) -> list[tuple[Partnership, str, rules.Decision]]:
    """Every listed partner of a covenant with its decision on ``on``."""
    facts = covenant_facts(covenant)
    rows = session.execute(
        select(Partnership, Organisation.name)
        .join(Organisation, Organisation.id == Partnership.organisation_id)
        .where(Partnership.covenant_id == covenant.id)
        .order_by(Organisation.name)
    ).all()
    return [(p, name, rules.organisation_decision(facts, partnership_facts(p, name), on)) for p, name in rows]


def partner_statuses(
    session: Session, covenant: Covenant, on: dt.date
) -> list[tuple[Partnership, str, rules.PartnerStatus]]:
    """Every listed organisation of a covenant with its status on ``on``
    (:func:`registry.rules.partner_status`), ordered by organisation name."""
    facts = covenant_facts(covenant)
    rows = session.execute(
        select(Partnership, Organisation.name)
        .join(Organisation, Organisation.id == Partnership.organisation_id)
        .where(Partnership.covenant_id == covenant.id)
        .order_by(Organisation.name, Partnership.id)
    ).all()
    return [(p, name, rules.partner_status(facts, partnership_facts(p, name), on)) for p, name in rows]


def covenant_in_force(covenant: Covenant, on: dt.date) -> bool:
    """Is the covenant itself in force on ``on`` (its term from its pack)?"""
    return rules.covenant_reason(covenant_facts(covenant), on)[0]


def entitled(
    session: Session,
    table_id: int,
    on: dt.date,
    case_ref: str | None = None,
) -> Entitlement:
    """Which organisations and which people may join this table on ``on`` (for a case).

    Two statements whatever the size of the table (:data:`_ENTITLED_TABLE`: the table,
    its covenant, the case and every partnership; :data:`_DECLARANTS`: the people with a
    usable declaration), both built once; every decision is :mod:`registry.rules`'."""
    table_f, covenant_f, case, partnerships = _entitled_table(session, table_id, case_ref or None)
    organisations = []
    for facts in partnerships.values():
        decision = rules.organisation_decision(covenant_f, facts, on)
        if decision.allowed:
            organisations.append(OrganisationEntitlement(facts.organisation_id, facts.organisation_name, decision.reasons, decision.warnings))
    people = []
    for person, declarations in _declarants(session, table_f, on, case_ref):
        decision = rules.person_decision(
            person, table_f, covenant_f, partnerships.get(person.organisation_id), declarations, on, case_ref, case
        )
        if decision.allowed:
            people.append(
                PersonEntitlement(
                    person.id, person.name, person.organisation_id, person.organisation_name,
                    decision.basis, decision.reasons, decision.warnings,
                )
            )
    return Entitlement(table_f.id, on, case_ref, tuple(organisations), tuple(sorted(people, key=lambda p: (p.name, p.id))))


# entitled's first statement: the table, its covenant, the case it names (columns None
# when there is none or the registry does not know it) and one row per partnership of
# the covenant, by organisation name (one row of None partnership columns without any).
_ENTITLED_TABLE = (
    select(
        CaseTable.id, CaseTable.name, Covenant.id, Covenant.title, Covenant.in_force_on, Covenant.ended_on,
        Covenant.pack, Case.reference, Case.opened_on, Case.closed_on,
        Partnership.organisation_id, Organisation.name, *_PARTNERSHIP_COLUMNS[1:],
    )
    .select_from(CaseTable)
    .join(Covenant, Covenant.id == CaseTable.covenant_id)
    .outerjoin(Case, and_(Case.table_id == CaseTable.id, Case.reference == bindparam("case_ref")))
    .outerjoin(Partnership, Partnership.covenant_id == Covenant.id)
    .outerjoin(Organisation, Organisation.id == Partnership.organisation_id)
    .where(CaseTable.id == bindparam("table_id"))
    .order_by(Organisation.name)
)


def _entitled_table(session: Session, table_id: int, case_ref: str | None):
    """Table, covenant and case facts and every partnership of the covenant as facts by
    organisation (ordered by organisation name), in one statement; NotFound names ``table``."""
    rows = _session_rows(session, _ENTITLED_TABLE, {"table_id": table_id, "case_ref": case_ref})
    if not rows:
        raise NotFound(_('Casustafel %(table_id)s bestaat niet.', table_id=table_id), {"table": _("Bestaat niet.")})
    first = rows[0]
    table_f = rules.TableFacts(first[0], first[1])
    covenant_f = _covenant_facts(*first[2:7])
    case = rules.CaseFacts(first[7], _as_date(first[8]), _as_date(first[9])) if first[7] is not None else None
    partnerships = {row[10]: _partnership_facts(row[10], row[11], row[12:19]) for row in rows if row[10] is not None}
    return table_f, covenant_f, case, partnerships


def _declarants_statement(with_case: bool):
    """People who hold a declaration for the table that is valid on ``on``, with those
    declarations: a Bijlage 1, or (``with_case``) a Bijlage 2 for ``case_ref`` too. The
    index ``ix_declaration_usable`` holds every column read from ``declaration``."""
    usable = Declaration.kind == rules.STRUCTURAL
    if with_case:
        usable = or_(usable, and_(Declaration.kind == rules.INCIDENTAL, Declaration.case_ref == bindparam("case_ref")))
    return (
        select(
            *_PERSON_COLUMNS,
            Declaration.id, Declaration.kind, Declaration.signed_on, Declaration.case_ref, Declaration.revoked_on,
        )
        .join(Person, Person.id == Declaration.person_id)
        .join(Organisation, Organisation.id == Person.organisation_id)
        .where(
            Declaration.table_id == bindparam("table_id"),
            usable,
            Declaration.signed_on <= bindparam("on"),
            or_(Declaration.revoked_on.is_(None), Declaration.revoked_on > bindparam("on")),
        )
        .order_by(Person.id, Declaration.id)
    )


_DECLARANTS = {False: _declarants_statement(False), True: _declarants_statement(True)}


def _declarants(session: Session, table: rules.TableFacts, on: dt.date, case_ref: str | None):
    """People who hold a declaration for this table that is valid on ``on``, with those declarations.

    Only a valid Bijlage 1 (or a valid Bijlage 2 for ``case_ref``) can make someone
    entitled, and the rules cite exactly such a declaration, so the database filters the
    rest out: a table with years of history still answers from the few rows that count.
    """
    rows = _session_rows(session, _DECLARANTS[bool(case_ref)], {"table_id": table.id, "on": on, "case_ref": case_ref})
    grouped: dict[int, tuple[rules.PersonFacts, list[rules.DeclarationFacts]]] = {}
    for row in rows:
        pid = row[0]
        if pid not in grouped:
            grouped[pid] = (rules.PersonFacts(pid, row[1], row[2], row[3], _as_date(row[4]), _as_date(row[5])), [])
        d_id, kind, signed_on, d_case, revoked_on = row[6:]
        grouped[pid][1].append(rules.DeclarationFacts(d_id, kind, table.id, table.name, _as_date(signed_on), d_case,
                                                      _as_date(revoked_on)))
    return list(grouped.values())


def tables_for(session: Session, person_id: int, on: dt.date) -> list[tuple[CaseTable, rules.Decision]]:
    """The tables a person may join structurally on ``on`` (each with its decision),
    plus tables where they hold a Bijlage 2 for a case, checked for that case."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(_('Persoon %(person_id)s bestaat niet.', person_id=person_id), {"person": _("Bestaat niet.")})
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
