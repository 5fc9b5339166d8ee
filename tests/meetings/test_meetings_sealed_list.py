"""The presentie- en toetsingslijst leaves sealed (the chair's evidence that art. 6 was
followed): pdfsig and our verifier accept it, it shows the time the check ran, the
export is in the evidence log.

With a timestamp server no request talks to it: the request queues the rendered list
(202 + Retry-After in the API, a page that refreshes itself on the web), the worker
seals it (a real local RFC 3161 server), and the next request hands it out. Two workers
never both seal one list; a timestamp server that is down gives attempts with backoff,
visible on the page and in the API, and the list is sealed once the server is back."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from registry import texts
from registry.models import DocumentCacheEntry
from signatures import leases, meeting_list
from signatures import workflow as service
from signatures import seal as seal_module
from signatures.evidence import verify_chain
from signatures.models import EvidenceEvent, SealJob
from signatures.verify import verify_pdf
from tests.meetings.world import D, build, plan
from tests import signing_support as support
from tests.signatures.test_signatures_seal import LocalTSA
from tests.test_worker import stalling_tsa  # noqa: F401 - a fixture


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


class OutageTSA(LocalTSA):
    """The local timestamp authority, answering 503 while ``down`` is set (an outage);
    ``asked`` counts every request, answered or not."""

    def __init__(self):
        super().__init__()
        self.down = threading.Event()
        self.asked = 0

    def _handler(self):
        inner, tsa = super()._handler(), self

        class Handler(inner):
            def do_POST(self):  # noqa: N802 - http.server's naming
                tsa.asked += 1
                if tsa.down.is_set():
                    self.rfile.read(int(self.headers["Content-Length"]))
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                super().do_POST()

        return Handler


@pytest.fixture
def outage_tsa(app, tmp_path):
    """A local TSA that can go down, configured as the app's TIMESTAMP_URL (and trusted)."""
    server = OutageTSA()
    server.server.daemon_threads = True
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(server.cert_pem)
    app.config.update(TIMESTAMP_URL=server.url, TIMESTAMP_TRUST_PEM=str(trust))
    yield server
    server.server.shutdown()
    server.server.server_close()


def meeting_events(session, meeting_id: int) -> list[EvidenceEvent]:
    """Every evidence event of a meeting, oldest first."""
    session.rollback()
    return list(session.scalars(select(EvidenceEvent).where(
        EvidenceEvent.subject_kind == "meeting", EvidenceEvent.subject_id == meeting_id).order_by(EvidenceEvent.id)))


