"""Benchmark: 200 signers at the same moment on PostgreSQL, 3 app servers, 2 workers.

Issue 12's goal: 200 concurrent signers of one covenant, all sealed, time to the last
seal ≤ 15 s. This starts the whole deployment on loopback:

* a throwaway PostgreSQL server (``tests.pgserver``, like the suite) or ``--pg-url``
  (a fresh database is created on it and dropped afterwards), migrated, an admin token;
* ``--servers`` gunicorn app servers (separate processes and ports, one ``DATABASE_URL``,
  one instance folder: the same secret key, data key and seal key);
* ``--workers`` ``forms-service worker --interval 1`` processes.

Scenario A: one covenant with 200 partners (representatives with e-mail) is sent for
signing; every signer opens the link first (GET, CSRF token), then all 200 POST at the
same moment (threads released by one barrier), round-robin over the servers. Measured:
the signing POST's latency (median, p95), failures (must be 0), the time from the last
signature to the covenant's seal and the total from the barrier to the seal.

Scenario B: 200 people at one table, each with a Bijlage 1 sent for signing; all 200 sign
at once: 200 documents for the workers to seal; time to the last seal.

Afterwards nothing may be lost: every signature counted once (requests, ``signed``
events, partnerships / declarations), one seal per document (one ``sealed`` event, one
sealed row), and the evidence chain verifies (:func:`signatures.evidence.verify_chain`).
Seal and signature times are the database's own timestamps (``sealed_at``,
``signed_at``; one machine, one clock). Every process started here is stopped on exit,
also on Ctrl-C or a failure.

    python bench/signers.py                      # both scenarios (a few minutes)
    python bench/signers.py --scenario A --signers 50
    python bench/signers.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's packages, not an installed copy

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from database import migrate  # noqa: E402
from database.engine import make_engine, make_session_factory  # noqa: E402
from registry import accounts, crypto  # noqa: E402
from registry.models import Declaration, Partnership  # noqa: E402
from signatures import workflow  # noqa: E402
from signatures.evidence import verify_chain  # noqa: E402
from signatures.models import EvidenceEvent, SignedDocument, SigningRequest  # noqa: E402
from tests import pgserver  # noqa: E402
from tests import signing_support as support  # noqa: E402

GOAL_SECONDS = 15.0
"""Issue 12: time to the last seal of the covenant signed by 200 at once."""

PROCESSES: list[subprocess.Popen] = []
"""Everything this script started (each in its own process group), stopped on exit."""


# ----------------------------------------------------------------------------- processes


def stop_all() -> None:
    """Stop every process we started: SIGTERM to its group, SIGKILL after 15 s."""
    while PROCESSES:
        proc = PROCESSES.pop()
        if proc.poll() is not None:
            continue
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a process in its own group (so its children stop with it), output to ``log``."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    PROCESSES.append(proc)
    return proc


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Until the server accepts connections; its log in the error when it died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()[-2000:]}")


@dataclass
class Deployment:
    """The running service: database URL, app server bases, an admin token, the log folder."""

    url: str
    bases: list[str]
    token: str
    logs: Path
    factory: object = field(repr=False, default=None)


def deploy(url: str, servers: int, gunicorn_workers: int, workers: int, interval: float, tmp: Path) -> Deployment:
    """Migrate, create an admin token, start the app servers and the workers."""
    migrate.upgrade(url)
    instance = tmp / "instance"
    instance.mkdir(mode=0o700)
    env = {**os.environ, "DATABASE_URL": url, "FORMS_SERVICE_INSTANCE": str(instance), "PYTHONPATH": str(ROOT),
           "SECRET_KEY": "signers-bench-only", "DATA_KEY": os.environ["DATA_KEY"],
           # all signers come from 127.0.0.1: the per-IP limit of the signing page would refuse them
           "RATELIMIT_SIGNING": "100000 per minute"}
    for name in ("PUBLIC_BASE_URL", "SERVER_NAME", "MAIL_SERVER", "TIMESTAMP_URL"):
        env.pop(name, None)  # links follow the server asked; mail stays in the outbox; B-B seals (no TSA)
    # The seal key is generated once here, not by two workers racing for instance/seal/.
    workflow.seal_identity({"INSTANCE_DIR": str(instance)})
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        user = accounts.create_user(session, "bench@example.org", "bench password 123", is_admin=True, name="Bench")
        token = accounts.create_token(session, user)
        session.commit()
    logs = tmp / "logs"
    logs.mkdir()
    bases = []
    for i in range(servers):
        port = pgserver.free_port()
        log = logs / f"gunicorn-{i}.log"
        proc = start([sys.executable, "-m", "gunicorn", "--no-control-socket", "--workers", str(gunicorn_workers),
                      "--bind", f"127.0.0.1:{port}", "--timeout", "300", "--log-level", "warning",
                      "forms_service:create_app()"], env, log)
        wait_for_port(port, proc, log)
        bases.append(f"http://127.0.0.1:{port}")
    for i in range(workers):
        start([sys.executable, "-c", "from forms_service.cli import main; main()", "worker", "--interval", str(interval)],
              env, logs / f"worker-{i}.log")
    return Deployment(url, bases, token, logs, factory)


# ----------------------------------------------------------------------------- HTTP


class Answer:
    """What the test helpers read of a response: ``status_code`` and ``json``."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.json = response.json() if response.content else None


