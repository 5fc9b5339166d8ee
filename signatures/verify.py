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
the bytes the newest seal covers (the file cut at the end of its byte range),
never from metadata a later revision could set.

Long-term seals (PAdES-B-LT and B-LTA) are the one exception to "nothing after the
seal": revisions that only add validation data (``/DSS``) and document timestamps
are accepted. A revision is accepted as such only when pyHanko's difference analysis
files everything after the signature under ``LTA_UPDATES`` (DocMDP still satisfied)
*and* no later revision touches the document information dictionary or the XMP
metadata — the two other things pyHanko also files under ``LTA_UPDATES``. Every
document timestamp must itself be intact and made by a trusted timestamp authority.
``level`` is ``PAdES-B-B`` (no timestamp), ``PAdES-B-T`` (a signature timestamp),
``PAdES-B-LT`` (plus embedded validation data) or ``PAdES-B-LTA`` (plus a document
timestamp over all of it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .seal import run_sync
from registry.texts import N_, _

PROBLEMS_NL = {
    "not_pdf": N_("Het bestand is geen leesbare PDF."),
    "no_signature": N_("Het document bevat geen elektronische handtekening of zegel."),
    "tampered": N_("Het document is na ondertekening gewijzigd: de inhoud komt niet overeen met de handtekening."),
    "signature_invalid": N_("De handtekening zelf is ongeldig."),
    "untrusted": N_("De handtekening is gezet met een sleutel die wij niet vertrouwen."),
    "revoked": N_("Het certificaat van de ondertekenaar is ingetrokken."),
    "modified_after_sealing": (N_("Het bestand is na de verzegeling aangevuld of gewijzigd: het zegel dekt niet "
                               "het hele bestand, dus dit is niet het document zoals het is verzegeld.")),
    "timestamp_invalid": N_("Het tijdstempel in de handtekening is ongeldig of niet vertrouwd."),
    "validation_error": N_("De handtekening kon niet worden gecontroleerd."),
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
    """``PAdES-B-B``, ``PAdES-B-T`` (signature timestamp), ``PAdES-B-LT`` (validation data
    embedded) or ``PAdES-B-LTA`` (and a document timestamp) for a PAdES seal, else None."""
    document_timestamps: int = 0
    """How many document timestamps (B-LTA) follow the seal."""


def problem(code: str, extra: str | None = None) -> str:
    """Format one problem as ``code: Dutch text`` (with optional detail)."""
    text = f"{code}: {_(PROBLEMS_NL[code])}"
    return f"{text} ({extra})" if extra else text


def verify_pdf(pdf_bytes: bytes, trusted_certs: Iterable[x509.Certificate | bytes] = (), *,
               seal_certs: Iterable[x509.Certificate | bytes] | None = None) -> Verification:
    """Validate every signature in ``pdf_bytes`` against ``trusted_certs`` (PEM/DER or objects).

    ``seal_certs`` pins the signing certificate: when given, a signature is trusted only
    when it is made with exactly one of these certificates, however well its chain
    validates against ``trusted_certs`` (which may hold a timestamp authority's root).
    """
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        everything = reader.embedded_signatures
        signatures = [sig for sig in everything if sig.sig_object_type != "/DocTimeStamp"]
        stamps = [sig for sig in everything if sig.sig_object_type == "/DocTimeStamp"]
        if not signatures:
            return Verification(False, False, False, document_info=_document_info(reader),
                                problems=[problem("no_signature")])
        info = _signed_document_info(pdf_bytes, signatures[-1])
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a usable PDF"
        return Verification(False, False, False, problems=[problem("not_pdf", type(exc).__name__)])
    try:
        roots = [_to_asn1(c) for c in trusted_certs]
        pinned = None if seal_certs is None else {_to_asn1(c).dump() for c in seal_certs}
    except ValueError as exc:
        return Verification(False, False, False, document_info=info, problems=[problem("validation_error", str(exc))])
    statuses, problems, whole, ours = [], [], [], []
    for sig in signatures:
        status, errors = _validate_one(sig, roots)
        if status is not None:
            lta_only = _only_long_term_updates(reader, sig, status)
            statuses.append(status)
            whole.append(_covers_whole_file(pdf_bytes, sig, lta_only))
            ours.append(status.trusted and (pinned is None or status.signing_cert.dump() in pinned))
            errors = _coverage_and_pin_problems(status, errors, whole[-1], ours[-1], lta_only)
        problems.extend(p for p in errors if p not in problems)
    stamps_ok = True
    for stamp in stamps:
        errors = _validate_stamp(reader, pdf_bytes, stamp, roots)
        stamps_ok = stamps_ok and not errors
        problems.extend(p for p in errors if p not in problems)
    level = _level(reader, signatures[-1], statuses[-1] if len(statuses) == len(signatures) else None,
                   [s for s in stamps if s.signed_revision > signatures[-1].signed_revision])
    return _summarise(statuses, len(signatures), info, problems, level,
                      whole_file=bool(whole) and whole[-1] and stamps_ok, ours=ours, stamps=len(stamps))


def _level(reader: PdfFileReader, seal, status: PdfSignatureStatus | None, later_stamps: list) -> str | None:
    """The PAdES level of the newest seal (None: not a PAdES signature)."""
    if status is None or not _pades(seal):
        return None
    if status.timestamp_validity is None:
        return "PAdES-B-B"
    if not _has_validation_data(reader):
        return "PAdES-B-T"
    return "PAdES-B-LTA" if later_stamps else "PAdES-B-LT"


def _has_validation_data(reader: PdfFileReader) -> bool:
    """A document security store with certificates (or revocation data) in it."""
    try:
        if "/DSS" not in reader.root:
            return False
        dss = reader.root["/DSS"]
        return any(key in dss for key in ("/Certs", "/OCSPs", "/CRLs", "/VRI"))
    except Exception:  # noqa: BLE001 - a mangled DSS holds no usable data
        return False


def _validate_stamp(reader: PdfFileReader, pdf_bytes: bytes, stamp, roots) -> list[str]:
    """Problems of one document timestamp: it must be intact, valid, trusted, and
    followed only by long-term updates."""
    context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")
    try:
        status = run_sync(lambda: async_validate_pdf_timestamp(stamp, context))
    except Exception as exc:  # noqa: BLE001 - a mangled timestamp can fail anywhere
        return [problem("tampered", type(exc).__name__)]
    if not status.intact:
        return [problem("tampered")]
    found = []
    if not (status.valid and status.trusted):
        found.append(problem("timestamp_invalid"))
    if not _covers_whole_file(pdf_bytes, stamp, _only_long_term_updates(reader, stamp, status)):
        found.append(problem("modified_after_sealing", _modification(status)))
    return found


def _only_long_term_updates(reader: PdfFileReader, sig, status) -> bool:
    """True when every revision after the one ``sig`` signed only adds validation data
    or document timestamps: pyHanko's difference analysis says ``LTA_UPDATES`` at most
    (DocMDP satisfied), and no later revision rewrites the document information or the
    XMP metadata (which pyHanko files under ``LTA_UPDATES`` too)."""
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    level = status.modification_level
    if level is None or level > ModificationLevel.LTA_UPDATES or getattr(status, "docmdp_ok", True) is False:
        return False
    try:
        signed, total = sig.signed_revision, reader.xrefs.total_revisions
        if total <= signed + 1 or not _ends_with_a_revision(reader):
            return False  # bytes after the seal that are no revision (a trailing comment)
        identity = _identity_metadata(reader, signed)
        for revision in range(signed + 1, total):
            if _identity_metadata(reader, revision) != identity:
                return False
    except Exception:  # noqa: BLE001 - revisions we cannot read are not accepted as harmless
        return False
    return True


def _ends_with_a_revision(reader: PdfFileReader) -> bool:
    """The file ends at the ``%%EOF`` of its last revision (an end-of-line at most)."""
    data = reader.stream.getvalue()
    last = reader.xrefs.get_xref_container_info(reader.xrefs.total_revisions - 1)
    end = data.index(b"%%EOF", last.end_location) + len(b"%%EOF")
    return data[end:] in (b"", b"\n", b"\r\n", b"\r")


VOLATILE_INFO = {"/ModDate", "/Producer"}
VOLATILE_XMP = {"ModifyDate", "MetadataDate", "Producer", "CreatorTool"}
"""What every incremental writer (pyHanko's DSS and timestamp updates included) rewrites
in the document information and the XMP metadata: the modification time and the
producing program. Anything else there (title, subject, keywords, author, our signer
list) is the document's identity and may not change after the seal."""


def _identity_metadata(reader: PdfFileReader, revision: int) -> tuple:
    """The document information (without :data:`VOLATILE_INFO`) and the XMP elements
    (without :data:`VOLATILE_XMP`) as they are in ``revision``: the file is cut after
    that revision's ``%%EOF`` and read afresh (as :func:`_signed_document_info` does)."""
    import xml.etree.ElementTree as ET

    data = reader.stream.getvalue() if hasattr(reader.stream, "getvalue") else None
    if data is None:
        raise ValueError("the reader has no bytes")
    end = data.index(b"%%EOF", reader.xrefs.get_xref_container_info(revision).end_location) + len(b"%%EOF")
    cut = PdfFileReader(io.BytesIO(data[:end]), strict=False)
    info = {}
    if "/Info" in cut.trailer:
        info_dict = cut.trailer["/Info"]
        info = {str(k): str(info_dict[k]) for k in info_dict if k not in VOLATILE_INFO}
    leaves = []
    if "/Metadata" in cut.root:
        for element in ET.fromstring(cut.root["/Metadata"].data).iter():
            if element.tag.rsplit("}", 1)[-1] in VOLATILE_XMP:
                continue
            attrs = tuple(sorted((k, v) for k, v in element.attrib.items()
                                 if k.rsplit("}", 1)[-1] not in VOLATILE_XMP))
            leaves.append((element.tag, (element.text or "").strip(), attrs))
    return tuple(sorted(info.items())), tuple(sorted(leaves))


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
        # /Info-only update is "LTA_UPDATES", docmdp_ok True): it is not what was sealed
        # — unless it only adds validation data or document timestamps
        # (:func:`_only_long_term_updates`, decided by the caller).
        found.append(problem("modified_after_sealing", _modification(status)))
    ts = status.timestamp_validity
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        found.append(problem("timestamp_invalid"))
    if not found and not status.bottom_line:
        found.append(problem("validation_error", status.summary()))
    return found


def _coverage_and_pin_problems(status: PdfSignatureStatus, found: list[str], whole_file: bool,
                               ours: bool, lta_only: bool = False) -> list[str]:
    """Add what pyHanko does not see: bytes outside the seal that its length-only
    ENTIRE_FILE test misses, and a trusted chain that is not our pinned certificate;
    drop ``modified_after_sealing`` when what follows is only long-term validation data."""
    if not status.intact:
        return found
    found = list(found)
    if lta_only and whole_file:
        found = [p for p in found if not p.startswith("modified_after_sealing:")]
        if not found and not status.bottom_line:
            found.append(problem("validation_error", status.summary()))
    codes = [p.split(":", 1)[0] for p in found]
    if not whole_file and "modified_after_sealing" not in codes:
        found.insert(0, problem("modified_after_sealing", "ByteRange"))
    if not ours and "untrusted" not in codes and "revoked" not in codes:
        found.insert(0, problem("untrusted", status.signing_cert.subject.human_friendly))
    if "validation_error" in codes and len(found) > 1:
        found = [p for p in found if not p.startswith("validation_error:")]
    return found


HEX_CONTENTS = re.compile(rb"<[0-9A-Fa-f]*>")


def _covers_whole_file(pdf_bytes: bytes, sig, lta_only: bool = False) -> bool:
    """True when the signature's byte range is ``[0, a, b, len(file) - b]`` and the
    one gap ``[a, b)`` holds exactly the hex string of the signature being validated.
    With ``lta_only`` (everything after the signed revision is long-term validation
    data, :func:`_only_long_term_updates`) the same holds for the file cut at the end
    of the signed revision.

    pyHanko's ENTIRE_FILE test only compares lengths (``a + rest + 2·len(/Contents) +
    2 == len(file)``): a later revision that redefines the signature dictionary with a
    longer, literal ``/Contents`` (the same CMS plus zero padding) balances the sum
    while appending anything at all. Here every byte outside the gap must be signed
    and the gap must be the very signature that was checked.
    """
    try:
        start, first, second, rest = (int(x) for x in sig.byte_range)
        contents = sig.pkcs7_content
    except Exception:  # noqa: BLE001 - not a standard byte range: not the whole file
        return False
    if lta_only and 0 < second + rest <= len(pdf_bytes):
        pdf_bytes = pdf_bytes[:second + rest]
    if start != 0 or not 0 < first < second or second + rest != len(pdf_bytes) or rest < 0:
        return False
    gap = pdf_bytes[first:second]
    if HEX_CONTENTS.fullmatch(gap) is None or len(gap) % 2:
        return False
    return bytes.fromhex(gap[1:-1].decode("ascii")) == contents


def _modification(status: PdfSignatureStatus) -> str:
    if status.coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return status.coverage.name
    level = status.modification_level
    return level.name if level is not None else "unknown"


def _summarise(statuses: list[PdfSignatureStatus], count: int, info: dict[str, str],
               problems: list[str], level: str | None, *, whole_file: bool, ours: list[bool],
               stamps: int = 0) -> Verification:
    """Combine per-signature statuses; the last signature gives time and signer, and
    it must cover the whole file."""
    complete = len(statuses) == count
    last = statuses[-1] if statuses else None
    timestamped = bool(last and last.timestamp_validity is not None)
    return Verification(
        valid=complete and not problems and all(s.bottom_line for s in statuses) and whole_file and all(ours),
        intact=complete and all(s.intact for s in statuses),
        trusted=complete and all(ours),
        signed_at=_signed_at(last) if last else None,
        signer_subject=last.signing_cert.subject.human_friendly if last else None,
        document_info=info,
        problems=problems,
        timestamped=timestamped,
        signature_count=count,
        level=level if last else None,
        document_timestamps=stamps,
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
