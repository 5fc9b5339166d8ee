"""Checking a sealed PDF: is it ours, is it unchanged, when was it sealed?

:func:`verify_pdf` never raises for bad input: a broken file, a PDF without a
signature or a tampered one all come back as a :class:`Verification` with
``valid=False`` and ``problems`` — each a stable English code, a colon and a Dutch
explanation for the page (``"tampered: Het document is na ondertekening gewijzigd."``).

``valid`` means: every signature is cryptographically intact, made with a trusted
certificate (timestamp sound when there is one), *and* the newest signature covers
the whole file, byte for byte. Any revision appended after the seal — content,
annotations, form fields, even an /Info-only update, which pyHanko's difference
analysis files under ``LTA_UPDATES`` with ``docmdp_ok`` True — makes it invalid with
``modified_after_sealing``. pyHanko's ``valid`` alone stays True on a tampered file
and its ``bottom_line`` accepts such updates, so neither is used on its own.

``document_info`` and ``level`` describe the *signed* revision: they are read from
the bytes the newest signature covers (the file cut at the end of its byte range),
never from metadata a later revision could set.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .seal import run_sync

PROBLEMS_NL = {
    "not_pdf": "Het bestand is geen leesbare PDF.",
    "no_signature": "Het document bevat geen elektronische handtekening of zegel.",
    "tampered": "Het document is na ondertekening gewijzigd: de inhoud komt niet overeen met de handtekening.",
    "signature_invalid": "De handtekening zelf is ongeldig.",
    "untrusted": "De handtekening is gezet met een sleutel die wij niet vertrouwen.",
    "revoked": "Het certificaat van de ondertekenaar is ingetrokken.",
    "modified_after_sealing": ("Het bestand is na de verzegeling aangevuld of gewijzigd: het zegel dekt niet "
                               "het hele bestand, dus dit is niet het document zoals het is verzegeld."),
    "timestamp_invalid": "Het tijdstempel in de handtekening is ongeldig of niet vertrouwd.",
    "validation_error": "De handtekening kon niet worden gecontroleerd.",
}


@dataclass(frozen=True)
class Verification:
    """The answer for one PDF; ``problems`` is empty when ``valid``."""

    valid: bool
    intact: bool
    trusted: bool
    signed_at: datetime | None = None
    signer_subject: str | None = None
    document_info: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    timestamped: bool = False
    signature_count: int = 0
    level: str | None = None
    """``PAdES-B-B`` or ``PAdES-B-T`` (signature timestamp) for a PAdES signature, else None."""


def problem(code: str, extra: str | None = None) -> str:
    """Format one problem as ``code: Dutch text`` (with optional detail)."""
    text = f"{code}: {PROBLEMS_NL[code]}"
    return f"{text} ({extra})" if extra else text


def verify_pdf(pdf_bytes: bytes, trusted_certs: Iterable[x509.Certificate | bytes] = ()) -> Verification:
    """Validate every signature in ``pdf_bytes`` against ``trusted_certs`` (PEM/DER or objects)."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return Verification(False, False, False, document_info=_document_info(reader),
                                problems=[problem("no_signature")])
        info = _signed_document_info(pdf_bytes, signatures[-1])
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a usable PDF"
        return Verification(False, False, False, problems=[problem("not_pdf", type(exc).__name__)])
    try:
        roots = [_to_asn1(c) for c in trusted_certs]
    except ValueError as exc:
        return Verification(False, False, False, document_info=info, problems=[problem("validation_error", str(exc))])
    statuses, problems = [], []
    for sig in signatures:
        status, errors = _validate_one(sig, roots)
        problems.extend(p for p in errors if p not in problems)
        if status is not None:
            statuses.append(status)
    return _summarise(statuses, len(signatures), info, problems, _pades(signatures[-1]))


def _to_asn1(cert: x509.Certificate | bytes) -> asn1_x509.Certificate:
    """Accept cryptography certificates, PEM or DER bytes."""
    if isinstance(cert, x509.Certificate):
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    if cert.lstrip().startswith(b"-----BEGIN"):
        cert = x509.load_pem_x509_certificate(cert).public_bytes(serialization.Encoding.DER)
    return asn1_x509.Certificate.load(cert)