class HttpApi:
    """The JSON API of one app server with the admin token; the shape of ``tests.conftest.Api``
    so ``tests.signing_support`` arranges through it."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str) -> Answer:
        return Answer(self.http.get(self.base + path, timeout=300))

    def post(self, path: str, json=None) -> Answer:
        answer = Answer(self.http.post(self.base + path, json=json, timeout=300))
        if answer.status_code >= 400:
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.json}")
        return answer


@dataclass
class Signing:
    """One signer's POST: which server, the status, wall-clock start and end (epoch seconds)."""

    server: int
    status: int = 0
    started: float = 0.0
    ended: float = 0.0
    error: str = ""

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def sign_all_at_once(bases: list[str], signers: list[tuple[str, str]]) -> tuple[list[Signing], float]:
    """Every signer opens their link (GET, CSRF token), then all POST together (one barrier),
    signer ``i`` on server ``i mod n``. Returns each POST and the moment the barrier opened."""
    barrier = threading.Barrier(len(signers) + 1)
    results = [Signing(server=i % len(bases)) for i in range(len(signers))]

    def run(i: int, link: str, name: str) -> None:
        result = results[i]
        with requests.Session() as http:
            url = bases[result.server] + support.path_of(link)
            csrf = ""
            try:
                page = http.get(url, timeout=300)
                csrf = support.CSRF_RE.search(page.text).group(1)
            except Exception as exc:  # noqa: BLE001 - counted as a failure below, the others go on
                result.error = f"GET: {exc}"
            barrier.wait()
            if result.error:
                return
            result.started = time.time()
            try:
                answer = http.post(url, data={"full_name": name, "agree": "y", "csrf_token": csrf,
                                              "signature": support.png_data_url()},
                                   headers={"User-Agent": f"signer {i}"}, allow_redirects=False, timeout=300)
                result.status = answer.status_code
            except Exception as exc:  # noqa: BLE001
                result.error = f"POST: {exc}"
            result.ended = time.time()

    threads = [threading.Thread(target=run, args=(i, link, name), daemon=True) for i, (link, name) in enumerate(signers)]
    for thread in threads:
        thread.start()
    barrier.wait()  # every GET is done: the POSTs start now
    released = time.time()
    for thread in threads:
        thread.join()
    return results, released


def parallel(calls: list, threads: int) -> list:
    """Run zero-argument calls on a thread pool, results in order (arranging only)."""
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda call: call(), calls))


# ----------------------------------------------------------------------------- measuring


