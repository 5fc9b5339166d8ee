"""The covenant page's life section and an amendment page in Debian's Chromium, at
desktop and phone width: nothing wider than the screen at 390 px (screenshots kept in
the test's folder for a person to look at)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from registry import rules
from tests import signing_support as support
from tests.test_signing_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")]


def test_life_pages_fit_a_phone(served, logged_in, api, tmp_path):
    from playwright.sync_api import sync_playwright

    signed = (rules.today() - dt.timedelta(days=7)).isoformat()
    covenant_id, _reps = support.covenant_with_partners(api, 3, signed_on=signed)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Artikel 6: bewaartermijn van twee jaar"}).json["id"]
    org = api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"][0]["organisation_id"]
    api.post(f"/api/v1/covenants/{covenant_id}/partners/{org}/notice", {"given_on": rules.today().isoformat()})
    cookie = logged_in.get_cookie("session").value
    paths = {"covenant": f"/covenants/{covenant_id}", "amendment": f"/covenants/{covenant_id}/wijzigingen/{aid}"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-NL")
            context.add_cookies([{"name": "session", "value": cookie, "url": served}])
            page = context.new_page()
            for name, path in paths.items():
                page.goto(served + path)
                assert "Partners vandaag" in page.content() or name != "covenant"
                page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth")
                assert overflow <= width + 1, f"{name} is {overflow}px wide at {width}px"
            context.close()
        browser.close()
    print("screenshots in", tmp_path)
