"""A rendered document's HTML shown on screen, safely: in an iframe of its own page.

Used for the covenant preview of the staff pages and for the document on the public
signing page, so both show the pack's own styling and neither can run or fetch anything.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Response


SCREEN_CSS = "\n@media screen { body { margin: 1.5rem auto; padding: 0 1.25rem; max-width: 50rem; font-family: \"Liberation Sans\", Arial, sans-serif; } }\n"


def preview_response(html: str, pack) -> Response:
    """Rendered document HTML for an iframe, with the pack's stylesheet inlined and a
    Content-Security-Policy that allows that one stylesheet and nothing else: no
    scripts, no fetches, no forms, so even markup that slipped into the HTML stays inert."""
    css_file = pack.path / "style.css"
    css = css_file.read_text(encoding="utf-8") if css_file.is_file() else ""
    css += SCREEN_CSS  # the pack styles paper (@page margins); on screen the text needs a margin too
    css = css.replace("</", "<\\/")  # a stylesheet must not be able to end the <style> element
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    html = html.replace("</head>", f"<style>{css}</style></head>", 1)
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
