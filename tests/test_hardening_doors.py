"""Hardening of the doors: rate limits (Dutch 429 page, JSON ``rate_limited`` under /api/),
security headers on every response, trusted proxies (ProxyFix) and the session cookie."""

from __future__ import annotations

import io

import pytest
from flask import request

from forms_service import config as config_module
from forms_service import create_app
from tests import signing_support as support
from tests.test_signing_browser import page  # noqa: F401  (the Chromium fixture)


@pytest.fixture
def one_link(api):
    """A covenant with one unsigned partner, sent; returns (rep, link)."""
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    return reps[0], support.links_by_recipient(api)[reps[0]["email"]]


def _csrf(client, path: str = "/verify") -> str:
    return support.CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


# ----------------------------------------------------------------------------- rate limits


def test_signing_posts_are_limited_per_ip_with_a_dutch_page(app, client, one_link):
    app.config["RATELIMIT_SIGNING"] = "3 per minute"
    rep, link = one_link
    path = support.path_of(link)
    token = _csrf(client, path)
    for _ in range(2):  # wrong names count too: the limit is on POSTs, whatever their outcome
        assert client.post(path, data={"full_name": "Iemand Anders", "agree": "y", "csrf_token": token}).status_code == 422
    assert client.post(path + "/weigeren", data={"csrf_token": token}).status_code == 200  # shared with "weigeren"
    refused = client.post(path, data={"full_name": rep["name"], "agree": "y", "csrf_token": token})
    assert refused.status_code == 429
    page = refused.get_data(as_text=True)
    assert "Te veel verzoeken" in page and 'data-code="rate_limited"' in page and refused.headers["Retry-After"]
    assert client.get(path).status_code != 429  # reading is not limited
    # another IP still gets through (to the page that says the link was used)
    other = client.post(path, data={"full_name": rep["name"], "agree": "y", "csrf_token": token},
                        environ_base={"REMOTE_ADDR": "192.0.2.55"})
    assert other.status_code == 410


def test_verify_page_and_api_share_a_limit_per_ip(app, client):
    app.config["RATELIMIT_VERIFY"] = "2 per minute"
    token = _csrf(client)
    assert client.post("/verify", data={"csrf_token": token}).status_code == 200
    assert client.post("/api/v1/verify", data={"file": (io.BytesIO(b"%PDF-1.4 nee"), "x.pdf")}).status_code == 200
    page = client.post("/verify", data={"csrf_token": token})
    assert page.status_code == 429 and "Te veel verzoeken" in page.get_data(as_text=True)
    api = client.post("/api/v1/verify", data={"file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")})
    assert api.status_code == 429
    assert api.json["error"]["code"] == "rate_limited" and api.json["error"]["message"] and api.json["error"]["fields"] == {}
    assert client.get("/verify").status_code == 200  # the form itself stays readable


