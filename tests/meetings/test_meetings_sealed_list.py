"""The presentie- en toetsingslijst leaves sealed (the chair's evidence that art. 6 was
followed): pdfsig and our verifier accept it, it shows the time the check ran, the
export is in the evidence log, and a timestamp server that is down refuses (503)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess

import pytest
from sqlalchemy import select

from signatures import workflow as service
from signatures import seal as seal_module
from signatures.evidence import verify_chain
from signatures.models import EvidenceEvent
from signatures.verify import verify_pdf
from tests.meetings.world import D, build, plan
from tests.signatures.test_signatures_seal import closed_port, tsa  # noqa: F401 - tsa is a fixture


@pytest.fixture
def meeting_id(app_session) -> int:
    """A planned meeting of the shared world."""
    world = build(app_session)
    meeting_id = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]]}).id
    app_session.rollback()
    return meeting_id


def text_of(pdf: bytes, tmp_path) -> str:
    """pdftotext of the PDF, whitespace collapsed."""
    path = tmp_path / "list.pdf"
    path.write_bytes(pdf)
    return " ".join(subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout.split())


def pdfsig(pdf: bytes, tmp_path) -> str:
    """poppler's own report on the signatures."""
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def sealed_events(session, meeting_id: int) -> list[EvidenceEvent]:
    """The ``sealed`` events of a meeting in the evidence log."""
    session.rollback()
    return list(session.scalars(select(EvidenceEvent).where(
        EvidenceEvent.subject_kind == "meeting", EvidenceEvent.subject_id == meeting_id, EvidenceEvent.event == "sealed")))


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_the_exported_list_is_sealed_shows_the_check_time_and_is_logged(logged_in, app, app_session, meeting_id, tmp_path):
    response = logged_in.get(f"/meetings/{meeting_id}/toetsingslijst.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    assert "Signature Validation: Signature is Valid" in pdfsig(pdf, tmp_path)
    result = verify_pdf(pdf, service.trusted_certificates(app.config))
    assert result.valid and result.intact and result.trusted, result.problems
    assert "Presentie- en toetsingslijst" in result.document_info.get("title", "")
    text = text_of(pdf, tmp_path)
    events = sealed_events(app_session, meeting_id)
    assert len(events) == 1 and events[0].details["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert events[0].actor == "admin@example.org" and events[0].details["document"] == "toetsingslijst"
    checked_at = events[0].details["checked_at"]  # e.g. 2026-11-23T20:15:04+01:00
    from registry.texts import long_date

    on = long_date(dt.date.fromisoformat(checked_at[:10]))  # as people write it: "23 november 2026"
    assert f"toetsing uitgevoerd op {on} {checked_at[11:19]}" in text
    assert verify_chain(app_session).ok

    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01
    assert not verify_pdf(bytes(flipped), service.trusted_certificates(app.config)).valid


def test_the_api_offers_the_sealed_list(api, app, app_session, meeting_id):
    response = api.get(f"/api/v1/meetings/{meeting_id}/check.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert verify_pdf(response.data, service.trusted_certificates(app.config)).valid
    assert len(sealed_events(app_session, meeting_id)) == 1
    missing = api.get("/api/v1/meetings/99999/check.pdf")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert "/api/v1/meetings/{meeting_id}/check.pdf" in api.get("/api/openapi.json").json["paths"]


def test_a_timestamp_server_that_is_down_refuses_and_logs_nothing(logged_in, api, app, app_session, meeting_id,
                                                                  monkeypatch):
    monkeypatch.setattr(seal_module, "TIMESTAMP_BACKOFF_SECONDS", 0.01)
    app.config["TIMESTAMP_URL"] = f"http://127.0.0.1:{closed_port()}/tsa"
    page = logged_in.get(f"/meetings/{meeting_id}/toetsingslijst.pdf")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "tijdstempeldienst is niet bereikbaar" in page.get_data(as_text=True)
    answer = api.get(f"/api/v1/meetings/{meeting_id}/check.pdf")
    assert answer.status_code == 503 and answer.json["error"]["code"] == "timestamp_unavailable"
    assert sealed_events(app_session, meeting_id) == []


def test_with_a_timestamp_server_the_list_carries_its_time(api, app, app_session, meeting_id, tsa, tmp_path):  # noqa: F811
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=tsa.url, TIMESTAMP_TRUST_PEM=str(trust))
    before = tsa.requests
    response = api.get(f"/api/v1/meetings/{meeting_id}/check.pdf")
    assert response.status_code == 200 and tsa.requests > before
    result = verify_pdf(response.data, service.trusted_certificates(app.config))
    assert result.valid and result.timestamped, result.problems


def test_verify_recognises_our_sealed_list_and_nothing_else(api, client, meeting_id):
    """/api/v1/verify names the meeting for the exported list; a list we never issued is unknown."""
    import io

    sealed = api.get(f"/api/v1/meetings/{meeting_id}/check.pdf").data
    answer = client.post("/api/v1/verify", data={"file": (io.BytesIO(sealed), "lijst.pdf")}, content_type="multipart/form-data").json
    assert answer["valid"] is True and answer["document"]["kind"] == "meeting" and answer["document"]["id"] == meeting_id
    assert answer["document"]["checked_at"] and answer["problems"] == []
    # A list sealed with our key but never logged as exported (e.g. forged outside the service).
    from signatures import workflow as service

    forged = service.seal_finished(api.client.application.config, unsealed_pdf(), title="x", subject="y",
                                   reason="z", keywords=[f"meeting:{meeting_id}"])
    refused = client.post("/api/v1/verify", data={"file": (io.BytesIO(forged), "x.pdf")}, content_type="multipart/form-data").json
    assert refused["valid"] is False and [p["code"] for p in refused["problems"]] == ["unknown_document"]


def unsealed_pdf() -> bytes:
    """Some PDF of ours, unsealed, to seal outside the export path."""
    from registry.documents import build

    return build.blank_form("emmen-casustafel", "bijlage1").pdf
