"""Helpers for the signing tests: arrange subjects through the API, read links from mail,
sign through the real form (GET for the CSRF token, then one POST)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
import struct
import zlib

from registry import services

LINK_RE = re.compile(r"(https?://\S+/onderteken/[A-Za-z0-9_-]+)")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def tiny_png() -> bytes:
    """A valid 1x1 PNG built by hand."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


def png_data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(tiny_png()).decode()


def covenant_with_partners(api, n: int, prefix: str = "Partner", signed_on: str | None = None) -> tuple[int, list[dict]]:
    """A covenant with ``n`` partners (unsigned unless ``signed_on``) whose representatives have e-mail."""
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Samenwerking Casustafel Emmen", "region": "Emmen"}).json
    reps = []
    for i in range(n):
        org = api.post("/api/v1/organisations", {"name": f"{prefix} {i}"}).json
        rep = api.post("/api/v1/people", {"name": f"Vertegenwoordiger {prefix} {i}", "initials": "V.", "organisation_id": org["id"],
                                          "function": "Directeur", "email": f"rep{i}@{prefix.lower()}.example"}).json
        partner = {"organisation_id": org["id"], "representative_id": rep["id"], **({"signed_on": signed_on} if signed_on else {})}
        assert api.post(f"/api/v1/covenants/{cov['id']}/partners", partner).status_code == 201
        reps.append(rep)
    return cov["id"], reps


def links_by_recipient(api) -> dict[str, str]:
    """The newest signing link per recipient, from GET /api/v1/outbox."""
    links = {}
    for message in reversed(api.get("/api/v1/outbox").json["messages"]):  # oldest first, newest wins
        found = LINK_RE.search(message["body"])
        if found:
            links[message["to"]] = found.group(1)
    return links


def path_of(link: str) -> str:
    """The path of an absolute link."""
    return "/" + link.split("/", 3)[3]


def sign_via_form(client, link: str, name: str, signature: str | None = None, agree: str = "y"):
    """Open the signing page and post the one form; returns the POST response."""
    page = client.get(path_of(link))
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    data = {"full_name": name, "agree": agree, "csrf_token": token}
    if signature:
        data["signature"] = signature
    return client.post(path_of(link), data=data)


def consent(session, table_id: int, name: str = "Sanne de Boer", signed_by: str = "resident",
            birth_date: dt.date | None = None) -> int:
    """A Bijlage 4 waiting for signing (created through the registry service); the birth
    date fits ``signed_by`` under the pack's age rule unless given."""
    born = birth_date or {"resident": dt.date(1990, 1, 1), "parents": dt.date.today().replace(day=1) - dt.timedelta(days=7 * 365),
                          "resident_and_parents": dt.date.today().replace(day=1) - dt.timedelta(days=14 * 365)}[signed_by]
    org = services.create_organisation(session, f"Ontvanger {name}")
    row = services.create_consent(session, table_id=table_id, case_ref=f"EN-{name[:3]}", signed_by=signed_by,
                                  resident_name=name, resident_birth_date=born, purpose="Afstemming hulp",
                                  categories=["name_address"], recipient_ids=[org.id])
    session.commit()
    return row.id


def blank_pdf(text: str = "scan") -> bytes:
    """A one-page PDF, as a scanner would give."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def worker_round(owner, *, now=None) -> dict:
    """One round of the background worker, as ``forms-service worker`` runs it every few
    seconds: expire links, seal what waits, the daily jobs, send the outbox.

    Requests never seal or mail themselves: a test that expects a sealed document (or a
    delivered mail) after the last signature runs this first. ``owner`` is the app, a
    test client or an :class:`tests.conftest.Api`.
    """
    from forms_service.worker import run_once

    app = getattr(owner, "application", None) or getattr(getattr(owner, "client", None), "application", None) or owner
    return run_once(app.extensions["db_sessions"], app.config, now=now)
