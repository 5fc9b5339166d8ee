"""Benchmark of the registry at the scale of a province, on SQLite and PostgreSQL.

It builds a synthetic province — by default 1,000 tables, 20,000 organisations, 200,000
people, 1,000,000 declarations, 200,000 consents and 333,333 cases, with notices,
exclusions, terminations, revocations, withdrawals and closed cases spread over five
years — then measures p50/p95/p99 of ``check``, ``entitled`` for a table and a meeting
check of 30 invitees x 20 cases, in-process and over HTTP (gunicorn on loopback,
concurrent clients). It runs the same on a province scaled down to ``--growth-from``
declarations (same density per table: every count scales with the declarations) to show
how the cost grows with the size of the database.

    python bench/registry_bench.py                               # 1M and 10k, SQLite and PostgreSQL
    python bench/registry_bench.py --declarations 100000 --backend sqlite
    python bench/registry_bench.py --declarations 2000 --growth-from 1000 --iterations 20

No row is cached: each measured call opens its own session and transaction, like a
web request, so it reads the latest committed writes. The meeting check remembers each
invitee's check by the facts it is made of (``registry.meetings._Memo``, never stale):
the ``meeting 30x20`` row checks the same meetings again (facts unchanged, as when a
chair opens the check and then downloads the list), the ``cold`` row forgets everything
before each call (as after a change of every fact).
"""

from __future__ import annotations

import argparse
import gc
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from database import migrate  # noqa: E402
from registry import accounts, crypto, meetings, queries  # noqa: E402
from database.engine import make_engine, make_session_factory  # noqa: E402
from registry.rules import notice_end_date  # noqa: E402
from registry.models import Case, CaseTable, Consent, Covenant, Organisation, Partnership  # noqa: E402

# Resident names are encrypted at rest: one data key for this process and the gunicorn
# it starts (DATA_KEY, generated when unset), so bulk-loaded rows read back like real ones.
os.environ.setdefault("DATA_KEY", crypto.generate_key())
crypto.configure(crypto.ring_from_texts(os.environ["DATA_KEY"]))

START = dt.date(2021, 1, 1)
DAYS = 5 * 365
CATEGORIES = ["name_address", "situation_summary", "school", "income", "health", "housing"]
GOALS_MS = {  # p95 goals of issue 12, where the issue sets them
    ("postgresql", "check", "in-process"): 1.0,
    ("postgresql", "check", "in-process, autocommit"): 1.0,
    ("postgresql", "check", "http"): 5.0,
    ("sqlite", "entitled", "in-process"): 5.0,
    ("sqlite", "meeting 30x20", "in-process"): 15.0,
}
RAW_RATIO_GOAL = 2.0
"""SQLite: check through the registry at most this many times the same question asked as
one raw SQL statement on the bare ``sqlite3`` driver (p95)."""
GROWTH_GOAL = 1.5


# ----------------------------------------------------------------------------- the province


@dataclass
class Province:
    """The synthetic data as plain rows (tuples in column order) plus lookups for sampling."""

    n_declarations: int
    seed: int = 7
    tables: int = 0
    covenants: int = 0
    organisations: int = 0
    people: int = 0
    cases: int = 0
    consents: int = 0
    rows: dict = field(default_factory=dict)
    table_people: dict = field(default_factory=dict)
    table_cases: dict = field(default_factory=dict)
    declaration_samples: list = field(default_factory=list)

    def sizes(self) -> str:
        """The counts, for the report."""
        return (f"{self.tables:,} tables, {self.organisations:,} organisations, {self.people:,} people, "
                f"{self.n_declarations:,} declarations, {self.cases:,} cases, {self.consents:,} consents")


def day(rng: random.Random, lo: int = 0, hi: int = DAYS) -> dt.date:
    """A random date in the five years from 2021."""
    return START + dt.timedelta(days=rng.randrange(lo, hi))


