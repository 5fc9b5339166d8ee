"""The meeting form's invitee picker in Debian's Chromium with its script (static/picker.js,
loaded under the app's own CSP): typing filters the candidates shown, "Alle getoonde
kiezen" ticks what the filter shows, the count follows, and the form still takes over
and plans the chosen invitees; axe finds no serious violation on the enhanced form."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from registry.models import Meeting
from tests.test_accessibility import AXE, AXE_RUN, SERIOUS
from tests.test_meeting_invitations import crowd, future_day, world  # noqa: F401  (fixtures)
from tests.test_signing_browser import CHROMIUM, LAUNCH_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")]


def test_typing_filters_select_all_shown_and_the_form_plans_them(served, logged_in, crowd, app_session):  # noqa: F811
    from playwright.sync_api import sync_playwright

    path = f"/tables/{crowd['north'].id}/meetings/new"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        context.add_cookies([{"name": "session", "value": logged_in.get_cookie("session").value, "url": served}])
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))  # the script itself failing
        page.goto(served + path)
        candidates = page.locator(".candidates li")
        assert candidates.count() == 50 and page.locator(".picker-count").inner_text() == "0 gekozen."

        page.fill("#q", "kandidaat 00")  # as one types: no request, the page's list narrows
        visible = page.locator(".candidates li:visible")
        assert visible.count() == 10
        assert all(text.startswith("Kandidaat 00") for text in visible.all_inner_texts())
        page.click("text=Alle getoonde kiezen")
        assert page.locator(".candidates input:checked").count() == 10
        assert page.locator(".picker-count").inner_text() == "10 gekozen."
        page.fill("#q", "")
        assert page.locator(".candidates li:visible").count() == 50  # the filter hides, it does not drop
        page.locator(".candidates li", has_text="Kandidaat 020").locator("input").check()
        assert page.locator(".picker-count").inner_text() == "11 gekozen."

        if AXE.exists():  # axe is an inline script: its own context without the CSP, the form as enhanced
            checked = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL", bypass_csp=True)
            checked.add_cookies([{"name": "session", "value": logged_in.get_cookie("session").value, "url": served}])
            audit = checked.new_page()
            audit.goto(served + path)
            audit.fill("#q", "kandidaat 00")
            audit.click("text=Alle getoonde kiezen")
            audit.add_script_tag(path=str(AXE))
            assert [v for v in audit.evaluate(AXE_RUN) if v["impact"] in SERIOUS] == []
            checked.close()

        page.click("button[name=picker][value=take]")  # the server takes over the eleven
        participants = page.locator("input[name=cases-0-invitee_ids]")
        assert participants.count() == 11 and page.locator(".picker-count").inner_text() == "11 gekozen."
        page.fill("input[name=day]", future_day().isoformat())
        page.fill("input[name=time]", "10:00")
        page.fill("input[name=cases-0-case_ref]", "EN-2026-031")
        page.locator("fieldset.participants li", has_text="Kandidaat 003").first.locator("input").check()
        page.locator("fieldset.participants li", has_text="Kandidaat 020").first.locator("input").check()
        page.click("form button[type=submit]:text-is('Plannen')")
        page.wait_for_url("**/meetings/*")
        assert errors == []
        context.close()
        browser.close()
    app_session.expire_all()
    meeting = app_session.scalars(select(Meeting)).one()
    assert sorted(p.name for p in meeting.cases[0].participants) == ["Kandidaat 003", "Kandidaat 020"]
