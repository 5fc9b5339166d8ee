"""Sealing and verifying PDFs, checked against the independent verifier ``pdfsig``."""

from __future__ import annotations

import asyncio
import datetime as dt
import http.server
import io
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper, TimestampRequestError
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from signatures import seal as seal_module
from signatures.keys import SealKeyError, generate_self_signed, load_or_create_signer
from signatures.seal import TimestampUnavailable, seal_pdf
from signatures.verify import verify_pdf

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")


# --- helpers -----------------------------------------------------------------

def make_pdf(title: str = "Toestemmingsformulier") -> bytes:
    """A one-page PDF with text and a title, written by pypdf (fast, no fonts needed)."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    _add_text(writer, page, b"BT /F1 14 Tf 72 760 Td (Ik geef toestemming voor informatie-uitwisseling.) Tj ET")
    writer.add_metadata({"/Title": title, "/Subject": "Bijlage 4"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _add_text(writer: PdfWriter, page, content: bytes) -> None:
    """Give ``page`` a Helvetica resource and append a content stream."""
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    resources = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    page[NameObject("/Resources")] = resources
    stream = DecodedStreamObject()
    stream.set_data(content)
    existing = page.get("/Contents")
    refs = [existing] if existing is not None else []
    from pypdf.generic import ArrayObject
    page[NameObject("/Contents")] = ArrayObject([*refs, writer._add_object(stream)])


def edit_incrementally(sealed: bytes) -> bytes:
    """Append an incremental update that adds text to page 1 (what a forger would do)."""
    writer = PdfWriter(io.BytesIO(sealed), incremental=True)
    _add_text(writer, writer.pages[0], b"BT /F1 14 Tf 72 700 Td (Ik trek mijn toestemming in.) Tj ET")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdfsig(pdf: bytes, tmp_path: Path) -> str:
    """Run poppler's ``pdfsig`` on ``pdf`` and return its report."""
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


def flip_byte_in_title(pdf: bytes, title: bytes = b"Toestemmingsformulier") -> bytes:
    """Flip one bit of the title string inside the signed range."""
    data = bytearray(pdf)
    data[pdf.index(title) + 3] ^= 0x01
    return bytes(data)


