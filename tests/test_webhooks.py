"""Webhooks end to end with a real HTTP receiver on 127.0.0.1 (``http.server`` in a
thread): subscriptions through the API and the admin page, events written with the
change they report, delivery by the worker signed with HMAC-SHA256, retries with
backoff, the private-address rule at subscription and at connect time, and claims that
keep two workers from delivering one event twice. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, text

from forms_service import worker
from registry import services
from signatures import webhooks
from signatures.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from tests import factories
from tests import signing_support as support

SECRET = "een geheim van de gemeente 123"
RESIDENT = "Sanne de Boer"
CASE_REF = "EN-2026-041"


class Receiver:
    """A real HTTP server that records every POST and answers with ``status`` (or the next of ``statuses``)."""

    def __init__(self, statuses=(204,), delay: float = 0.0):
        self.requests: list[dict] = []
        self.statuses, self.delay = list(statuses), delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": raw})
                time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(statuses=(204,), delay: float = 0.0) -> Receiver:
        made.append(Receiver(statuses, delay))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def private_ok(app):
    """Loopback receivers are allowed (``WEBHOOK_ALLOW_PRIVATE=1``), retries are immediate."""
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SECONDS=0)
    return app


def subscribe(api, url: str, events: list[str]) -> dict:
    answer = api.post("/api/v1/webhooks", {"url": url, "events": events, "secret": SECRET})
    assert answer.status_code == 201, answer.json
    return answer.json


def verify(request: dict, secret: str = SECRET) -> dict:
    """What a receiver does: check the signature over timestamp + "." + raw body, then read it."""
    timestamp = request["headers"]["X-Webhook-Timestamp"]
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-Webhook-Signature"], expected)
    assert abs(time.time() - int(timestamp)) < 120
    assert request["headers"]["Content-Type"] == "application/json"
    return json.loads(request["body"])


def run_worker(app) -> dict:
    return worker.run_once(app.extensions["db_sessions"], app.config)


def world(app_session):
    rows = factories.emmen_world(app_session)
    app_session.commit()
    return rows


def test_sealed_covenant_and_a_consent_signed_and_withdrawn_reach_the_receiver_signed(
        api, client, app, app_session, private_ok, receiver):
    rows = world(app_session)
    hook = receiver()
    sub = subscribe(api, hook.url, ["covenant.sealed", "consent.signed", "consent.withdrawn", "partner.signed"])
    assert sub == {"id": sub["id"], "url": hook.url, "events": sub["events"]} and "secret" not in sub

    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Webhook")
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(client, link, reps[0]["name"], support.png_data_url()).status_code == 303
    from signatures import workflow

    assert workflow.seal_waiting(app.extensions["db_sessions"], app.config)["sealed"] == 1  # the worker's seal step only
    assert api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf").status_code == 200
    assert hook.requests == []  # nothing is sent inside a request: only the worker delivers

    consent = api.post("/api/v1/consents", {
        "case_ref": CASE_REF, "table_id": rows["table"].id, "recipients": [rows["ggd"].id], "categories": ["name_address"],
        "signed_by": "resident", "resident_name": RESIDENT, "resident_birth_date": "1990-04-17", "purpose": "Afstemming",
        "signed_on": dt.date.today().isoformat()})
    assert consent.status_code == 201, consent.json
    withdrawn = api.post(f"/api/v1/consents/{consent.json['id']}/withdrawal", {"on": dt.date.today().isoformat()})
    assert withdrawn.status_code == 200, withdrawn.json

    assert run_worker(app)["webhooks"] == 4
    bodies = [verify(r) for r in hook.requests]
    assert [b["event"] for b in bodies] == ["partner.signed", "covenant.sealed", "consent.signed", "consent.withdrawn"]
    for body in bodies:
        assert set(body) == {"event", "id", "occurred_at", "data"} and len(body["id"]) == 36
    sealed = bodies[1]["data"]
    assert sealed == {"covenant_id": covenant_id, "status": "sealed"}
    case_id = app_session.scalar(text("SELECT id FROM \"case\" WHERE reference = :r"), {"r": CASE_REF})
    assert bodies[2]["data"] == {"consent_id": consent.json["id"], "case_id": case_id, "table_id": rows["table"].id,
                                 "status": "signed", "signed_on": dt.date.today().isoformat()}
    assert bodies[3]["data"]["status"] == "withdrawn" and bodies[3]["data"]["withdrawn_on"] == dt.date.today().isoformat()
    raw = b"".join(r["body"] for r in hook.requests).decode()
    for personal in (RESIDENT, "Sanne", "1990-04-17", CASE_REF, reps[0]["name"], reps[0]["email"]):
        assert personal not in raw

    log = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries")
    assert log.status_code == 200
    assert [(d["event"], d["status"], d["attempts"]) for d in log.json["deliveries"]] == [
        ("consent.withdrawn", "delivered", 1), ("consent.signed", "delivered", 1),
        ("covenant.sealed", "delivered", 1), ("partner.signed", "delivered", 1)]
    assert all(d["at"] and d["response_status"] == 204 for d in log.json["deliveries"])
    assert run_worker(app)["webhooks"] == 0 and len(hook.requests) == 4  # delivered once


def test_a_failing_receiver_is_retried_with_backoff_and_then_given_up(api, app, app_session, private_ok, receiver):
    rows = world(app_session)
    hook = receiver(statuses=(500,))
    sub = subscribe(api, hook.url, ["declaration.revoked"])
    app.config.update(WEBHOOK_RETRY_SECONDS=30, WEBHOOK_MAX_ATTEMPTS=3)
    declaration = services.create_declaration(app_session, kind="structural", person_id=rows["nurse"].id,
                                              table_id=rows["table"].id, signed_on=dt.date(2025, 6, 1))
    app_session.commit()
    assert api.post(f"/api/v1/declarations/{declaration.id}/revocation", {"on": "2025-09-01"}).status_code == 200

    sessions, start = app.extensions["db_sessions"], dt.datetime.now(dt.timezone.utc)
    assert webhooks.deliver_due(sessions, app.config, now=start)["retrying"] == 1
    assert webhooks.deliver_due(sessions, app.config, now=start + dt.timedelta(seconds=10)) == {
        "delivered": 0, "retrying": 0, "failed": 0, "busy": 0}  # not due yet: 30 s after the first
    assert webhooks.deliver_due(sessions, app.config, now=start + dt.timedelta(seconds=31))["retrying"] == 1
    line = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json["deliveries"][0]
    assert (line["status"], line["attempts"], line["response_status"], line["error"]) == ("pending", 2, 500, "HTTP 500")
    assert line["next_attempt_at"]  # then 60 s (doubling)
    assert webhooks.deliver_due(sessions, app.config, now=start + dt.timedelta(seconds=60))["retrying"] == 0
    assert webhooks.deliver_due(sessions, app.config, now=start + dt.timedelta(seconds=92))["failed"] == 1
    line = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json["deliveries"][0]
    assert (line["event"], line["status"], line["attempts"]) == ("declaration.revoked", "failed", 3)
    assert len(hook.requests) == 3
    bodies = {r["body"] for r in hook.requests}
    assert len(bodies) == 1  # every attempt sends the same bytes (fresh timestamp and signature)
    data = verify(hook.requests[-1])["data"]
    assert data == {"declaration_id": declaration.id, "kind": "structural", "table_id": rows["table"].id,
                    "person_id": rows["nurse"].id, "case_id": None, "status": "revoked", "revoked_on": "2025-09-01"}
    assert webhooks.deliver_due(sessions, app.config, now=start + dt.timedelta(hours=5)) == {
        "delivered": 0, "retrying": 0, "failed": 0, "busy": 0}


def test_a_500_then_200_is_delivered_on_the_second_attempt(api, app, app_session, private_ok, receiver):
    rows = world(app_session)
    hook = receiver(statuses=(500, 200))
    sub = subscribe(api, hook.url, ["partner.ended", "case.closed"])
    partner = rows["covenant"].partnerships[0]
    given = api.post(f"/api/v1/covenants/{rows['covenant'].id}/partners/{partner.organisation_id}/notice",
                     {"given_on": "2026-01-10"})
    assert given.status_code == 200, given.json
    assert run_worker(app)["webhooks"] == 0
    assert run_worker(app)["webhooks"] == 1
    line = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json["deliveries"][0]
    assert (line["event"], line["status"], line["attempts"], line["response_status"]) == ("partner.ended", "delivered", 2, 200)
    assert verify(hook.requests[-1])["data"] == {"covenant_id": rows["covenant"].id, "organisation_id": partner.organisation_id,
                                                 "status": "notice_given", "ends_on": "2026-04-10"}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.0.5/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/", "http://100.64.0.1/", "http://240.0.0.1/", "http://[fc00::1]/",
    "http://intranet/", "http://zaaksysteem.internal/", "http://printer.local/", "http://x.invalid/",
])
def test_private_loopback_link_local_and_reserved_addresses_are_refused(api, url):
    answer = api.post("/api/v1/webhooks", {"url": url, "events": ["consent.withdrawn"], "secret": SECRET})
    assert answer.status_code == 422 and "url" in answer.json["error"]["fields"], answer.json
    assert api.get("/api/v1/webhooks").json == {"webhooks": []}


def test_bad_urls_unknown_events_and_short_secrets_are_422_naming_the_field(api):
    for body, field in [
        ({"url": "ftp://example.org/x", "events": ["consent.signed"], "secret": SECRET}, "url"),
        ({"url": "https://user:pw@example.org/x", "events": ["consent.signed"], "secret": SECRET}, "url"),
        ({"url": "not a url", "events": ["consent.signed"], "secret": SECRET}, "url"),
        ({"url": 12, "events": ["consent.signed"], "secret": SECRET}, "url"),
        ({"url": "https://example.org/x", "events": ["consent.eaten"], "secret": SECRET}, "events"),
        ({"url": "https://example.org/x", "events": [], "secret": SECRET}, "events"),
        ({"url": "https://example.org/x", "events": "consent.signed", "secret": SECRET}, "events"),
        ({"url": "https://example.org/x", "events": ["consent.signed"], "secret": "kort"}, "secret"),
        ({"url": "https://example.org/x", "events": ["consent.signed"]}, "secret"),
    ]:
        answer = api.post("/api/v1/webhooks", body)
        assert answer.status_code == 422 and field in answer.json["error"]["fields"], (body, answer.json)
    assert api.post("/api/v1/webhooks", ["not", "an", "object"]).status_code == 400


def test_the_address_is_checked_again_when_the_worker_connects(app, app_session, private_ok, receiver):
    """A subscription accepted while private addresses were allowed (or a name that later
    resolves to one: DNS rebinding) gets nothing once they are not: the connection itself
    is refused, before any byte is sent."""
    rows = world(app_session)
    hook = receiver()
    for url in (hook.url, hook.url.replace("127.0.0.1", "localhost")):
        webhooks.create_subscription(app_session, url=url, events=["declaration.signed"], secret=SECRET, by="test",
                                     allow_private=True)
    services.create_declaration(app_session, kind="structural", person_id=rows["nurse"].id,
                                table_id=rows["table"].id, signed_on=dt.date(2025, 6, 1))
    app_session.commit()
    app.config.update(WEBHOOK_ALLOW_PRIVATE=False)
    assert webhooks.deliver_due(app.extensions["db_sessions"], app.config)["retrying"] == 2
    assert hook.requests == []
    errors = app_session.scalars(select(WebhookDelivery.last_error)).all()
    assert len(errors) == 2 and all("blocked address 127.0.0.1" in e for e in errors), errors
    app.config.update(WEBHOOK_ALLOW_PRIVATE=True)
    assert webhooks.deliver_due(app.extensions["db_sessions"], app.config)["delivered"] == 2
    assert len(hook.requests) == 2 and {r["headers"]["Host"].split(":")[0] for r in hook.requests} == {"127.0.0.1", "localhost"}


def test_address_rule():
    assert webhooks.address_problem("93.184.216.34") is None
    assert webhooks.address_problem("2606:2800:220:1:248:1893:25c8:1946") is None
    for address in ("127.0.0.1", "10.0.0.1", "169.254.1.1", "::1", "fe80::1", "::ffff:10.0.0.1", "224.0.0.1", "0.0.0.0"):
        assert webhooks.address_problem(address) is not None, address
        assert webhooks.address_problem(address, allow_private=True) is None


def test_two_workers_never_deliver_the_same_event_twice(api, app, app_session, private_ok, receiver):
    rows = world(app_session)
    hook = receiver(delay=0.3)
    subscribe(api, hook.url, ["declaration.signed"])
    for person in (rows["nurse"], rows["chair"], rows["coordinator"]):
        services.create_declaration(app_session, kind="structural", person_id=person.id, table_id=rows["table"].id,
                                    signed_on=dt.date(2025, 6, 1))
    app_session.commit()
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(
        webhooks.deliver_due(app.extensions["db_sessions"], app.config))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(r["delivered"] for r in results) == 3
    ids = [json.loads(r["body"])["id"] for r in hook.requests]
    assert len(ids) == 3 and len(set(ids)) == 3
    assert app_session.scalar(select(WebhookDelivery.status).distinct()) == "delivered"


def test_events_are_written_with_the_change_and_vanish_with_its_rollback(app, app_session, private_ok, receiver):
    rows = world(app_session)
    webhooks.create_subscription(app_session, url=receiver().url, events=["case.closed", "declaration.signed"],
                                 secret=SECRET, by="test", allow_private=True)
    app_session.commit()
    services.create_declaration(app_session, kind="incidental", person_id=rows["nurse"].id, table_id=rows["table"].id,
                                case_ref=CASE_REF, signed_on=dt.date(2025, 6, 1))
    app_session.rollback()
    assert app_session.scalars(select(WebhookEvent)).all() == []
    declaration = services.create_declaration(app_session, kind="incidental", person_id=rows["nurse"].id,
                                              table_id=rows["table"].id, case_ref=CASE_REF, signed_on=dt.date(2025, 6, 1))
    from registry import cases

    case = services.find_case(app_session, rows["table"].id, CASE_REF)
    cases.close_case(app_session, case, on=dt.date(2026, 1, 5), reason="handled", by="test")
    app_session.commit()
    events = {e.event: json.loads(e.body) for e in app_session.scalars(select(WebhookEvent))}
    assert set(events) == {"declaration.signed", "case.closed"}
    assert events["declaration.signed"]["data"]["case_id"] == case.id == events["case.closed"]["data"]["case_id"]
    assert events["declaration.signed"]["data"]["declaration_id"] == declaration.id
    assert events["case.closed"]["data"] == {"case_id": case.id, "table_id": rows["table"].id, "status": "closed",
                                             "closed_on": "2026-01-05", "reason": "handled"}
    assert CASE_REF not in json.dumps(events)


def test_secrets_are_stored_encrypted_and_never_returned(api, app_session):
    sub = api.post("/api/v1/webhooks", {"url": "https://93.184.216.34/hook", "events": ["consent.signed"], "secret": SECRET})
    assert sub.status_code == 201, sub.json
    stored = app_session.execute(text("SELECT secret FROM webhook_subscriptions")).scalar()
    assert stored.startswith("fse1:") and SECRET not in stored
    for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{sub.json['id']}", f"/api/v1/webhooks/{sub.json['id']}/deliveries"):
        answer = api.get(path)
        assert answer.status_code == 200 and SECRET not in answer.get_data(as_text=True) and "secret" not in answer.get_data(as_text=True)
    removed = api.client.delete(f"/api/v1/webhooks/{sub.json['id']}", headers=api.headers)
    assert removed.status_code == 204
    assert api.get(f"/api/v1/webhooks/{sub.json['id']}").status_code == 404
    assert api.get("/api/v1/webhooks/99999/deliveries").status_code == 404
    app_session.expire_all()
    row = app_session.get(WebhookSubscription, sub.json["id"])
    assert row.removed_at is not None and row.secret is None


def test_only_an_administrator_manages_webhooks(client, app, make_user, app_session):
    from registry import accounts
    from tests.conftest import Api

    email, _, _ = make_user(grants=[])  # an account without the admin grant
    token = accounts.create_token(app_session, accounts.user_by_email(app_session, email))
    app_session.commit()
    other = Api(client, token)
    assert other.post("/api/v1/webhooks", {"url": "https://93.184.216.34/", "events": ["consent.signed"],
                                           "secret": SECRET}).status_code == 403
    assert other.get("/api/v1/webhooks").status_code == 403
    assert other.get("/api/v1/webhooks/1/deliveries").status_code == 403
    assert client.get("/api/v1/webhooks").status_code == 401


def test_the_admin_page_adds_a_webhook_shows_its_log_and_removes_it(logged_in, app, app_session, private_ok, receiver):
    page = logged_in.get("/beheer/webhooks/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Webhook toevoegen" in html and "consent.withdrawn" in html
    token = support.CSRF_RE.search(html).group(1)
    bad = logged_in.post("/beheer/webhooks/", data={"csrf_token": token, "url": "ftp://x.example.org/", "secret": "kort"})
    assert bad.status_code == 200 and "begint met https://" in bad.get_data(as_text=True) and "16" in bad.get_data(as_text=True)
    hook = receiver()
    added = logged_in.post("/beheer/webhooks/", data={"csrf_token": token, "url": hook.url, "secret": SECRET,
                                                       "events": ["declaration.signed", "consent.withdrawn"]})
    assert added.status_code == 302, added.get_data(as_text=True)
    detail = logged_in.get(added.headers["Location"])
    assert detail.status_code == 200 and hook.url in detail.get_data(as_text=True) and SECRET not in detail.get_data(as_text=True)
    rows = world(app_session)
    services.create_declaration(app_session, kind="structural", person_id=rows["nurse"].id, table_id=rows["table"].id,
                                signed_on=dt.date(2025, 6, 1))
    app_session.commit()
    run_worker(app)
    detail = logged_in.get(added.headers["Location"]).get_data(as_text=True)
    assert "declaration.signed" in detail and "afgeleverd" in detail and "HTTP 204" in detail
    row_id = int(added.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert logged_in.get("/beheer/webhooks/99999").status_code == 404
    removed = logged_in.post(f"/beheer/webhooks/{row_id}/verwijderen", data={"csrf_token": token})
    assert removed.status_code == 302
    assert "Nog geen webhooks" in logged_in.get("/beheer/webhooks/").get_data(as_text=True)


def test_a_declined_signing_is_delivered_without_the_reason_or_the_signer(api, client, app, app_session, private_ok,
                                                                          receiver):
    rows = world(app_session)
    hook = receiver()
    subscribe(api, hook.url, ["signing.declined", "declaration.signed"])
    declaration = api.post("/api/v1/declarations", {"kind": "structural", "person_id": rows["nurse"].id,
                                                    "table_id": rows["table"].id})
    assert declaration.status_code == 201, declaration.json
    sent = api.post(f"/api/v1/declarations/{declaration.json['id']}/signing-requests")
    assert sent.status_code == 201, sent.json
    link = support.links_by_recipient(api)[rows["nurse"].email]
    page = client.get(support.path_of(link))
    token = support.CSRF_RE.search(page.get_data(as_text=True)).group(1)
    reason = "Ik werk niet meer bij de GGD, vraag Piet Jansen"
    assert client.post(support.path_of(link) + "/weigeren", data={"csrf_token": token, "reason": reason}).status_code == 200
    assert run_worker(app)["webhooks"] == 1
    body = verify(hook.requests[0])
    assert body["event"] == "signing.declined"
    assert body["data"] == {"signing_request_id": sent.json["requests"][0]["id"], "subject_kind": "declaration",
                            "subject_id": declaration.json["id"], "status": "declined"}
    raw = hook.requests[0]["body"].decode()
    assert "Piet" not in raw and "de Vries" not in raw and rows["nurse"].email not in raw


def test_a_killed_workers_claim_runs_out_and_the_delivery_is_sent_again(api, app, app_session, private_ok, receiver):
    rows = world(app_session)
    hook = receiver()
    sub = subscribe(api, hook.url, ["declaration.signed"])
    services.create_declaration(app_session, kind="structural", person_id=rows["nurse"].id, table_id=rows["table"].id,
                                signed_on=dt.date(2025, 6, 1))
    app_session.commit()
    sessions, now = app.extensions["db_sessions"], dt.datetime.now(dt.timezone.utc)
    delivery_id = app_session.scalar(select(WebhookDelivery.id))
    assert webhooks._claim(sessions, delivery_id, 60, now)  # a worker took it, then was killed during its POST
    assert webhooks._claim(sessions, delivery_id, 60, now + dt.timedelta(seconds=5)) is None  # the lease holds
    idle = {"delivered": 0, "retrying": 0, "failed": 0, "busy": 0}
    assert webhooks.deliver_due(sessions, app.config, now=now + dt.timedelta(seconds=30)) == idle
    assert webhooks.deliver_due(sessions, app.config, now=now + dt.timedelta(seconds=61))["delivered"] == 1
    line = api.get(f"/api/v1/webhooks/{sub['id']}/deliveries").json["deliveries"][0]
    assert (line["status"], line["attempts"]) == ("delivered", 2) and len(hook.requests) == 1
