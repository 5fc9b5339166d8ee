"""The fast paths of registry reads give the same answers and stay safe.

``queries.check`` runs one precompiled statement on the driver connection (in the
session's transaction when it has one, so it sees uncommitted writes of the request);
the API's check runs in a read-only autocommit session on PostgreSQL; PostgreSQL
connections are pinged only after sitting idle, and a dropped one is replaced.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import update

from database import engine as engine_module
from database.engine import make_engine, make_session_factory
from registry import queries, rules
from registry.errors import NotFound
from registry.models import CaseTable, Covenant, Declaration, Organisation, Partnership, Person


def _table_with_people(session):
    """A covenant in force with a partner, a table, and a person with declarations at it
    and at two other tables (so the "other table" reasons have something to name)."""
    covenant = Covenant(pack="emmen-casustafel", title="Convenant", region="Emmen", in_force_on=dt.date(2025, 1, 1))
    org = Organisation(name="Partner")
    session.add_all([covenant, org])
    session.flush()
    session.add(Partnership(covenant_id=covenant.id, organisation_id=org.id, signed_on=dt.date(2025, 1, 1), founding=True))
    tables = [CaseTable(covenant_id=covenant.id, name=f"Tafel {i}", area="Noord") for i in range(3)]
    person = Person(name="Els", organisation_id=org.id, employed_from=dt.date(2020, 1, 1))
    session.add_all([*tables, person])
    session.flush()
    session.add_all([
        Declaration(kind=rules.STRUCTURAL, person_id=person.id, table_id=tables[1].id, signed_on=dt.date(2025, 2, 1)),
        Declaration(kind=rules.STRUCTURAL, person_id=person.id, table_id=tables[2].id, signed_on=dt.date(2025, 3, 1)),
        Declaration(kind=rules.INCIDENTAL, person_id=person.id, table_id=tables[2].id, case_ref="C-1",
                    signed_on=dt.date(2025, 3, 1)),
        Declaration(kind=rules.INCIDENTAL, person_id=person.id, table_id=tables[0].id, case_ref="C-2",
                    signed_on=dt.date(2025, 4, 1), revoked_on=dt.date(2025, 6, 1)),
    ])
    session.commit()
    return person, tables


def test_check_matches_check_many_and_sees_the_sessions_own_writes(session):
    person, tables = _table_with_people(session)
    for table in tables:
        for on in (dt.date(2024, 12, 1), dt.date(2025, 2, 15), dt.date(2025, 5, 1), dt.date(2025, 7, 1)):
            for case in (None, "C-1", "C-2", "C-9"):
                fresh = make_session_factory(session.get_bind())()
                try:
                    alone = queries.check(fresh, person.id, table.id, on, case)  # no transaction: autocommit path
                finally:
                    fresh.close()
                assert alone == queries.check_many(session, table.id, on, [(person.id, case)])[0]
                assert alone == queries.check(session, person.id, table.id, on, case)
    denied = queries.check(session, person.id, tables[0].id, dt.date(2025, 5, 1))
    assert not denied.allowed and "bijlage1_other_table" in {r.code for r in denied.reasons}

    # uncommitted: a Bijlage 1 at table 0 in this session's transaction counts for this session only
    session.add(Declaration(kind=rules.STRUCTURAL, person_id=person.id, table_id=tables[0].id, signed_on=dt.date(2025, 2, 1)))
    session.flush()
    assert queries.check(session, person.id, tables[0].id, dt.date(2025, 5, 1)).allowed
    other = make_session_factory(session.get_bind())()
    try:
        assert not queries.check(other, person.id, tables[0].id, dt.date(2025, 5, 1)).allowed
    finally:
        other.close()
    session.rollback()


def test_check_of_an_unknown_table_or_person_is_not_found(session):
    person, tables = _table_with_people(session)
    with pytest.raises(NotFound) as table_missing:
        queries.check(session, person.id, 999_999, dt.date(2025, 5, 1))
    assert "table" in table_missing.value.fields
    with pytest.raises(NotFound) as person_missing:
        queries.check(session, 999_999, tables[0].id, dt.date(2025, 5, 1))
    assert "person" in person_missing.value.fields


def test_the_api_check_reads_in_a_session_that_refuses_writes(app, admin_token, app_session):
    person, tables = _table_with_people(app_session)
    client = app.test_client()
    answer = client.get(f"/api/v1/check?person={person.id}&table={tables[1].id}&on=2025-05-01",
                        headers={"Authorization": f"Bearer {admin_token}"})
    assert answer.status_code == 200 and answer.json["allowed"] and answer.json["basis"] == "structural"

    from forms_service import db

    with app.test_request_context(f"/api/v1/check?person={person.id}&table={tables[1].id}"):
        reading = db.session()
        if reading.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite reads in its ordinary session (its driver begins nothing for a read)")
        assert isinstance(reading, db.ReadOnlySession)
        with pytest.raises(RuntimeError):
            reading.execute(update(Organisation).values(name="x"))
        reading.add(Organisation(name="nieuw"))
        with pytest.raises(RuntimeError):
            reading.flush()
    assert app_session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(Organisation.name == "nieuw")) == 0
    with app.test_request_context("/api/v1/check", method="POST"):  # only GET reads there
        assert not isinstance(db.session(), db.ReadOnlySession)


def test_an_idle_connection_the_server_dropped_is_replaced(db_url, monkeypatch):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose")
    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        admin.dispose()
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", -1.0)  # as if it sat idle
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    finally:
        engine.dispose()


def test_a_sqlite_check_outside_a_transaction_reads_the_latest_commit_on_the_threads_own_reader(session, db_url):
    """On a SQLite file a check outside a transaction runs on the thread's own reader,
    not on a pooled connection: it still sees every commit at once (a SELECT there holds
    no snapshot), each thread has its own, and a reader that fails is replaced."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL checks on a pooled connection in autocommit mode")
    import threading

    person, tables = _table_with_people(session)
    engine = session.get_bind()
    factory = make_session_factory(engine)
    on = dt.date(2025, 5, 1)

    def check_alone():
        with factory() as alone:
            return queries.check(alone, person.id, tables[0].id, on)

    assert not check_alone().allowed
    reader = queries._SQLITE_READERS.by_engine[engine]
    checked_out = engine.pool.checkedout()
    session.add(Declaration(kind=rules.STRUCTURAL, person_id=person.id, table_id=tables[0].id, signed_on=dt.date(2025, 2, 1)))
    session.commit()
    assert check_alone().allowed  # the commit of another connection, seen at once
    assert queries._SQLITE_READERS.by_engine[engine] is reader and engine.pool.checkedout() == checked_out

    elsewhere = {}

    def in_another_thread():
        elsewhere["allowed"] = check_alone().allowed
        elsewhere["reader"] = queries._SQLITE_READERS.by_engine[engine]

    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert elsewhere["allowed"] and elsewhere["reader"] is not reader

    reader.close()  # as if it broke under the check
    with pytest.raises(sa.exc.DBAPIError):
        check_alone()
    assert check_alone().allowed and queries._SQLITE_READERS.by_engine[engine] is not reader
