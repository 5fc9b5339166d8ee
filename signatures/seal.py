"""Sealing a finished PDF with the service's key: PAdES-B-B, or PAdES-B-LT with a TSA,
and later document timestamps (PAdES-B-LTA).

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

Long-term validation: with a TSA the seal is **PAdES-B-LT**: pyHanko embeds the
validation data (certificates, and revocation data where a certificate names where to
fetch it) of the seal and of its timestamp in the document security store (``/DSS``
with ``/VRI``), as an incremental update right after the signature, so the file can be
checked long after the TSA or a CA is gone. The validation context trusts our seal
certificate and the configured timestamp roots (``validation_roots``; without them the
system's roots). When that data cannot be collected (a TSA we cannot validate), the
seal stays PAdES-B-T and a warning is logged: the seal itself is sound, and
``forms-service ltv-refresh`` adds the data once the TSA's root is configured.
:func:`add_document_timestamp` appends a document timestamp (**PAdES-B-LTA**) after
embedding the validation data of the newest timestamp, before its certificate
expires; :func:`newest_timestamp` says which timestamp that is.

pyHanko's sync API calls ``asyncio.run()``, which fails inside a running event
loop; :func:`run_sync` runs the coroutine in a worker thread in that case.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import io
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper, TimestampRequestError
from pyhanko_certvalidator import ValidationContext

from registry.texts import _

from .keys import SealIdentity

T = TypeVar("T")

log = logging.getLogger(__name__)

TIMESTAMP_ATTEMPTS = 3
TIMESTAMP_BACKOFF_SECONDS = 0.5


class TimestampUnavailable(RuntimeError):
    """The timestamp authority could not be reached; the PDF was not sealed."""

    @property
    def message_nl(self) -> str:
        """The reason for people, in the current language (the name is kept for its callers)."""
        return _("De tijdstempeldienst is niet bereikbaar; het document is nog niet verzegeld.")


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
    validation_roots: Iterable[x509.Certificate | bytes] | None = None,
    long_term: bool = True,
) -> bytes:
    """Return ``pdf_bytes`` with a PAdES seal appended as an incremental update.

    ``title``/``subject``/``keywords`` go into the document information and XMP
    inside the sealed revision (so they are covered by the seal). ``timestamper``
    overrides ``timestamp_url`` (tests, or a TSA that needs authentication). With a
    timestamp and ``long_term`` the seal is PAdES-B-LT: the validation data of the seal
    and its timestamp, validated against our own certificate and ``validation_roots``
    (the TSA's roots; None: the system's), is embedded after the signature.
    """
    pyhanko_signer = signer.signer if isinstance(signer, SealIdentity) else signer
    if timestamper is None and timestamp_url:
        timestamper = _http_timestamper(timestamp_url, timestamp_timeout)

    def meta(ltv: bool) -> signers.PdfSignatureMetadata:
        return signers.PdfSignatureMetadata(
            field_name=field_name, reason=reason, location=location, md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES, certify=certify,
            docmdp_permissions=MDPPerm.NO_CHANGES, embed_validation_info=ltv,
            validation_context=validation_context(pyhanko_signer, validation_roots) if ltv else None,
        )

    def attempt(ltv: bool) -> bytes:
        return run_sync(lambda: _seal_once(pdf_bytes, pyhanko_signer, meta(ltv), timestamper,
                                           title, subject, keywords))

    if timestamper is None:
        return attempt(False)
    if not long_term:
        return _with_timestamp_retries(lambda: attempt(False), timestamp_attempts)
    try:
        return _with_timestamp_retries(lambda: attempt(True), timestamp_attempts)
    except TimestampUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - validation data could not be collected: seal B-T
        log.warning("PAdES-B-LT validation data could not be collected (%s: %s); sealing PAdES-B-T",
                    type(exc).__name__, exc)
        return _with_timestamp_retries(lambda: attempt(False), timestamp_attempts)


def _asn1(cert: x509.Certificate | asn1_x509.Certificate | bytes) -> asn1_x509.Certificate:
    """A certificate (cryptography, asn1crypto, PEM or DER) as asn1crypto."""
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if cert.lstrip().startswith(b"-----BEGIN"):
        return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                for c in x509.load_pem_x509_certificates(cert)][0]
    return asn1_x509.Certificate.load(cert)


def _all_asn1(certs: Iterable[x509.Certificate | bytes]) -> list[asn1_x509.Certificate]:
    """Every certificate of ``certs`` (a PEM may hold several)."""
    out = []
    for cert in certs:
        if isinstance(cert, bytes) and cert.lstrip().startswith(b"-----BEGIN"):
            out.extend(asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                       for c in x509.load_pem_x509_certificates(cert))
        else:
            out.append(_asn1(cert))
    return out


def validation_context(pyhanko_signer: signers.Signer | None,
                       roots: Iterable[x509.Certificate | bytes] | None) -> ValidationContext:
    """The context that collects validation data: it trusts our seal certificate (and
    the certificates its signer carries) plus ``roots`` (the TSA's), or, without
    ``roots``, the system's roots as well. Fetching is allowed so that revocation data
    of a CA-issued chain is embedded; this runs only where sealing runs, outside
    requests. Soft-fail: a CA without reachable revocation data does not stop a seal."""
    ours = []
    if pyhanko_signer is not None and getattr(pyhanko_signer, "signing_cert", None) is not None:
        ours.append(pyhanko_signer.signing_cert)
        ours.extend(getattr(pyhanko_signer, "cert_registry", None) or ())
    configured = _all_asn1(roots) if roots else []
    if configured:
        return ValidationContext(trust_roots=[*ours, *configured], allow_fetching=True, revocation_mode="soft-fail")
    return ValidationContext(extra_trust_roots=ours, allow_fetching=True, revocation_mode="soft-fail")


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


# ----------------------------------------------------------------------------- long-term validation


@dataclass(frozen=True)
class NewestTimestamp:
    """The newest timestamp of a sealed PDF: a document timestamp, else the seal's own."""

    at: dt.datetime
    certificate_expires: dt.datetime
    certificate_sha256: str
    document_timestamp: bool


def newest_timestamp(pdf_bytes: bytes) -> NewestTimestamp | None:
    """The newest timestamp in ``pdf_bytes`` (read, not validated), or None for a
    PAdES-B-B seal or a file we cannot read."""
    import hashlib

    try:
        signatures = PdfFileReader(io.BytesIO(pdf_bytes), strict=False).embedded_signatures
    except Exception:  # noqa: BLE001 - an unreadable file has no timestamp we can use
        return None
    for sig in reversed(signatures):
        try:
            if sig.sig_object_type == "/DocTimeStamp":
                signed_data, document = sig.signed_data, True
            else:
                signed_data, document = _signature_timestamp_token(sig), False
            if signed_data is None:
                continue
            cert = _tsa_certificate(signed_data)
            info = signed_data["encap_content_info"]["content"].parsed
        except Exception:  # noqa: BLE001 - a mangled token is no usable timestamp
            continue
        return NewestTimestamp(at=info["gen_time"].native, certificate_expires=cert.not_valid_after,
                               certificate_sha256=hashlib.sha256(cert.dump()).hexdigest(),
                               document_timestamp=document)
    return None


def _signature_timestamp_token(sig):
    """The signed data of the RFC 3161 token in a signature's unsigned attributes."""
    for attr in sig.signer_info["unsigned_attrs"] or ():
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]["content"]
    return None


