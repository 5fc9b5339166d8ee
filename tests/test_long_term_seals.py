"""Long-term seals: with TIMESTAMP_URL a seal is PAdES-B-LT (validation data in the
document security store, read back with pyHanko), pdfsig still accepts it, and
``ltv-refresh`` adds a document timestamp (PAdES-B-LTA) that /verify reports; a second
run adds nothing. Without TIMESTAMP_URL the seal stays PAdES-B-B. A real local RFC 3161
server (tests/signatures/test_signatures_seal.py) signs the timestamps.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from signatures import ltv
from signatures.models import EvidenceEvent, SignedDocument
from tests import signing_support as support
from tests.signatures.test_signatures_seal import tsa  # noqa: F401 - tsa is a fixture

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")


def pdfsig(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "check.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def signed_declaration(api, client) -> tuple[int, bytes]:
    """A Bijlage 1 signed online through the real form; its sealed PDF."""
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord",
                                        "area": "Emmen-Noord"}).json
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.",
                                         "organisation_id": reps[0]["organisation_id"], "function": "Jeugdverpleegkundige",
                                         "email": "mira@ggd.example"}).json
    b1 = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"]}).json
    assert api.post(f"/api/v1/declarations/{b1['id']}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]
    assert support.sign_via_form(client, link, "Mira Kamphuis").status_code == 303
    support.worker_round(api)  # the worker seals (with the timestamp server), never the signer's request
    sealed = api.get(f"/api/v1/declarations/{b1['id']}/signed.pdf")
    assert sealed.status_code == 200, sealed.data[:300]
    return b1["id"], sealed.data


def verify(client, pdf: bytes) -> dict:
    response = client.post("/api/v1/verify", data={"file": (io.BytesIO(pdf), "x.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    return response.json


@pytest.fixture
def timestamped(app, tsa, tmp_path):  # noqa: F811
    """The app with a timestamp server whose root it trusts."""
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=tsa.url, TIMESTAMP_TRUST_PEM=str(trust))
    return trust


@needs_pdfsig
def test_a_timestamped_seal_is_b_lt_and_ltv_refresh_makes_it_b_lta(api, client, app, app_session, timestamped,
                                                                   tmp_path, monkeypatch):
    declaration_id, pdf = signed_declaration(api, client)
    # validation data in the document security store, read with pyHanko
    reader = PdfFileReader(io.BytesIO(pdf))
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2  # our seal certificate and the TSA's
    assert len(dss["/VRI"]) >= 1
    assert "Signature Validation: Signature is Valid" in pdfsig(pdf, tmp_path)
    body = verify(client, pdf)
    assert body["valid"] is True and body["document"]["level"] == "PAdES-B-LT", body

    # the TSA's certificate (30 days) expires within the default 90-day window: due
    report = ltv.refresh(app.extensions["db_sessions"], app.config)
    assert report.refreshed == [f"declaration/{declaration_id}"] and not report.failed
    refreshed = api.get(f"/api/v1/declarations/{declaration_id}/signed.pdf").data
    assert refreshed != pdf and refreshed.startswith(pdf[:1000])
    stamps = [s for s in PdfFileReader(io.BytesIO(refreshed)).embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    assert len(stamps) == 1
    report_text = pdfsig(refreshed, tmp_path)
    assert "Signature Validation: Signature is Valid" in report_text  # the seal itself
    body = verify(client, refreshed)
    assert body["valid"] is True and body["document"]["level"] == "PAdES-B-LTA", body
    assert body["document"]["identical_to_stored_copy"] is True
    from tests.auth_support import csrf_of

    token = csrf_of(client.get("/verify").get_data(as_text=True))
    page = client.post("/verify", data={"file": (io.BytesIO(refreshed), "b1.pdf"), "csrf_token": token},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "PAdES-B-LTA" in page and "documenttijdstempel" in page
    # the copy handed out before the refresh still verifies (by the sealed revision's keywords)
    assert verify(client, pdf)["valid"] is True

    # a second run (here through the command line) adds nothing
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("TIMESTAMP_URL", app.config["TIMESTAMP_URL"])
    monkeypatch.setenv("TIMESTAMP_TRUST_PEM", str(timestamped))
    from forms_service.cli import main

    result = CliRunner().invoke(main, ["ltv-refresh"])
    assert result.exit_code == 0, result.output
    assert "Tijdstempels toegevoegd: 0" in result.output and "al actueel: 1" in result.output
    app_session.expire_all()
    assert app_session.scalar(select(SignedDocument.pdf).where(SignedDocument.subject_id == declaration_id)) == refreshed
    events = list(app_session.scalars(select(EvidenceEvent).where(EvidenceEvent.event == "timestamped")))
    assert len(events) == 1 and events[0].details["sha256_before"] and events[0].details["level"] == "PAdES-B-LTA"


def test_not_due_documents_and_seals_without_a_timestamp_are_left_alone(api, client, app, tsa, tmp_path):  # noqa: F811
    declaration_id, pdf = signed_declaration(api, client)  # no TIMESTAMP_URL yet: PAdES-B-B
    body = verify(client, pdf)
    assert body["valid"] is True and body["document"]["level"] == "PAdES-B-B"
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=tsa.url, TIMESTAMP_TRUST_PEM=str(trust))
    report = ltv.refresh(app.extensions["db_sessions"], app.config, everything=True)
    assert report.no_timestamp == [f"declaration/{declaration_id}"] and not report.refreshed
    assert api.get(f"/api/v1/declarations/{declaration_id}/signed.pdf").data == pdf


def test_a_window_shorter_than_the_certificate_leaves_it(api, client, app, timestamped):
    declaration_id, pdf = signed_declaration(api, client)
    report = ltv.refresh(app.extensions["db_sessions"], app.config, within_days=5,
                         now=dt.datetime.now(dt.timezone.utc))
    assert report.not_due == [f"declaration/{declaration_id}"] and not report.refreshed