def wait_sealed(factory, kind: str, ids: list[int], timeout: float) -> dict[str, int]:
    """Poll the database until every subject's document is sealed (or ``timeout``); the statuses."""
    deadline = time.monotonic() + timeout
    while True:
        with factory() as session:
            rows = session.execute(select(SignedDocument.status, func.count()).where(
                SignedDocument.subject_kind == kind, SignedDocument.subject_id.in_(ids))
                .group_by(SignedDocument.status)).all()
        statuses = dict(rows)
        if statuses.get("sealed", 0) >= len(ids) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.2)


def epoch(moment) -> float:
    """A database timestamp (UTC) as epoch seconds, comparable with ``time.time()``."""
    from signatures.tokens import as_utc

    return as_utc(moment).timestamp()


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


@dataclass
class Outcome:
    """One scenario's figures and its checks."""

    name: str
    signers: int
    documents: int
    posts: list[Signing]
    released: float
    last_signature: float = 0.0
    first_seal: float = 0.0
    last_seal: float = 0.0
    attempts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for p in self.posts if p.status != 303)


def check_signed(session, outcome: Outcome, kind: str, ids: list[int], registry_count: int) -> None:
    """Nothing lost, nothing twice: signatures, ``signed`` events, the registry, one seal per document."""
    def count(query) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery()))

    n = outcome.signers
    where = (SigningRequest.subject_kind == kind, SigningRequest.subject_id.in_(ids))
    checks = {
        "signed requests": (count(select(SigningRequest.id).where(*where, SigningRequest.status == "signed")), n),
        "'signed' events": (count(select(EvidenceEvent.id).where(EvidenceEvent.subject_kind == kind,
                                                                 EvidenceEvent.subject_id.in_(ids),
                                                                 EvidenceEvent.event == "signed")), n),
        "registry": (registry_count, n),
        "sealed documents": (count(select(SignedDocument.id).where(SignedDocument.subject_kind == kind,
                                                                   SignedDocument.subject_id.in_(ids),
                                                                   SignedDocument.status == "sealed")), len(ids)),
        "document rows": (count(select(SignedDocument.id).where(SignedDocument.subject_kind == kind,
                                                                SignedDocument.subject_id.in_(ids))), len(ids)),
        "'sealed' events": (count(select(EvidenceEvent.id).where(EvidenceEvent.subject_kind == kind,
                                                                 EvidenceEvent.subject_id.in_(ids),
                                                                 EvidenceEvent.event == "sealed")), len(ids)),
        "subjects sealed once": (count(select(EvidenceEvent.subject_id).where(
            EvidenceEvent.subject_kind == kind, EvidenceEvent.subject_id.in_(ids), EvidenceEvent.event == "sealed")
            .group_by(EvidenceEvent.subject_id).having(func.count() == 1)), len(ids)),
    }
    outcome.problems += [f"{name}: {got}, expected {want}" for name, (got, want) in checks.items() if got != want]
    signed_at = session.scalars(select(SigningRequest.signed_at).where(*where, SigningRequest.status == "signed")).all()
    docs = session.execute(select(SignedDocument.sealed_at, SignedDocument.attempts).where(
        SignedDocument.subject_kind == kind, SignedDocument.subject_id.in_(ids),
        SignedDocument.status == "sealed")).all()
    if signed_at:
        outcome.last_signature = max(epoch(t) for t in signed_at)
    if docs:
        outcome.first_seal = min(epoch(t) for t, _ in docs)
        outcome.last_seal = max(epoch(t) for t, _ in docs)
        outcome.attempts = sum(a for _, a in docs)


