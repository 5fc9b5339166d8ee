"""Logging in through the real login flow (password, then TOTP enrolment or a TOTP code).

``login(client, email, password, totp_secret=None)`` drives ``/login`` with a real CSRF
token; when the account needs a second factor it answers the TOTP page with
``pyotp.TOTP(secret).now()`` (or a later step when that code was already used: the app
accepts each code once), or, without a secret, enrols from the secret shown on the
enrolment page. The final response has ``.totp_secret`` (the secret used or enrolled)
and ``.recovery_codes`` (after an enrolment).
"""

from __future__ import annotations

import html
import re
import time

import pyotp

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_used_steps: dict[tuple, int] = {}


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def next_code(secret: str, key: tuple = ()) -> str:
    """A TOTP code the app has not seen yet for this account (waits when ±1 steps are used up)."""
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        current = int(now // totp.interval)
        step = max(current - 1, _used_steps.get((secret, *key), -1) + 1)
        if step <= current + 1:
            _used_steps[(secret, *key)] = step
            return totp.generate_otp(step)
        time.sleep(max(0.2, 30 - now % 30))


def secret_on(page: str) -> str:
    """The base32 secret printed on the enrolment page."""
    match = re.search(r'id="totp-secret">([^<]+)<', page)
    assert match, "no TOTP secret on the page"
    return html.unescape(match.group(1)).replace(" ", "")


def _path(location: str) -> str:
    return re.sub(r"^https?://[^/]+", "", location or "")


def second_factor(client, response, totp_secret: str | None, key: tuple):
    """From the answer to the first factor (password or OIDC) to a logged-in session."""
    location = _path(response.headers.get("Location", ""))
    if response.status_code != 302 or not location.startswith("/login/tweestaps"):
        response.totp_secret, response.recovery_codes = totp_secret, None
        return response
    page = client.get(location).get_data(as_text=True)
    if location.startswith("/login/tweestaps/instellen"):
        totp_secret = secret_on(page)
        done = client.post(location, data={"code": next_code(totp_secret, key), "csrf_token": csrf_of(page)})
        assert done.status_code == 200, done.get_data(as_text=True)
        done.recovery_codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.get_data(as_text=True))
        done.totp_secret = totp_secret
        return done
    assert totp_secret, "this account needs a TOTP code: pass totp_secret"
    done = client.post(location, data={"code": next_code(totp_secret, key), "csrf_token": csrf_of(page)})
    done.totp_secret, done.recovery_codes = totp_secret, None
    return done


def login(client, email: str, password: str, totp_secret: str | None = None, next: str | None = None):
    """Log in through the real flow; returns the last response (302 or the recovery-code page)."""
    path = "/login" + (f"?next={next}" if next else "")
    page = client.get(path).get_data(as_text=True)
    response = client.post(path, data={"email": email, "password": password, "csrf_token": csrf_of(page)})
    key = (client.application.config["DATABASE_URL"], email.lower())
    return second_factor(client, response, totp_secret, key)


def logged_in_as(client) -> str | None:
    """The e-mail shown as the logged-in user on the overview page, or None."""
    response = client.get("/")
    if response.status_code != 200:
        return None
    match = re.search(r'class="who" href="[^"]*">([^<]+)<', response.get_data(as_text=True))
    return match.group(1) if match else None
