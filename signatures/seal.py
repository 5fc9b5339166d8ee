"""Sealing a finished PDF with the service's key: PAdES-B-B, or PAdES-B-T with a TSA.

Seal last: any rewrite of a sealed PDF (pypdf ``clone_from``, ``append``) breaks the
seal, so assemble document + signature page + certificate of completion first.

The seal is a *certification* signature that allows no further changes
(DocMDP P=1): a later incremental edit of page content shows up as an illegal
modification in every validator. Pass ``certify=False`` for a plain approval
signature.

Timestamp policy: without ``timestamp_url`` the signing time is the server clock,
written as a *claimed* time (PAdES-B-B). With ``timestamp_url`` an RFC 3161 token
from that TSA is embedded (PAdES-B-T). When the TSA cannot be reached after a few
tries, :class:`TimestampUnavailable` is raised — we never fall back silently to the
local clock, because a document that was meant to carry a trusted time must not
quietly leave without one. The caller decides: retry later (the document stays
``pending_seal``) or seal B-B deliberately.

pyHanko's sync API calls ``asyncio.run()``, which fails inside a running event
loop; :func:`run_sync` runs the coroutine in a worker thread in that case.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import io
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError

from .keys import SealIdentity

T = TypeVar("T")

TIMESTAMP_ATTEMPTS = 3
TIMESTAMP_BACKOFF_SECONDS = 0.5


class TimestampUnavailable(RuntimeError):
    """The timestamp authority could not be reached; the PDF was not sealed."""

    message_nl = "De tijdstempeldienst is niet bereikbaar; het document is nog niet verzegeld."


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion, also from a thread that already runs a loop.

    ``factory`` creates the coroutine inside the thread that runs it, so no
    coroutine object is left un-awaited when something fails early.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def seal_pdf(
    pdf_bytes: bytes,
    signer: SealIdentity | signers.Signer,
    *,
    reason: str,
    location: str,
    timestamp_url: str | None = None,
    field_name: str = "Seal",
    title: str | None = None,
    subject: str | None = None,
    keywords: list[str] | None = None,
    certify: bool = True,
    timestamper: TimeStamper | None = None,
    timestamp_attempts: int = TIMESTAMP_ATTEMPTS,
    timestamp_timeout: float = 5.0,
) -> bytes:
    """Return ``pdf_bytes`` with a PAdES seal appended as an incremental update.

    ``title``/``subject``/``keywords`` go into the document information and XMP
    inside the sealed revision (so they are covered by the seal). ``timestamper``
    overrides ``timestamp_url`` (tests, or a TSA that needs authentication).
    """
    pyhanko_signer = signer.signer if isinstance(signer, SealIdentity) else signer
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, reason=reason, location=location, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES, certify=certify,
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )
    if timestamper is None and timestamp_url:
        timestamper = _http_timestamper(timestamp_url, timestamp_timeout)

    def attempt() -> bytes:
        return run_sync(lambda: _seal_once(pdf_bytes, pyhanko_signer, meta, timestamper,
                                           title, subject, keywords))

    if timestamper is None:
        return attempt()
    return _with_timestamp_retries(attempt, timestamp_attempts)


@functools.lru_cache(maxsize=8)
def _http_timestamper(url: str, timeout: float) -> HTTPTimeStamper:
    """One client per TSA: pyHanko caches its size-estimate token per instance,
    which saves a round trip to the TSA on every seal after the first."""
    return HTTPTimeStamper(url, timeout=timeout)


async def _seal_once(pdf_bytes, pyhanko_signer, meta, timestamper, title, subject, keywords) -> bytes:
    """One sealing attempt on a fresh writer (a failed attempt leaves nothing behind)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    doc_meta = writer.document_meta
    doc_meta.title = title or doc_meta.title
    doc_meta.subject = subject or doc_meta.subject
    doc_meta.keywords = list(keywords or doc_meta.keywords)
    pdf_signer = signers.PdfSigner(meta, signer=pyhanko_signer, timestamper=timestamper)
    out = await pdf_signer.async_sign_pdf(writer)
    return out.getvalue()


def _with_timestamp_retries(attempt: Callable[[], bytes], attempts: int) -> bytes:
    """Retry when the TSA fails; raise :class:`TimestampUnavailable` at the end."""
    last: Exception | None = None
    for n in range(max(1, attempts)):
        try:
            return attempt()
        except (TimestampRequestError, asyncio.TimeoutError, OSError) as exc:
            last = exc
            if n + 1 < attempts:
                time.sleep(TIMESTAMP_BACKOFF_SECONDS * (2 ** n))
    raise TimestampUnavailable(f"timestamp authority unavailable after {attempts} attempts: {last}") from last
