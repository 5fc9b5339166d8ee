"""The *presentie- en toetsingslijst*: a meeting's check as a PDF, the chair's evidence
that art. 6 was followed (who was invited, who may sit at the table for which case, on
which basis, and what the resident's consent allows).

Rendered by the one document renderer from the covenant's template pack
(``meeting_check`` in its manifest), so it gets the pack's fonts, running header, page
numbers and URL fetcher. Its labels are the service's own words (``_()`` in the pack's
``meeting_check.html``, in the language of the request that exports it); the article
text it quotes stays in the pack's language. The view-model is plain data
(:class:`registry.meetings.MeetingCheck`): the same check gives the same document.

The exported list is sealed with the service's seal (the same path as signed
documents, :func:`signatures.workflow.seal_finished`) and the export is
logged in the evidence log as ``sealed`` for subject ``meeting``. Sealing happens
before the log is touched, so no lock is held while a timestamp server answers.

A sealed list is kept in the document cache (:mod:`registry.documents.cache`) keyed by
the check's result: exporting an unchanged check again hands out the same sealed bytes
(logged as ``downloaded``) instead of rendering and sealing anew.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from registry.documents import build, cache, render
from registry.documents.viewmodels import cache_key_of
from signatures import workflow as service
from registry import texts
from registry.meetings import MeetingCheck
from signatures.evidence import append_event

TITLE = "Presentie- en toetsingslijst"


def render_meeting_check(vm: MeetingCheck, pack_name: str) -> render.RenderedDocument:
    """The list as HTML and PDF, from the pack of the meeting's covenant."""
    return render.render_pdf(build.pack_named(pack_name), "meeting_check", vm)


def sealed_meeting_check(session: Session, config: Mapping[str, Any], vm: MeetingCheck, pack_name: str, *,
                         actor: str, ip: str | None = None, user_agent: str | None = None) -> bytes:
    """The list as a sealed PDF, its export logged (flushed, not committed).

    Raises :class:`signatures.seal.TimestampUnavailable` when TIMESTAMP_URL is set and
    the timestamp server stays down: then nothing is logged and nothing is handed out.
    """
    key = cache.make_key("toetsingslijst", _cache_parts(config, vm, pack_name))
    stored = cache.lookup(session, key)
    if stored is not None:  # the same check result, sealed before: hand out those bytes
        append_event(session, subject_kind="meeting", subject_id=vm.meeting_id, event="downloaded", actor=actor,
                     ip=ip, user_agent=user_agent,
                     details={"document": "toetsingslijst", "sha256": hashlib.sha256(stored).hexdigest(),
                              "on": vm.on.isoformat()})
        return stored
    pdf = service.seal_finished(
        config, render_meeting_check(vm, pack_name).pdf, title=f"{TITLE} {vm.table_name} {vm.on.isoformat()}",
        subject=f"meeting/{vm.meeting_id} getoetst {vm.checked_at.isoformat(timespec='seconds')}",
        reason=f"{TITLE}: toetsing vooraf (art. 6) uitgevoerd {vm.checked_at:%Y-%m-%d %H:%M:%S %Z}",
        keywords=[f"meeting:{vm.meeting_id}", f"checked_at:{vm.checked_at.isoformat(timespec='seconds')}"],
    )
    cache.store(session, key, "toetsingslijst", pdf)
    append_event(session, subject_kind="meeting", subject_id=vm.meeting_id, event="sealed", actor=actor,
                 ip=ip, user_agent=user_agent,
                 details={"document": "toetsingslijst", "sha256": hashlib.sha256(pdf).hexdigest(),
                          "checked_at": vm.checked_at.isoformat(timespec="seconds"), "on": vm.on.isoformat()})
    return pdf


def _cache_parts(config: Mapping[str, Any], vm: MeetingCheck, pack_name: str) -> tuple[str, ...]:
    """Everything the sealed list depends on except the moment of the check: the check's
    result (the view-model without ``checked_at``; the rules answer as of the meeting
    date, so the same data gives the same result), the pack's files, our seal
    certificate and the timestamp policy. A repeat export of an unchanged check hands
    out the list sealed the first time (it names that check's time); any change of an
    invitee, a declaration, a consent or the agenda gives a new key and a new seal. The
    language of the labels (:func:`registry.texts.language`, the request's) is part of
    the key: the English list is another document than the Dutch one."""
    seal_cert = hashlib.sha256(service.seal_identity(config).certificate_pem).hexdigest()
    return (cache.pack_version(build.pack_named(pack_name)), cache_key_of(dataclasses.replace(vm, checked_at=None)),
            seal_cert, config.get("TIMESTAMP_URL") or "", texts.language())