def scenario_a(dep: Deployment, n: int, timeout: float) -> tuple[Outcome, int, list[dict]]:
    """One covenant, ``n`` partners, all sign at once; returns the outcome, the covenant and its reps."""
    api = HttpApi(dep.bases[0], dep.token)
    began = time.perf_counter()
    covenant_id, reps = support.covenant_with_partners(api, n, prefix="Partner")
    api.post(f"/api/v1/covenants/{covenant_id}/signing-requests")
    links = support.links_by_recipient(api)
    print(f"# A: covenant with {n} partners arranged and sent in {time.perf_counter() - began:.1f} s", flush=True)
    posts, released = sign_all_at_once(dep.bases, [(links[rep["email"]], rep["name"]) for rep in reps])
    outcome = Outcome("A: one covenant", n, 1, posts, released)
    statuses = wait_sealed(dep.factory, "covenant", [covenant_id], timeout)
    with dep.factory() as session:
        online = session.scalar(select(func.count()).select_from(Partnership).where(
            Partnership.covenant_id == covenant_id, Partnership.signed_via == "online"))
        check_signed(session, outcome, "covenant", [covenant_id], online)
    if statuses.get("sealed", 0) != 1:
        outcome.problems.append(f"not sealed within {timeout:.0f} s: {statuses}")
    return outcome, covenant_id, reps


def scenario_b(dep: Deployment, n: int, covenant_id: int, reps: list[dict], timeout: float) -> Outcome:
    """``n`` people at one table of the (sealed) covenant, a Bijlage 1 each, all sign at once."""
    apis = [HttpApi(base, dep.token) for base in dep.bases]
    began = time.perf_counter()
    table = apis[0].post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Bench",
                                            "area": "Emmen-Noord"}).json

    def declaration(i: int) -> int:
        api = apis[i % len(apis)]
        person = api.post("/api/v1/people", {"name": f"Deelnemer {i}", "initials": "D.",
                                             "organisation_id": reps[i % len(reps)]["organisation_id"],
                                             "function": "Jeugdverpleegkundige",
                                             "email": f"deelnemer{i}@tafel.example"}).json
        declaration_id = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"],
                                                            "table_id": table["id"]}).json["id"]
        api.post(f"/api/v1/declarations/{declaration_id}/signing-requests")
        return declaration_id

    ids = parallel([lambda i=i: declaration(i) for i in range(n)], threads=2 * len(apis))
    links = support.links_by_recipient(apis[0])
    print(f"# B: {n} Bijlage 1 declarations arranged and sent in {time.perf_counter() - began:.1f} s", flush=True)
    posts, released = sign_all_at_once(dep.bases, [(links[f"deelnemer{i}@tafel.example"], f"Deelnemer {i}")
                                                   for i in range(n)])
    outcome = Outcome("B: Bijlage 1 each", n, n, posts, released)
    statuses = wait_sealed(dep.factory, "declaration", ids, timeout)
    with dep.factory() as session:
        signed = session.scalar(select(func.count()).select_from(Declaration).where(
            Declaration.id.in_(ids), Declaration.signed_on.is_not(None)))
        check_signed(session, outcome, "declaration", ids, signed)
    if statuses.get("sealed", 0) != n:
        outcome.problems.append(f"not all sealed within {timeout:.0f} s: {statuses}")
    return outcome


# ----------------------------------------------------------------------------- report


def load() -> str:
    return f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"


