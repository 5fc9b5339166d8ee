"""The access log (*toegangslog*, NEN 7513): every read, print, export or search of
resident data, and every read of signers' personal data, by whom, when, in which role
and scope, on behalf of which organisation, from which IP and user agent.

It is an instance of the one hash chain (:mod:`registry.chain`), like the evidence log:
append-only, each entry bound to the previous one, ``forms-service verify-log`` checks
both. It must be kept at least five years (NEN 7513); nothing in the service deletes
from it. Reading the log is itself logged (subject ``access_log``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.access import Use
from registry.chain import Chain, VerifyResult
from registry.models import AccessLogEntry, AccessLogHead

ACCESS_LOG = Chain("access", AccessLogEntry, AccessLogHead,
                   ("user_id", "role", "scope", "organisation_id", "action", "subject_kind", "subject_id"))
"""The access log as a chain: these columns enter each entry's content hash."""

ACTIONS = ("view", "print", "export", "search")
"""What was done with the data: shown on a page, downloaded as PDF, exported, searched."""


def record(session: Session, use: Use, action: str, subject_kind: str, subject_id: int | None, *,
           ip: str | None = None, user_agent: str | None = None, details: dict[str, Any] | None = None) -> AccessLogEntry:
    """Append one read to the access log (flushed, committed with the request)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown access-log action {action!r}")
    return ACCESS_LOG.append(
        session, user_id=use.user_id, role=use.role, scope=use.scope, organisation_id=use.organisation_id,
        action=action, subject_kind=subject_kind, subject_id=subject_id,
        actor=use.email, ip=ip, user_agent=(user_agent or "")[:400] or None, details=details,
    )


def entries(session: Session, *, consent_id: int | None = None, user_id: int | None = None,
            from_: dt.date | None = None, to: dt.date | None = None, limit: int = 500) -> list[AccessLogEntry]:
    """Log entries, newest first, filtered by consent, user and UTC date range (inclusive)."""
    stmt = select(AccessLogEntry).order_by(AccessLogEntry.seq.desc()).limit(limit)
    if consent_id is not None:
        stmt = stmt.where(AccessLogEntry.subject_kind == "consent", AccessLogEntry.subject_id == consent_id)
    if user_id is not None:
        stmt = stmt.where(AccessLogEntry.user_id == user_id)
    if from_ is not None:
        stmt = stmt.where(AccessLogEntry.occurred_at >= dt.datetime.combine(from_, dt.time()))
    if to is not None:
        stmt = stmt.where(AccessLogEntry.occurred_at < dt.datetime.combine(to + dt.timedelta(days=1), dt.time()))
    return list(session.scalars(stmt))


def readable_entries(session: Session, user, **filters) -> list[AccessLogEntry]:
    """:func:`entries` as this user may read them: an admin all, a privacy officer those of
    the covenants of its grants (the covenant is in each entry's details)."""
    from registry import access

    access.require_role_for(user, access.LOGS)
    found = entries(session, **filters)
    if user.is_admin:
        return found
    covenants = {g.covenant_id for g in user.grants if g.role == "privacy_officer"}
    return [e for e in found if (e.details or {}).get("covenant_id") in covenants]


def verify(session: Session) -> VerifyResult:
    """Recompute the access log's chain."""
    return ACCESS_LOG.verify(session)


def covenant_subjects(session: Session, covenant_id: int) -> dict[str, set[int]]:
    """The ids of the signing subjects (covenant, declarations, consents, meetings) that
    belong to one covenant, for scoping the evidence log to a privacy officer."""
    from registry.models import Case, CaseTable, Consent, Declaration, Meeting

    tables = select(CaseTable.id).where(CaseTable.covenant_id == covenant_id)
    return {
        "covenant": {covenant_id},
        "declaration": set(session.scalars(select(Declaration.id).where(Declaration.table_id.in_(tables)))),
        "consent": set(session.scalars(select(Consent.id).join(Case).where(Case.table_id.in_(tables)))),
        "meeting": set(session.scalars(select(Meeting.id).where(Meeting.table_id.in_(tables)))),
    }

