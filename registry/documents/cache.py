"""The document cache: render once, serve the stored bytes every time after.

Rendering is deterministic (no clock; the data alone decides the bytes), so a document
is fully described by its input: the view-model (:meth:`cache_key`, the SHA-256 of its
canonical JSON), the template pack *as it is on disk* (a SHA-256 of every file of the
pack and of the shared templates, not the manifest's ``version`` string, which an
editor may forget to raise), the template, the PDF variant and the renderer's own
version (WeasyPrint, docxtpl and :data:`RENDERER_VERSION`). The SHA-256 of all of these
is the row's ``key``. Any change of the underlying data (a partner's name, a signature,
a declaration's date) gives another view-model and so another key: a row is never
stale, only unused. That is why a hit needs no check and there is no invalidation.

Why in the database and not in process memory: several app servers share one
PostgreSQL; what one rendered, the others serve. The row is written in the request's
own transaction (an ``INSERT … ON CONFLICT DO NOTHING``, so two servers that render the
same document at once do not fail) and is committed with it; the bytes are encrypted
with the data key like every stored PDF.

What is not cached: documents with residents' data (Bijlage 4 consents, access
exports): an erasure (AVG art. 17) must leave no copy behind, and a key derived from
the data cannot be found again once the data is gone. Size: the worker's daily job
(:func:`evict`) deletes rows older than ``DOCUMENT_CACHE_DAYS`` and then the oldest
until the total is at most ``DOCUMENT_CACHE_MB``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from registry.models import DocumentCacheEntry

RENDERER_VERSION = "1"
"""Raise when a code change alters rendered bytes without a pack or library change."""

DEFAULT_MAX_MB = 512
DEFAULT_MAX_DAYS = 30


@lru_cache(maxsize=None)
def _library_versions() -> str:
    """The versions of the libraries that write the bytes."""
    found = []
    for name in ("weasyprint", "pydyf", "docxtpl", "pyhanko"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return ",".join(found)


@lru_cache(maxsize=4096)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    """SHA-256 of one file's content, computed once per file version (path, mtime, size)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def folder_version(folder: Path) -> str:
    """SHA-256 over the names and contents of every file below ``folder``.

    By content, not modification time: two app servers with the same pack files (but
    other mtimes) share their cache rows; an edited file gives a new version at once.
    Each file is hashed once per (path, mtime, size); a call costs a ``stat`` per file.
    """
    digest = hashlib.sha256()
    top = str(folder)
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            stat = os.stat(path)
            digest.update(path[len(top):].encode("utf-8") + b"\0")
            digest.update(_file_sha256(path, stat.st_mtime_ns, stat.st_size).encode("ascii"))
    return digest.hexdigest()


def pack_version(pack) -> str:
    """The version of a pack as the renderer sees it: its files, the shared templates
    (:data:`registry.documents.render.COMMON_TEMPLATES`) and the libraries."""
    from .render import COMMON_TEMPLATES

    return hashlib.sha256("|".join((pack.name, pack.version, folder_version(pack.path),
                                    folder_version(COMMON_TEMPLATES), _library_versions(),
                                    RENDERER_VERSION)).encode("utf-8")).hexdigest()


def make_key(kind: str, parts: Iterable[str]) -> str:
    """The row key: SHA-256 over the kind and every part (joined unambiguously)."""
    digest = hashlib.sha256(kind.encode("utf-8"))
    for part in parts:
        encoded = str(part).encode("utf-8")
        digest.update(b"\0" + str(len(encoded)).encode("ascii") + b":" + encoded)
    return digest.hexdigest()


def lookup(session: Session, key: str) -> bytes | None:
    """The stored bytes for ``key``, or None."""
    return session.scalar(select(DocumentCacheEntry.content).where(DocumentCacheEntry.key == key))


def store(session: Session, key: str, kind: str, content: bytes) -> None:
    """Add the bytes under ``key`` in the session's transaction; a row another server
    stored first is kept (both hold the same bytes)."""
    values = {"key": key, "kind": kind[:40], "content": content, "size": len(content),
              "created_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the service runs on SQLite and PostgreSQL only
        if lookup(session, key) is None:
            session.add(DocumentCacheEntry(**values))
            session.flush()
        return
    session.execute(insert(DocumentCacheEntry).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def cached(session: Session | None, kind: str, parts: Iterable[str], produce: Callable[[], bytes]) -> bytes:
    """The bytes for ``parts``: from the cache, else ``produce()`` stored for next time.
    Without a session (a caller outside any transaction) it simply produces."""
    if session is None:
        return produce()
    key = make_key(kind, parts)
    hit = lookup(session, key)
    if hit is not None:
        return hit
    content = produce()
    store(session, key, kind, content)
    return content


def rendered_pdf(session: Session | None, pack, template: str, vm, variant: str | None) -> bytes:
    """``render.render_pdf(pack, template, vm, variant=variant).pdf``, rendered once."""
    from . import render

    return cached(session, "pdf", (pack_version(pack), template, variant or "plain", vm.cache_key()),
                  lambda: render.render_pdf(pack, template, vm, variant=variant).pdf)


def rendered_docx(session: Session | None, pack, template: str, vm) -> bytes:
    """``render.render_docx(pack, template, vm)``, rendered once."""
    from . import render

    return cached(session, "docx", (pack_version(pack), template, vm.cache_key()),
                  lambda: render.render_docx(pack, template, vm))


def evict(session: Session, *, max_bytes: int | None = None, max_days: int | None = None,
          now: dt.datetime | None = None) -> int:
    """Delete rows older than ``max_days`` and then the oldest rows until the total size
    is at most ``max_bytes`` (no commit); returns how many rows went."""
    max_bytes = DEFAULT_MAX_MB * 1024 * 1024 if max_bytes is None else max_bytes
    max_days = DEFAULT_MAX_DAYS if max_days is None else max_days
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None)
    removed = session.execute(delete(DocumentCacheEntry).where(
        DocumentCacheEntry.created_at < now - dt.timedelta(days=max_days))).rowcount or 0
    total = session.scalar(select(func.coalesce(func.sum(DocumentCacheEntry.size), 0))) or 0
    if total <= max_bytes:
        return removed
    doomed, excess = [], total - max_bytes
    for row_id, size in session.execute(select(DocumentCacheEntry.id, DocumentCacheEntry.size)
                                        .order_by(DocumentCacheEntry.created_at, DocumentCacheEntry.id)):
        if excess <= 0:
            break
        doomed.append(row_id)
        excess -= size
    for start in range(0, len(doomed), 500):
        session.execute(delete(DocumentCacheEntry).where(DocumentCacheEntry.id.in_(doomed[start:start + 500])))
    return removed + len(doomed)


def evict_configured(session: Session, config) -> int:
    """:func:`evict` with ``DOCUMENT_CACHE_MB`` / ``DOCUMENT_CACHE_DAYS`` from the config."""
    megabytes = int(config.get("DOCUMENT_CACHE_MB") or DEFAULT_MAX_MB)
    days = int(config.get("DOCUMENT_CACHE_DAYS") or DEFAULT_MAX_DAYS)
    return evict(session, max_bytes=megabytes * 1024 * 1024, max_days=days)