def report(outcomes: list[Outcome], servers: int, workers: int) -> str:
    """The table: POST latency, failures, last signature → last seal, total, goal."""
    lines = [f"{servers} app servers, {workers} workers, PostgreSQL; times in seconds",
             f"{'scenario':20s} {'signers':>7s} {'docs':>5s} {'POST p50':>9s} {'POST p95':>9s} {'failed':>6s} "
             f"{'signing':>8s} {'→ 1st seal':>10s} {'→ last seal':>11s} {'total':>7s} {'attempts':>8s} {'goal':>6s} {'ok':>3s}"]
    lines.append("-" * len(lines[1]))
    for o in outcomes:
        done = [p.seconds for p in o.posts if p.status == 303]
        signing = (max(p.ended for p in o.posts) - o.released) if o.posts else 0.0
        to_last = o.last_seal - o.last_signature if o.last_seal else float("nan")
        to_first = o.first_seal - o.last_signature if o.first_seal else float("nan")
        total = o.last_seal - o.released if o.last_seal else float("nan")
        goal = GOAL_SECONDS if o.documents == 1 else None
        ok = "" if goal is None else ("yes" if to_last <= goal and not o.problems and not o.failures else "NO")
        lines.append(f"{o.name:20s} {o.signers:7d} {o.documents:5d} {statistics.median(done) if done else 0:9.3f} "
                     f"{p95(done) if done else 0:9.3f} {o.failures:6d} {signing:8.2f} {to_first:10.2f} {to_last:11.2f} "
                     f"{total:7.2f} {o.attempts:8d} {f'{goal:.0f}' if goal else '':>6s} {ok:>3s}")
    lines.append("signing = barrier → last POST answered; → seal = last signature (signed_at) → sealed_at; "
                 "total = barrier → last sealed_at")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse options, deploy, run the scenarios, check, print; stop everything on the way out."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (…/postgres); default: start a throwaway server")
    parser.add_argument("--signers", type=int, default=200)
    parser.add_argument("--scenario", choices=["A", "B", "both"], default="both")
    parser.add_argument("--servers", type=int, default=3, help="gunicorn app servers")
    parser.add_argument("--gunicorn-workers", type=int, default=2, help="sync workers per app server")
    parser.add_argument("--workers", type=int, default=2, help="forms-service worker processes")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a worker's rounds")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the seals")
    args = parser.parse_args(argv)

    os.environ.setdefault("DATA_KEY", crypto.generate_key())
    crypto.configure(crypto.ring_from_texts(os.environ["DATA_KEY"]))
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below runs on SIGTERM too
    tmp = Path(tempfile.mkdtemp(prefix="signers-bench-"))
    server, admin_url, database = None, None, f"signers_bench_{os.getpid()}"
    print(f"# load average at the start (1, 5, 15 min): {load()}", flush=True)
    outcomes: list[Outcome] = []
    chain = None
    try:
        if args.pg_url:
            admin_url = args.pg_url
        else:
            server = pgserver.start()
            admin_url = server.url
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {database}")
        url = sa.engine.make_url(admin_url).set(database=database).render_as_string(hide_password=False)
        dep = deploy(url, args.servers, args.gunicorn_workers, args.workers, args.interval, tmp)
        print(f"# {args.servers} app servers at {', '.join(dep.bases)}; {args.workers} workers; logs in {dep.logs}",
              flush=True)
        covenant_id, reps = None, None
        if args.scenario in ("A", "both"):
            outcome, covenant_id, reps = scenario_a(dep, args.signers, args.timeout)
            outcomes.append(outcome)
        if args.scenario in ("B", "both"):
            if covenant_id is None:  # B alone: a covenant its people's organisations belong to, signed on paper
                api = HttpApi(dep.bases[0], dep.token)
                covenant_id, reps = support.covenant_with_partners(api, min(args.signers, 20), prefix="GGD",
                                                                   signed_on="2025-05-05")
            outcomes.append(scenario_b(dep, args.signers, covenant_id, reps, args.timeout))
        with dep.factory() as session:
            chain = verify_chain(session)
    finally:
        stop_all()
        if admin_url:
            try:
                admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                admin.dispose()
            except Exception as exc:  # noqa: BLE001 - the server may be gone already
                print(f"# could not drop {database}: {exc}", file=sys.stderr)
        if server is not None:
            server.stop()
    print(f"# load average at the end (1, 5, 15 min): {load()}")
    print(report(outcomes, args.servers, args.workers))
    problems = [f"{o.name}: {p}" for o in outcomes for p in o.problems]
    problems += [f"{o.name}: {o.failures} signing POSTs failed: "
                 + ", ".join(sorted({p.error or str(p.status) for p in o.posts if p.status != 303}))
                 for o in outcomes if o.failures]
    if chain is None or not chain.ok:
        problems.append(f"evidence chain does not verify: {chain}")
    else:
        print(f"evidence chain verifies: {chain.checked} entries")
    for problem in problems:
        print(f"PROBLEM {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
