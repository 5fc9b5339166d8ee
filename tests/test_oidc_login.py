"""OIDC login against a real OpenID provider (panva/oidc-provider 9 on Node) that the test starts.

The app runs on a real loopback HTTP server (``served``); ``requests`` follows the
authorization-code flow with PKCE through the provider's dev login form and consent page
to the app's callback. The provider lets any login through; the login typed becomes the
e-mail claim (``email_verified: true``), so the test decides which e-mail the app sees.
"""

from __future__ import annotations

import html
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pyotp
import pytest

from tests import factories

OIDC_DIR = Path(__file__).parent / "oidc"

requests = pytest.importorskip("requests")


@pytest.fixture(scope="session")
def oidc_installed():
    """node_modules of tests/oidc (``npm ci`` when missing; scripts/setup.sh does it too)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("FORMS_SERVICE_REQUIRE_OIDC") == "1":
            pytest.fail("Node.js and npm are needed for the OIDC tests")
        pytest.skip("Node.js is not installed")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=True, timeout=300,
                       capture_output=True)
    return node


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def provider(oidc_installed, served, app):
    """The provider on its own loopback port, configured as the app's OIDC issuer."""
    port, client_secret = _free_port(), secrets.token_urlsafe(24)
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_REDIRECT_URI": f"{served}/login/oidc/callback",
           "OIDC_CLIENT_ID": "forms-service", "OIDC_CLIENT_SECRET": client_secret, "NODE_ENV": "test"}
    process = subprocess.Popen([oidc_installed, "provider.mjs"], cwd=OIDC_DIR, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    output = []
    try:
        while True:
            line = lines.get(timeout=30)
            output.append(line)
            if line.startswith("ready "):
                issuer = line.split()[1]
                break
    except queue.Empty:
        process.kill()
        pytest.fail("OIDC provider did not start:\n" + "".join(output))
    app.config.update(OIDC_ISSUER=issuer, OIDC_CLIENT_ID="forms-service", OIDC_CLIENT_SECRET=client_secret,
                      OIDC_NAME="Test-IdP")
    yield issuer
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _forms(page: str) -> list[tuple[str, dict]]:
    """Every POST form on a page: (action, hidden and named input values)."""
    found = []
    for match in re.finditer(r'<form[^>]*action="([^"]*)"[^>]*method="post"[^>]*>(.*?)</form>', page, re.S | re.I):
        fields = {name: html.unescape(value) for name, value in
                  re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', match.group(2))}
        found.append((html.unescape(match.group(1)), fields))
    return found


def oidc_login(served: str, issuer: str, email: str, http=None):
    """Follow the whole flow as a browser would; returns (requests session, last response)."""
    http = http or requests.Session()
    start = http.get(f"{served}/login", timeout=10)
    assert "Inloggen met Test-IdP" in start.text
    first = http.get(f"{served}/login/oidc?next=/people/1", allow_redirects=False, timeout=10)
    assert first.status_code == 302
    authorize = first.headers["Location"]
    query = urlsplit(authorize).query
    assert authorize.startswith(issuer) and "code_challenge_method=S256" in query and "code_challenge=" in query
    response = http.get(authorize, timeout=10)
    for _ in range(6):  # login form, then consent
        if not response.url.startswith(issuer):
            break
        forms = _forms(response.text)
        assert forms, response.text
        action, fields = forms[0]
        if fields.get("prompt") == "login" or 'name="login"' in response.text:
            fields.update(login=email, password="wat dan ook")
        response = http.post(urljoin(response.url, action), data=fields, timeout=10)
    return http, response


def who(http, served: str) -> str | None:
    page = http.get(f"{served}/", allow_redirects=False, timeout=10)
    if page.status_code != 200:
        return None
    match = re.search(r'class="who" href="[^"]*">([^<]+)<', page.text)
    return match.group(1) if match else None


def test_oidc_login_matches_an_existing_account_by_verified_email(provider, served, app_session):
    org = factories.organisation(app_session)
    app_session.commit()
    from registry import accounts

    accounts.create_user(app_session, "contact@example.org", "een lang wachtwoord",
                         grants=[{"role": "partner_contact", "organisation_id": org.id}])
    app_session.commit()
    http, response = oidc_login(served, provider, "Contact@Example.org")
    assert response.status_code in (200, 404) and response.url == f"{served}/people/1", response.url
    assert who(http, served) == "contact@example.org"


def test_oidc_login_without_amr_mfa_still_asks_our_totp(provider, served, app_session, admin_token):
    from tests.conftest import ADMIN_EMAIL, ADMIN_TOTP_SECRET

    http, response = oidc_login(served, provider, ADMIN_EMAIL)
    assert response.url == f"{served}/login/tweestaps"
    assert who(http, served) is None
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text).group(1)
    done = http.post(f"{served}/login/tweestaps", data={"csrf_token": csrf, "code": pyotp.TOTP(ADMIN_TOTP_SECRET).now()},
                     timeout=10)
    assert done.url == f"{served}/people/1"
    assert who(http, served) == ADMIN_EMAIL


def test_oidc_login_refuses_an_unknown_email_and_creates_nothing(provider, served, app_session):
    from sqlalchemy import func, select

    from registry.models import User

    http, response = oidc_login(served, provider, "onbekend@example.org")
    assert response.status_code == 403 and response.url.startswith(f"{served}/login/oidc/callback")
    assert "Er is geen actief account voor onbekend@example.org" in response.text
    assert who(http, served) is None
    assert app_session.scalar(select(func.count()).select_from(User)) == 0


def test_oidc_login_refuses_a_disabled_account(provider, served, app_session):
    from registry import accounts

    accounts.create_user(app_session, "boss@example.org", "een lang wachtwoord", is_admin=True)
    user = accounts.create_user(app_session, "weg@example.org", "een lang wachtwoord")
    accounts.disable_user(app_session, user)
    app_session.commit()
    http, response = oidc_login(served, provider, "weg@example.org")
    assert response.status_code == 403 and who(http, served) is None


def test_a_forged_callback_is_refused(provider, served):
    http = requests.Session()
    response = http.get(f"{served}/login/oidc/callback?code=abc&state=verzonnen", timeout=10)
    assert response.status_code == 400 and who(http, served) is None
