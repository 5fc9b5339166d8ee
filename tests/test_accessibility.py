"""Every page of the web UI in a real browser (Debian's Chromium, Playwright) at 1280 and
390 px wide: axe-core finds no serious or critical violation, and no page scrolls
sideways on a phone (``document.documentElement.scrollWidth`` ≤ the viewport's width).

The pages come from the access matrix (:func:`tests.test_access_matrix._routes`), which
must name every route anyway: each GET route there that answers HTML is visited, as the
least and as the most privileged of the roles below that may see it (public pages also
anonymously, the signing page with a live signing link). A page the matrix cannot name
(a query variant, an error page) goes into :data:`EXTRA_PAGES`. So a new page is
checked as soon as its matrix entry exists.

axe-core is the npm package pinned in ``tests/a11y/package.json`` (installed by
``scripts/setup.sh`` like the OIDC provider of ``tests/oidc``): the upstream engine, one
file, no Python wrapper to keep in step. Without it (no npm) the test is skipped.
``A11Y_SCREENSHOTS=folder`` saves a full-page screenshot of every visit to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from database.engine import make_session_factory
from registry import accounts
from tests.auth_support import login
from tests.test_access_matrix import PASSWORD, TOTP_SECRET, _build_world, _routes

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
              pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (scripts/setup.sh, needs npm)")]
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]

ROLES = ["anon", "partner", "privacy", "chair_north", "coord_cov", "admin"]
"""From least to most privileged: anonymous (public pages, a signer with a link), a
partner contact, a privacy officer, a chair, a coordinator of the covenant, an admin."""

EXTRA_PAGES: list[tuple[str, str]] = [
    # (role, path) of pages the matrix does not name; ``{name}`` is filled from its ids.
    ("admin", "/tables/{north}?on=2026-01-15"),
    ("admin", "/bestaat-niet"),  # the 404 page
    ("anon", "/openbaar/convenanten/999999"),  # the public 404 page
    ("anon", "/onderteken/unknown-token"),  # a signing link that does not work
]

DOCUMENTS = ("/preview", "/voorbeeld")
"""The documents themselves (A4 HTML shown inside an iframe on the covenant and signing
pages): axe checks them too, but their width is the paper's, so no phone-width check."""

SKIP_SUFFIXES = (".pdf", ".docx", ".zip", ".json", ".csv", ".css", ".js", ".png")
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SERIOUS = {"serious", "critical"}


class Site:
    """The app with the matrix world on a real HTTP server, and a session cookie per role."""

    def __init__(self, base: str, ids: dict, cookies: dict, client):
        self.base, self.ids, self.cookies, self.client = base, ids, cookies, client

    def answers_html(self, role: str, path: str) -> bool:
        """Whether ``path`` gives ``role`` a 200 HTML page (else it is no page to check)."""
        self.client.delete_cookie("session")
        if role != "anon":
            self.client.set_cookie("session", self.cookies[role])
        response = self.client.get(path)
        return response.status_code in (200, 404) and response.mimetype == "text/html"


@pytest.fixture(scope="module")
def site(tmp_path_factory, sqlite_template):
    """The world of the access matrix on SQLite, served on loopback."""
    from werkzeug.serving import make_server

    from forms_service import create_app

    folder = tmp_path_factory.mktemp("a11y")
    path = folder / "world.sqlite3"
    shutil.copy(sqlite_template, path)
    os.environ["FORMS_SERVICE_INSTANCE"] = str(folder / "instance")
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "RATELIMIT_ENABLED": False})
    with make_session_factory(app.extensions["db_engine"])() as session:
        ids = _build_world(session, app.config)
        for name in ROLES[1:] + ["nogrant"]:
            ids[f"user_{name}"] = accounts.user_by_email(session, f"{name}@matrix.example.org").id
        ids["token_nogrant"] = 0  # only a POST route (revoke a token) names it
        session.commit()
    cookies = {}
    for name in ROLES[1:]:
        client = app.test_client()
        response = login(client, f"{name}@matrix.example.org", PASSWORD, TOTP_SECRET)
        assert response.status_code == 302 and "/login" not in response.headers["Location"]
        cookies[name] = client.get_cookie("session").value
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{server.server_port}", ids, cookies, app.test_client())
    server.shutdown()
    server.server_close()
    app.extensions["db_engine"].dispose()
    os.environ.pop("FORMS_SERVICE_INSTANCE", None)


def pages(site: Site) -> list[tuple[str, str]]:
    """(role, path) of every HTML page to check: the matrix's GET routes and the extras."""
    visits: list[tuple[str, str]] = []
    for (endpoint, method), entries in _routes(site.ids).items():
        if method != "GET" or endpoint == "static":
            continue
        for url, allowed, _kwargs in entries if isinstance(entries, list) else [entries]:
            if url.startswith("/api/") or url.split("?")[0].endswith(SKIP_SUFFIXES):
                continue
            roles = [r for r in ROLES if r in allowed]
            for role in dict.fromkeys(roles[:1] + roles[-1:]):  # least and most privileged
                visits.append((role, url))
    visits += [(role, path.format(**site.ids)) for role, path in EXTRA_PAGES]
    return [(role, url) for role, url in dict.fromkeys(visits) if site.answers_html(role, url)]


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's Chromium, once for the module (started and stopped here, see test_signing_browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_passes_axe_and_fits_the_screen(site, chromium_browser, width):
    visits = pages(site)
    assert len(visits) > 40, visits  # the list really is every page, not a handful
    shots = os.environ.get("A11Y_SCREENSHOTS")
    problems: list[str] = []
    contexts = {}
    for role, path in visits:
        if role not in contexts:
            # bypass_csp: axe is injected as an inline script, which the app's CSP forbids.
            context = chromium_browser.new_context(viewport=WIDTHS[width], locale="nl-NL", bypass_csp=True,
                                          has_touch=width == "phone")
            if role != "anon":
                context.add_cookies([{"name": "session", "value": site.cookies[role], "url": site.base}])
            contexts[role] = context.new_page()
        page = contexts[role]
        page.goto(site.base + path)
        page.add_script_tag(path=str(AXE))
        for v in page.evaluate(AXE_RUN):
            if v["impact"] in SERIOUS:
                problems.append(f"{path} as {role}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes']}")
        if width == "phone" and not path.endswith(DOCUMENTS):
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                problems.append(f"{path} as {role}: scrolls sideways at {inner} px (scrollWidth {scroll})")
        if shots:
            name = re.sub(r"[^A-Za-z0-9]+", "_", f"{width}_{role}_{path}").strip("_")[:120]
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    for page in contexts.values():
        page.context.close()
    assert not problems, "\n".join(problems)
