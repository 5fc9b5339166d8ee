"""The public transparency page (art. 10): no login; a draft is 404; today's partners
only (notice ended and excluded partners are gone), with the representatives who signed
and no other person; the covenant text as PDF/UA-1; the partners API with its statuses."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from pypdf import PdfReader

from registry import rules
from tests import signing_support as support
from tests.readback import one_line, pdf_text

TODAY = rules.today()


def _iso(day: dt.date) -> str:
    return day.isoformat()


@pytest.fixture
def world(api):
    """A covenant of five partners signed on paper; partner 0's notice has ended, partner 1
    is excluded, partner 2 gave notice that ends in the future; a table with a named chair;
    and a second covenant still in draft."""
    covenant_id, reps = support.covenant_with_partners(api, 5, prefix="Org", signed_on="2025-01-06")
    covenant = api.get(f"/api/v1/covenants/{covenant_id}/partners").json
    assert all(p["status"] == "partner" for p in covenant["partners"]), covenant
    orgs = [rep["organisation_id"] for rep in reps]
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{orgs[0]}/notice", {"given_on": "2025-02-03"}).status_code == 200
    assert api.post(f"/api/v1/covenants/{covenant_id}/partners/{orgs[1]}/exclusion",
                    {"on": "2025-03-03", "reason": "Herhaald datalek"}).status_code == 200
    notice_on = TODAY - dt.timedelta(days=10)
    ends = api.post(f"/api/v1/covenants/{covenant_id}/partners/{orgs[2]}/notice", {"given_on": _iso(notice_on)})
    assert ends.status_code == 200, ends.json
    toegang = api.post("/api/v1/organisations", {"name": "Stichting de Toegang Emmen"}).json
    chair = api.post("/api/v1/people", {"name": "Chantal Voorzitter", "initials": "C.", "organisation_id": toegang["id"],
                                        "function": "Voorzitter", "email": "chantal@org.example"}).json
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord",
                                        "chair_id": chair["id"]})
    assert table.status_code == 201, table.json
    draft = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Concept Assen", "region": "Assen"}).json
    return {"covenant": covenant_id, "reps": reps, "orgs": orgs, "draft": draft["id"], "notice_ends": ends.json["ends_on"]}


def test_draft_and_unknown_are_404(client, world):
    for covenant_id in (world["draft"], 999999):
        for path in (f"/openbaar/convenanten/{covenant_id}", f"/openbaar/convenanten/{covenant_id}/convenant.pdf"):
            answer = client.get(path)
            assert answer.status_code == 404, path
            assert "Niet gevonden" in answer.get_data(as_text=True)
    index = client.get("/openbaar/convenanten").get_data(as_text=True)
    assert "Concept Assen" not in index


def test_public_page_shows_todays_partners_only(client, world):
    answer = client.get(f"/openbaar/convenanten/{world['covenant']}")   # no login
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert '<html lang="nl">' in html and "Convenantpartners (3)" in html
    assert "Convenant Samenwerking Casustafel Emmen" in html and "Emmen" in html
    reps = world["reps"]
    for gone in (0, 1):   # notice ended; excluded
        assert f"Org {gone}<" not in html and reps[gone]["name"] not in html
    for present in (2, 3, 4):
        assert f"Org {present}" in html and reps[present]["name"] in html
    assert "opgezegd; partner tot" in html   # partner 2's notice ends in the future
    assert "6 januari 2025" in html           # dates written out in Dutch
    assert "Emmen-Noord" in html and "Casustafel Emmen-Noord" in html
    # no person beyond the signed representatives: no chair, no e-mail, no exclusion reason
    assert "Chantal" not in html and "@" not in html and "datalek" not in html
    assert "/openbaar/convenanten/%d/convenant.pdf" % world["covenant"] in html
    index = client.get("/openbaar/convenanten").get_data(as_text=True)
    assert f'/openbaar/convenanten/{world["covenant"]}"' in index


def test_public_pdf_is_pdf_ua_with_todays_partners(client, world):
    answer = client.get(f"/openbaar/convenanten/{world['covenant']}/convenant.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.data))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp
    assert "/StructTreeRoot" in reader.trailer["/Root"]   # tagged
    text = one_line(pdf_text(answer.data))
    reps = world["reps"]
    for present in (2, 3, 4):
        assert reps[present]["name"] in text
    for gone in (0, 1):
        assert reps[gone]["name"] not in text
    assert "Chantal" not in text
    again = client.get(f"/openbaar/convenanten/{world['covenant']}/convenant.pdf")
    assert again.data == answer.data   # deterministic (and cached)


def test_partners_api_statuses(api, world):
    covenant_id, orgs = world["covenant"], world["orgs"]
    answer = api.get(f"/api/v1/covenants/{covenant_id}/partners?on={_iso(TODAY)}")
    assert answer.status_code == 200
    by_org = {p["organisation_id"]: p for p in answer.json["partners"]}
    assert set(by_org[orgs[0]]) == {"organisation_id", "name", "status", "since", "ends_on"}
    assert by_org[orgs[0]]["status"] == "ended" and by_org[orgs[0]]["ends_on"] == "2025-05-03"
    assert by_org[orgs[1]]["status"] == "excluded" and by_org[orgs[1]]["ends_on"] == "2025-03-03"
    assert by_org[orgs[2]]["status"] == "notice_given" and by_org[orgs[2]]["ends_on"] == world["notice_ends"]
    assert by_org[orgs[3]] == {"organisation_id": orgs[3], "name": "Org 3", "status": "partner",
                               "since": "2025-01-06", "ends_on": None}
    before = api.get(f"/api/v1/covenants/{covenant_id}/partners?on=2025-01-05").json["partners"]
    assert {p["status"] for p in before} == {"not_signed"} and all(p["since"] is None for p in before)
    early = {p["organisation_id"]: p["status"] for p in api.get(f"/api/v1/covenants/{covenant_id}/partners?on=2025-02-10").json["partners"]}
    assert early[orgs[0]] == "notice_given" and early[orgs[1]] == "partner"
    draft = api.get(f"/api/v1/covenants/{world['draft']}/partners").json
    assert draft["partners"] == []


@pytest.mark.parametrize("query", ["on=", "on=2025-13-45", "on=gisteren", "on=%20"])
def test_partners_api_bad_date_is_400_naming_on(api, world, query):
    answer = api.get(f"/api/v1/covenants/{world['covenant']}/partners?{query}")
    assert answer.status_code == 400 and "on" in answer.json["error"]["fields"], answer.json


def test_partners_api_unknown_covenant_is_404(api):
    answer = api.get("/api/v1/covenants/999999/partners")
    assert answer.status_code == 404 and "covenant_id" in answer.json["error"]["fields"]


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
def test_public_page_in_chromium(served, world, tmp_path):
    """Desktop (1280) and phone (390) width: no horizontal scrolling, the partners legible;
    screenshots are kept next to the test's tmp_path (and in bench/ when SCREENSHOT_DIR is set)."""
    from playwright.sync_api import sync_playwright

    from tests.test_signing_browser import LAUNCH_ARGS

    out = os.environ.get("SCREENSHOT_DIR") or str(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            for width in (1280, 390):
                page = browser.new_context(viewport={"width": width, "height": 900}, locale="nl-NL").new_page()
                page.goto(f"{served}/openbaar/convenanten/{world['covenant']}")
                assert page.locator("h1").inner_text().startswith("Convenant Samenwerking Casustafel")
                assert page.get_by_role("link", name="Tekst van het convenant (PDF, toegankelijk)").is_visible()
                overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 0, f"horizontal scroll at {width}px: {overflow}px"
                inner = page.evaluate("(() => { const box = document.getElementById('partners'); "
                                      "return box.scrollWidth - box.clientWidth; })()")
                assert inner <= 0, f"the partners table scrolls inside its box at {width}px: {inner}px"
                page.screenshot(path=os.path.join(out, f"public-covenant-{width}.png"), full_page=True)
        finally:
            browser.close()
