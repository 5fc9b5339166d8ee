"""The document cache: a second download of the same document is the stored bytes (no
render), and any change of what the bytes depend on (a partner's name, a declaration,
the pack's files) gives new bytes. Renders are counted with a spy around the one real
renderer; the cache rows are read from the database. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from registry import services
from registry.documents import cache, render
from registry.models import Declaration, DocumentCacheEntry
from tests.emmen_fixtures import world  # noqa: F401  (``world`` is a fixture)
from tests.readback import one_line, pdf_text

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def renders(monkeypatch):
    """Counts the real renderer's PDF and DOCX renders (it still renders)."""
    calls = []
    real_pdf, real_docx = render.render_pdf, render.render_docx

    def pdf(*args, **kwargs):
        calls.append("pdf")
        return real_pdf(*args, **kwargs)

    def docx(*args, **kwargs):
        calls.append("docx")
        return real_docx(*args, **kwargs)

    monkeypatch.setattr(render, "render_pdf", pdf)
    monkeypatch.setattr(render, "render_docx", docx)
    return calls


def rows(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(DocumentCacheEntry))


def test_a_second_covenant_download_is_served_from_the_cache(api, app_session, world, renders):
    url = f"/api/v1/covenants/{world['covenant'].id}/document.pdf"
    first = api.get(url)
    assert first.status_code == 200 and renders == ["pdf"]
    assert rows(app_session) == 1
    second = api.get(url)
    assert second.status_code == 200 and second.data == first.data
    assert renders == ["pdf"]  # not rendered again
    assert rows(app_session) == 1
    # the web download shares the row (same view-model, pack and variant)
    docx_first = api.get(f"/api/v1/covenants/{world['covenant'].id}/document.docx")
    docx_again = api.get(f"/api/v1/covenants/{world['covenant'].id}/document.docx")
    assert docx_first.data == docx_again.data and renders == ["pdf", "docx"]


def test_a_changed_partner_name_gives_new_bytes(api, app_session, world, renders):
    url = f"/api/v1/covenants/{world['covenant'].id}/document.pdf"
    before = api.get(url).data
    ggd = app_session.get(type(world["ggd"]), world["ggd"].id)
    ggd.name = "GGD Drenthe Zuid"
    app_session.commit()
    after = api.get(url)
    assert after.status_code == 200 and after.data != before and renders == ["pdf", "pdf"]
    assert "GGD Drenthe Zuid" in one_line(pdf_text(after.data))
    assert api.get(url).data == after.data and len(renders) == 2  # the new bytes are cached in turn
    assert rows(app_session) == 2


def test_a_changed_declaration_gives_new_bytes(api, app_session, world, renders):
    declaration = services.create_declaration(app_session, kind="structural", person_id=world["nurse"].id,
                                              table_id=world["table"].id)
    app_session.commit()
    url = f"/api/v1/declarations/{declaration.id}/document.pdf"
    unsigned = api.get(url).data
    assert api.get(url).data == unsigned and renders == ["pdf"]
    row = app_session.get(Declaration, declaration.id)
    row.signed_on = dt.date(2026, 3, 2)
    app_session.commit()
    signed = api.get(url).data
    assert signed != unsigned and renders == ["pdf", "pdf"]
    assert "2 maart 2026" in one_line(pdf_text(signed))


def test_an_edited_pack_file_gives_new_bytes(api, app_session, world, renders, tmp_path, monkeypatch):
    packs = tmp_path / "packs"
    shutil.copytree(REPO_TEMPLATES, packs)
    monkeypatch.setenv("TEMPLATE_PACKS_DIR", str(packs))
    url = "/api/v1/packs/emmen-casustafel/forms/bijlage1.pdf"
    first = api.get(url).data
    assert api.get(url).data == first and renders == ["pdf"]
    page = packs / "emmen-casustafel" / "bijlage1.html"
    page.write_text(page.read_text(encoding="utf-8").replace("{% block body %}", "{% block body %}<p>Herziene tekst 2027.</p>", 1),
                    encoding="utf-8")
    edited = api.get(url).data
    assert edited != first and renders == ["pdf", "pdf"]
    assert "Herziene tekst 2027." in one_line(pdf_text(edited))


def test_consents_are_never_stored(api, app_session, world, renders):
    from tests.test_documents_api import consent_body

    consent = api.post("/api/v1/consents", json=consent_body(world)).get_json()
    url = f"/api/v1/consents/{consent['id']}/document.pdf"
    assert api.get(url).status_code == 200 and api.get(url).status_code == 200
    assert renders == ["pdf", "pdf"] and rows(app_session) == 0


def test_the_public_pdf_is_cached_in_the_database(client, app_session, world, renders):
    covenant = app_session.get(type(world["covenant"]), world["covenant"].id)
    if covenant.status == "draft":
        services.start_covenant(app_session, covenant, dt.date(2025, 5, 2))
    app_session.commit()
    url = f"/openbaar/convenanten/{world['covenant'].id}/convenant.pdf"
    first = client.get(url)
    assert first.status_code == 200
    again = client.get(url)
    assert again.data == first.data and renders == ["pdf"] and rows(app_session) == 1