def test_bad_api_tokens_are_limited_per_ip_before_any_token_is_checked(app, client, admin_token):
    app.config["RATELIMIT_API_BAD_TOKEN"] = "3 per minute"
    good = {"Authorization": f"Bearer {admin_token}"}
    for _ in range(5):  # good tokens never count
        assert client.get("/api/v1/tables", headers=good).status_code == 200
    for i in range(3):
        assert client.get("/api/v1/tables", headers={"Authorization": f"Bearer wrong{i}"}).status_code == 401
    refused = client.get("/api/v1/tables", headers={"Authorization": "Bearer wrong-again"})
    assert refused.status_code == 429 and refused.json["error"]["code"] == "rate_limited"
    # over the limit even a good token from this IP waits: a guess must not be checked
    assert client.get("/api/v1/tables", headers=good).status_code == 429
    elsewhere = client.get("/api/v1/tables", headers=good, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert elsewhere.status_code == 200
    # requests without any token are simply 401 (nothing guessed)
    assert client.get("/api/v1/tables", environ_base={"REMOTE_ADDR": "198.51.100.10"}).status_code == 401


def test_rate_limits_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", str(tmp_path))
    monkeypatch.setenv("RATELIMIT_SIGNING", "5 per minute")
    monkeypatch.setenv("RATELIMIT_VERIFY", "6 per minute")
    monkeypatch.setenv("RATELIMIT_API_BAD_TOKEN", "7 per minute")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    settings = config_module.load_config()
    assert (settings["RATELIMIT_SIGNING"], settings["RATELIMIT_VERIFY"], settings["RATELIMIT_API_BAD_TOKEN"]) == (
        "5 per minute", "6 per minute", "7 per minute")
    assert settings["TRUSTED_PROXIES"] == 2
    monkeypatch.delenv("RATELIMIT_SIGNING")
    monkeypatch.delenv("TRUSTED_PROXIES")
    settings = config_module.load_config()
    assert settings["RATELIMIT_SIGNING"] == "30 per minute; 300 per hour" and settings["TRUSTED_PROXIES"] == 0
    assert settings["SIGNED_COPY_DAYS"] == 30


# ----------------------------------------------------------------------------- headers


CSP_PARTS = ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'")


def _assert_common_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Content-Security-Policy" in response.headers


def test_every_kind_of_response_gets_the_security_headers(app, client, one_link, api):
    _rep, link = one_link
    path = support.path_of(link)
    responses = {
        "login": client.get("/login"), "signing page": client.get(path), "document pdf": client.get(path + "/document.pdf"),
        "verify": client.get("/verify"), "not found": client.get("/nergens"), "api": api.get("/api/v1/tables"),
        "api error": client.get("/api/v1/tables"), "outbox": api.get("/api/v1/outbox"),
    }
    for name, response in responses.items():
        _assert_common_headers(response)
        csp = response.headers["Content-Security-Policy"]
        assert all(part in csp for part in CSP_PARTS), (name, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "no-store" in response.headers["Cache-Control"], name
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here
    # the signing page's scripts are files under /static/ (the CSP allows exactly those)
    page = responses["signing page"].get_data(as_text=True)
    assert "<script>" not in page and 'src="/static/vendor/signature_pad/signature_pad.umd.min.js"' in page
    assert "style=" not in page and "<style" not in page


def test_the_document_preview_keeps_its_own_stricter_policy(client, one_link):
    _rep, link = one_link
    preview = client.get(support.path_of(link) + "/voorbeeld")
    assert preview.status_code == 200
    csp = preview.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'") and "frame-ancestors 'self'" in csp  # shown in the page's iframe
    assert "no-store" in preview.headers["Cache-Control"]


def test_static_files_and_the_openapi_description_may_be_cached(client):
    for path in ("/static/site.css", "/static/vendor/signature_pad/signature_pad.umd.min.js", "/api/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_common_headers(response)
        assert "no-store" not in (response.headers.get("Cache-Control") or ""), path


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://casustafel.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


# ----------------------------------------------------------------------------- proxies and cookies


def _app_with(db_url, **settings):
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SIGNING_COMPLETE_ON_START": False, **settings})

    @app.get("/_test/client")
    def whoami():
        return {"ip": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


@pytest.mark.parametrize("proxies", [0, 1])
def test_trusted_proxies_decide_which_address_is_the_client(db_url, instance_dir, proxies):
    app = _app_with(db_url, TRUSTED_PROXIES=proxies)
    try:
        response = app.test_client().get("/_test/client", environ_base={"REMOTE_ADDR": "10.0.0.2"}, headers={
            "X-Forwarded-For": "198.51.100.1, 203.0.113.7", "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "casustafel.example"})
    finally:
        app.extensions["db_engine"].dispose()
    if proxies == 1:  # the one proxy we trust appended the client's address last
        assert response.json == {"ip": "203.0.113.7", "scheme": "https", "host": "casustafel.example"}
        assert "Strict-Transport-Security" in response.headers
    else:  # nobody is trusted: a client cannot choose its own address
        assert response.json["ip"] == "10.0.0.2" and response.json["scheme"] == "http"
        assert response.json["host"] != "casustafel.example"


def test_session_cookie_secure_follows_https_public_base_url(monkeypatch, tmp_path):
    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", str(tmp_path))
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://casustafel.emmen.example")
    assert config_module.load_config()["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    assert config_module.load_config()["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    assert config_module.load_config()["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://casustafel.emmen.example")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert config_module.load_config()["SESSION_COOKIE_SECURE"] is False


def test_secure_session_cookie_is_sent_with_the_secure_flag(db_url, instance_dir):
    app = _app_with(db_url, SESSION_COOKIE_SECURE=True)
    try:
        response = app.test_client().get("/login", base_url="https://casustafel.example")
    finally:
        app.extensions["db_engine"].dispose()
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)


# ----------------------------------------------------------------------------- CSP in a real browser


@pytest.mark.browser
def test_the_signing_page_works_under_the_csp_in_a_browser(served, api, app_session, request):
    """Chromium reports no CSP violation on the signing page, the preview iframe renders and
    the vendored signature_pad still draws (its PNG is within 2000 x 1000 pixels)."""
    import os
    import struct

    from sqlalchemy import select

    from signatures.models import SigningRequest
    from tests.test_signing_browser import CHROMIUM, _draw
    from tests.test_signing_concurrency import _declaration_waiting

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    page = request.getfixturevalue("page")
    declaration = _declaration_waiting(api, app_session)
    assert api.post(f"/api/v1/declarations/{declaration}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]
    violations = []
    page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
    page.goto(served + support.path_of(link))
    assert page.frame_locator("iframe.preview").locator("body").inner_text().strip()  # the document shows
    page.check("input[name=agree]")
    page.fill("#full_name", "Mira Kamphuis")
    _draw(page)
    page.click("#submit")
    page.wait_for_url("**/klaar")
    # Only the page's own policy counts here; the preview iframe has its own deliberately
    # inert one (default-src 'none', its CSS inlined), which refuses the pack's <link> and fonts.
    assert [v for v in violations if "'self'" in v] == []
    app_session.expire_all()
    png = app_session.scalar(select(SigningRequest.signature_png))
    width, height = struct.unpack(">II", png[16:24])
    assert 0 < width <= 2000 and 0 < height <= 1000
