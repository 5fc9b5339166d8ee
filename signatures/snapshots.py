"""The document a signer sees: rendered once per version, stored, hashed.

Signers must see, and later the sealed PDF must contain, exactly the same bytes.
Re-rendering on every page view would make that depend on fonts, library versions
and the clock, so the document is rendered when it is sent for signing and kept as
a :class:`~signatures.models.DocumentSnapshot`; its SHA-256 goes onto every request.
The document itself comes from the one shared renderer,
:func:`registry.documents.build.subject_document`.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry.documents.build import subject_document
from signatures.models import DocumentSnapshot


def ensure_snapshot(session: Session, subject_kind: str, subject_id: int, title: str) -> DocumentSnapshot:
    """Render the subject now and return its snapshot (the existing one if unchanged)."""
    rendered = subject_document(session, subject_kind, subject_id)
    sha = hashlib.sha256(rendered.pdf).hexdigest()
    existing = snapshot_by_sha(session, subject_kind, subject_id, sha)
    if existing is not None:
        return existing
    version = (session.scalar(select(func.max(DocumentSnapshot.version)).where(
        DocumentSnapshot.subject_kind == subject_kind, DocumentSnapshot.subject_id == subject_id)) or 0) + 1
    snapshot = DocumentSnapshot(subject_kind=subject_kind, subject_id=subject_id, version=version, sha256=sha,
                                title=title[:300], html=rendered.html, pdf=rendered.pdf)
    try:
        with session.begin_nested():
            session.add(snapshot)
    except IntegrityError:  # a concurrent send stored the same bytes first
        return snapshot_by_sha(session, subject_kind, subject_id, sha)
    return snapshot


def snapshot_by_sha(session: Session, subject_kind: str, subject_id: int, sha: str | None) -> DocumentSnapshot | None:
    """The stored snapshot of a subject with this SHA-256, or None."""
    if not sha:
        return None
    return session.scalar(select(DocumentSnapshot).where(
        DocumentSnapshot.subject_kind == subject_kind, DocumentSnapshot.subject_id == subject_id,
        DocumentSnapshot.sha256 == sha))
