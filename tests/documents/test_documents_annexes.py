"""Standalone annexes: Bijlage 1 and 2 (confidentiality declarations) and Bijlage 4
(consent), filled from a view-model or blank for paper signing."""

from __future__ import annotations

import re
from datetime import date

import jinja2
import pytest

from registry.documents import ConsentDoc, DeclarationDoc, render_html, render_pdf


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def bijlage1(pack, structural_declaration):
    return render_pdf(pack, "declaration_structural", structural_declaration)


@pytest.fixture(scope="module")
def bijlage2(pack, incidental_declaration):
    return render_pdf(pack, "declaration_incidental", incidental_declaration)


@pytest.fixture(scope="module")
def bijlage4(pack, consent):
    return render_pdf(pack, "consent", consent)


def test_bijlage1_filled(bijlage1, text_of_pdf, read_pdf):
    text = one_line(text_of_pdf(bijlage1.pdf))
    assert "Bijlage 1 Verklaring geheimhouding deelnemer casustafel gebiedsnetwerk" in text
    # pdftotext drops the hyphen of a word broken at a line end ("Emmen-" / "Noord").
    assert ("deelnemers aan de casustafel van het gebiedsnetwerk EmmenNoord en dus"
            in text.replace("-", ""))
    assert "Naam en voorletters: A.B. de Vries" in text
    assert "Organisatie: GGD Drenthe" in text and "Functie: Jeugdverpleegkundige" in text
    assert "Datum: 20 mei 2025" in text and "Plaats: Emmen" in text
    assert "[locatie]" not in text and "pagina 1 van 1" in text
    reader = read_pdf(bijlage1.pdf)
    assert len(reader.pages) == 1
    assert reader.metadata.title == bijlage1.html.split("<title>")[1].split("</title>")[0]
    assert reader.metadata.author == "A.B. de Vries"
    assert reader.metadata["/CreationDate"].startswith("D:20250520")


def test_bijlage2_filled_names_the_case(bijlage2, text_of_pdf, read_pdf):
    text = one_line(text_of_pdf(bijlage2.pdf))
    assert "Bijlage 2 Verklaring geheimhouding incidentele deelnemer casustafel gebiedsnetwerk" in text
    assert "incidentele deelnemers aan de casustafel van het gebiedsnetwerk De Monden" in text
    assert "Kenmerk casus: CT-2025-014" in text
    assert "Organisatie: Huisartsenpraktijk Zuid" in text and "Datum: 3 juni 2025" in text
    assert "Verklaart hierbij dat zij/hij voor de specifieke casus" in text
    assert len(read_pdf(bijlage2.pdf).pages) == 1


@pytest.mark.parametrize("kind,template", [("structural", "declaration_structural"),
                                           ("incidental", "declaration_incidental")])
def test_blank_declaration_for_paper(pack, kind, template, text_of_pdf):
    rendered = render_pdf(pack, template, DeclarationDoc(kind=kind))
    text = one_line(text_of_pdf(rendered.pdf))
    assert "gebiedsnetwerk [locatie]" in text
    assert rendered.html.count('class="line"') >= 5          # name, org, function, participant, date
    assert "Kenmerk casus" not in text and "Plaats:" not in text
    assert "/CreationDate" not in rendered.pdf.decode("latin-1")


def test_declaration_kind_must_match_annex(pack, incidental_declaration):
    with pytest.raises(jinja2.UndefinedError, match="wrong_kind"):
        render_html(pack, "declaration_structural", incidental_declaration)


def test_bijlage4_filled_ticks_and_fields(bijlage4, text_of_pdf, read_pdf):
    text = one_line(text_of_pdf(bijlage4.pdf))
    layout = text_of_pdf(bijlage4.pdf, layout=True)
    assert "Jan Jansen" in text and "4 maart 2009" in text
    assert "passende begeleiding bij wonen en dagbesteding te vinden" in text
    assert "door gemeente Emmen en partners uit het gebiedsnetwerk" in text
    assert "Convenant Casustafel gebiedsnetwerken Emmen" in text
    ticked = {m.group(1).strip() for m in re.finditer(r"^\s*X\s+(\S.*)$", layout, re.M)}
    assert ticked == {
        "naam en adresgegevens",
        "overzicht van de ondersteuning of hulp die nu al geboden wordt",
        "GGD Drenthe",
        "Woningcorporatie Domesta / Lefier / Woonservice / Woonzorg * doorhalen wat niet van toepassing is",
        "VNN",
        "Anders, namelijk: Buurtteam Angelslo",
    }
    assert "gebiedsnetwerk Emmen-Noord" in text and "Kenmerk casus: CT-2025-014" in text
    assert "Datum: 2 juni 2025" in text
    assert len(read_pdf(bijlage4.pdf).pages) == 1


def test_bijlage4_strikes_what_does_not_apply(bijlage4):
    html = bijlage4.html
    for other in ("Domesta", "Woonservice", "Woonzorg"):
        assert f"<s>{other}</s>" in html
    assert "<s>Lefier</s>" not in html and "Lefier" in html
    assert "<s>inwoner</s> / <s>ouders/verzorgers</s>" in one_line(html)
    assert "<s>inwoner en ouders/verzorgers</s>" not in html


def test_bijlage4_blank_shows_placeholders(pack, text_of_pdf):
    rendered = render_pdf(pack, "consent", ConsentDoc())
    text = one_line(text_of_pdf(rendered.pdf))
    for placeholder in ("[NAAM INWONER]", "[GEBOORTEDATUM]", "[BESCHRIJF HIER WAT NODIG IS]"):
        assert placeholder in text
    assert not re.search(r"^\s*X\s", text_of_pdf(rendered.pdf, layout=True), re.M)
    assert "<s>" not in rendered.html


def test_consent_rejects_what_is_not_on_the_form(pack):
    with pytest.raises(ValueError, match="Woningcorporatie Elders"):
        render_html(pack, "consent", ConsentDoc(recipients=("Woningcorporatie Elders",)))
    with pytest.raises(ValueError, match="bank_details"):
        render_html(pack, "consent", ConsentDoc(categories=("bank_details",)))


def test_dates_are_dutch(pack):
    html = render_html(pack, "declaration_structural",
                       DeclarationDoc(kind="structural", signed_on=date(2026, 3, 1)))
    assert "1 maart 2026" in html
