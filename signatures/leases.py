"""Claims with a short lease and a backoff, for the worker's sealing jobs: a signed
document waiting for its seal (:class:`signatures.models.SignedDocument`) and a
presentie- en toetsingslijst waiting for its seal (:class:`signatures.models.SealJob`).

A row is *due* when no live lease holds it and its next attempt has come
(``next_attempt_at`` empty or past). A worker takes it with a conditional ``UPDATE``
(committed before the slow part), keeps the lease alive with a :class:`Heartbeat`
while it waits for the timestamp server, and either stores the result (only while its
claim still holds) or records the failure with :func:`fail`: the error, and the next
attempt after an exponential backoff — ``RETRY_SECONDS`` × 2^(attempts−1), at most
``MAX_RETRY_SECONDS`` — so a timestamp server that is down is not asked for every
document in every round. A killed worker sets no next attempt: its lease runs out
within ``SEAL_LEASE_SECONDS`` and any worker takes the row again.

The rows need the columns ``id``, ``attempts``, ``next_attempt_at``, ``last_error``,
``claim_token`` and ``claimed_until``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Sequence

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import sessionmaker
from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger(__name__)

SEAL_LEASE_SECONDS = 20
"""How long a claim lasts without a heartbeat; a killed worker's claim runs out after it."""

HEARTBEAT_SECONDS = SEAL_LEASE_SECONDS / 4
"""How often a worker that is sealing extends its lease."""

RETRY_SECONDS = 30
"""The wait after the first failed attempt; it doubles with every further failure."""

MAX_RETRY_SECONDS = 600
"""The longest wait between two attempts (10 minutes)."""


def utcnow() -> dt.datetime:
    """Now, aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def _naive(moment: dt.datetime) -> dt.datetime:
    """UTC without tzinfo, as the columns store it (for comparisons in SQL)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th attempt failed: 30 s, 1, 2, 4, 8 minutes, then 10."""
    return dt.timedelta(seconds=min(MAX_RETRY_SECONDS, RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def free(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    """No live lease holds the row."""
    return or_(table.c.claimed_until.is_(None), table.c.claimed_until < _naive(now))


def ripe(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    """The row's next attempt has come (or it has none: never failed)."""
    return or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= _naive(now))


def due(table: Table, now: dt.datetime) -> ColumnElement[bool]:
    """No live lease holds the row and its next attempt has come."""
    return and_(free(table, now), ripe(table, now))


def take(session_factory: sessionmaker, table: Table, row_id: int, *, now: dt.datetime | None = None,
         where: Sequence[ColumnElement[bool]] = (), ignore_backoff: bool = False) -> str | None:
    """Claim the row (committed) and count the attempt; the claim token, or None when the
    row is gone, taken, not due, or fails ``where``."""
    now = now or utcnow()
    claim = secrets.token_hex(16)
    ready = free(table, now) if ignore_backoff else due(table, now)
    with session_factory() as session:
        result = session.execute(update(table).where(table.c.id == row_id, ready, *where).values(
            claim_token=claim, claimed_until=_naive(now + dt.timedelta(seconds=SEAL_LEASE_SECONDS)),
            attempts=table.c.attempts + 1))
        session.commit()
    return claim if result.rowcount == 1 else None


def extend(session_factory: sessionmaker, table: Table, row_id: int, claim: str, *,
           where: Sequence[ColumnElement[bool]] = ()) -> bool:
    """Push our claim's end ``SEAL_LEASE_SECONDS`` ahead; False when the claim is no longer ours."""
    until = _naive(utcnow() + dt.timedelta(seconds=SEAL_LEASE_SECONDS))
    with session_factory() as session:
        result = session.execute(update(table).where(table.c.id == row_id, table.c.claim_token == claim, *where)
                                 .values(claimed_until=until))
        session.commit()
    return result.rowcount == 1


def fail(session_factory: sessionmaker, table: Table, row_id: int, claim: str, exc: Exception, *,
         now: dt.datetime | None = None) -> dt.datetime | None:
    """Record why the attempt failed, free the claim and set the next attempt (backoff);
    loud in the log, shown to staff. Returns the next attempt (None when the claim was lost)."""
    message = getattr(exc, "message_nl", None) or f"{type(exc).__name__}: {exc}"
    log.error("sealing %s %s failed: %s", table.name, row_id, exc, exc_info=exc)
    now = now or utcnow()
    with session_factory() as session:
        attempts = session.scalar(select(table.c.attempts).where(table.c.id == row_id, table.c.claim_token == claim))
        if attempts is None:
            return None
        following = now + retry_delay(attempts)
        session.execute(update(table).where(table.c.id == row_id, table.c.claim_token == claim).values(
            last_error=message[:2000], claim_token=None, claimed_until=None, next_attempt_at=_naive(following)))
        session.commit()
    return following


class Heartbeat:
    """Extends a claim's lease every ``HEARTBEAT_SECONDS`` while the work inside runs.

    A thread with its own session; it stops when the block ends. A beat that fails
    (database busy) is logged and the next one tries again: the worst case is that the
    lease runs out and another worker builds the seal too — its store then loses to
    the claim check, so nothing is stored twice.
    """

    def __init__(self, session_factory: sessionmaker, table: Table, row_id: int, claim: str, *,
                 where: Sequence[ColumnElement[bool]] = ()):
        self.session_factory, self.table, self.row_id, self.claim, self.where = (
            session_factory, table, row_id, claim, tuple(where))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"seal-heartbeat-{table.name}-{row_id}", daemon=True)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                extend(self.session_factory, self.table, self.row_id, self.claim, where=self.where)
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("heartbeat for %s %s failed: %s", self.table.name, self.row_id, exc)
