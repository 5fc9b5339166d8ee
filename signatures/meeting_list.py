"""The *presentie- en toetsingslijst*: a meeting's check as a PDF, the chair's evidence
that art. 6 was followed (who was invited, who may sit at the table for which case, on
which basis, and what the resident's consent allows).

Rendered by the one document renderer from the covenant's template pack
(``meeting_check`` in its manifest), so it gets the pack's fonts, running header, page
numbers and URL fetcher. Its labels are the service's own words (``_()`` in the pack's
``meeting_check.html``, in the language of the request that exports it); the article
text it quotes stays in the pack's language. The view-model is plain data
(:class:`registry.meetings.MeetingCheck`): the same check gives the same document.

The exported list is sealed with the service's seal (the same path as signed
documents, :func:`signatures.workflow.seal_finished`) and the export is
logged in the evidence log as ``sealed`` for subject ``meeting``. Sealing happens
before the log is touched, so no lock is held while a timestamp server answers.

A sealed list is kept in the document cache (:mod:`registry.documents.cache`) keyed by
the check's result: exporting an unchanged check again hands out the same sealed bytes
(logged as ``downloaded``) instead of rendering and sealing anew.

No timestamp server inside a request: without ``TIMESTAMP_URL`` the seal is local CPU
work and the request seals (``sealed``, 200 at once). With it the request renders the
list and stores it as a :class:`signatures.models.SealJob` under the same cache key
(:class:`Sealing` is its answer: 202 + ``Retry-After`` in the API, a page that
refreshes itself on the web); the worker (:func:`seal_waiting_lists`) seals it with
the timestamp server, claimed with a lease and a heartbeat and retried with backoff
while that server is down, stores the sealed bytes under the key and logs ``sealed``
(with the exporter as actor). The next request for the same check result is a cache
hit and hands the list out (``downloaded``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from registry.documents import build, cache, render
from registry.documents.viewmodels import cache_key_of
from signatures import leases
from signatures import workflow as service
from registry import texts
from registry.meetings import MeetingCheck
from registry.texts import _
from signatures.evidence import append_event
from signatures.models import SealJob

TITLE = "Presentie- en toetsingslijst"


def render_meeting_check(vm: MeetingCheck, pack_name: str) -> render.RenderedDocument:
    """The list as HTML and PDF, from the pack of the meeting's covenant."""
    return render.render_pdf(build.pack_named(pack_name), "meeting_check", vm)


@dataclass(frozen=True)
class Sealing:
    """The list waits for the worker's seal (``TIMESTAMP_URL`` is set): what to tell the
    one who asked, and when to ask again."""

    job_id: int
    attempts: int
    """Attempts so far (0: not tried yet)."""
    next_attempt_at: dt.datetime | None
    """After a failed attempt: when the worker tries again."""
    last_error: str | None
    retry_after: int
    """Seconds until asking again makes sense (``Retry-After``)."""

    @property
    def message(self) -> str:
        """What the answer says, in the request's language: being sealed, ask again, and
        after a failure what went wrong and when the worker tries again."""
        text = _("De lijst wordt verzegeld; vraag haar over %(seconds)s seconden opnieuw op.", seconds=self.retry_after)
        if self.last_error:
            text += " " + _("Poging %(n)s is mislukt: %(error)s", n=self.attempts, error=self.last_error)
        if self.next_attempt_at is not None:
            text += " " + service.next_attempt_text(self.next_attempt_at)
        return text


RETRY_AFTER_SECONDS = 5
"""Ask again after this long while the job waits for its first attempt (the worker
runs every 10 s)."""

LIST_KIND = "toetsingslijst"