def _validate_one(sig, roots) -> tuple[PdfSignatureStatus | None, list[str]]:
    """Validate one embedded signature; a crash becomes a problem, not an exception."""
    # A fresh context per signature: contexts cache paths and are not thread-safe.
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = run_sync(lambda: async_validate_pdf_signature(sig, context, ts_validation_context=context))
    except Exception as exc:  # noqa: BLE001 - a mangled signature can fail anywhere
        return None, [problem("tampered", type(exc).__name__)]
    return status, _problems_of(status)


def _problems_of(status: PdfSignatureStatus) -> list[str]:
    """Translate a pyHanko status into our problem codes, most serious first."""
    if not status.intact:
        return [problem("tampered")]
    found = []
    if not status.valid:
        found.append(problem("signature_invalid"))
    if status.revoked:
        found.append(problem("revoked"))
    elif not status.trusted:
        found.append(problem("untrusted", status.signing_cert.subject.human_friendly))
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        # Whatever pyHanko's difference analysis thinks of the later revision (an
        # /Info-only update is "LTA_UPDATES", docmdp_ok True): it is not what was sealed.
        found.append(problem("modified_after_sealing", _modification(status)))
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        found.append(problem("timestamp_invalid"))
    if not found and not status.bottom_line:
        found.append(problem("validation_error", status.summary()))
    return found


def _modification(status: PdfSignatureStatus) -> str:
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return status.coverage.name
    level = status.modification_level
    return level.name if level is not None else "unknown"


def _summarise(statuses: list[PdfSignatureStatus], count: int, info: dict[str, str],
               problems: list[str], pades: bool) -> Verification:
    """Combine per-signature statuses; the last signature gives time and signer."""
    complete = len(statuses) == count
    last = statuses[-1] if statuses else None
    timestamped = bool(last and last.timestamp_validity is not None)
    return Verification(
        valid=(complete and not problems and all(s.bottom_line for s in statuses)
               and last.coverage == SignatureCoverageLevel.ENTIRE_FILE),
        intact=complete and all(s.intact for s in statuses),
        trusted=complete and all(s.trusted for s in statuses),
        signed_at=_signed_at(last) if last else None,
        signer_subject=last.signing_cert.subject.human_friendly if last else None,
        document_info=info,
        problems=problems,
        timestamped=timestamped,
        signature_count=count,
        level=("PAdES-B-T" if timestamped else "PAdES-B-B") if pades and last else None,
    )


def _signed_at(status: PdfSignatureStatus) -> datetime | None:
    """The TSA time when there is one, else the time the signer claimed."""
    if status.timestamp_validity is not None:
        return status.timestamp_validity.timestamp
    return status.signer_reported_dt


def _pades(sig) -> bool:
    """A PAdES signature (``ETSI.CAdES.detached``), not a legacy PKCS#7 one."""
    try:
        return sig.sig_object.get("/SubFilter") == "/ETSI.CAdES.detached"
    except Exception:  # noqa: BLE001 - a mangled signature dictionary is simply not PAdES
        return False


def _signed_document_info(pdf_bytes: bytes, sig) -> dict[str, str]:
    """The document information as it is in the revision ``sig`` signed.

    The file is cut where the signature's byte range ends and read afresh, so an
    /Info (or any object) rewritten by a later revision cannot show through. A byte
    range that does not describe a prefix of the file gives ``{}``.
    """
    byte_range = list(sig.byte_range)
    if len(byte_range) != 4 or byte_range[0] != 0:
        return {}
    end = int(byte_range[2]) + int(byte_range[3])
    if not 0 < end <= len(pdf_bytes):
        return {}
    try:
        return _document_info(PdfFileReader(io.BytesIO(pdf_bytes[:end]), strict=False))
    except Exception:  # noqa: BLE001 - an unreadable signed revision tells us nothing
        return {}


INFO_KEYS = {"/Title": "title", "/Subject": "subject", "/Keywords": "keywords", "/Author": "author",
             "/FormsServiceSigners": "signers"}
"""Entries of the document information dictionary we read (``signers``: the JSON list of
names, dates and methods the service writes into the revision it seals)."""


def _document_info(reader: PdfFileReader) -> dict[str, str]:
    """Title, subject, keywords, author and our signer list from the newest /Info of ``reader``."""
    try:
        info = reader.trailer["/Info"]
    except KeyError:
        return {}
    return {name: str(info[key]) for key, name in INFO_KEYS.items() if key in info}
