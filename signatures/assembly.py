"""The final PDF: document + signature page + certificate of completion (+ scans), then the seal.

The signature page and the certificate are one template of the subject's template pack
(``signing_pages``), rendered to PDF by the shared renderer in :func:`render_pages`;
:func:`assemble` joins all parts with pypdf and sets the metadata. Sealing comes
last (any pypdf rewrite after sealing would break the seal).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field

from registry.texts import N_

ROLES_NL = {"representative": N_("Vertegenwoordiger van de partner"), "participant": N_("Deelnemer"),
            "resident": N_("Inwoner"), "parents": N_("Ouder/verzorger")}
EVENTS_NL = {"created": N_("Uitnodiging aangemaakt"), "sent": N_("Uitnodiging verstuurd"),
             "reminded": N_("Herinnering verstuurd"), "opened": N_("Document geopend"),
             "agreed": N_("Akkoord met elektronisch ondertekenen"), "signed": N_("Ondertekend"),
             "paper_recorded": N_("Papieren ondertekening vastgelegd"),
             "in_person_recorded": N_("Ondertekening in persoon vastgelegd")}
"""Dutch message ids: translate where shown with ``registry.texts._``."""


@dataclass
class SignerView:
    """One signer on the signature page and the certificate (plain data)."""

    name: str
    role_nl: str
    method: str
    signed_on: str
    identification: str
    organisation: str = ""
    function: str = ""
    typed_name: str = ""
    signature_png: bytes | None = None
    document_sha256: str | None = None
    disclosure_version: str | None = None
    disclosure_sha256: str | None = None
    scan_sha256: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    events: list[dict] = field(default_factory=list)

    @property
    def signature_data_url(self) -> str | None:
        """The drawn signature as an inline image for WeasyPrint."""
        if not self.signature_png:
            return None
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode()

    @property
    def signature_sha256(self) -> str | None:
        """Hash of the drawn signature image."""
        return hashlib.sha256(self.signature_png).hexdigest() if self.signature_png else None


@dataclass
class FinalView:
    """Everything the signature page and the certificate show."""

    kind: str
    id: int
    title: str
    version: int
    sha256: str
    completed_at: str
    signers: list[SignerView]
    disclosures: str = "—"
    paper_partners: list[dict] = field(default_factory=list)
    verify_url: str = ""
    """``/verify`` of this service for this document (its SHA-256): the certificate's QR code."""

    @property
    def verify_qr_data_url(self) -> str | None:
        """The QR code of :attr:`verify_url` as an inline PNG (the renderer serves no other URLs)."""
        if not self.verify_url:
            return None
        return "data:image/png;base64," + base64.b64encode(verify_qr_png(self.verify_url)).decode()


VERIFY_PATH = "/verify"
DEVELOPMENT_BASE_URL = "http://localhost:5000"
"""The base of the QR code's link when neither PUBLIC_BASE_URL nor SERVER_NAME is set."""


def verify_url(config, document_sha256: str) -> str:
    """The absolute ``/verify`` link for a document: ``PUBLIC_BASE_URL`` (else
    ``SERVER_NAME``, else :data:`DEVELOPMENT_BASE_URL`) + ``/verify?document=<SHA-256>``,
    the SHA-256 of the document pages the certificate prints."""
    base = config.get("PUBLIC_BASE_URL") or (
        f"{config.get('PREFERRED_URL_SCHEME') or 'https'}://{config['SERVER_NAME']}" if config.get("SERVER_NAME")
        else DEVELOPMENT_BASE_URL)
    return f"{base.rstrip('/')}{VERIFY_PATH}?document={document_sha256}"


def verify_qr_png(url: str) -> bytes:
    """``url`` as a QR code PNG (segno, error correction M, 4 px per module, quiet zone 4)."""
    import segno

    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=4, border=4)
    return out.getvalue()


def render_pages(view: FinalView, pack_name: str) -> bytes:
    """Signature page and certificate of completion as one PDF, by the one document
    renderer from the subject's template pack (``signing_pages`` in its manifest)."""
    from registry.documents import build, render

    return render.render_pdf(build.pack_named(pack_name), "signing_pages", view, variant=None).pdf


def keywords(view: FinalView) -> list[str]:
    """Machine-readable keywords (covered by the seal) that identify the document."""
    return ["forms-service", f"subject:{view.kind}:{view.id}", f"version:{view.version}", f"document-sha256:{view.sha256}"]


def assemble(document_pdf: bytes, pages_pdf: bytes, scans: list[bytes], view: FinalView) -> bytes:
    """Document pages, then signature page + certificate, then paper scans: one PDF."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in (document_pdf, pages_pdf, *scans):
        writer.append(PdfReader(io.BytesIO(part)))
    writer.add_metadata({
        "/Title": view.title, "/Subject": f"{view.kind}/{view.id} versie {view.version}",
        "/Keywords": ", ".join(keywords(view)), "/Producer": "forms-service",
        "/FormsServiceSigners": json.dumps([{"name": s.name, "signed_on": s.signed_on, "method": s.method}
                                            for s in view.signers], ensure_ascii=False),
    })
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def merge(pdfs: list[bytes]) -> bytes:
    """Join PDFs (paper scans) into one; a single PDF is returned unchanged."""
    if len(pdfs) == 1:
        return pdfs[0]
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in pdfs:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
