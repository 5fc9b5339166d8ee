"""Trying to fool the public verifier (``POST /api/v1/verify`` and ``/verify``).

A sealed Bijlage 1 of the service is the starting point. Valid means: the seal is
intact, ours, and covers the whole file. Every incremental update after the seal
(/Info only — the original attack, which pyHanko alone accepts as ``LTA_UPDATES`` —,
catalog, added page, annotation, form field, content, a second signature, even a
trailing comment) is refused with ``modified_after_sealing``; a look-alike key is
untrusted; a stripped signature is ``no_signature``; a truncated file is refused.
A refused file discloses nothing of our records (``document`` null, ``signers``
empty), and no answer ever carries an e-mail address, IP address or user agent.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText
from pypdf.generic import (
    ArrayObject, DictionaryObject, FloatObject, NameObject, NumberObject, TextStringObject,
)
from sqlalchemy import select

from signatures import workflow as service
from registry.models import Organisation
from signatures.keys import load_or_create_signer
from signatures.models import SignedDocument
from signatures.seal import seal_pdf
from tests import signing_support as support
from tests.meetings.test_meetings_sealed_list import meeting_id  # noqa: F401 - a fixture
from tests.signatures.test_signatures_seal import edit_incrementally, make_pdf, tsa  # noqa: F401 - tsa is a fixture

SIGNER_KEYS = {"name", "signed_on", "method", "identification", "role", "organisation", "function"}
PERSONAL = ("mira@ggd.example", "sanne@mail.example", "@", "127.0.0.1", "Werkzeug")


# --- arranging: two sealed documents of the service ----------------------------------

@pytest.fixture
def sealed(api, client) -> dict:
    """A sealed Bijlage 1 (Mira Kamphuis) and a sealed Bijlage 4 (Sanne de Boer), signed
    online through the real forms."""
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    org_id = reps[0]["organisation_id"]
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": org_id,
                                         "function": "Jeugdverpleegkundige", "email": "mira@ggd.example"}).json
    b1 = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"]}).json
    consent = api.post("/api/v1/consents", {"table_id": table["id"], "case_ref": "EN-9", "signed_by": "resident",
                                            "resident_name": "Sanne de Boer", "resident_birth_date": "1990-01-01", "purpose": "Afstemming van de hulp",
                                            "categories": ["name_address"], "recipients": [org_id]}).json
    assert api.post(f"/api/v1/declarations/{b1['id']}/signing-requests").status_code == 201
    assert api.post(f"/api/v1/consents/{consent['id']}/signing-requests", {"signers": [
        {"name": "Sanne de Boer", "email": "sanne@mail.example", "role": "resident"}]}).status_code == 201
    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links["mira@ggd.example"], "Mira Kamphuis", support.png_data_url()).status_code == 303
    assert support.sign_via_form(client, links["sanne@mail.example"], "Sanne de Boer").status_code == 303
    assert support.worker_round(api)["sealed"] == 2
    declaration = api.get(f"/api/v1/declarations/{b1['id']}/signed.pdf")
    assert declaration.status_code == 200
    return {"pdf": declaration.data, "declaration_id": b1["id"], "consent_id": consent["id"], "organisation_id": org_id}


def verify(client, pdf: bytes) -> dict:
    """The API's answer for ``pdf``, after checking it carries no personal data."""
    response = client.post("/api/v1/verify", data={"file": (io.BytesIO(pdf), "x.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert not any(p in text for p in PERSONAL), text
    body = response.json
    assert set(body) == {"valid", "intact", "trusted", "document", "signers", "problems"}
    assert all(set(p) == {"code", "message"} and p["message"] for p in body["problems"])
    return body


def verify_page(client, pdf: bytes) -> str:
    """The /verify page's text for an upload of ``pdf`` (with the page's CSRF token)."""
    form = client.get("/verify").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    page = client.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(pdf), "x.pdf")},
                       content_type="multipart/form-data")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def codes(body: dict) -> list[str]:
    return [p["code"] for p in body["problems"]]


def assert_refused(body: dict, code: str) -> None:
    """Not valid, the expected problem, and nothing about any stored record."""
    assert body["valid"] is False, body
    assert code in codes(body), body
    assert body["document"] is None and body["signers"] == [], body


# --- building the attacks ------------------------------------------------------------------