def _tsa_certificate(signed_data) -> asn1_x509.Certificate:
    """The certificate that signed a timestamp token (matched by issuer and serial)."""
    sid = signed_data["signer_infos"][0]["sid"].chosen
    for choice in signed_data["certificates"] or ():
        cert = choice.chosen
        if isinstance(cert, asn1_x509.Certificate) and cert.issuer == sid["issuer"] \
                and cert.serial_number == sid["serial_number"].native:
            return cert
    raise ValueError("timestamp token without its certificate")


def add_document_timestamp(pdf_bytes: bytes, *, timestamp_url: str | None = None,
                           timestamper: TimeStamper | None = None,
                           validation_roots: Iterable[x509.Certificate | bytes] | None = None,
                           seal_certificate: x509.Certificate | bytes | None = None,
                           timestamp_attempts: int = TIMESTAMP_ATTEMPTS, timestamp_timeout: float = 5.0) -> bytes:
    """``pdf_bytes`` with a document timestamp appended (PAdES-B-LTA), as incremental
    updates that change nothing the seal covers: first the seal's validation data when
    the file has no ``/DSS`` yet (a PAdES-B-T seal made before B-LT), then pyHanko's
    archival timestamp chain (the validation data of the newest timestamp, then a new
    document timestamp). Raises :class:`TimestampUnavailable` when the TSA stays down."""
    if timestamper is None:
        if not timestamp_url:
            raise ValueError("a document timestamp needs TIMESTAMP_URL")
        timestamper = _http_timestamper(timestamp_url, timestamp_timeout)
    roots = list(validation_roots or ())
    if seal_certificate is not None:
        roots.insert(0, seal_certificate)

    async def refresh() -> bytes:
        from pyhanko.sign.validation import dss

        data = pdf_bytes
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if "/DSS" not in reader.root:
            seal = next((s for s in reader.embedded_signatures if s.sig_object_type != "/DocTimeStamp"), None)
            if seal is not None:
                out = await dss.async_add_validation_info(seal, validation_context(None, roots), output=io.BytesIO())
                data = out.getvalue()
                reader = PdfFileReader(io.BytesIO(data), strict=False)
        stamper = signers.PdfTimeStamper(timestamper)
        out = await stamper.async_update_archival_timestamp_chain(reader, validation_context(None, roots),
                                                                 in_place=False, output=io.BytesIO())
        return out.getvalue()

    return _with_timestamp_retries(lambda: run_sync(refresh), timestamp_attempts)
