"""Web login end to end: TOTP enrolment and codes, recovery codes, invitations, sessions
(epoch, idle timeout, disabling), rate limits, safe ``next=``, the admin user pages."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from registry import accounts
from registry.models import User
from signatures.models import OutboxMessage
from tests import factories
from tests.auth_support import csrf_of, login, logged_in_as, next_code
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET


@pytest.fixture
def table_id(app_session):
    org = factories.organisation(app_session)
    cov = factories.covenant(app_session, [(org, factories.D(2025, 5, 1))])
    table = factories.table(app_session, cov)
    app_session.commit()
    return table.id


def post_form(client, path, data):
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={**data, "csrf_token": csrf_of(page)})


def test_password_alone_is_not_a_login_for_an_admin(client, admin_token):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/login/tweestaps"
    assert client.get("/").status_code == 302  # pending, not logged in
    wrong = post_form(client, "/login/tweestaps", {"code": "123456" if pyotp.TOTP(ADMIN_TOTP_SECRET).now() != "123456" else "654321"})
    assert wrong.status_code == 200 and "Deze code klopt niet" in wrong.get_data(as_text=True)
    code = next_code(ADMIN_TOTP_SECRET, (client.application.config["DATABASE_URL"], ADMIN_EMAIL))
    ok = post_form(client, "/login/tweestaps", {"code": code})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert logged_in_as(client) == ADMIN_EMAIL
    # The same code is not accepted a second time (another browser, same window).
    other = client.application.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page)})
    again = post_form(other, "/login/tweestaps", {"code": code})
    assert again.status_code == 200 and logged_in_as(other) is None


def test_first_login_enrols_with_qr_code_then_recovery_codes_work_once(client, make_user, table_id, app_session):
    email, password, _ = make_user(grants=[{"role": "chair", "table_id": table_id}], enrolled=False)
    page = client.get("/login").get_data(as_text=True)
    first = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page)})
    assert first.headers["Location"] == "/login/tweestaps/instellen"
    enrol = client.get("/login/tweestaps/instellen").get_data(as_text=True)
    assert "<svg" in enrol and "<script" not in enrol and 'id="totp-secret"' in enrol
    assert client.get("/login/tweestaps/instellen").get_data(as_text=True).count("totp-secret") == 1
    response = login(client, email, password)  # enrols from the secret on the page
    codes = response.recovery_codes
    assert response.status_code == 200 and len(codes) == 10 and "één keer getoond" in response.get_data(as_text=True)
    assert logged_in_as(client) == email
    user = app_session.scalar(select(User).where(User.email == email))
    app_session.refresh(user)
    assert user.totp_enabled_at is not None and user.totp_secret == response.totp_secret
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    assert logged_in_as(client) is None
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page)})
    used = post_form(client, "/login/tweestaps", {"code": codes[0]})
    assert used.status_code == 302 and "nog 9 over" in client.get("/").get_data(as_text=True)
    assert logged_in_as(client) == email
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").get_data(as_text=True))})
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page)})
    assert post_form(client, "/login/tweestaps", {"code": codes[0]}).status_code == 200
    assert logged_in_as(client) is None


def test_a_partner_contact_logs_in_with_the_password_only(client, make_user, app_session):
    org = factories.organisation(app_session)
    app_session.commit()
    email, password, secret = make_user(grants=[{"role": "partner_contact", "organisation_id": org.id}])
    assert secret is None
    response = login(client, email, password)
    assert response.status_code == 302 and logged_in_as(client) == email


def test_the_code_page_needs_a_pending_login(client):
    response = client.get("/login/tweestaps")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/login/tweestaps/instellen").status_code == 302


@pytest.mark.parametrize("target", [
    "/%09/evil.example/", "//evil", "/\\evil", "https://evil", "http://evil.example/x", "javascript:alert(1)",
    "/%2F/evil.example", "%2F%2Fevil", "/\t/evil", "evil", "/%5Cevil", "///evil",
])
def test_next_only_goes_to_a_local_path(client, admin_token, target):
    from urllib.parse import quote

    response = login(client, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET,
                     next=target if target.startswith("/%") or target.startswith("%") else quote(target, safe=""))
    location = response.headers["Location"]
    assert response.status_code == 302 and location == "/", location


def test_next_to_a_local_path_is_followed(client, admin_token):
    response = login(client, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET, next="/tables/1%3Fon%3D2026-01-01")
    assert response.headers["Location"] == "/tables/1?on=2026-01-01"


def test_the_login_redirect_keeps_where_the_user_was_going(client, admin_token):
    start = client.get("/people/5?on=2026-01-01")
    assert start.status_code == 302
    path = re.sub(r"^https?://[^/]+", "", start.headers["Location"])
    page = client.get(path).get_data(as_text=True)
    client.post(path, data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page)})
    done = post_form(client, "/login/tweestaps", {"code": next_code(ADMIN_TOTP_SECRET, (client.application.config["DATABASE_URL"], ADMIN_EMAIL))})
    assert done.headers["Location"] == "/people/5?on=2026-01-01"


def test_fifteen_wrong_passwords_then_even_the_right_one_is_refused(client, admin_token, app):
    page = client.get("/login").get_data(as_text=True)
    token = csrf_of(page)
    statuses = [client.post("/login", data={"email": ADMIN_EMAIL, "password": f"fout {i}", "csrf_token": token}).status_code
                for i in range(15)]
    assert statuses[:10] == [200] * 10 and set(statuses[10:]) == {429}
    right = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert right.status_code == 429 and "Te veel verzoeken" in right.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # the page itself still opens
    # Another account from the same address is not blocked by this account's limit.
    other = client.post("/login", data={"email": "iemand@example.org", "password": "x", "csrf_token": token})
    assert other.status_code == 200


def test_the_account_limit_ends_with_its_window(client, admin_token, app):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3 per 2 second"
    token = csrf_of(client.get("/login").get_data(as_text=True))
    for i in range(4):
        last = client.post("/login", data={"email": ADMIN_EMAIL, "password": "fout", "csrf_token": token})
    assert last.status_code == 429
    time.sleep(2.1)
    right = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    assert right.status_code == 302 and right.headers["Location"] == "/login/tweestaps"


def test_per_ip_limit_and_totp_limit(client, admin_token, app):
    app.config["LOGIN_RATE_LIMIT_IP"] = "5/minute"
    token = csrf_of(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"email": f"u{i}@example.org", "password": "x", "csrf_token": token}).status_code
                for i in range(6)]
    assert statuses == [200] * 5 + [429]


def test_totp_attempts_are_limited_per_pending_account(client, admin_token, app):
    app.config["LOGIN_RATE_LIMIT_ACCOUNT"] = "3/minute"
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_of(page)})
    token = csrf_of(client.get("/login/tweestaps").get_data(as_text=True))
    statuses = [client.post("/login/tweestaps", data={"code": "000000", "csrf_token": token}).status_code for _ in range(4)]
    assert statuses[-1] == 429
    code = next_code(ADMIN_TOTP_SECRET, (app.config["DATABASE_URL"], ADMIN_EMAIL))
    assert client.post("/login/tweestaps", data={"code": code, "csrf_token": token}).status_code == 429


def test_logout_ends_every_session_of_the_user(app, logged_in):
    second = app.test_client()
    login(second, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET)
    assert logged_in_as(second) == ADMIN_EMAIL and logged_in_as(logged_in) == ADMIN_EMAIL
    token = csrf_of(logged_in.get("/").get_data(as_text=True))
    assert logged_in.post("/logout", data={"csrf_token": token}).status_code == 302
    assert logged_in_as(logged_in) is None and logged_in_as(second) is None


def test_password_change_ends_every_session(app, logged_in):
    second = app.test_client()
    login(second, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET)
    wrong = post_form(logged_in, "/account", {"current_password": "fout", "password": "nieuw wachtwoord!", "confirm": "nieuw wachtwoord!"})
    assert wrong.status_code == 200 and "huidige wachtwoord klopt niet" in wrong.get_data(as_text=True)
    done = post_form(logged_in, "/account", {"current_password": ADMIN_PASSWORD, "password": "nieuw wachtwoord!", "confirm": "nieuw wachtwoord!"})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert logged_in_as(logged_in) is None and logged_in_as(second) is None
    assert login(second, ADMIN_EMAIL, "nieuw wachtwoord!", ADMIN_TOTP_SECRET).status_code == 302
    assert logged_in_as(second) == ADMIN_EMAIL


def test_idle_and_absolute_session_timeouts(app, logged_in):
    with logged_in.session_transaction() as s:
        s["seen"] = int(time.time()) - 31 * 60
    response = logged_in.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "te lang niet actief" in logged_in.get("/login").get_data(as_text=True)
    login(logged_in, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET)
    with logged_in.session_transaction() as s:
        s["seen"] = int(time.time()) - 29 * 60
    assert logged_in.get("/").status_code == 200
    with logged_in.session_transaction() as s:
        s["login_at"] = int(time.time()) - 13 * 3600
    assert logged_in.get("/").status_code == 302
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600


def test_a_disabled_user_is_logged_out_at_the_next_request(app, logged_in, make_user, app_session):
    email, password, _ = make_user(grants=[{"role": "admin"}])
    with app_session.begin():
        accounts.disable_user(app_session, accounts.user_by_email(app_session, ADMIN_EMAIL))
    assert logged_in.get("/").status_code == 302
    assert login(logged_in, ADMIN_EMAIL, ADMIN_PASSWORD, ADMIN_TOTP_SECRET).status_code == 200  # refused


def test_invite_by_admin_page_then_set_password_and_enrol(app, logged_in, table_id, app_session):
    page = logged_in.get("/beheer/gebruikers/nieuw").get_data(as_text=True)
    bad = logged_in.post("/beheer/gebruikers/nieuw", data={
        "csrf_token": csrf_of(page), "name": "Vera Voorzitter", "email": "vera@example.org", "role": "chair"})
    assert bad.status_code == 200 and "Een voorzitter hoort bij één casustafel." in bad.get_data(as_text=True)
    sent = logged_in.post("/beheer/gebruikers/nieuw", data={
        "csrf_token": csrf_of(page), "name": "Vera Voorzitter", "email": "Vera@Example.org", "role": "chair",
        "table_id": str(table_id)})
    assert sent.status_code == 302
    assert "vera@example.org" in logged_in.get("/beheer/gebruikers/").get_data(as_text=True)
    message = next(m for m in app_session.scalars(select(OutboxMessage)) if m.to == "vera@example.org")  # "to" is encrypted
    link = re.search(r"http://localhost/wachtwoord/\S+", message.body).group(0)
    path = link.removeprefix("http://localhost")
    assert "authenticator-app" in message.body
    fresh = app.test_client()
    form = fresh.get(path)
    assert form.status_code == 200 and "vera@example.org" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    token = csrf_of(form.get_data(as_text=True))
    mismatch = fresh.post(path, data={"csrf_token": token, "password": "een goed wachtwoord", "confirm": "iets anders"})
    assert "niet gelijk" in mismatch.get_data(as_text=True)
    done = fresh.post(path, data={"csrf_token": token, "password": "een goed wachtwoord", "confirm": "een goed wachtwoord"})
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert fresh.get(path).status_code == 409  # single use
    assert login(fresh, "vera@example.org", "een goed wachtwoord").recovery_codes
    assert logged_in_as(fresh) == "vera@example.org"
    assert fresh.get("/beheer/gebruikers/").status_code == 403  # a chair is no admin
    assert fresh.get("/login").status_code == 200


def test_admin_changes_grants_disables_and_enables(app, logged_in, make_user, table_id, app_session):
    email, password, secret = make_user(grants=[{"role": "chair", "table_id": table_id}])
    user = accounts.user_by_email(app_session, email)
    path = f"/beheer/gebruikers/{user.id}"
    page = logged_in.get(path).get_data(as_text=True)
    assert email in page and "Voorzitter" in page
    grant_id = user.grants[0].id
    changed = logged_in.post(path, data={"csrf_token": csrf_of(page), "remove": str(grant_id), "role": "coordinator",
                                         "table_id": str(table_id)})
    assert changed.status_code == 302
    app_session.expire_all()
    assert [(g.role, g.table_id) for g in accounts.user_by_email(app_session, email).grants] == [("coordinator", table_id)]
    wrong = logged_in.post(path, data={"csrf_token": csrf_of(page), "role": "admin", "table_id": str(table_id)})
    assert wrong.status_code == 200 and "geen bereik" in wrong.get_data(as_text=True)
    other = app.test_client()
    login(other, email, password, secret)
    assert logged_in_as(other) == email
    assert other.get(path).status_code == 403
    logged_in.post(f"{path}/uitschakelen", data={"csrf_token": csrf_of(page)})
    assert logged_in_as(other) is None
    assert "uitgeschakeld" in logged_in.get(path).get_data(as_text=True)
    logged_in.post(f"{path}/inschakelen", data={"csrf_token": csrf_of(page)})
    assert login(other, email, password, secret).status_code == 302 and logged_in_as(other) == email
    logged_in.post(f"{path}/tweestaps-opnieuw", data={"csrf_token": csrf_of(page)})
    assert logged_in_as(other) is None
    assert login(other, email, password).recovery_codes  # enrols again
    me = accounts.user_by_email(app_session, ADMIN_EMAIL)
    refused = logged_in.post(f"/beheer/gebruikers/{me.id}/uitschakelen", data={"csrf_token": csrf_of(page)}, follow_redirects=True)
    assert "actieve beheerder overblijven" in refused.get_data(as_text=True)


def test_login_page_offers_oidc_only_when_configured(app, client):
    assert "Inloggen met" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/oidc").status_code == 404
    app.config.update(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="forms", OIDC_NAME="Gemeente Emmen")
    assert "Inloggen met Gemeente Emmen" in client.get("/login").get_data(as_text=True)
    down = client.get("/login/oidc")
    assert down.status_code == 503 and "niet bereikbaar" in down.get_data(as_text=True)


class FakeProvider:
    """Stands in for Authlib's client to check the app's decisions on given claims."""

    def __init__(self, claims):
        self.claims = claims

    def authorize_access_token(self):
        return {"access_token": "x", "userinfo": dict(self.claims)}

    def userinfo(self, token):
        return dict(self.claims)


@pytest.mark.parametrize(("claims", "outcome"), [
    ({"sub": "1", "email": ADMIN_EMAIL, "email_verified": True, "amr": ["pwd", "mfa"]}, "logged_in"),
    ({"sub": "1", "email": ADMIN_EMAIL, "email_verified": True, "amr": ["pwd"]}, "totp"),
    ({"sub": "1", "email": ADMIN_EMAIL, "email_verified": True}, "totp"),
    ({"sub": "1", "email": ADMIN_EMAIL, "email_verified": False, "amr": ["mfa"]}, "refused"),
    ({"sub": "1", "email": ADMIN_EMAIL, "amr": ["mfa"]}, "refused"),
    ({"sub": "1", "email_verified": True}, "refused"),
])
def test_oidc_decisions_on_claims(app, client, admin_token, monkeypatch, claims, outcome):
    from forms_service import auth

    app.config.update(OIDC_ISSUER="http://127.0.0.1:9", OIDC_CLIENT_ID="forms")
    monkeypatch.setattr(auth, "_oidc_client", lambda: FakeProvider(claims))
    response = client.get("/login/oidc/callback?code=c&state=s")
    if outcome == "logged_in":
        assert response.status_code == 302 and logged_in_as(client) == ADMIN_EMAIL
    elif outcome == "totp":
        assert response.headers["Location"] == "/login/tweestaps" and logged_in_as(client) is None
    else:
        assert response.status_code == 403 and logged_in_as(client) is None


def test_pages_with_secrets_are_not_cached(client, make_user, app_session):
    email, password, _ = make_user(grants=[{"role": "admin"}], enrolled=False)
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(page)})
    assert client.get("/login/tweestaps/instellen").headers["Cache-Control"] == "no-store"
    done = login(client, email, password)
    assert done.headers["Cache-Control"] == "no-store"


def test_invite_page_links_a_person_and_explains_bad_input_in_dutch(logged_in, app_session):
    org = factories.organisation(app_session)
    person = factories.person(app_session, org, name="Pim Persoon")
    app_session.commit()
    page = logged_in.get("/beheer/gebruikers/nieuw").get_data(as_text=True)
    token = csrf_of(page)
    bad = logged_in.post("/beheer/gebruikers/nieuw", data={"csrf_token": token, "name": "P", "email": "p@example.org", "person_id": "abc"})
    assert "Vul het nummer van de persoon in." in bad.get_data(as_text=True)
    unknown = logged_in.post("/beheer/gebruikers/nieuw", data={"csrf_token": token, "name": "P", "email": "p@example.org", "person_id": "99999"})
    assert "Deze persoon bestaat niet." in unknown.get_data(as_text=True)
    ok = logged_in.post("/beheer/gebruikers/nieuw", data={"csrf_token": token, "name": "P", "email": "p@example.org",
                                                         "person_id": str(person.id), "role": "partner_contact",
                                                         "organisation_id": str(org.id)})
    assert ok.status_code == 302
    listing = logged_in.get("/beheer/gebruikers/").get_data(as_text=True)
    assert "Pim Persoon" in listing and "uitgenodigd" in listing
    assert accounts.user_by_email(app_session, "p@example.org").person_id == person.id