def _incremental(pdf: bytes, change) -> bytes:
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(pdf) and len(updated) > len(pdf)  # the sealed bytes are untouched
    return updated


def info_only(keywords: str):
    def change(writer):
        writer.add_metadata({"/Keywords": keywords, "/Title": "Bijlage 4 — Toestemming"})
    return change


def catalog_change(writer):
    writer._root_object[NameObject("/PageMode")] = NameObject("/UseOutlines")
    writer._root_object[NameObject("/Lang")] = TextStringObject("en-GB")


def added_page(writer):
    writer.add_blank_page(595, 842)


def annotation(writer):
    note = FreeText(text="Ingetrokken op 2026-12-02", rect=(72, 600, 400, 640))
    writer.add_annotation(page_number=0, annotation=note)


def form_field(writer):
    """A new text field with a widget on page 1, registered in the AcroForm."""
    page = writer.pages[0]
    field = DictionaryObject({
        NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject("opmerking"),
        NameObject("/V"): TextStringObject("Niet ondertekend"), NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"), NameObject("/F"): NumberObject(4),
        NameObject("/Rect"): ArrayObject([FloatObject(72), FloatObject(560), FloatObject(300), FloatObject(580)]),
        NameObject("/P"): page.indirect_reference,
    })
    ref = writer._add_object(field)
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else ArrayObject()
    annots.append(ref)
    page[NameObject("/Annots")] = annots
    form = writer._root_object["/AcroForm"].get_object()
    form["/Fields"].get_object().append(ref)


def strip_signature_incrementally(writer):
    """Drop the AcroForm (and with it the signature field) and the DocMDP entry in a new revision."""
    del writer._root_object["/AcroForm"]
    del writer._root_object["/Perms"]
    for page in writer.pages:
        if "/Annots" in page:
            del page["/Annots"]


def strip_signature_rewritten(pdf: bytes) -> bytes:
    """The same pages and metadata, written afresh without the signature."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for key in ("/AcroForm", "/Perms"):
        if key in writer._root_object:
            del writer._root_object[key]
    for page in writer.pages:
        if "/Annots" in page:
            del page["/Annots"]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pyhanko_info_only(pdf: bytes, keywords: str) -> bytes:
    """An /Info-only update written by pyHanko's own incremental writer."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from pyhanko.pdf_utils import generic

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Keywords")] = generic.TextStringObject(keywords)
    writer.update_container(info)
    out = io.BytesIO()
    writer.write(out)
    updated = out.getvalue()
    assert updated.startswith(pdf) and len(updated) > len(pdf)
    return updated


def look_alike_identity(app, tmp_path):
    """A key of our own making with a self-signed certificate that copies our seal
    certificate's subject, issuer, serial number, validity and extensions."""
    ours = service.seal_identity(app.config).certificate
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(ours.subject).issuer_name(ours.issuer)
               .public_key(key.public_key()).serial_number(ours.serial_number)
               .not_valid_before(ours.not_valid_before_utc).not_valid_after(ours.not_valid_after_utc))
    for extension in ours.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    cert = builder.sign(key, hashes.SHA256())
    assert cert.subject == ours.subject and cert != ours
    return load_or_create_signer(
        tmp_path, pem_key=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()),
        pem_cert=cert.public_bytes(serialization.Encoding.PEM))