def jobs(session) -> list[SealJob]:
    """The waiting seal jobs."""
    session.rollback()
    return list(session.scalars(select(SealJob).order_by(SealJob.id)))


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_with_a_timestamp_server_the_worker_seals_the_list_and_the_next_request_hands_it_out(
        logged_in, api, app, app_session, meeting_id, outage_tsa, tmp_path):
    url = f"/api/v1/meetings/{meeting_id}/check.pdf"
    before = outage_tsa.asked
    queued = api.get(url)
    assert queued.status_code == 202 and queued.mimetype == "application/json"
    assert 1 <= int(queued.headers["Retry-After"]) <= 60
    body = queued.json
    assert body["status"] == "sealing" and body["attempts"] == 0 and body["last_error"] is None
    assert body["retry_after"] == int(queued.headers["Retry-After"]) and "wordt verzegeld" in body["message"]
    assert outage_tsa.asked == before  # the request did not talk to the timestamp server
    assert meeting_events(app_session, meeting_id) == []  # nothing exported yet
    again = api.get(url)  # asking again before the worker ran: the same job, nothing rendered twice
    assert again.status_code == 202 and len(jobs(app_session)) == 1
    page = logged_in.get(f"/meetings/{meeting_id}/toetsingslijst.pdf")
    assert page.status_code == 202 and page.mimetype == "text/html" and int(page.headers["Retry-After"]) >= 1
    html = page.get_data(as_text=True)
    assert "De lijst wordt verzegeld" in html
    assert f'<meta http-equiv="refresh" content="{page.headers["Retry-After"]}">' in html
    assert "<script" not in html.split("</head>")[0]  # the CSP allows no inline script: the meta tag refreshes
    assert len(jobs(app_session)) == 1 and outage_tsa.asked == before

    assert support.worker_round(app)["lists"] == 1
    assert outage_tsa.asked > before and jobs(app_session) == []
    events = meeting_events(app_session, meeting_id)
    assert [e.event for e in events] == ["sealed"] and events[0].actor == "admin@example.org"

    handed = api.get(url)
    assert handed.status_code == 200 and handed.mimetype == "application/pdf"
    assert "Signature Validation: Signature is Valid" in pdfsig(handed.data, tmp_path)
    result = verify_pdf(handed.data, service.trusted_certificates(app.config))
    assert result.valid and result.timestamped, result.problems
    events = meeting_events(app_session, meeting_id)
    assert [e.event for e in events] == ["sealed", "downloaded"]
    assert events[0].details["sha256"] == events[1].details["sha256"] == hashlib.sha256(handed.data).hexdigest()
    checked_at = events[0].details["checked_at"]
    moment = texts.local_time(dt.datetime.fromisoformat(checked_at), seconds=True)  # "2 december 2026 13:22:30"
    assert f"toetsing uitgevoerd op {moment}" in text_of(handed.data, tmp_path)
    download = logged_in.get(f"/meetings/{meeting_id}/toetsingslijst.pdf")  # the page's refresh lands here
    assert download.status_code == 200 and download.data == handed.data
    assert "attachment" in download.headers["Content-Disposition"]
    assert verify_chain(app_session).ok
    spec = api.get("/api/openapi.json").json["paths"]["/api/v1/meetings/{meeting_id}/check.pdf"]["get"]
    assert "202" in spec["responses"] and "Retry-After" in spec["responses"]["202"]["headers"]


def test_a_timestamp_server_that_is_down_backs_off_and_the_list_is_sealed_once_it_is_back(
        logged_in, api, app, app_session, meeting_id, outage_tsa, monkeypatch):
    monkeypatch.setattr(seal_module, "TIMESTAMP_BACKOFF_SECONDS", 0.01)
    outage_tsa.down.set()
    url = f"/api/v1/meetings/{meeting_id}/check.pdf"
    assert api.get(url).status_code == 202
    started = dt.datetime.now(dt.timezone.utc)
    assert support.worker_round(app)["lists"] == 0  # the worker tries; the TSA is down
    [job] = jobs(app_session)
    assert job.attempts == 1 and "tijdstempeldienst" in job.last_error and job.claim_token is None
    first_wait = job.next_attempt_at - started
    assert dt.timedelta(seconds=leases.RETRY_SECONDS - 5) <= first_wait <= dt.timedelta(seconds=leases.RETRY_SECONDS + 5)

    answer = api.get(url)
    assert answer.status_code == 202 and answer.json["attempts"] == 1 and "tijdstempeldienst" in answer.json["last_error"]
    assert answer.json["next_attempt_at"] and int(answer.headers["Retry-After"]) >= leases.RETRY_SECONDS - 5
    clock = texts.local_clock(job.next_attempt_at)
    assert f"Volgende poging om {clock}." in answer.json["message"]
    page = logged_in.get(f"/meetings/{meeting_id}/toetsingslijst.pdf").get_data(as_text=True)
    assert "Poging 1 is mislukt" in page and f"Volgende poging om {clock}." in page

    asked = outage_tsa.asked
    assert asked >= 1
    support.worker_round(app)  # the next round, at once: not due yet, the TSA is not asked
    assert outage_tsa.asked == asked and jobs(app_session)[0].attempts == 1
    later = job.next_attempt_at + dt.timedelta(seconds=1)
    support.worker_round(app, now=later)  # due: tried again, still down, and the wait doubles
    [job] = jobs(app_session)
    assert job.attempts == 2 and outage_tsa.asked > asked
    assert job.next_attempt_at - later == leases.retry_delay(2) == 2 * leases.retry_delay(1)
    assert leases.retry_delay(20) == dt.timedelta(seconds=leases.MAX_RETRY_SECONDS)  # capped at 10 minutes
    assert meeting_events(app_session, meeting_id) == []  # never sealed with the local clock
    app_session.rollback()
    assert app_session.scalar(select(func.count()).select_from(DocumentCacheEntry)) == 0

    outage_tsa.down.clear()  # the server is back
    assert support.worker_round(app, now=job.next_attempt_at + dt.timedelta(seconds=1))["lists"] == 1
    assert jobs(app_session) == []
    sealed = api.get(url)
    assert sealed.status_code == 200
    result = verify_pdf(sealed.data, service.trusted_certificates(app.config))
    assert result.valid and result.timestamped, result.problems
    assert [e.event for e in meeting_events(app_session, meeting_id)] == ["sealed", "downloaded"]


