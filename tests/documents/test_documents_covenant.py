"""The covenant PDF: the signed text word for word, its parties, articles, annexes,
page furniture, metadata and fonts, read back with pdftotext and pypdf."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.documents import covenant_from_pack, render_pdf

SEED = Path(__file__).parent / "data" / "seed_000_emmen_covenant.txt"

ARTICLES = [
    "Artikel 1. Begrippen",
    "Artikel 2. Inhoud en doel van het Convenant",
    "Artikel 3. Inbreng van de Partners",
    "Artikel 4. Uitgangspunten gegevensverwerking",
    "Artikel 5. Wettelijke grondslag voor het delen van persoonsgegevens",
    "Artikel 6. Verwerken van persoonsgegevens",
    "Artikel 7. Afspraken over gegevensdeling",
    "Artikel 8. Beveiliging van persoonsgegevens",
    "Artikel 9. Rechten van betrokkenen",
    "Artikel 10. Transparantie",
    "Artikel 11. Organiseren van een casustafel",
    "Artikel 12. Evaluatie",
    "Artikel 13. Inwerkingtreding en duur van Convenant",
]

ANNEXES = [
    "Bijlage 1 Verklaring geheimhouding deelnemer casustafel gebiedsnetwerk",
    "Bijlage 2 Verklaring geheimhouding incidentele deelnemer casustafel gebiedsnetwerk",
    "Bijlage 3 Stappenplan casustafel",
    "Bijlage 4 Toestemmingsformulier informatie-uitwisseling casustafel gebiedsnetwerk",
]

# The one marker we renumber: the seed's roman endnote "i" is footnote 2 of Bijlage 3.
MARKER_REPAIRS = [("AVEi-model", "AVE2-model"), ("i AVE model staat", "2 AVE model staat")]


def normalise(text: str) -> str:
    """Make seed and PDF text comparable: drop bullets, dotted lines, page furniture,
    hyphens and the space pdftotext leaves after a slash at a line end."""
    text = re.sub(r"pagina \d+ van \d+", " ", text)
    text = re.sub(r"^\s*(?:o|•|◦|❑|☐|X)\s+", "", text, flags=re.M)
    text = re.sub(r"[•◦…]", " ", text)
    text = re.sub(r"\[(\d+)\]", r"\1", text)
    text = text.replace("-", "")
    text = re.sub(r"\s+", " ", text)
    return text.replace("/ ", "/").strip()


def seed_chunks() -> list[str]:
    """The seed's paragraphs: blank (or page-break) lines separate them."""
    raw = SEED.read_text(encoding="utf-8")
    for old, new in MARKER_REPAIRS:
        raw = raw.replace(old, new)
    chunks = re.split(r"\n\s*\n", raw)
    return [normalise(c) for c in chunks if normalise(c)]


def text_of(rendered, reader) -> str:
    """Whole PDF text without the running header, as one normalised string."""
    text = reader(rendered.pdf).replace("Convenant Samenwerking Casustafel Emmen", " ")
    return normalise(text)


def without_footnotes(text: str, html: str) -> str:
    """Remove "N note text" wherever a page break put it: notes are checked apart."""
    for note in re.findall(r'<span class="fn">(.*?)</span>', html):
        text = re.sub(r"\d+ " + re.escape(normalise(note)) + " ?", "", text)
    return text


def test_every_seed_paragraph_is_in_the_pdf(covenant_pdf, text_of_pdf):
    html = covenant_pdf.html
    body = without_footnotes(text_of(covenant_pdf, text_of_pdf), html)
    notes = [normalise(n) for n in re.findall(r'<span class="fn">(.*?)</span>', html)]
    chunks = [without_footnotes(c, html).strip() for c in seed_chunks()]
    # A note the seed broke over a blank line leaves pieces; the note test checks it whole.
    chunks = [c for c in chunks if not any(re.sub(r"^\d+ ", "", c) in n for n in notes)]
    missing = [c for c in chunks
               if c and c.replace("Convenant Samenwerking Casustafel Emmen", "").strip() not in body
               and c not in ("Convenant Samenwerking Casustafel", "Emmen")]
    assert missing == []
    assert len(chunks) > 150


def test_parties_with_representatives_in_order(covenant_pdf, pack, text_of_pdf):
    text = text_of_pdf(covenant_pdf.pdf)
    lines = [f"{p.organisation}, vertegenwoordigd door {p.representative},"
             for p in pack.founding_partners]
    positions = [text.index(line) for line in lines]
    assert positions == sorted(positions)
    assert len(lines) == 8 and "J.R.R. Brongers" in lines[-1]


def test_articles_1_to_13_in_order(covenant_pdf, text_of_pdf):
    text = text_of_pdf(covenant_pdf.pdf)
    positions = [text.index(a + "\n") for a in ARTICLES]
    assert positions == sorted(positions)


def test_annex_titles_follow_the_articles(covenant_pdf, text_of_pdf):
    text = " ".join(text_of_pdf(covenant_pdf.pdf).split())
    positions = [text.index(a) for a in ANNEXES]
    assert positions == sorted(positions) and positions[0] > text.index(ARTICLES[-1])
    assert "Hoe werkt de casustafel in de gebiedsnetwerken?" in text