def redefine_signature(pdf: bytes, keywords: bytes) -> bytes:
    """The length trick against pyHanko's ENTIRE_FILE test: a later revision redefines
    the signature dictionary with the same CMS as a longer *literal* /Contents (zero
    padded) and a new /Info, sized so that ``len(file) == a + rest + 2·len(/Contents) + 2``.
    pyHanko then calls the signature "entire file"; pdfsig says "Not total document signed"."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    sig = reader.embedded_signatures[0]
    number = sig.sig_field.raw_get("/V").idnum
    info_number = reader.trailer_view.raw_get("/Info").idnum
    root_number = reader.trailer_view.raw_get("/Root").idnum
    _, first, second, rest = sig.byte_range
    header = b"%d 0 obj" % number
    start = pdf.rindex(header, 0, first)
    before, after = pdf[start + len(header):first], pdf[second:pdf.index(b"endobj", second)]
    prev = reader.xrefs.get_startxref_for_revision(reader.xrefs.total_revisions - 1)
    size = int(reader.trailer_view["/Size"])

    def section(length: int, pad: int) -> bytes:
        contents = sig.pkcs7_content.ljust(length, b"\x00")
        literal = contents.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)").replace(b"\r", b"\\r")
        obj = b"\n" + header + before + b"(" + literal + b")" + after + b"endobj\n"
        info = (b"%d 0 obj\n<< /Title (Bijlage 4) /Keywords (%s) >>\n%%" % (info_number, keywords)
                + b" " * pad + b"\nendobj\n")
        xref_at = len(pdf) + len(obj) + len(info)
        xref = (b"xref\n%d 1\n%010d 00000 n \n%d 1\n%010d 00000 n \n" % (number, len(pdf) + 1, info_number, len(pdf) + len(obj))
                + b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
                % (size, root_number, info_number, prev, xref_at))
        return obj + info + xref

    for length in range(len(sig.pkcs7_content), 8 * len(sig.pkcs7_content)):
        wanted = first + rest + 2 * length + 2 - len(pdf)
        short = wanted - len(section(length, 0))
        if short >= 0:
            forged = pdf + section(length, short)
            if len(forged) == first + rest + 2 * length + 2:
                return forged
    raise AssertionError("no length balances")


def tsa_signer(tsa):
    """A pyHanko signer with the timestamp authority's own key and certificate."""
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return signers.SimpleSigner(signing_cert=tsa.cert, signing_key=tsa.key,
                                cert_registry=SimpleCertificateStore.from_certs([tsa.cert]))


def _our_keywords(pdf: bytes) -> list[str]:
    return [k.strip() for k in str(PdfReader(io.BytesIO(pdf)).metadata["/Keywords"]).split(",")]


# --- the untouched file -------------------------------------------------------------------

def test_the_untouched_sealed_file_is_valid_and_names_its_document(client, sealed, app_session):
    body = verify(client, sealed["pdf"])
    assert body["valid"] is True and body["intact"] and body["trusted"] and body["problems"] == [], body
    document = body["document"]
    assert (document["kind"], document["id"]) == ("declaration", sealed["declaration_id"])
    assert document["identical_to_stored_copy"] is True and document["level"] == "PAdES-B-B"
    assert document["timestamped"] is False and document["title"].startswith("Bijlage 1")
    stored = app_session.scalar(select(SignedDocument).where(SignedDocument.subject_kind == "declaration"))
    assert document["document_sha256"] == stored.document_sha256
    [signer] = body["signers"]
    assert set(signer) == SIGNER_KEYS  # no email, ip or user agent field at all
    assert signer["name"] == "Mira Kamphuis" and signer["method"] == "link" and signer["role"] == "participant"
    assert signer["organisation"] == "Gemeente 0" and signer["function"] == "Jeugdverpleegkundige"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", signer["signed_on"])
    assert "e-mail" in signer["identification"] and "@" not in signer["identification"]

    page = verify_page(client, sealed["pdf"])
    assert "Geldig" in page and "dekt het hele bestand" in page and "Mira Kamphuis" in page and "PAdES-B-B" in page
    assert not any(p in page for p in ("mira@ggd.example", "127.0.0.1", "Werkzeug"))


def test_signer_details_are_only_what_the_sealed_file_prints(client, sealed, app_session):
    """A record changed after sealing is not reported as if the file said it."""
    organisation = app_session.get(Organisation, sealed["organisation_id"])
    organisation.name = "Gemeente Nieuwe Naam"
    app_session.commit()
    [signer] = verify(client, sealed["pdf"])["signers"]
    assert signer["name"] == "Mira Kamphuis" and signer["organisation"] is None
    assert signer["function"] == "Jeugdverpleegkundige"


# --- every kind of later revision ----------------------------------------------------------------

@pytest.mark.parametrize("attack", ["info_only", "info_only_pyhanko", "catalog", "added_page", "annotation",
                                    "form_field", "content", "trailing_comment"])
def test_any_revision_after_the_seal_is_refused(client, sealed, attack):
    pdf = sealed["pdf"]
    other = f"forms-service, subject:consent:{sealed['consent_id']}"
    updated = {
        "info_only": lambda: _incremental(pdf, info_only(other)),
        "info_only_pyhanko": lambda: pyhanko_info_only(pdf, other),
        "catalog": lambda: _incremental(pdf, catalog_change),
        "added_page": lambda: _incremental(pdf, added_page),
        "annotation": lambda: _incremental(pdf, annotation),
        "form_field": lambda: _incremental(pdf, form_field),
        "content": lambda: edit_incrementally(pdf),
        "trailing_comment": lambda: pdf + b"\n% nagekomen\n",
    }[attack]()
    body = verify(client, updated)
    assert_refused(body, "modified_after_sealing")
    assert body["intact"] is True and body["trusted"] is True  # the sealed bytes themselves are fine ...
    assert "Sanne" not in str(body) and "Mira" not in str(body)  # ... but no record is named


