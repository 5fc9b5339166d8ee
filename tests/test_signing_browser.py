"""A real browser (Debian's Chromium driven by Playwright) signs on a phone-sized screen:
open the link from the outbox, agree, type the name, draw on the canvas, sign, and
download the sealed PDF, which our verifier accepts with the drawn signature in it."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

from signatures.models import SigningRequest
from tests import signing_support as support
from tests.test_signing_concurrency import _declaration_waiting

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")]


LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page():
    """A phone-sized page in Debian's Chromium (flags from stack-notes.md).

    Playwright is started and stopped per test (not pytest-playwright's session-wide
    instance): its sync API runs an event loop in this thread, and a loop left running
    for the rest of the session would break later tests that call ``asyncio.run``.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                      accept_downloads=True, locale="nl-NL")
        yield context.new_page()
        context.close()
        browser.close()


def test_sign_in_a_browser_and_download_the_sealed_pdf(page, served, api, client, app_session):
    declaration = _declaration_waiting(api, app_session)
    assert api.post(f"/api/v1/declarations/{declaration}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)["mira@ggd.example"]

    page.goto(served + support.path_of(link))
    assert page.locator("#document-sha256").inner_text() == app_session.scalar(select(SigningRequest.document_sha256))
    page.check("input[name=agree]")
    page.fill("#full_name", "Mira Kamphuis")
    _draw(page)
    page.click("#submit")
    page.wait_for_url("**/klaar")
    assert "Dank u wel" in page.content() and "wacht op zegel" in page.content()
    assert support.worker_round(api)["sealed"] == 1  # the background worker seals
    page.reload()

    with page.expect_download() as download_info:
        page.click("#download")
    pdf = open(download_info.value.path(), "rb").read()
    answer = client.post("/api/v1/verify", data={"file": (io.BytesIO(pdf), "x.pdf")}, content_type="multipart/form-data").json
    assert answer["valid"] and answer["signers"][0]["name"] == "Mira Kamphuis", answer
    app_session.expire_all()
    drawn = app_session.scalar(select(SigningRequest.signature_png))
    assert drawn and drawn.startswith(b"\x89PNG")
    from pypdf import PdfReader

    signature_page = next(p for p in PdfReader(io.BytesIO(pdf)).pages if "Handtekening" in p.extract_text())
    from PIL import Image

    sizes = [image.image.size for image in signature_page.images]
    # The drawn signature is on the signature page; the only other image is the certificate's QR code.
    assert Image.open(io.BytesIO(drawn)).size in sizes and len(sizes) == 2, sizes


def _draw(page) -> None:
    """A scribble across the signature canvas with the mouse (pointer events)."""
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 25, box["y"] + box["height"] / 2 + (-1) ** step * 25, steps=3)
    page.mouse.up()
