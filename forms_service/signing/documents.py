"""The document a signer sees: rendered once per version, stored, hashed.

Signers must see, and later the sealed PDF must contain, exactly the same bytes.
Re-rendering on every page view would make that depend on fonts, library versions
and the clock, so the document is rendered when it is sent for signing and kept as
a :class:`~signatures.models.DocumentSnapshot`; its SHA-256 goes onto every request.
"""

from __future__ import annotations

import hashlib
import html as html_lib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from signatures.models import DocumentSnapshot


@dataclass(frozen=True)
class RenderedDocument:
    """HTML and PDF of one document (same shape as ``forms_service.documents.render``)."""

    html: str
    pdf: bytes


def subject_document(session: Session, subject_kind: str, subject_id: int):
    """The document of a subject as the signer sees it (HTML + PDF).

    Uses the shared renderer ``forms_service.documents.build.subject_document`` when
    it is installed.
    """
    try:
        from forms_service.documents.build import subject_document as shared
    except ImportError:
        shared = None
    if shared is not None:
        return shared(session, subject_kind, subject_id)
    return _fallback_document(session, subject_kind, subject_id)


# --- TEMPORARY FALLBACK -------------------------------------------------------------
# Until forms_service/documents/build.py is merged into main, render a minimal page
# with WeasyPrint. Delete this block (and _fallback_document) after that merge.

def _fallback_document(session: Session, subject_kind: str, subject_id: int) -> RenderedDocument:
    """TEMPORARY: a one-page HTML summary of the subject, printed with WeasyPrint."""
    from forms_service.signing.subjects import load_subject

    subject = load_subject(session, subject_kind, subject_id)
    rows = "".join(f"<tr><th>{html_lib.escape(k)}</th><td>{html_lib.escape(v)}</td></tr>" for k, v in subject.facts)
    page = (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'>"
        f"<title>{html_lib.escape(subject.title)}</title>"
        "<style>body{font-family:sans-serif;font-size:11pt} th{text-align:left;padding-right:1em}</style>"
        f"</head><body><h1>{html_lib.escape(subject.title)}</h1><table>{rows}</table></body></html>"
    )
    return RenderedDocument(page, html_to_pdf(page))


def html_to_pdf(page: str) -> bytes:
    """HTML to PDF with WeasyPrint (imported lazily: it costs about a second).

    Only inline ``data:`` URLs (drawn signatures) are fetched: nothing from disk or network.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return HTML(string=page, url_fetcher=fetcher).write_pdf()

# --- END TEMPORARY FALLBACK ---------------------------------------------------------


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
