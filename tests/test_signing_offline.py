"""Paper signatures (date + scan), in person on the professional's tablet with a witness,
the Amsterdam signing date, and the timestamp policy (PAdES-B-T; a failing TSA never
falls back to the local clock)."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from registry import texts
from signatures import workflow as service
from registry.models import Consent, Declaration, Partnership
from signatures import seal as seal_module
from signatures.models import PaperScan, SignedDocument, SigningRequest
from tests import signing_support as support
from tests.signatures.test_signatures_seal import closed_port, tsa  # noqa: F401 - tsa is a fixture
from tests.test_signing_concurrency import _declaration_waiting


def _csrf(client, path="/ondertekening") -> str:
    return support.CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


def test_paper_declaration_keeps_the_scan(logged_in, api, app_session):
    declaration = _declaration_waiting(api, app_session)
    scan = support.blank_pdf("Scan Bijlage 1")
    response = logged_in.post(f"/ondertekening/declaration/{declaration}/papier", data={
        "csrf_token": _csrf(logged_in), "signed_on": "2026-01-15", "scan": (io.BytesIO(scan), "bijlage1.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    app_session.expire_all()
    row = app_session.get(Declaration, declaration)
    assert (row.signed_on, row.signed_via) == (dt.date(2026, 1, 15), "paper")
    assert app_session.scalar(select(PaperScan.filename)) == "bijlage1.pdf"
    assert app_session.scalar(select(SignedDocument.status)) == "pending_seal"  # the worker stores it
    assert support.worker_round(api)["sealed"] == 1
    app_session.expire_all()
    doc = app_session.scalar(select(SignedDocument))
    assert doc.status == "paper" and doc.pdf == scan
    assert api.get(f"/api/v1/declarations/{declaration}/signed.pdf").data == scan


def test_paper_scan_must_be_a_pdf(logged_in, api, app_session):
    declaration = _declaration_waiting(api, app_session)
    response = logged_in.post(f"/ondertekening/declaration/{declaration}/papier", data={
        "csrf_token": _csrf(logged_in), "signed_on": "2026-01-15", "scan": (io.BytesIO(b"GIF89a"), "x.gif")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "geen leesbare PDF" in response.get_data(as_text=True)
    app_session.expire_all()
    assert app_session.get(Declaration, declaration).signed_on is None


def test_covenant_mixed_paper_and_online_is_sealed_with_the_scan(api, client, app, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 2)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    links = support.links_by_recipient(api)
    paper_request = app_session.scalars(select(SigningRequest).order_by(SigningRequest.id)).first()
    service.record_paper(app_session, "covenant", covenant_id, signed_on=dt.date(2026, 2, 1),
                         scan=support.blank_pdf("Scan convenant"), filename="conv.pdf", actor="admin@example.org",
                         request_id=paper_request.id)
    app_session.commit()
    assert support.sign_via_form(client, links[reps[1]["email"]], reps[1]["name"]).status_code == 303
    assert support.worker_round(api)["sealed"] == 1
    sealed = api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf")
    assert sealed.status_code == 200
    reader = PdfReader(io.BytesIO(sealed.data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Handtekening op papier" in text and reps[1]["name"] in text
    assert reader.pages[-1].extract_text().strip() == ""  # the blank scan is the last page
    via = {p.signed_via for p in app_session.scalars(select(Partnership))}
    assert via == {"paper", "online"}


def test_in_person_consent_with_the_professional_as_witness(logged_in, api, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 1, signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Oost", "area": "Emmen-Oost"}).json
    consent_id = support.consent(app_session, table["id"], name="Kees Jansen", signed_by="parents")
    start = logged_in.post(f"/ondertekening/consent/{consent_id}/in-persoon",
                           data={"csrf_token": _csrf(logged_in), "name": "Anna Jansen", "role": "parents"})
    assert start.status_code == 302 and "/onderteken/" in start.headers["Location"]
    page = logged_in.get(start.headers["Location"])
    assert "getuige" in page.get_data(as_text=True)
    token = support.CSRF_RE.search(page.get_data(as_text=True)).group(1)
    signed = logged_in.post(start.headers["Location"], data={"full_name": "Anna Jansen", "agree": "y", "csrf_token": token,
                                                             "signature": support.png_data_url()})
    assert signed.status_code == 303
    app_session.expire_all()
    assert app_session.get(Consent, consent_id).signed_via == "online"
    request = app_session.scalar(select(SigningRequest))
    assert request.method == "in_person" and request.signer_email is None
    assert support.worker_round(api)["sealed"] == 1
    assert api.get("/api/v1/outbox").json["messages"] == []  # nothing mailed, not even by the worker
    sealed = api.get(f"/api/v1/consents/{consent_id}/signed.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(sealed.data)).pages)
    assert "In persoon getekend" in text and "getuige admin@example.org" in text


def test_signing_date_is_the_amsterdam_calendar_date(api, app_session):
    declaration = _declaration_waiting(api, app_session)
    config = {"SIGNING_LINK_DAYS": 14, "MAIL_FROM": "x@example.org"}
    invitation = service.send_for_signing(app_session, config, "declaration", declaration, actor="t",
                                          base_url="https://x.example")[0]
    app_session.commit()
    late_evening_utc = dt.datetime.now(dt.timezone.utc).replace(hour=23, minute=30, second=0, microsecond=0) - dt.timedelta(days=1)
    service.sign(app_session, invitation.token, full_name="Mira Kamphuis", agree=True, signature=None, ip="192.0.2.1",
                 user_agent="t", now=late_evening_utc)
    app_session.commit()
    assert app_session.get(Declaration, declaration).signed_on == (late_evening_utc + dt.timedelta(days=1)).date()


def test_timestamped_seal_and_a_failing_tsa(api, client, logged_in, app, app_session, tsa, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(seal_module, "TIMESTAMP_BACKOFF_SECONDS", 0.01)
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=f"http://127.0.0.1:{closed_port()}/tsa", TIMESTAMP_TRUST_PEM=str(trust))
    declaration = _declaration_waiting(api, app_session)
    assert api.post(f"/api/v1/declarations/{declaration}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]
    assert support.sign_via_form(client, link, "Mira Kamphuis").status_code == 303  # the signature counts
    assert support.worker_round(app)["sealed"] == 0  # the worker tries, the TSA is down

    app_session.expire_all()
    doc = app_session.scalar(select(SignedDocument))
    assert doc.status == "pending_seal" and doc.pdf is None and "tijdstempeldienst" in doc.last_error
    assert doc.attempts == 1 and doc.next_attempt_at > dt.datetime.now(dt.timezone.utc)  # backoff
    clock = texts.local_clock(doc.next_attempt_at)
    refused = api.get(f"/api/v1/declarations/{declaration}/signed.pdf")
    assert refused.status_code == 409 and "tijdstempeldienst" in refused.json["error"]["message"]
    assert f"Volgende poging om {clock}." in refused.json["error"]["message"]
    assert f"volgende poging om {clock}" in logged_in.get(f"/declarations/{declaration}").get_data(as_text=True)
    assert f"volgende poging om {clock}" in logged_in.get("/ondertekening").get_data(as_text=True)

    app.config["TIMESTAMP_URL"] = tsa.url  # the TSA is back ...
    before = tsa.requests
    assert support.worker_round(app)["sealed"] == 0 and tsa.requests == before  # ... but the next attempt waits
    later = doc.next_attempt_at + dt.timedelta(seconds=1)
    assert support.worker_round(app, now=later)["sealed"] == 1  # due: the worker completes it
    app_session.expire_all()
    doc = app_session.scalar(select(SignedDocument))
    assert (doc.status, doc.attempts, doc.next_attempt_at, doc.last_error) == ("sealed", 2, None, None)
    sealed = api.get(f"/api/v1/declarations/{declaration}/signed.pdf")
    answer = client.post("/api/v1/verify", data={"file": (io.BytesIO(sealed.data), "x.pdf")}, content_type="multipart/form-data").json
    assert answer["valid"] and answer["document"]["timestamped"] is True, answer