def sealed_meeting_check(session: Session, config: Mapping[str, Any], vm: MeetingCheck, pack_name: str, *,
                         actor: str, ip: str | None = None, user_agent: str | None = None) -> bytes | Sealing:
    """The list as a sealed PDF, its export logged (flushed, not committed) — or, with
    TIMESTAMP_URL and no sealed copy of this check result yet, :class:`Sealing`: the list
    is queued for the worker (nothing logged until it is sealed).
    """
    key = cache.make_key("toetsingslijst", _cache_parts(config, vm, pack_name))
    stored = cache.lookup(session, key)
    if stored is not None:  # the same check result, sealed before: hand out those bytes
        append_event(session, subject_kind="meeting", subject_id=vm.meeting_id, event="downloaded", actor=actor,
                     ip=ip, user_agent=user_agent,
                     details={"document": "toetsingslijst", "sha256": hashlib.sha256(stored).hexdigest(),
                              "on": vm.on.isoformat()})
        return stored
    if config.get("TIMESTAMP_URL"):  # a timestamp server is network work: the worker seals
        return _queued(session, key, vm, pack_name, actor=actor, ip=ip, user_agent=user_agent)
    pdf = service.seal_finished(config, render_meeting_check(vm, pack_name).pdf, **_seal_fields(vm))
    cache.store(session, key, LIST_KIND, pdf)
    append_event(session, subject_kind="meeting", subject_id=vm.meeting_id, event="sealed", actor=actor,
                 ip=ip, user_agent=user_agent,
                 details={**_event_details(vm), "sha256": hashlib.sha256(pdf).hexdigest()})
    return pdf


def _seal_fields(vm: MeetingCheck) -> dict[str, Any]:
    """Title, subject, reason and keywords of the list's seal (the keywords let /verify find the meeting)."""
    return {"title": f"{TITLE} {vm.table_name} {vm.on.isoformat()}",
            "subject": f"meeting/{vm.meeting_id} getoetst {vm.checked_at.isoformat(timespec='seconds')}",
            "reason": f"{TITLE}: toetsing vooraf (art. 6) uitgevoerd {vm.checked_at:%Y-%m-%d %H:%M:%S %Z}",
            "keywords": [f"meeting:{vm.meeting_id}", f"checked_at:{vm.checked_at.isoformat(timespec='seconds')}"]}


def _event_details(vm: MeetingCheck) -> dict[str, str]:
    """The ``sealed`` event's details besides the SHA-256."""
    return {"document": LIST_KIND, "checked_at": vm.checked_at.isoformat(timespec="seconds"), "on": vm.on.isoformat()}


def _queued(session: Session, key: str, vm: MeetingCheck, pack_name: str, *, actor: str, ip: str | None,
            user_agent: str | None) -> Sealing:
    """The job that seals this check result: the waiting one, or a new one with the list
    rendered now (flushed; two requests at once add one job, the unique key decides)."""
    job = session.scalar(select(SealJob).where(SealJob.cache_key == key))
    if job is None:
        values = {"kind": LIST_KIND, "cache_key": key, "subject_kind": "meeting", "subject_id": vm.meeting_id,
                  "pdf": render_meeting_check(vm, pack_name).pdf, "seal": _seal_fields(vm),
                  "details": _event_details(vm), "actor": actor, "ip": ip, "user_agent": user_agent,
                  "created_at": leases.utcnow(), "attempts": 0}
        session.execute(_insert_ignoring_duplicate(session).values(**values))
        job = session.scalar(select(SealJob).where(SealJob.cache_key == key))
    return sealing_of(job)


