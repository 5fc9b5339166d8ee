"""The *presentie- en toetsingslijst*: a meeting's check as a PDF, the chair's evidence
that art. 6 was followed (who was invited, who may sit at the table for which case, on
which basis, and what the resident's consent allows).

Rendered by the one document renderer from the covenant's template pack
(``meeting_check`` in its manifest), so it gets the pack's fonts, running header, page
numbers and URL fetcher. The view-model is plain data
(:class:`registry.meetings.MeetingCheck`): the same check gives the same document.
"""

from __future__ import annotations

from forms_service.documents import build, render
from registry.meetings import MeetingCheck


def render_meeting_check(vm: MeetingCheck, pack_name: str) -> render.RenderedDocument:
    """The list as HTML and PDF, from the pack of the meeting's covenant."""
    return render.render_pdf(build.pack_named(pack_name), "meeting_check", vm)