def test_eviction_by_age_and_size(session):
    old = dt.datetime(2020, 1, 1)
    for i in range(5):
        cache.store(session, f"{i:064x}", "pdf", b"x" * 1000)
    session.commit()
    session.execute(DocumentCacheEntry.__table__.update().where(DocumentCacheEntry.key == f"{0:064x}")
                    .values(created_at=old))
    session.commit()
    assert cache.evict(session, max_bytes=10_000, max_days=30) == 1  # the old one
    assert cache.evict(session, max_bytes=2_500, max_days=30) == 2  # then the oldest beyond 2.5 kB
    session.commit()
    assert rows(session) == 2
    assert cache.lookup(session, f"{4:064x}") == b"x" * 1000
    cache.store(session, f"{4:064x}", "pdf", b"other")  # a concurrent duplicate keeps the first row
    session.commit()
    assert cache.lookup(session, f"{4:064x}") == b"x" * 1000


def test_the_worker_round_evicts(app, app_session):
    from forms_service import worker

    cache.store(app_session, "f" * 64, "pdf", b"y" * 100)
    app_session.execute(DocumentCacheEntry.__table__.update().values(created_at=dt.datetime(2020, 1, 1)))
    app_session.commit()
    worker.run_once(app.extensions["db_sessions"], app.config)
    assert rows(app_session) == 0


def test_an_unchanged_check_list_is_handed_out_again_and_a_change_seals_anew(api, app, app_session, renders):
    """The presentie- en toetsingslijst: the same check result is the same sealed bytes
    (logged as ``downloaded``); a changed person gives a new list, sealed again."""
    from signatures.models import EvidenceEvent
    from signatures.verify import verify_pdf
    from signatures import workflow
    from tests.meetings.world import D, build, plan

    world = build(app_session)
    meeting_id = plan(app_session, world, D(2026, 3, 10), {"EN-1": [world["mira"], world["sanne"]]}).id
    app_session.commit()
    url = f"/api/v1/meetings/{meeting_id}/check.pdf"
    first = api.get(url)
    assert first.status_code == 200 and renders == ["pdf"]
    again = api.get(url)
    assert again.status_code == 200 and again.data == first.data and renders == ["pdf"]
    assert verify_pdf(again.data, workflow.trusted_certificates(app.config)).valid
    app_session.expire_all()
    events = [e.event for e in app_session.scalars(select(EvidenceEvent).where(
        EvidenceEvent.subject_kind == "meeting", EvidenceEvent.subject_id == meeting_id).order_by(EvidenceEvent.id))]
    assert events == ["sealed", "downloaded"]
    mira = app_session.get(type(world["mira"]), world["mira"].id)
    mira.name = "Mira van der Veen-Bakker"
    app_session.commit()
    changed = api.get(url)
    assert changed.status_code == 200 and changed.data != first.data and renders == ["pdf", "pdf"]


def test_an_earlier_version_of_the_covenant_is_cached_apart(api, logged_in, app_session, renders):
    from registry import amendments, rules
    from registry.models import CovenantAmendment
    from tests import signing_support as support

    week_ago = (rules.today() - dt.timedelta(days=7)).isoformat()
    covenant_id, _reps = support.covenant_with_partners(api, 1, signed_on=week_ago)
    aid = api.post(f"/api/v1/covenants/{covenant_id}/amendments", {"summary": "Nieuwe bijlage 3"}).json["id"]
    org_id = api.get(f"/api/v1/covenants/{covenant_id}/partners").json["partners"][0]["organisation_id"]
    amendments.sign(app_session, app_session.get(CovenantAmendment, aid), org_id, rules.today())
    app_session.commit()
    assert renders == [] and rows(app_session) == 0
    yesterday = (rules.today() - dt.timedelta(days=1)).isoformat()
    url = f"/covenants/{covenant_id}/convenant.pdf?on="

    old = logged_in.get(url + yesterday)
    assert old.status_code == 200 and renders == ["pdf"] and rows(app_session) == 1
    assert logged_in.get(url + yesterday).data == old.data and renders == ["pdf"]  # served from the cache
    assert "versie-1" in old.headers["Content-Disposition"]
    new = logged_in.get(url + rules.today().isoformat())
    assert new.status_code == 200 and renders == ["pdf", "pdf"] and rows(app_session) == 2  # another version, another row
    assert new.data != old.data and "versie-2" in new.headers["Content-Disposition"]
    assert "Versie 2 van de tekst" in one_line(pdf_text(new.data))
    assert "Versie 2 van de tekst" not in one_line(pdf_text(old.data))
    assert logged_in.get(url + rules.today().isoformat()).data == new.data and len(renders) == 2