def test_two_workers_never_seal_one_list(api, app, app_session, meeting_id, stalling_tsa, tmp_path):  # noqa: F811
    trust = tmp_path / "tsa.pem"
    trust.write_bytes(stalling_tsa.cert_pem)
    app.config.update(TIMESTAMP_URL=stalling_tsa.url, TIMESTAMP_TRUST_PEM=str(trust))
    assert api.get(f"/api/v1/meetings/{meeting_id}/check.pdf").status_code == 202
    factory = app.extensions["db_sessions"]
    first: dict = {}
    worker = threading.Thread(target=lambda: first.update(meeting_list.seal_waiting_lists(factory, app.config)))
    worker.start()
    try:
        assert stalling_tsa.arrived.wait(60)  # the first worker claimed the job and waits for the TSA
        [job] = jobs(app_session)
        assert job.claim_token and job.attempts == 1
        second = meeting_list.seal_waiting_lists(factory, app.config)  # another worker, same database
        assert second == {"sealed": 0, "done": 0, "busy": 1, "failed": 0}
        assert meeting_list.seal_list(factory, app.config, job.id) == "busy"  # asking for it by id: taken
        lease = job.claimed_until
        time.sleep(leases.HEARTBEAT_SECONDS + 1.5)
        assert jobs(app_session)[0].claimed_until > lease  # the heartbeat keeps the lease while sealing runs
    finally:
        stalling_tsa.release.set()
        worker.join(120)
    # the stalled request got no answer: the first attempt failed; after its backoff the next round seals
    assert first["sealed"] + first["failed"] == 1
    if first["failed"]:
        [job] = jobs(app_session)
        assert meeting_list.seal_waiting_lists(factory, app.config, now=job.next_attempt_at)["sealed"] == 1
    assert jobs(app_session) == []
    assert [e.event for e in meeting_events(app_session, meeting_id)] == ["sealed"]
    assert meeting_list.seal_waiting_lists(factory, app.config)["sealed"] == 0  # nothing left twice


def test_a_worker_killed_holding_a_list_is_taken_over_after_its_lease(api, app, app_session, meeting_id, outage_tsa):
    assert api.get(f"/api/v1/meetings/{meeting_id}/check.pdf").status_code == 202
    factory = app.extensions["db_sessions"]
    [job] = jobs(app_session)
    assert leases.take(factory, SealJob.__table__, job.id) is not None  # a worker took it and was killed
    assert meeting_list.seal_waiting_lists(factory, app.config) == {"sealed": 0, "done": 0, "busy": 1, "failed": 0}
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=leases.SEAL_LEASE_SECONDS + 1)
    assert meeting_list.seal_waiting_lists(factory, app.config, now=later)["sealed"] == 1
    assert jobs(app_session) == [] and [e.event for e in meeting_events(app_session, meeting_id)] == ["sealed"]


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