def test_the_info_only_attack_names_nothing_on_the_page(client, sealed):
    """The reported attack: only /Info Keywords point at another document."""
    forged = _incremental(sealed["pdf"], info_only(f"forms-service, subject:consent:{sealed['consent_id']}"))
    assert "subject:consent:" in str(PdfReader(io.BytesIO(forged)).metadata["/Keywords"])
    body = verify(client, forged)
    assert_refused(body, "modified_after_sealing")
    assert codes(body) == ["modified_after_sealing"]
    page = verify_page(client, forged)
    assert "Niet geldig" in page and 'data-code="modified_after_sealing"' in page
    assert "Zegel dekt het hele bestand: nee" in page
    for leak in ("Sanne de Boer", "Mira Kamphuis", "sanne@mail.example", "mira@ggd.example", "Ondertekend door"):
        assert leak not in page


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_pdfsig_agrees_the_info_only_update_is_not_the_whole_file(sealed, tmp_path):
    path = tmp_path / "forged.pdf"
    path.write_bytes(_incremental(sealed["pdf"], info_only("subject:consent:1")))
    report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
    assert "Not total document signed" in report


def test_a_second_signature_after_ours_is_refused(app, client, sealed, tmp_path, monkeypatch):
    from pyhanko.sign.signers.pdf_signer import PdfSigner

    # pyHanko itself refuses to sign after our certification (no changes allowed); a forger's tool does not.
    monkeypatch.setattr(PdfSigner, "_enforce_certification_constraints", lambda self, reader: None)
    stranger = load_or_create_signer(tmp_path)
    countersigned = seal_pdf(sealed["pdf"], stranger, reason="r", location="l", field_name="Tweede",
                             keywords=[f"subject:consent:{sealed['consent_id']}"], certify=False)
    body = verify(client, countersigned)
    assert_refused(body, "modified_after_sealing")
    assert "untrusted" in codes(body)


# --- not our seal, no seal, not the whole seal ------------------------------------------------------

def test_a_look_alike_key_with_our_subject_is_untrusted(app, client, sealed, tmp_path):
    forger = look_alike_identity(app, tmp_path)
    forged = seal_pdf(strip_signature_rewritten(sealed["pdf"]), forger, reason="r", location="l",
                      keywords=_our_keywords(sealed["pdf"]))
    body = verify(client, forged)
    assert body["intact"] is True and body["trusted"] is False
    assert_refused(body, "untrusted")
    assert codes(body)[0] == "untrusted"


def test_a_redefined_signature_dictionary_is_refused(client, sealed, tmp_path):
    """pyHanko alone calls this file "entire file" and valid; the gap check refuses it."""
    forged = redefine_signature(sealed["pdf"], b"forms-service, subject:consent:%d" % sealed["consent_id"])
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    sig = PdfFileReader(io.BytesIO(forged), strict=False).embedded_signatures[0]
    sig.compute_integrity_info()
    assert sig.coverage == SignatureCoverageLevel.ENTIRE_FILE  # pyHanko's length-only test is fooled
    body = verify(client, forged)
    assert_refused(body, "modified_after_sealing")
    if shutil.which("pdfsig"):
        path = tmp_path / "forged.pdf"
        path.write_bytes(forged)
        report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
        assert "Not total document signed" in report


def test_a_seal_under_the_trusted_timestamp_root_is_not_ours(app, client, sealed, tsa, tmp_path):  # noqa: F811
    """The timestamp authority's root is trusted for timestamps, never as our seal."""
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_TRUST_PEM=str(trust))
    forged = seal_pdf(strip_signature_rewritten(sealed["pdf"]), tsa_signer(tsa), reason="r", location="l",
                      keywords=_our_keywords(sealed["pdf"]))
    from signatures.verify import verify_pdf

    assert verify_pdf(forged, service.trusted_certificates(app.config)).trusted  # the chain alone validates ...
    body = verify(client, forged)
    assert body["trusted"] is False  # ... but it is not our seal certificate
    assert_refused(body, "untrusted")