def generate(n_declarations: int, seed: int = 7) -> Province:
    """Generate a province whose every count scales with ``n_declarations``."""
    p = Province(n_declarations, seed)
    rng = random.Random(seed)
    p.tables = max(2, n_declarations // 1000)
    p.covenants = max(1, p.tables // 10)
    p.organisations = max(20, n_declarations // 50)
    p.people = max(50, n_declarations // 5)
    p.cases = max(10, n_declarations // 3)
    p.consents = max(10, n_declarations // 5)
    partners_per_covenant = max(2, min(50, p.organisations // (4 * p.covenants)))
    now = dt.datetime(2026, 1, 1)

    covenant_of_table = [t * p.covenants // p.tables for t in range(p.tables)]
    tables_of_covenant: dict[int, list[int]] = {}
    for t, c in enumerate(covenant_of_table):
        tables_of_covenant.setdefault(c, []).append(t + 1)
    partner_orgs = {c: list(range(c * partners_per_covenant + 1, (c + 1) * partners_per_covenant + 1)) for c in range(p.covenants)}
    covenant_of_org = {o: c for c, orgs in partner_orgs.items() for o in orgs}

    in_force = {c: START + dt.timedelta(days=rng.randrange(0, 90)) for c in range(p.covenants)}
    p.rows["covenant"] = [(c + 1, "emmen-casustafel", f"Convenant {c + 1}", f"Gemeente {c + 1}", 1, in_force[c], False, None, now) for c in range(p.covenants)]
    p.rows["organisation"] = [(o, f"Organisatie {o}", now) for o in range(1, p.organisations + 1)]
    p.rows["person"] = people = []
    for i in range(1, p.people + 1):
        org = rng.choice(partner_orgs[rng.randrange(p.covenants)]) if rng.random() < 0.75 else rng.randrange(1, p.organisations + 1)
        until = day(rng, 365, DAYS + 365) if rng.random() < 0.15 else None
        people.append((i, f"Persoon {i}", "X.", "Medewerker", None, org, START - dt.timedelta(days=rng.randrange(0, 2000)), until))
    p.rows["partnership"] = partnerships = []
    for c, orgs in partner_orgs.items():
        for o in orgs:
            founding = rng.random() < 0.9
            signed = in_force[c] - dt.timedelta(days=rng.randrange(0, 30)) if founding else day(rng, 100, DAYS)
            notice = ends = immediate = excluded = None
            roll = rng.random()
            if roll < 0.06:
                notice = signed + dt.timedelta(days=rng.randrange(30, DAYS))
                ends = notice_end_date(notice)
            elif roll < 0.07:
                excluded = signed + dt.timedelta(days=rng.randrange(30, DAYS))
            elif roll < 0.08:
                immediate = signed + dt.timedelta(days=rng.randrange(30, DAYS))
            partnerships.append((len(partnerships) + 1, c + 1, o, None, founding, signed, "paper", notice, ends, immediate,
                                 "besluit" if immediate else None, excluded, "bench" if excluded else None))
    p.rows["case_table"] = [(t + 1, covenant_of_table[t] + 1, f"Casustafel {t + 1}", f"Gebied {t + 1}", None, None) for t in range(p.tables)]
    p.rows["case"] = cases = []
    for i in range(1, p.cases + 1):
        t = (i - 1) % p.tables + 1
        opened = day(rng)
        closed = opened + dt.timedelta(days=rng.randrange(30, 700)) if rng.random() < 0.5 else None
        cases.append((i, t, f"C{t}-{i}", opened, closed))
        p.table_cases.setdefault(t, []).append(i)
    p.rows["declaration"] = declarations = []
    home_covenant = {pid: covenant_of_org.get(org, (pid * 7919) % p.covenants) for pid, *_r, org, _f, _u in people}
    for i in range(1, n_declarations + 1):
        pid = rng.randrange(1, p.people + 1)
        t = rng.choice(tables_of_covenant[home_covenant[pid]])
        partner = people[pid - 1][5] in covenant_of_org
        signed = day(rng)
        revoked = signed + dt.timedelta(days=rng.randrange(30, 900)) if rng.random() < 0.15 else None
        if partner and rng.random() < 0.55:
            kind, ref = "structural", None
        else:
            kind, ref = "incidental", cases[rng.choice(p.table_cases[t]) - 1][2]
        declarations.append((i, kind, pid, t, ref, signed, "paper", revoked, now))
        p.table_people.setdefault(t, set()).add(pid)
        if i % 50 == 0:
            p.declaration_samples.append((pid, t, ref))
    chairs = []
    for t in range(1, p.tables + 1):  # a chair and a coordinator for every table, from its people
        who = sorted(p.table_people.get(t, {1}))
        chairs.append((t, who[0], who[-1]))
    p.rows["chairs"] = chairs
    p.rows["consent"] = consents = []
    p.rows["consent_recipient"] = recipients = []
    for i in range(1, p.consents + 1):
        case = cases[rng.randrange(p.cases)]
        signed = case[3] + dt.timedelta(days=rng.randrange(0, 60))
        withdrawn = signed + dt.timedelta(days=rng.randrange(1, 300)) if rng.random() < 0.1 else None
        name = f"Inwoner {i} (synthetisch)"
        consents.append((i, case[0], "resident", crypto.encrypt_text(name, "consent.resident_name"), None,
                         crypto.resident_key(name, None), "", json.dumps(rng.sample(CATEGORIES, 2)),
                         "[]", signed, "paper", withdrawn, "bench" if withdrawn else None, now))
        covenant = covenant_of_table[case[1] - 1]
        for org in rng.sample(partner_orgs[covenant], min(3, len(partner_orgs[covenant]))):
            recipients.append((i, org))
    p.table_people = {t: sorted(v) for t, v in p.table_people.items()}
    return p


# ----------------------------------------------------------------------------- loading


# Columns the synthetic rows do not fill (added by migration 0007; they stay NULL).
UNFILLED = {"municipality", "areas", "chair_model", "mandate", "contact_person", "declined_on"}


def _columns(model) -> list[str]:
    return [c.name for c in model.__table__.columns if c.name not in UNFILLED]


COLUMNS = {
    "covenant": _columns(Covenant),
    "organisation": [c.name for c in Organisation.__table__.columns],
    "person": ["id", "name", "initials", "function", "email", "organisation_id", "employed_from", "employed_until"],
    "partnership": _columns(Partnership),
    "case_table": _columns(CaseTable),
    "case": ["id", "table_id", "reference", "opened_on", "closed_on"],
    "declaration": ["id", "kind", "person_id", "table_id", "case_ref", "signed_on", "signed_via", "revoked_on", "created_at"],
    "consent": ["id", "case_id", "signed_by", "resident_name", "resident_birth_date", "resident_key", "purpose", "categories",
                "other_recipients", "signed_on", "signed_via", "withdrawn_on", "withdrawn_by", "created_at"],
    "consent_recipient": ["consent_id", "organisation_id"],
}
ORDER = ["covenant", "organisation", "person", "partnership", "case_table", "case", "declaration", "consent", "consent_recipient"]


def build(url: str, province: Province) -> float:
    """Migrate a fresh database and bulk-load the province; returns the seconds it took."""
    started = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    if url.startswith("postgresql"):
        _copy_postgresql(engine, province)
    else:
        _insert_sqlite(engine, province)
    with engine.begin() as conn:
        for t, chair, coordinator in province.rows["chairs"]:
            conn.execute(sa.update(CaseTable).where(CaseTable.id == t).values(chair_id=chair, coordinator_id=coordinator))
    with engine.connect() as conn:  # fresh statistics, so the planner knows the real sizes
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return time.perf_counter() - started


def _insert_sqlite(engine, province: Province) -> None:
    """executemany through the DB-API, one transaction per table."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table in ORDER:
            cols = COLUMNS[table]
            sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
            cursor.execute("BEGIN")
            cursor.executemany(sql, [_sqlite_row(r) for r in province.rows[table]])
            cursor.execute("COMMIT")
    finally:
        raw.close()


def _sqlite_row(row: tuple) -> tuple:
    """Dates as ISO text, as SQLAlchemy stores them in SQLite."""
    return tuple(v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat() if isinstance(v, dt.date) else v for v in row)


def _copy_postgresql(engine, province: Province) -> None:
    """COPY ... FROM STDIN per table, then move the id sequences past the loaded ids."""
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            for table in ORDER:
                cols = COLUMNS[table]
                with cursor.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:
                    for row in province.rows[table]:
                        copy.write_row(row)
            for table in ORDER:
                if "id" in COLUMNS[table]:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))")
        raw.commit()
    finally:
        raw.close()


def plan_meetings(url: str, province: Province, count: int, rng: random.Random) -> list[int]:
    """Plan ``count`` meetings of 30 invitees x 20 cases (every invitee in every case)."""
    factory = make_session_factory(make_engine(url))
    ids = []
    with factory() as session:
        for _ in range(count):
            t = rng.choice([t for t in province.table_people if len(province.table_cases.get(t, [])) >= 20] or list(province.table_people))
            people = rng.sample(province.table_people[t], min(30, len(province.table_people[t])))
            while len(people) < 30:
                extra = rng.randrange(1, province.people + 1)
                people += [] if extra in people else [extra]
            refs = [f"C{t}-{c}" for c in rng.sample(province.table_cases[t], min(20, len(province.table_cases[t])))]
            items = [meetings.AgendaItem(ref, "jeugd", "28-80", tuple(people)) for ref in refs]
            starts = dt.datetime.combine(day(rng, 3 * 365, DAYS), dt.time(14))
            ids.append(meetings.plan_meeting(session, table_id=t, starts_at=starts, location="Bench", cases=items).meeting.id)
        session.commit()
    return ids


# ----------------------------------------------------------------------------- measuring


@dataclass
class Result:
    """One measured operation: latencies in milliseconds."""

    backend: str
    declarations: int
    operation: str
    mode: str
    samples: list[float]

    def pct(self, q: float) -> float:
        """The q-th percentile (nearest rank)."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def timed(fn, n: int) -> list[float]:
    """Run ``fn(i)`` n times (after a short warm-up); latencies in ms."""
    for i in range(min(20, n)):
        fn(i)
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def measure_in_process(url: str, province: Province, meeting_ids: list[int], n: int, rng: random.Random) -> dict:
    """check, entitled and the meeting check, each in its own session (like a request)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    checks = [_check_args(province, rng) for _ in range(n)]
    tables = [(rng.randrange(1, province.tables + 1), day(rng, 180, DAYS + 180)) for _ in range(n)]
    tables = [(t, on, rng.choice([None, f"C{t}-{rng.choice(province.table_cases[t])}"])) for t, on in tables]

    def one_check(i):
        with factory() as s:
            queries.check(s, *checks[i])

    def one_entitled(i):
        with factory() as s:
            queries.entitled(s, *tables[i % len(tables)])

    def one_meeting(i):
        with factory() as s:
            meetings.meeting_check(s, meeting_ids[i % len(meeting_ids)])

    def one_cold_meeting(i):
        meetings.clear_memo()  # nothing remembered: as after a change of every fact
        one_meeting(i)

    if url.startswith("sqlite"):  # the registry's check and the raw statement, side by side
        registry_checks, raw_checks = _paired_with_raw_sql(url, checks, one_check)
        results = {"check": registry_checks, "check, raw SQL": raw_checks}
    else:
        results = {"check": timed(one_check, n)}
    results |= {
        "entitled": timed(one_entitled, max(10, n // 5)),
        "meeting 30x20": timed(one_meeting, max(10, n // 10)),
        "meeting 30x20, cold": timed(one_cold_meeting, max(10, n // 10)),
    }
    engine.dispose()
    if url.startswith("postgresql"):
        results["check, autocommit"] = _autocommit_checks(url, checks)
    return results


def _autocommit_checks(url: str, checks: list[tuple]) -> list[float]:
    """The check on an autocommit connection without pre-ping: no BEGIN, no ROLLBACK, no
    ping, so the one statement of ``queries.check`` is the one round trip."""
    engine = make_engine(url, pool_pre_ping=False).execution_options(isolation_level="AUTOCOMMIT")
    factory = make_session_factory(engine)

    def one(i):
        with factory() as s:
            queries.check(s, *checks[i])

    try:
        return timed(one, len(checks))
    finally:
        engine.dispose()


def _paired_with_raw_sql(url: str, checks: list[tuple], one_check) -> tuple[list[float], list[float]]:
    """The registry's check beside the same question asked as one raw SQL statement (the
    very statement the registry runs, compiled once) on the bare ``sqlite3`` driver, rows
    fetched, no rules applied: the floor the registry is measured against.

    Each question is asked both ways one after the other, the order alternating, so both
    meet the same caches: the first to read a row pulls its pages into the operating
    system's cache (which this machine empties by itself), and measuring one way over all
    questions before the other would hand the second the first one's warm pages."""
    import sqlite3

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    compiled = queries.CHECK_STATEMENT.compile(dialect=sqlite_dialect.dialect())
    statement, order = compiled.string, compiled.positiontup
    conn = sqlite3.connect(sa.engine.make_url(url).database, check_same_thread=False)

    def raw(i):
        pid, t, on, ref = checks[i]
        values = {"table_id": t, "person_id": pid, "case_ref": ref}
        conn.execute(statement, [values[name] for name in order]).fetchall()

    def clocked(fn, i) -> float:
        started = time.perf_counter()
        fn(i)
        return (time.perf_counter() - started) * 1000

    try:
        for i in range(min(20, len(checks))):  # warm-up, as timed()
            one_check(i)
            raw(i)
        ours, floor = [], []
        for i in range(len(checks)):
            if i % 2:
                floor.append(clocked(raw, i))
                ours.append(clocked(one_check, i))
            else:
                ours.append(clocked(one_check, i))
                floor.append(clocked(raw, i))
        return ours, floor
    finally:
        conn.close()


def _check_args(province: Province, rng: random.Random) -> tuple:
    """A realistic check: someone who once signed for this table, on a date, maybe for a case."""
    pid, t, ref = rng.choice(province.declaration_samples)
    if ref is None and rng.random() < 0.5:
        ref = f"C{t}-{rng.choice(province.table_cases[t])}"
    return pid, t, day(rng, 180, DAYS + 180), ref


# ----------------------------------------------------------------------------- over HTTP


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, workers: int) -> tuple[subprocess.Popen, int, str]:
    """Start gunicorn on loopback for this database; returns the process, port and a token."""
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        user = accounts.create_user(session, f"bench{time.time_ns()}@example.org", "bench password 123", is_admin=True)
        token = accounts.create_token(session, user)
        session.commit()
    port = free_port()
    instance = tempfile.mkdtemp(prefix="bench-instance-")
    env = {**os.environ, "DATABASE_URL": url, "FORMS_SERVICE_INSTANCE": instance, "SECRET_KEY": "bench-only",
           "PYTHONPATH": str(ROOT)}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen(
        [str(gunicorn), "--no-control-socket", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "forms_service:create_app()"],
        env=env, cwd=str(ROOT), start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        stop(proc)
        raise RuntimeError("gunicorn did not start")
    return proc, port, token


def stop(proc: subprocess.Popen) -> None:
    """Stop the server we started (its own process group)."""
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def measure_http(url: str, province: Province, meeting_ids: list[int], n: int, clients: int, workers: int, rng: random.Random) -> dict:
    """The same questions over HTTP from ``clients`` concurrent clients."""
    proc, port, token = serve(url, workers)
    try:
        check_paths = []
        for _ in range(n):
            pid, t, on, ref = _check_args(province, rng)
            check_paths.append(f"/api/v1/check?person={pid}&table={t}&on={on}" + (f"&case={ref}" if ref else ""))
        entitled_paths = [f"/api/v1/tables/{rng.randrange(1, province.tables + 1)}/entitled?on={day(rng, 180, DAYS + 180)}" for _ in range(max(10, n // 5))]
        meeting_paths = [f"/api/v1/meetings/{rng.choice(meeting_ids)}/check" for _ in range(max(10, n // 10))]
        return {
            "check": _hammer(port, token, check_paths, clients),
            "entitled": _hammer(port, token, entitled_paths, clients),
            "meeting 30x20": _hammer(port, token, meeting_paths, clients),
        }
    finally:
        stop(proc)


def _hammer(port: int, token: str, paths: list[str], clients: int) -> list[float]:
    """GET every path from ``clients`` threads; latencies in ms (warm-up not counted)."""
    headers = {"Authorization": f"Bearer {token}"}
    for path in paths[: min(10, len(paths))]:
        _get(port, path, headers)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(chunk):
        mine = []
        for path in chunk:
            started = time.perf_counter()
            _get(port, path, headers)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(paths[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _get(port: int, path: str, headers: dict) -> None:
    """One request on a fresh connection; any non-200 answer stops the benchmark."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
    finally:
        conn.close()


# ----------------------------------------------------------------------------- backends and report


def database_url(backend: str, label: str, args, pg) -> str:
    """A fresh empty database for one run."""
    if backend == "sqlite":
        folder = Path(args.workdir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"bench-{label}.sqlite3"
        _remove_sqlite(path)
        CREATED.append(path)
        return f"sqlite:///{path}"
    admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"bench_{label}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return pg.rsplit("/", 1)[0] + f"/{name}"


CREATED: list[Path] = []  # SQLite files this run made (removed at the end unless BENCH_KEEP=1)


def _remove_sqlite(path: Path) -> None:
    """A SQLite database file and its WAL companions."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def run_size(backend: str, n: int, args, pg) -> tuple[list[Result], float, str]:
    """Build one province on one backend and measure it."""
    rng = random.Random(args.seed + n)
    started = time.perf_counter()
    province = generate(n, args.seed)
    generated = time.perf_counter() - started
    url = database_url(backend, f"{n}", args, pg)
    seconds = build(url, province)
    # Drop the generated rows and freeze what is left: millions of long-lived tuples in
    # this process would otherwise make every full garbage collection a pause that a
    # real app server (small heap) never sees, and the percentiles would measure that.
    province.rows = {}
    gc.collect()
    gc.freeze()
    print(f"# {backend}: built {province.sizes()} in {seconds:.1f} s (+{generated:.1f} s generating)", flush=True)
    meeting_ids = plan_meetings(url, province, args.meetings, rng)
    results = []
    for op, samples in measure_in_process(url, province, meeting_ids, args.iterations, rng).items():
        operation, _, variant = op.partition(", ")
        results.append(Result(backend, n, operation, "in-process" + (f", {variant}" if variant else ""), samples))
    if not args.no_http:
        http_results = measure_http(url, province, meeting_ids, args.http_requests, args.clients, args.workers, rng)
        results += [Result(backend, n, op, "http", s) for op, s in http_results.items()]
    return results, seconds, province.sizes()


def report(results: list[Result], builds: list[tuple], growth_from: int | None, largest: int) -> str:
    """The results as a plain-text table (and the growth ratios)."""
    lines = ["", "| backend | declarations | operation | mode | n | p50 ms | p95 ms | p99 ms | goal p95 | ok |",
             "|---|---:|---|---|---:|---:|---:|---:|---:|---|"]
    for r in results:
        goal = GOALS_MS.get((r.backend, r.operation, r.mode))
        ok = "" if goal is None else ("yes" if r.pct(95) <= goal else "NO")
        lines.append(f"| {r.backend} | {r.declarations:,} | {r.operation} | {r.mode} | {len(r.samples)} | "
                     f"{r.pct(50):.2f} | {r.pct(95):.2f} | {r.pct(99):.2f} | {'' if goal is None else f'{goal:g} ms'} | {ok} |")
    raw = {(r.declarations): r for r in results if r.mode == "in-process, raw SQL"}
    ours = {(r.declarations): r for r in results if r.backend == "sqlite" and r.operation == "check" and r.mode == "in-process"}
    if raw:
        lines += ["", f"| SQLite check | declarations | registry p50 | raw SQL p50 | ratio p50 | registry p95 | raw SQL p95 | ratio p95 | goal ≤ {RAW_RATIO_GOAL:g}x |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        for n_decl, r in sorted(raw.items()):
            o = ours.get(n_decl)
            if o is None:
                continue
            ratio50, ratio95 = o.pct(50) / r.pct(50), o.pct(95) / r.pct(95)
            lines.append(f"| check vs raw | {n_decl:,} | {o.pct(50):.3f} | {r.pct(50):.3f} | {ratio50:.2f}x | "
                         f"{o.pct(95):.3f} | {r.pct(95):.3f} | {ratio95:.2f}x | {'yes' if ratio95 <= RAW_RATIO_GOAL else 'NO'} |")
    lines += ["", "| backend | declarations | build s | rows |", "|---|---:|---:|---|"]
    lines += [f"| {b} | {n:,} | {s:.1f} | {sizes} |" for b, n, s, sizes in builds]
    if growth_from:
        lines += ["", f"| backend | operation | mode | p95 at {growth_from:,} | p95 at {largest:,} | growth | goal ≤ {GROWTH_GOAL}x |",
                  "|---|---|---|---:|---:|---:|---|"]
        small = {(r.backend, r.operation, r.mode): r for r in results if r.declarations == growth_from}
        for r in results:
            if r.declarations != largest or (r.backend, r.operation, r.mode) not in small:
                continue
            base = small[(r.backend, r.operation, r.mode)].pct(95)
            ratio = r.pct(95) / base if base else float("inf")
            lines.append(f"| {r.backend} | {r.operation} | {r.mode} | {base:.2f} | {r.pct(95):.2f} | {ratio:.2f}x | "
                         f"{'yes' if ratio <= GROWTH_GOAL else 'NO'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run every size on every backend, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--declarations", type=int, default=1_000_000, help="size of the province (other counts scale with it)")
    parser.add_argument("--growth-from", type=int, default=10_000, help="also run at this size to show growth (0: skip)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (…/postgres); default: start a throwaway server")
    parser.add_argument("--iterations", type=int, default=2000, help="in-process checks (entitled n/5, meetings n/10)")
    parser.add_argument("--http-requests", type=int, default=1000, help="HTTP checks (entitled n/5, meetings n/10)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--meetings", type=int, default=10, help="meetings of 30 x 20 to plan")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "out"), help="where SQLite files go")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    sizes = [n for n in (args.growth_from, args.declarations) if n]
    sizes = sorted(set(sizes))
    server = None
    pg = args.pg_url
    if "postgresql" in backends and not pg:
        from tests import pgserver

        server = pgserver.start()
        pg = server.url
    results, builds = [], []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server below on SIGTERM too
    print(f"# load average at the start (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs", flush=True)
    try:
        for backend in backends:
            for n in sizes:
                measured, seconds, description = run_size(backend, n, args, pg)
                results += measured
                builds.append((backend, n, seconds, description))
    finally:
        if server is not None:
            server.stop()
        if not os.environ.get("BENCH_KEEP"):
            for path in CREATED:
                _remove_sqlite(path)
    print(f"# load average at the end (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(report(results, builds, args.growth_from if args.growth_from and args.growth_from != args.declarations else None, max(sizes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