def _insert_ignoring_duplicate(session: Session):
    """``INSERT … ON CONFLICT (cache_key) DO NOTHING`` on SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(SealJob).on_conflict_do_nothing(index_elements=["cache_key"])


def sealing_of(job: SealJob, now: dt.datetime | None = None) -> Sealing:
    """Where a waiting list stands, and when to ask again (the next attempt, or soon)."""
    now = now or leases.utcnow()
    wait = RETRY_AFTER_SECONDS
    if job.next_attempt_at is not None:
        wait = max(wait, math.ceil((job.next_attempt_at - now).total_seconds()) + RETRY_AFTER_SECONDS)
    return Sealing(job.id, job.attempts or 0, job.next_attempt_at, job.last_error, wait)


def seal_waiting_lists(session_factory: sessionmaker, config: Mapping[str, Any], *,
                       now: dt.datetime | None = None) -> dict[str, int]:
    """The worker's round for waiting lists: seal every job whose next attempt has come."""
    table = SealJob.__table__
    with session_factory() as session:
        # a live lease is left to the claim: it counts as busy
        due = session.scalars(select(table.c.id).where(leases.ripe(table, now or leases.utcnow()))
                              .order_by(table.c.id)).all()
    counts = {"sealed": 0, "done": 0, "busy": 0, "failed": 0}
    for job_id in due:
        counts[seal_list(session_factory, config, job_id, now=now)] += 1
    return counts


def seal_list(session_factory: sessionmaker, config: Mapping[str, Any], job_id: int, *,
              now: dt.datetime | None = None) -> str:
    """Seal one waiting list (``sealed``, ``busy``, ``failed``, or ``done`` when an
    earlier job sealed the same check result already): claim it, seal it
    outside any transaction while a heartbeat keeps the lease, then in one commit store
    the sealed bytes under the job's cache key, log ``sealed`` and delete the job —
    only while our claim holds, so two workers never both store or log it."""
    table = SealJob.__table__
    claim = leases.take(session_factory, table, job_id, now=now)
    if claim is None:
        return "busy"
    try:
        with leases.Heartbeat(session_factory, table, job_id, claim):
            with session_factory() as session:
                job = session.get(SealJob, job_id)
                unsealed, fields, key = job.pdf, dict(job.seal), job.cache_key
                done = cache.lookup(session, key) is not None  # sealed meanwhile by an earlier job
            pdf = None if done else service.seal_finished(config, unsealed, **fields)
    except Exception as exc:  # noqa: BLE001 - recorded, logged, retried after the backoff
        leases.fail(session_factory, table, job_id, claim, exc, now=now)
        return "failed"
    with session_factory() as session:
        job = session.get(SealJob, job_id)
        if job is None or job.claim_token != claim:
            return "busy"
        kind, subject, actor, ip, user_agent, details = (job.kind, (job.subject_kind, job.subject_id), job.actor,
                                                         job.ip, job.user_agent, dict(job.details))
        # the conditional delete first: it takes the row (a lock on PostgreSQL) before anything is written
        if session.execute(delete(table).where(table.c.id == job_id, table.c.claim_token == claim)).rowcount != 1:
            session.rollback()
            return "busy"
        if pdf is not None:
            cache.store(session, key, kind, pdf)
            append_event(session, subject_kind=subject[0], subject_id=subject[1], event="sealed", actor=actor,
                         ip=ip, user_agent=user_agent,
                         details={**details, "sha256": hashlib.sha256(pdf).hexdigest()})
        session.commit()
    return "sealed" if pdf is not None else "done"


def _cache_parts(config: Mapping[str, Any], vm: MeetingCheck, pack_name: str) -> tuple[str, ...]:
    """Everything the sealed list depends on except the moment of the check: the check's
    result (the view-model without ``checked_at``; the rules answer as of the meeting
    date, so the same data gives the same result), the pack's files, our seal
    certificate and the timestamp policy. A repeat export of an unchanged check hands
    out the list sealed the first time (it names that check's time); any change of an
    invitee, a declaration, a consent or the agenda gives a new key and a new seal. The
    language of the labels (:func:`registry.texts.language`, the request's) is part of
    the key: the English list is another document than the Dutch one."""
    seal_cert = hashlib.sha256(service.seal_identity(config).certificate_pem).hexdigest()
    return (cache.pack_version(build.pack_named(pack_name)), cache_key_of(dataclasses.replace(vm, checked_at=None)),
            seal_cert, config.get("TIMESTAMP_URL") or "", texts.language())
