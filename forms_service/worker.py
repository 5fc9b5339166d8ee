"""The background worker (``forms-service worker``): all work that talks to the network or
must happen without a request. A request never opens an SMTP connection or asks a
timestamp server: it writes to the database and commits, the worker does the rest.

Each round (every ``--interval`` seconds, default 10):

1. **links** — expire signing links whose time is up
   (:func:`signatures.workflow.expire_links`);
2. **seals** — seal every fully signed document that waits for its seal
   (:func:`signatures.workflow.seal_waiting`): claimed with a 20 s lease that a
   heartbeat extends while the seal is built, so a killed worker's document is taken
   up again by the next round of any worker within a minute; then every
   *presentie- en toetsingslijst* exported while ``TIMESTAMP_URL`` is set
   (:func:`signatures.meeting_list.seal_waiting_lists`, the same lease and heartbeat).
   A failed seal waits before its next attempt (exponential backoff up to 10 minutes,
   :mod:`signatures.leases`), so a timestamp server that is down is not asked for
   every document in every round;
3. **daily jobs**, once per calendar day (Europe/Amsterdam): reminders to quiet
   signers (:func:`signatures.workflow.send_reminders`), the signing backstop
   (:func:`signatures.workflow.complete_pending`: missing "waiting for seal" rows),
   and retention (:mod:`registry.retention`);
4. **webhooks** — deliver due webhook deliveries (:func:`signatures.webhooks.deliver_due`,
   claimed with a lease, retried with backoff);
5. **mail** — send what waits in the outbox (:func:`signatures.mail.dispatch`, only
   with ``MAIL_SERVER``): claimed per message, retried with exponential backoff, a
   permanent failure after ``MAIL_MAX_ATTEMPTS``. Last, so the mails the round itself
   wrote (reminders, "sealed" notices) go out in the same round.

Once per day across every worker and app server: a daily job first inserts a
``job_run`` row (job, day) with a unique key, in the same transaction as its work. A
second worker's insert fails (PostgreSQL waits for the first transaction and then
refuses the duplicate; SQLite refuses while the first holds its write lock, and after
its commit) and that worker skips the job. A run that fails rolls its row back, so the
next round tries again. Sealing and mail have their own claims (conditional
``UPDATE`` on the row, committed before the slow part), so two or more workers on one
PostgreSQL database never do the same job twice.

``make run`` starts one worker beside gunicorn (``scripts/run.sh``); start more on other
machines as needed. ``forms-service complete-pending``, ``send-reminders`` and
``retention`` stay as tools for a hand run or cron.
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


REMINDERS_JOB = "reminders"
SIGNING_BACKSTOP_JOB = "signing-backstop"


def reminders_job(config: Mapping[str, Any]) -> Callable[[Session], str]:
    """The daily reminder job: expire what is due, remind quiet signers with a fresh link.
    Without ``PUBLIC_BASE_URL`` (or ``SERVER_NAME``) no absolute link can be made: skipped."""
    def work(session: Session) -> str:
        from signatures import workflow

        base_url = public_base_url(config)
        if not base_url:
            log.warning("reminders skipped: set PUBLIC_BASE_URL (a reminder carries a full link)")
            return "overgeslagen: PUBLIC_BASE_URL ontbreekt"
        return f"herinneringen: {workflow.send_reminders(session, config, base_url=base_url)}"
    return work


def public_base_url(config: Mapping[str, Any]) -> str | None:
    """The absolute base of links in mails made without a request."""
    return config.get("PUBLIC_BASE_URL") or (f"https://{config['SERVER_NAME']}" if config.get("SERVER_NAME") else None)


def signing_backstop(session_factory: sessionmaker, config: Mapping[str, Any], day: dt.date) -> str | None:
    """Once a day: :func:`signatures.workflow.complete_pending` (it scans every signed
    subject, too much for every round). The day's row is taken first, in its own commit."""
    from signatures import workflow

    with session_factory() as session:
        if not claim_day(session, SIGNING_BACKSTOP_JOB, day):
            return None
        session.commit()
    counts = workflow.complete_pending(session_factory, config)
    return f"verzegeld: {counts['sealed']}, mislukt: {counts['failed']}"


def run_once(session_factory: sessionmaker, config: Mapping[str, Any], *, today: dt.date | None = None,
             now: dt.datetime | None = None) -> dict:
    """One round: links, seals, the daily jobs, the outbox. Each part commits on its own
    and a failing part is logged without stopping the others (the next round retries).
    ``now`` and ``today`` are for tests (backoff, leases, the day of the daily jobs)."""
    from signatures import mail, workflow

    result: dict[str, Any] = {"mailed": 0, "sealed": 0, "lists": 0, "expired": 0, "reminders": None,
                              "retention": None, "webhooks": 0}
    try:
        result["expired"] = workflow.expire_links(session_factory, now=now)
    except Exception:  # noqa: BLE001 — the worker keeps going; the next round retries
        log.exception("expiring links failed")
    try:
        counts = workflow.seal_waiting(session_factory, config, now=now)
        result["sealed"] = counts["sealed"] + counts["paper"]
    except Exception:  # noqa: BLE001
        log.exception("sealing round failed")
    try:
        from signatures import meeting_list

        result["lists"] = meeting_list.seal_waiting_lists(session_factory, config, now=now)["sealed"]
    except Exception:  # noqa: BLE001
        log.exception("sealing the waiting check lists failed")
    try:
        from signatures import webhooks

        result["webhooks"] = webhooks.deliver_due(session_factory, config)["delivered"]
    except Exception:  # noqa: BLE001
        log.exception("webhook round failed")
    day = today or rules.today()
    try:
        result["reminders"] = daily(session_factory, REMINDERS_JOB, day, reminders_job(config))
    except Exception:  # noqa: BLE001
        log.exception("reminders failed; tried again next round")
    try:
        signing_backstop(session_factory, config, day)
    except Exception:  # noqa: BLE001
        log.exception("signing backstop failed")
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
    try:
        result["mailed"] = mail.dispatch(session_factory, config, now=now)
    except Exception:  # noqa: BLE001
        log.exception("outbox round failed")
    return result


DEFAULT_INTERVAL = 10.0
"""Seconds between rounds: with the 20 s seal lease a killed worker's job is resumed within a minute."""


def loop(session_factory: sessionmaker, config: Mapping[str, Any], *, interval: float = DEFAULT_INTERVAL, once: bool = False,
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
        if once or result["mailed"] or result["sealed"] or result["lists"] or retention is not None:
            echo(f"Worker: mails verstuurd: {result['mailed']}, verzegeld: {result['sealed']}, "
                 f"toetsingslijsten verzegeld: {result['lists']}, bewaartermijnen: "
                 + (retention if retention is not None else "vandaag al uitgevoerd"))
        if once:
            return
        deadline = time.monotonic() + interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(min(1.0, interval))
        if stopping:
            echo("Worker gestopt.")
            return