def test_footnotes_are_real_footnotes(covenant_pdf, text_of_pdf):
    """Footnote text sits at the foot of the page that calls it, not inline."""
    pages = text_of_pdf(covenant_pdf.pdf).split("\f")
    page = next(p for p in pages if "Artikel 4. Uitgangspunten" in p)
    tail = page[page.index("Artikel 4."):]
    note = tail.index("1 DAT-informatie: informatie DAT iemand in behandeling is")
    assert note > tail.index("Artikel 5.") or note > tail.index("Geen gedeelde registratie")
    assert "2 WAT-informatie: informatie WAT de behandeling inhoudt" in tail
    annex3 = " ".join(pages[[i for i, p in enumerate(pages) if "Wat is de casustafel?" in p][0]].split())
    assert ("1 De gebieden zijn Emmen-Noord, Emmen-Zuid, Emmen-Oost, De Monden, De Velden, "
            "De Blokken en gebaseerd op indeling van de gebiedsteams van Sedna") in annex3


def test_fields_from_the_view_model(covenant_pdf, text_of_pdf):
    text = " ".join(text_of_pdf(covenant_pdf.pdf).split())
    assert "een van de gebieden, De Blokken, De Monden, De Velden, Noord, Oost en Zuid binnen gemeente Emmen." in text
    assert "Dit is een duo vanuit Stichting de Toegang en Sociaal Werk Sedna." in text
    assert "voor de duur van drie jaar" in text and "opzegtermijn van drie maanden" in text
    assert "Dit Convenant is in werking getreden op 8 mei 2025." in text
    assert "(jeugd, ouderen, volwassenen, GGZ, verslaving, wonen)" in text
    assert "bijvoorbeeld: 0-18, 18-27, 28-80 en ouder dan 80" in text


def test_signatories_table(covenant_pdf, text_of_pdf):
    layout = text_of_pdf(covenant_pdf.pdf, layout=True)
    assert re.search(r"Convenantpartner\s+Vertegenwoordigd", layout)
    assert re.search(r"De gemeente Emmen\s+D\. Keen\s+1 mei 2025", layout)
    assert re.search(r"Stichting Welzijnsorganisatie\s+J\.R\.R\. Brongers\s+8 mei 2025", layout)


def test_page_numbers_and_header(covenant_pdf, text_of_pdf, read_pdf):
    pages = [p for p in text_of_pdf(covenant_pdf.pdf).split("\f") if p.strip()]
    count = len(read_pdf(covenant_pdf.pdf).pages)
    assert len(pages) == count and 10 <= count <= 20
    for number, page in enumerate(pages, 1):
        assert f"pagina {number} van {count}" in page
        assert page.lstrip().startswith("Convenant Samenwerking Casustafel Emmen")


def test_metadata_language_and_dates(covenant_pdf, read_pdf):
    reader = read_pdf(covenant_pdf.pdf)
    meta = reader.metadata
    assert meta.title == "Convenant Samenwerking Casustafel Emmen"
    assert meta.author == "De Convenantpartners van het Convenant Samenwerking Casustafel Emmen"
    assert meta.subject.startswith("Afspraken over de verwerking van persoonsgegevens")
    assert reader.trailer["/Root"]["/Lang"] == "nl"
    assert meta["/CreationDate"].startswith("D:20250508")
    assert meta["/ModDate"].startswith("D:20250508")


def test_pdfa_3b_identification_and_a4(covenant_pdf, read_pdf):
    reader = read_pdf(covenant_pdf.pdf)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_pack_fonts_are_embedded(covenant_pdf, read_pdf):
    reader = read_pdf(covenant_pdf.pdf)
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            fonts[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    assert fonts and all(fonts.values())
    assert all("Pack-Sans" in name for name in fonts)


def test_same_view_model_gives_identical_bytes(pack, covenant_vm, covenant_pdf):
    again = render_pdf(pack, "covenant", covenant_vm)
    assert again.pdf == covenant_pdf.pdf


def test_other_data_gives_other_bytes(pack, covenant_pdf, read_pdf):
    unsigned = render_pdf(pack, "covenant", covenant_from_pack(pack))
    assert unsigned.pdf != covenant_pdf.pdf
    assert "/CreationDate" not in read_pdf(unsigned.pdf).metadata   # no clock


def test_plain_and_accessible_variants(pack, covenant_vm, read_pdf):
    ua = render_pdf(pack, "covenant", covenant_vm, variant="pdf/ua-1")
    xmp = read_pdf(ua.pdf).trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp
    assert "/StructTreeRoot" in read_pdf(ua.pdf).trailer["/Root"]   # tagged for screen readers
    plain = render_pdf(pack, "covenant", covenant_vm, variant=None)
    assert "/Metadata" not in read_pdf(plain.pdf).trailer["/Root"]
    with pytest.raises(ValueError):
        render_pdf(pack, "covenant", covenant_vm, variant="pdf/x-4")


def test_chairs_and_coordinators_per_area(pack, text_of_pdf):
    from registry.documents import CaseTable
    tables = tuple(CaseTable(a.name, a.short_name, chair=f"Voorzitter {a.short_name}",
                             coordinator=f"Coördinator {a.short_name}") for a in pack.areas)
    rendered = render_pdf(pack, "covenant", covenant_from_pack(pack, tables=tables))
    layout = text_of_pdf(rendered.pdf, layout=True)
    assert "Casustafels per gebied" in layout
    assert re.search(r"Emmen-Zuid\s+Voorzitter Zuid\s+Coördinator Zuid", layout)
    assert "Casustafels per gebied" not in text_of_pdf(
        render_pdf(pack, "covenant", covenant_from_pack(pack)).pdf)