@pytest.mark.parametrize("how", ["rewritten", "incremental"])
def test_a_stripped_signature_is_no_signature(client, sealed, how):
    pdf = sealed["pdf"]
    stripped = strip_signature_rewritten(pdf) if how == "rewritten" else _incremental(pdf, strip_signature_incrementally)
    body = verify(client, stripped)
    assert_refused(body, "no_signature")
    assert body["intact"] is False and body["trusted"] is False


@pytest.mark.parametrize("cut", ["last_byte", "eof_marker", "xref", "half", "signature_contents"])
def test_a_truncated_file_is_refused(client, sealed, cut):
    pdf = sealed["pdf"]
    end = {"last_byte": len(pdf) - 1, "eof_marker": pdf.rindex(b"%%EOF"), "xref": pdf.rindex(b"xref"),
           "half": len(pdf) // 2, "signature_contents": pdf.rindex(b"/Contents <") + 200}[cut]
    body = verify(client, pdf[:end])
    assert body["valid"] is False and body["problems"], body
    assert body["document"] is None and body["signers"] == []


def test_a_flipped_byte_is_tampered(client, sealed):
    flipped = bytearray(sealed["pdf"])
    flipped[len(flipped) // 3] ^= 0x01
    body = verify(client, bytes(flipped))
    assert body["valid"] is False and body["problems"] and body["document"] is None and body["signers"] == []


# --- sealed by us, yet not a record to disclose --------------------------------------------------

def test_our_seal_on_a_file_we_never_issued_names_no_stored_record(app, client, sealed):
    """Sealed with our key but no keywords of ours (e.g. a test seal): unknown, not valid."""
    body = verify(client, service.seal_finished(app.config, make_pdf(), title="t", subject="s", reason="r"))
    assert body["valid"] is False and codes(body) == ["unknown_document"]
    assert body["document"] is None and body["signers"] == []


def test_a_different_file_under_our_seal_gets_only_what_it_prints(app, client, sealed):
    """Our seal over other bytes that claim (inside the sealed revision) a stored document:
    the document is named as the seal says, marked as not our stored copy, and its signers
    come only from the sealed file's own list, without our records' details."""
    unsealed = strip_signature_rewritten(sealed["pdf"])
    other = service.seal_finished(app.config, unsealed, title="Bijlage 1", subject="x", reason="r",
                                  keywords=_our_keywords(sealed["pdf"]))
    body = verify(client, other)
    assert body["valid"] is True and body["document"]["identical_to_stored_copy"] is False, body
    [signer] = body["signers"]
    assert signer["name"] == "Mira Kamphuis" and signer["organisation"] is None and signer["role"] is None


def test_a_timestamped_seal_reports_pades_b_lt(app, client, sealed, tsa, tmp_path):  # noqa: F811
    """With TIMESTAMP_URL a seal is PAdES-B-LT: timestamp plus embedded validation data
    (the /DSS revision after the seal is accepted; tests/test_long_term_seals.py)."""
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=tsa.url, TIMESTAMP_TRUST_PEM=str(trust))
    stamped = service.seal_finished(app.config, strip_signature_rewritten(sealed["pdf"]), title="Bijlage 1",
                                    subject="x", reason="r", keywords=_our_keywords(sealed["pdf"]))
    body = verify(client, stamped)
    assert body["valid"] is True and body["document"]["level"] == "PAdES-B-LT" and body["document"]["timestamped"]
    assert abs(dt.datetime.fromisoformat(body["document"]["sealed_at"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)


def test_the_sealed_meeting_list_is_refused_after_any_update(api, client, meeting_id):  # noqa: F811
    """The presentie- en toetsingslijst is found by the SHA-256 of its logged export;
    the same list with an /Info-only update names no meeting."""
    sealed_list = api.get(f"/api/v1/meetings/{meeting_id}/check.pdf").data
    body = verify(client, sealed_list)
    assert body["valid"] is True and body["document"]["kind"] == "meeting" and body["document"]["id"] == meeting_id
    assert body["document"]["level"] == "PAdES-B-B" and body["signers"] == []
    retitled = _incremental(sealed_list, lambda w: w.add_metadata({"/Title": "Presentielijst (aangevuld)"}))
    assert_refused(verify(client, retitled), "modified_after_sealing")
