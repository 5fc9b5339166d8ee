"""The editable covenant (DOCX via docxtpl), read back with python-docx."""

from __future__ import annotations

import importlib.util
import io

import docx
import pytest

from registry.documents import Party, covenant_from_pack, render_docx

ARTICLE_HEADINGS = [f"Artikel {n}." for n in range(1, 14)]


def load_build_script(pack):
    spec = importlib.util.spec_from_file_location("build_docx", pack.path / "build_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def covenant_docx(pack, covenant_vm):
    return docx.Document(io.BytesIO(render_docx(pack, "covenant_docx", covenant_vm)))


def paragraphs(document):
    return [p.text for p in document.paragraphs]


def test_parties_articles_and_annexes(covenant_docx, pack):
    texts = paragraphs(covenant_docx)
    for p in pack.founding_partners:
        assert f"{p.organisation}, vertegenwoordigd door {p.representative}," in texts
    headings = [t for t in texts if t.startswith("Artikel ")]
    assert [h.split(" ")[0] + " " + h.split(" ")[1] for h in headings] == ARTICLE_HEADINGS
    assert "Artikel 13. Inwerkingtreding en duur van Convenant" in headings
    assert any(t.startswith("Bijlage 3 Stappenplan casustafel") for t in texts)
    assert "Bijlage 4 Toestemmingsformulier informatie-uitwisseling casustafel gebiedsnetwerk" in texts
    assert not any("{{" in t or "{%" in t for t in texts)


def test_fields_are_filled(covenant_docx):
    text = "\n".join(paragraphs(covenant_docx))
    assert "De Blokken, De Monden, De Velden, Noord, Oost en Zuid binnen gemeente Emmen." in text
    assert "duo vanuit Stichting de Toegang en Sociaal Werk Sedna." in text
    assert "Dit Convenant is in werking getreden op 8 mei 2025." in text
    assert covenant_docx.sections[0].header.paragraphs[0].text == (
        "Convenant Samenwerking Casustafel Emmen")


def test_signatories_table_rows(covenant_docx, pack):
    rows = [[c.text for c in r.cells] for r in covenant_docx.tables[0].rows]
    assert rows[0] == ["Convenantpartner", "Vertegenwoordigd door", "Datum", "Handtekening"]
    assert len(rows) == 1 + len(pack.founding_partners)      # loop rows removed by {%tr %}
    assert rows[1] == ["De gemeente Emmen", "D. Keen", "1 mei 2025", ""]
    assert rows[-1][:3] == ["Stichting Welzijnsorganisatie Sedna", "J.R.R. Brongers", "8 mei 2025"]


def test_docx_injection_is_literal(pack):
    evil = '<w:p>&</w:p><img src="file:///etc/passwd">'
    vm = covenant_from_pack(pack, parties=(Party(evil, "{{ 7*7 }}"),))
    document = docx.Document(io.BytesIO(render_docx(pack, "covenant_docx", vm)))
    texts = paragraphs(document)
    assert f"{evil}, vertegenwoordigd door {{{{ 7*7 }}}}," in texts
    assert document.tables[0].rows[1].cells[0].text == evil


def test_committed_template_matches_the_html(pack, tmp_path):
    """covenant.docx is rebuilt from covenant.html: a text change there without a
    rebuild fails here."""
    rebuilt = load_build_script(pack).build(tmp_path / "covenant.docx")
    committed = docx.Document(str(pack.path / "covenant.docx"))
    fresh = docx.Document(str(rebuilt))
    assert paragraphs(fresh) == paragraphs(committed)
    assert ([[c.text for c in r.cells] for r in fresh.tables[0].rows]
            == [[c.text for c in r.cells] for r in committed.tables[0].rows])


def test_docx_is_deterministic(pack, covenant_vm):
    import time
    first = render_docx(pack, "covenant_docx", covenant_vm)
    time.sleep(2.1)                      # zip timestamps have two-second resolution
    assert render_docx(pack, "covenant_docx", covenant_vm) == first
    assert render_docx(pack, "covenant_docx", covenant_from_pack(pack)) != first