def closed_port() -> int:
    """A local port where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    """The generated sealing identity of a fresh instance folder."""
    return load_or_create_signer(tmp_path_factory.mktemp("instance"))


@pytest.fixture(scope="module")
def sealed(identity) -> bytes:
    """A sealed one-page PDF (PAdES-B-B)."""
    return seal_pdf(make_pdf(), identity, reason="Verzegeld door forms-service", location="Emmen",
                    keywords=["casustafel", "bijlage-4"])


# --- keys --------------------------------------------------------------------

def test_generated_key_is_reused(tmp_path):
    first = load_or_create_signer(tmp_path)
    second = load_or_create_signer(tmp_path)
    assert first.source == "generated"
    assert first.certificate_pem == second.certificate_pem
    assert (tmp_path / "seal" / "seal-key.pem").stat().st_mode & 0o077 == 0


def test_generated_certificate_is_for_document_signing(identity):
    cert = identity.certificate
    assert cert.subject.rfc4514_string() == "CN=forms-service seal"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert cert.public_key().curve.name == "secp256r1"


def test_concurrent_first_use_creates_one_key(tmp_path):
    results = []
    threads = [threading.Thread(target=lambda: results.append(load_or_create_signer(tmp_path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.certificate_pem for r in results}) == 1 and len(results) == 8


def test_pkcs12_and_pem_configuration(tmp_path):
    key, cert = generate_self_signed("Gemeente Emmen zegel")
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, None, serialization.BestAvailableEncryption(b"geheim")))
    from_p12 = load_or_create_signer(tmp_path, pkcs12_path=p12, pkcs12_password="geheim")
    assert from_p12.source == "pkcs12" and from_p12.certificate == cert
    with pytest.raises(SealKeyError):
        load_or_create_signer(tmp_path, pkcs12_path=p12, pkcs12_password="fout")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    from_pem = load_or_create_signer(tmp_path, pem_key=key_pem, pem_cert=cert.public_bytes(serialization.Encoding.PEM))
    assert from_pem.source == "pem"
    other_key, _ = generate_self_signed()
    with pytest.raises(SealKeyError):
        load_or_create_signer(tmp_path, pem_key=other_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            pem_cert=cert.public_bytes(serialization.Encoding.PEM))
    assert not (tmp_path / "seal").exists()  # configured keys never trigger generation


# --- sealing and verifying ---------------------------------------------------

@needs_pdfsig
def test_pdfsig_accepts_our_seal_over_the_whole_file(sealed, tmp_path):
    report = pdfsig(sealed, tmp_path)
    assert "Signature Validation: Signature is Valid" in report, report
    assert "Total document signed" in report and "Not total document signed" not in report
    ranges = [tuple(map(int, r)) for r in re.findall(r"\[(\d+) - (\d+)\]", report)]
    assert ranges[0][0] == 0 and ranges[-1][1] == len(sealed)
    assert "ETSI.CAdES.detached" in report  # PAdES, not adbe.pkcs7.detached


def test_our_verifier_accepts_our_seal(sealed, identity):
    result = verify_pdf(sealed, [identity.certificate_pem])
    assert result.valid and result.intact and result.trusted, result.problems
    assert result.problems == []
    assert result.signer_subject == "Common Name: forms-service seal"
    assert result.document_info["title"] == "Toestemmingsformulier"
    assert result.document_info["subject"] == "Bijlage 4"
    assert result.document_info["keywords"] == "casustafel,bijlage-4"
    assert abs(result.signed_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    assert not result.timestamped


def test_seal_works_inside_a_running_event_loop(identity):
    async def inside_loop():
        return seal_pdf(make_pdf(), identity, reason="r", location="l")
    assert verify_pdf(asyncio.run(inside_loop()), [identity.certificate]).valid


def test_verify_works_inside_a_running_event_loop(sealed, identity):
    async def inside_loop():
        return verify_pdf(sealed, [identity.certificate])
    assert asyncio.run(inside_loop()).valid


@needs_pdfsig
def test_flipped_byte_is_rejected_by_both(sealed, identity, tmp_path):
    tampered = flip_byte_in_title(sealed)
    report = pdfsig(tampered, tmp_path)
    assert "Signature is Valid" not in report, report
    result = verify_pdf(tampered, [identity.certificate])
    assert not result.valid and not result.intact
    assert result.problems[0].startswith("tampered:")


@needs_pdfsig
def test_incremental_text_edit_is_reported(sealed, identity, tmp_path):
    edited = edit_incrementally(sealed)
    assert edited.startswith(sealed)  # the seal's bytes are untouched
    assert "Not total document signed" in pdfsig(edited, tmp_path)
    result = verify_pdf(edited, [identity.certificate])
    assert not result.valid
    assert result.intact  # the sealed revision itself is unchanged ...
    assert any(p.startswith("modified_after_sealing:") for p in result.problems), result.problems


def test_unknown_key_is_intact_but_not_trusted(identity, tmp_path):
    stranger = load_or_create_signer(tmp_path, pem_key=None)
    forged = seal_pdf(make_pdf(), stranger, reason="r", location="l")
    result = verify_pdf(forged, [identity.certificate])
    assert result.intact and not result.trusted and not result.valid
    assert result.problems and result.problems[0].startswith("untrusted:")


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n garbage", bytes(range(256)) * 10])
def test_broken_input_never_raises(data, identity):
    result = verify_pdf(data, [identity.certificate])
    assert not result.valid and result.problems[0].startswith("not_pdf:")


def test_unsigned_pdf_reports_no_signature(identity):
    result = verify_pdf(make_pdf(), [identity.certificate])
    assert not result.valid and result.problems[0].startswith("no_signature:")
    assert result.document_info["title"] == "Toestemmingsformulier"


def test_truncated_seal_never_raises(sealed, identity):
    result = verify_pdf(sealed[: len(sealed) // 2], [identity.certificate])
    assert not result.valid and result.problems


# --- timestamps ----------------------------------------------------------------

def test_unreachable_timestamp_server_raises(identity, monkeypatch):
    monkeypatch.setattr(seal_module, "TIMESTAMP_BACKOFF_SECONDS", 0.01)
    with pytest.raises(TimestampUnavailable):
        seal_pdf(make_pdf(), identity, reason="r", location="l",
                 timestamp_url=f"http://127.0.0.1:{closed_port()}/tsa", timestamp_timeout=2)


class FlakyTimeStamper(DummyTimeStamper):
    """Fails the first ``failures`` requests, then answers like a real TSA."""

    def __init__(self, *args, failures: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.failures, self.calls = failures, 0

    async def async_request_tsa_response(self, req):
        self.calls += 1
        if self.calls <= self.failures:
            raise TimestampRequestError("TSA down")
        return await super().async_request_tsa_response(req)


def test_timestamp_retries_then_gives_up(identity, tsa, monkeypatch):
    monkeypatch.setattr(seal_module, "TIMESTAMP_BACKOFF_SECONDS", 0.01)
    always_down = FlakyTimeStamper(tsa.cert, tsa.key, failures=1000)
    with pytest.raises(TimestampUnavailable):
        seal_pdf(make_pdf(), identity, reason="r", location="l", timestamper=always_down, timestamp_attempts=3)
    assert always_down.calls == 3
    recovers = FlakyTimeStamper(tsa.cert, tsa.key, failures=1)
    pdf = seal_pdf(make_pdf(), identity, reason="r", location="l", timestamper=recovers)
    assert verify_pdf(pdf, [identity.certificate, tsa.cert_pem]).timestamped


class LocalTSA:
    """A real RFC 3161 server over HTTP on localhost, signing with an RSA test key."""

    def __init__(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .sign(key, hashes.SHA256()))
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        self.cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        self.key = asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.stamper = DummyTimeStamper(self.cert, self.key)
        self.requests = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def _handler(self):
        tsa = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                req = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
                body = tsa.stamper.request_tsa_response(req).dump()
                tsa.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture(scope="module")
def tsa():
    """A running local timestamp authority."""
    server = LocalTSA()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@needs_pdfsig
def test_pades_b_t_with_a_real_local_tsa(identity, tsa, tmp_path):
    before = tsa.requests
    pdf = seal_pdf(make_pdf(), identity, reason="r", location="l", timestamp_url=tsa.url)
    assert tsa.requests > before
    report = pdfsig(pdf, tmp_path)
    assert "Signature Validation: Signature is Valid" in report, report
    result = verify_pdf(pdf, [identity.certificate, tsa.cert_pem])
    assert result.valid and result.timestamped, result.problems
    assert abs(result.signed_at - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    # the same seal without trusting the TSA: the timestamp is reported, not ignored
    untrusted_ts = verify_pdf(pdf, [identity.certificate])
    assert not untrusted_ts.valid
    assert any(p.startswith("timestamp_invalid:") for p in untrusted_ts.problems)
