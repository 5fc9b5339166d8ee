"""The *presentie- en toetsingslijst*: a meeting's check as a PDF, the chair's evidence
that art. 6 was followed (who was invited, who may sit at the table for which case, on
which basis, and what the resident's consent allows).

One small function on purpose: the shared renderer ``forms_service/documents/render.py``
(``render_pdf(pack, template, view_model)``, built in parallel) will replace the WeasyPrint
call here, and sealing follows once signing exists. The template reads plain data only
(:class:`registry.meetings.MeetingCheck`), so the same check gives the same document.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from registry.meetings import MeetingCheck

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "documents/meeting_check.html"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))


def render_meeting_check_html(vm: MeetingCheck) -> str:
    """The list as HTML (autoescaped), so tests and previews can read it without a PDF."""
    return _env.get_template(TEMPLATE).render(check=vm)


def render_meeting_check_pdf(vm: MeetingCheck) -> bytes:
    """The list as PDF bytes. TODO(lead): switch to ``documents.render.render_pdf`` and seal."""
    from weasyprint import HTML  # lazy: importing WeasyPrint costs about a second

    return HTML(string=render_meeting_check_html(vm), url_fetcher=_refuse_all_urls()).write_pdf()


def _refuse_all_urls():
    """A WeasyPrint URL fetcher that fetches nothing: the document needs no outside resource,
    and a value that slipped into the HTML must never make the server fetch a URL."""
    from weasyprint.urls import URLFetcher

    class RefuseAll(URLFetcher):
        """Refuses every URL (file, http, data alike)."""

        def fetch(self, url, headers=None):
            raise ValueError(f"Geen externe bronnen in de toetsingslijst: {url[:80]}")

    return RefuseAll()
