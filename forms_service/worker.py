"""The background worker (``forms-service worker``): the work that must happen without a
request.

Each round it sends what waits in the outbox (:func:`signatures.mail.retry_outbox`, only
with ``MAIL_SERVER``), seals fully signed documents that wait for their seal
(:func:`signatures.workflow.complete_pending`, which also expires old links), and runs the
**daily jobs** — today retention (:mod:`registry.retention`) — once per calendar day
(Europe/Amsterdam).

Once per day across every worker and app server: a daily job first inserts a
``job_run`` row (job, day) with a unique key, in the same transaction as its work. A
second worker's insert fails (PostgreSQL waits for the first transaction and then
refuses the duplicate; SQLite refuses while the first holds its write lock, and after
its commit) and that worker skips the job. A run that fails rolls its row back, so the
next round tries again. Sealing and mail have their own guards (the seal claim row; a
message is marked sent in its own transaction).

``make run`` starts one worker beside gunicorn (``scripts/run.sh``). Issue 12 extends
this module (leases, backoff, webhooks); cron with ``forms-service retention`` stays an
alternative for the daily job.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from registry import rules
from registry.models import JobRun

log = logging.getLogger("forms_service.worker")

RETENTION_JOB = "retention"


def run_retention(session: Session, on: dt.date, *, dry_run: bool = False, by: str = "retention"):
    """Plan retention for ``on`` and, unless ``dry_run``, execute it (no commit).
    Returns the steps planned and the steps applied (empty on a dry run)."""
    from registry import retention

    steps = retention.plan(session, on)
    if dry_run:
        return steps, []
    return steps, retention.execute(session, steps, on, by=by)


def claim_day(session: Session, job: str, day: dt.date) -> bool:
    """Insert the (job, day) row in the session's transaction; False when another run
    has it (the transaction is rolled back then)."""
    session.add(JobRun(job=job, day=day))
    try:
        session.flush()
    except (IntegrityError, OperationalError):
        session.rollback()
        return False
    return True


def daily(session_factory: sessionmaker, job: str, day: dt.date, work: Callable[[Session], str]) -> str | None:
    """Run ``work`` once for ``day``: None when it already ran (or runs elsewhere), else
    its summary, committed together with the (job, day) row."""
    with session_factory() as session:
        if not claim_day(session, job, day):
            return None
        summary = work(session)
        row = session.query(JobRun).filter_by(job=job, day=day).one()
        row.summary = summary[:200]
        session.commit()
        return summary


def retention_job(on: dt.date) -> Callable[[Session], str]:
    """The daily retention job for ``on``: each applied step is logged on its own line."""
    def work(session: Session) -> str:
        _, done = run_retention(session, on)
        for step in done:
            log.info("retention: %s", step.description)
        archived = sum(1 for s in done if s.action == "archive")
        return f"gearchiveerd: {archived}, verwijderd: {len(done) - archived}"
    return work


def run_once(session_factory: sessionmaker, config: Mapping[str, Any], *, today: dt.date | None = None) -> dict:
    """One round: outbox, pending seals, the daily jobs. Each part commits on its own and
    a failing part is logged without stopping the others."""
    from signatures import mail, workflow

    result: dict[str, Any] = {"mailed": 0, "sealed": 0, "retention": None}
    try:
        with session_factory() as session:
            result["mailed"] = mail.retry_outbox(session, config)
            session.commit()
    except Exception:  # noqa: BLE001 — the worker keeps going; the next round retries
        log.exception("outbox round failed")
    try:
        counts = workflow.complete_pending(session_factory, config)
        result["sealed"] = counts.get("sealed", 0)
    except Exception:  # noqa: BLE001
        log.exception("sealing round failed")
    day = today or rules.today()
    try:
        result["retention"] = daily(session_factory, RETENTION_JOB, day, retention_job(day))
    except Exception:  # noqa: BLE001
        log.exception("retention failed; tried again next round")
    try:  # the document cache's bound (registry.documents.cache): once a day
        from registry.documents import cache
        daily(session_factory, "document_cache", day,
              lambda session: f"verwijderd: {cache.evict_configured(session, config)}")
    except Exception:  # noqa: BLE001
        log.exception("document cache eviction failed; tried again next round")
    return result


def loop(session_factory: sessionmaker, config: Mapping[str, Any], *, interval: float = 60, once: bool = False,
         echo: Callable[[str], None] = print) -> None:
    """Run rounds every ``interval`` seconds until SIGTERM/SIGINT (or once)."""
    stopping = []

    def stop(signum, frame):  # noqa: ARG001
        stopping.append(signum)

    if not once:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    while True:
        result = run_once(session_factory, config)
        retention = result["retention"]
        if once or result["mailed"] or result["sealed"] or retention is not None:
            echo(f"Worker: mails verstuurd: {result['mailed']}, verzegeld: {result['sealed']}, bewaartermijnen: "
                 + (retention if retention is not None else "vandaag al uitgevoerd"))
        if once:
            return
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(1.0, interval))
        if stopping:
            echo("Worker gestopt.")
            return
