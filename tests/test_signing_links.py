"""Signing links: expired, reused, tampered and unknown tokens get a clear Dutch page and
change nothing; decline, cancel, resend, reminders; mail over real SMTP (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from signatures import workflow as service
from signatures.models import EvidenceEvent, OutboxMessage, SigningRequest
from tests import signing_support as support


def snapshot(session) -> tuple:
    """Everything a refused link must leave alone."""
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(EvidenceEvent)),
            tuple(session.execute(select(SigningRequest.id, SigningRequest.status, SigningRequest.signed_at)).all()))


@pytest.fixture
def one_link(api):
    """A covenant with one unsigned partner, sent; returns (covenant_id, rep, link)."""
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    return covenant_id, reps[0], support.links_by_recipient(api)[reps[0]["email"]]


def _post(client, path, **data):
    page = client.get("/verify")  # any page gives this client a CSRF token
    token = support.CSRF_RE.search(page.get_data(as_text=True)).group(1)
    return client.post(path, data={"csrf_token": token, **data})


@pytest.mark.parametrize("kind", ["unknown", "tampered", "malformed"])
def test_bad_tokens_get_a_dutch_page_and_change_nothing(client, app_session, one_link, kind):
    _cov, rep, link = one_link
    path = support.path_of(link)
    token = path.rsplit("/", 1)[1]
    bad = {"unknown": "A" * 43, "tampered": token[:-1] + ("B" if token[-1] != "B" else "C"), "malformed": "kort'<>"}[kind]
    before = snapshot(app_session)
    for response in (client.get(f"/onderteken/{bad}"), _post(client, f"/onderteken/{bad}", full_name=rep["name"], agree="y"),
                     client.get(f"/onderteken/{bad}/document.pdf"), _post(client, f"/onderteken/{bad}/weigeren", reason="x")):
        assert response.status_code == 404
        assert "Deze link is niet (meer) geldig" in response.get_data(as_text=True)
    assert snapshot(app_session) == before


def test_expired_link(client, app_session, one_link):
    _cov, rep, link = one_link
    app_session.execute(update(SigningRequest).values(expires_at=dt.datetime(2020, 1, 1)))
    app_session.commit()
    before = snapshot(app_session)
    for response in (client.get(support.path_of(link)), _post(client, support.path_of(link), full_name=rep["name"], agree="y")):
        assert response.status_code == 410 and "Deze link is verlopen" in response.get_data(as_text=True)
    assert snapshot(app_session) == before


def test_reused_link(client, app_session, one_link):
    _cov, rep, link = one_link
    assert support.sign_via_form(client, link, rep["name"]).status_code == 303
    before = snapshot(app_session)
    again = client.get(support.path_of(link))  # the signed link now leads to the thank-you page
    assert again.status_code == 303 and again.headers["Location"].endswith(support.path_of(link) + "/klaar")
    repost = _post(client, support.path_of(link), full_name=rep["name"], agree="y")
    assert repost.status_code == 410
    assert snapshot(app_session) == before


def test_form_errors_are_shown_on_the_page_and_change_nothing(client, app_session, one_link):
    _cov, rep, link = one_link
    client.get(support.path_of(link))
    before = snapshot(app_session)
    wrong = support.sign_via_form(client, link, "Iemand Anders")
    assert wrong.status_code == 422 and "komt niet overeen" in wrong.get_data(as_text=True)
    no_agree = support.sign_via_form(client, link, rep["name"], agree="")
    assert no_agree.status_code == 422 and "akkoord" in no_agree.get_data(as_text=True)
    bad_png = support.sign_via_form(client, link, rep["name"], signature="data:image/png;base64,AAAA")
    assert bad_png.status_code == 422 and "handtekening kon niet worden gelezen" in bad_png.get_data(as_text=True)
    no_csrf = client.post(support.path_of(link), data={"full_name": rep["name"], "agree": "y"})
    assert no_csrf.status_code == 400
    assert snapshot(app_session) == before


def test_decline_tells_the_requester(api, client, app_session, one_link):
    covenant_id, rep, link = one_link
    response = _post(client, support.path_of(link) + "/weigeren", reason="Wij tekenen liever op papier.")
    assert response.status_code == 200 and "geweigerd" in response.get_data(as_text=True)
    notice = api.get("/api/v1/outbox").json["messages"][0]
    assert notice["to"] == "admin@example.org" and "Wij tekenen liever op papier." in notice["body"]
    assert api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf").status_code == 409
    request_id = app_session.scalar(select(SigningRequest.id))
    status = api.get(f"/api/v1/signing-requests/{request_id}").json
    assert status["status"] == "declined" and [e["event"] for e in status["events"]] == ["created", "sent", "declined"]


def test_cancel_and_resend(api, client, app_session, one_link):
    covenant_id, rep, link = one_link
    request_id = app_session.scalar(select(SigningRequest.id))
    resent = api.post(f"/api/v1/signing-requests/{request_id}/resend")
    assert resent.status_code == 201 and resent.json["id"] != request_id
    old = client.get(support.path_of(link))
    assert old.status_code == 410 and "ingetrokken" in old.get_data(as_text=True)
    new_link = support.links_by_recipient(api)[rep["email"]]
    assert new_link != link
    cancelled = api.post(f"/api/v1/signing-requests/{resent.json['id']}/cancel", {"reason": "vergissing"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert api.post(f"/api/v1/signing-requests/{resent.json['id']}/cancel").status_code == 409
    assert client.get(support.path_of(new_link)).status_code == 410


def test_outbox_api_is_for_admins_newest_first(api, client, app_session, one_link):
    from registry import accounts

    messages = api.get("/api/v1/outbox").json["messages"]
    assert set(messages[0]) >= {"id", "to", "subject", "body", "created_at"}
    assert [m["id"] for m in messages] == sorted((m["id"] for m in messages), reverse=True)
    user = accounts.create_user(app_session, "coord@example.org", "een lang wachtwoord", is_admin=False)
    token = accounts.create_token(app_session, user)
    app_session.commit()
    assert client.get("/api/v1/outbox", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    assert client.get("/api/v1/outbox").status_code == 401


def test_invitations_and_reminders_over_smtp(smtp_app, api, client, app_session):
    app, inbox = smtp_app
    covenant_id, reps = support.covenant_with_partners(api, 2)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    assert inbox.messages == []  # the request only wrote the outbox ...
    assert support.worker_round(app)["mailed"] == 2  # ... the worker sends it
    assert sorted(rcpt[0] for rcpt, _msg in inbox.messages) == sorted(r["email"] for r in reps)
    first = inbox.messages[0][1].get_content()
    link = support.LINK_RE.search(first).group(1)
    assert link.startswith("https://casustafel.example/onderteken/")
    delivered = app_session.scalars(select(OutboxMessage)).all()
    assert all(m.sent_at and link not in m.body for m in delivered)  # delivered bodies (live links) are not kept

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=4)
    assert service.send_reminders(app_session, app.config, base_url="https://casustafel.example", now=later) == 2
    app_session.commit()
    assert support.worker_round(app)["mailed"] == 2
    reminder = inbox.messages[-1][1]
    assert reminder["Subject"].startswith("Herinnering:")
    new_link = support.LINK_RE.search(reminder.get_content()).group(1)
    assert client.get(support.path_of(new_link)).status_code == 200
    assert service.send_reminders(app_session, app.config, base_url="https://casustafel.example", now=later) == 0
    app_session.commit()

    expired_at = later + dt.timedelta(days=30)
    service.send_reminders(app_session, app.config, base_url="https://casustafel.example", now=expired_at)
    app_session.commit()
    app_session.expire_all()
    assert {r.status for r in app_session.scalars(select(SigningRequest))} == {"expired"}
    assert client.get(support.path_of(new_link)).status_code == 410


def test_cli_verify_log_names_the_first_broken_entry(api, app, app_session, one_link, monkeypatch):
    from forms_service.cli import main

    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    ok = CliRunner().invoke(main, ["verify-log"])
    assert ok.exit_code == 0 and "in orde" in ok.output
    app_session.execute(update(EvidenceEvent).where(EvidenceEvent.seq == 2).values(event="opened"))
    app_session.commit()
    broken = CliRunner().invoke(main, ["verify-log"])
    assert broken.exit_code == 1 and "regel 2" in broken.output


@pytest.mark.parametrize(("path", "anonymous", "admin"), [
    ("/ondertekening", 302, 200), ("/outbox", 302, 200), ("/verify", 200, 200),
    ("/ondertekening/declaration/1/ondertekend.pdf", 302, 404),
])
def test_access_matrix(client, admin_token, path, anonymous, admin, app):
    assert client.get(path).status_code == anonymous
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET, login

    login(client, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET)
    assert client.get(path).status_code == admin


def test_staff_pages_show_requests_and_the_outbox(logged_in, api, one_link):
    _cov, rep, link = one_link
    overview = logged_in.get("/ondertekening").get_data(as_text=True)
    assert rep["name"] in overview and "verstuurd, nog niet geopend" in overview and "pending" not in overview
    outbox = logged_in.get("/outbox").get_data(as_text=True)
    assert link in outbox and rep["email"] in outbox


def test_staff_send_from_the_covenant_page_without_javascript(logged_in, api, app_session):
    covenant_id, reps = support.covenant_with_partners(api, 2)
    page = logged_in.get(f"/covenants/{covenant_id}").get_data(as_text=True)
    csrf = support.CSRF_RE.search(page).group(1)
    sent = logged_in.post(f"/ondertekening/covenant/{covenant_id}/versturen", data={"csrf_token": csrf, "back": "record"},
                          follow_redirects=True)
    assert "Uitnodigingen verstuurd." in sent.get_data(as_text=True)
    assert set(support.links_by_recipient(api)) == {r["email"] for r in reps}
    again = logged_in.post(f"/ondertekening/covenant/{covenant_id}/versturen", data={"csrf_token": csrf, "back": "record"},
                           follow_redirects=True)
    assert "is al uitgenodigd" in again.get_data(as_text=True)
    wrong = logged_in.post("/ondertekening/iets/1/versturen", data={"csrf_token": csrf})
    assert wrong.status_code == 404


def test_registry_conflict_at_signing_changes_nothing(client, app_session, one_link):
    """The partner signed on paper elsewhere while the link was open: a clear page, no signature."""
    _cov, rep, link = one_link
    from registry.models import Partnership

    partnership = app_session.scalar(select(Partnership))
    partnership.signed_on, partnership.signed_via = dt.date(2026, 1, 5), "paper"
    app_session.commit()
    client.get(support.path_of(link))
    before = snapshot(app_session)
    response = support.sign_via_form(client, link, rep["name"])
    assert response.status_code == 409 and "al ondertekend" in response.get_data(as_text=True)
    assert snapshot(app_session) == before


def test_cli_jobs(app, monkeypatch):
    from forms_service.cli import main

    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("SERVER_NAME", raising=False)
    done = CliRunner().invoke(main, ["complete-pending"])
    assert done.exit_code == 0 and "Verzegeld: 0" in done.output
    refused = CliRunner().invoke(main, ["send-reminders"])
    assert refused.exit_code == 1 and "PUBLIC_BASE_URL" in refused.output
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://casustafel.example")
    reminded = CliRunner().invoke(main, ["send-reminders"])
    assert reminded.exit_code == 0 and "Herinneringen verstuurd: 0" in reminded.output
