"""The service's sealing identity (*elektronisch zegel*): key + certificate.

Order of preference, decided by configuration:

1. a PKCS#12 file (``pkcs12_path`` + ``pkcs12_password``): for a certificate from a
   real CA (e.g. a PKIoverheid or eIDAS qualified seal) in production;
2. a PEM key + PEM certificate (paths or bytes);
3. otherwise a self-signed EC P-256 key and certificate generated on first use into
   ``<instance_dir>/seal/``. Such a seal proves integrity (nothing changed since
   sealing) and origin *to whoever trusts this certificate*; viewers like Acrobat
   will call it "untrusted". The certificate is published/downloadable so partners
   can add it as trusted.

Generation is race-safe between processes: the files are written into a temporary
folder that is renamed into place; the loser of a race loads the winner's key.
The key file is written 0600 and unencrypted — protect the instance folder like
the Flask SECRET_KEY (it is in ``.gitignore``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

DEFAULT_COMMON_NAME = "forms-service seal"
CERT_VALID_DAYS = 3650
SEAL_DIR = "seal"
KEY_FILE = "seal-key.pem"
CERT_FILE = "seal-cert.pem"


class SealKeyError(RuntimeError):
    """The configured key material cannot be loaded."""


@dataclass(frozen=True)
class SealIdentity:
    """A loaded sealing identity: the pyHanko signer plus its certificate."""

    signer: SimpleSigner
    certificate: x509.Certificate
    source: str  # "pkcs12", "pem" or "generated"

    @property
    def certificate_pem(self) -> bytes:
        """The certificate in PEM, to publish and to pass to ``verify_pdf``."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def load_or_create_signer(
    instance_dir: str | os.PathLike[str],
    pkcs12_path: str | os.PathLike[str] | None = None,
    pkcs12_password: str | bytes | None = None,
    pem_key: str | os.PathLike[str] | bytes | None = None,
    pem_cert: str | os.PathLike[str] | bytes | None = None,
    *,
    pem_password: str | bytes | None = None,
    common_name: str = DEFAULT_COMMON_NAME,
) -> SealIdentity:
    """Return the configured sealing identity, generating one on first use."""
    if pkcs12_path:
        key, cert = _load_pkcs12(Path(pkcs12_path), pkcs12_password)
        return _identity(key, cert, "pkcs12")
    if pem_key or pem_cert:
        if not (pem_key and pem_cert):
            raise SealKeyError("configure both the PEM key and the PEM certificate")
        key, cert = _load_pem(pem_key, pem_cert, pem_password)
        return _identity(key, cert, "pem")
    seal_dir = Path(instance_dir) / SEAL_DIR
    if not (seal_dir / KEY_FILE).exists():
        _generate_into(seal_dir, common_name)
    key, cert = _load_pem(seal_dir / KEY_FILE, seal_dir / CERT_FILE, None)
    return _identity(key, cert, "generated")


def _read(value: str | os.PathLike[str] | bytes) -> bytes:
    """PEM data given inline (bytes) or as a path."""
    if isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise SealKeyError(f"cannot read {value}: {exc}") from exc


def _password(value: str | bytes | None) -> bytes | None:
    return value.encode("utf-8") if isinstance(value, str) else value


def _load_pkcs12(path: Path, password: str | bytes | None):
    """Key and certificate from a PKCS#12 file, with a clear error."""
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(_read(path), _password(password))
    except ValueError as exc:
        raise SealKeyError(f"cannot open PKCS#12 {path} (wrong password?): {exc}") from exc
    if key is None or cert is None:
        raise SealKeyError(f"PKCS#12 {path} must hold a private key and its certificate")
    return key, cert


def _load_pem(key_src, cert_src, password):
    """Key and certificate from PEM, with a clear error."""
    try:
        key = serialization.load_pem_private_key(_read(key_src), _password(password))
        cert = x509.load_pem_x509_certificate(_read(cert_src))
    except (ValueError, TypeError) as exc:
        raise SealKeyError(f"cannot load PEM seal key/certificate: {exc}") from exc
    return key, cert


def _identity(key, cert: x509.Certificate, source: str) -> SealIdentity:
    """Wrap cryptography objects into a pyHanko ``SimpleSigner``."""
    if key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo):
        raise SealKeyError("the seal key does not belong to the seal certificate")
    key_der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    asn1_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signer = SimpleSigner(signing_cert=asn1_cert, signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
                          cert_registry=SimpleCertificateStore.from_certs([asn1_cert]))
    return SealIdentity(signer=signer, certificate=cert, source=source)


def generate_self_signed(common_name: str = DEFAULT_COMMON_NAME, *, days: int = CERT_VALID_DAYS):
    """Return ``(key, certificate)``: EC P-256, self-signed, for document sealing.

    Key usage is digitalSignature + nonRepudiation (contentCommitment), which PDF
    validators expect of a signing certificate; no extended key usage, so no
    validator rejects it for a purpose list it does not know.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _generate_into(seal_dir: Path, common_name: str) -> None:
    """Write a new key + certificate to ``seal_dir`` atomically (first writer wins)."""
    seal_dir.parent.mkdir(parents=True, exist_ok=True)
    key, cert = generate_self_signed(common_name)
    tmp = Path(tempfile.mkdtemp(prefix=".seal-", dir=seal_dir.parent))
    try:
        key_path = tmp / KEY_FILE
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        (tmp / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        os.rename(tmp, seal_dir)  # atomic; fails if another process got there first
    except OSError:
        if not (seal_dir / KEY_FILE).exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
