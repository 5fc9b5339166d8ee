"""The onderwijs-jeugdhulp pack: the Privacy convenant Samenwerking Onderwijs Gemeente
Jeugdhulp with its five annexes (Bijlage 3 from shared/seeds/003, the consent form as
Bijlage 5), rendered with the existing renderer and read back with pdftotext."""

from __future__ import annotations

import importlib.util
import io
import re
from datetime import date

import docx
import jinja2
import pytest

from registry.documents import (CaseTable, ConsentDoc, DeclarationDoc, Party,
                                     covenant_from_pack, load_pack, render_docx, render_html,
                                     render_pdf)

PACK = "onderwijs-jeugdhulp"
FOREIGN = ("Emmen", "Sedna", "Toegang", "Drenthe", "casustafel", "gebiedsnetwerk")

ARTICLES = [
    "Artikel 1. Begrippen",
    "Artikel 2. Doel van het Convenant",
    "Artikel 3. Doelbinding",
    "Artikel 4. Grondslag",
    "Artikel 5. Casusoverleg en procesregie",
    "Artikel 6. Rol van ouders en jongeren",
    "Artikel 7. Toestemming",
    "Artikel 8. Dataminimalisatie en fasen",
    "Artikel 9. Geheimhouding",
    "Artikel 10. Beveiliging",
    "Artikel 11. Bewaren en vernietigen",
    "Artikel 12. Rechten van betrokkenen",
    "Artikel 13. Transparantie",
    "Artikel 14. Toetreding",
    "Artikel 15. Evaluatie",
    "Artikel 16. Duur, wijziging en opzegging",
]

ANNEXES = [
    "Bijlage 1 Verklaring geheimhouding deelnemer Casusoverleg",
    "Bijlage 2 Verklaring geheimhouding incidentele deelnemer Casusoverleg",
    "Bijlage 3 Beschrijving Casusoverleggen",
    "Bijlage 4 Toetredingsformulier aangesloten partij",
    "Bijlage 5 Toestemmingsformulier",
]

AGE_RULE = ("Jongeren tussen 12 en 16 jaar oefenen samen met hun ouders de privacy-rechten uit. "
            "Vanaf 16 jaar oefent de jongere de privacy-rechten zelfstandig uit.")
SIGNER_RULE = ("Is de jongere jonger dan 12 jaar, dan tekenen de ouders met gezag. Is de jongere "
               "12 jaar of ouder maar jonger dan 16 jaar, dan tekenen de jongere en de ouders met "
               "gezag samen. Vanaf 16 jaar tekent de jongere zelf.")

# Sentences of the seed (Bijlage 3 and its Toelichting), OCR errors repaired, that the
# covenant must print word for word.
SEED_SENTENCES = [
    "Per type Casusoverleg wordt hier schriftelijk een specificatie gegeven van:",
    "Voorbeeld 1 Multidisciplinair overleg schoolniveau (MDO)",
    "In gezamenlijkheid vaststelling welke extra ondersteuning leerling nodig heeft binnen en "
    "buiten de onderwijssetting om succesvol te kunnen zijn in zijn of haar ontwikkeling.",
    "Iedere partij beschrijft dit vanuit haar eigen rol en verantwoordelijkheid.",
    "School (leerkracht, intern begeleider) (procesregisseur)",
    "Met toestemming ouders deelt school OPP en vragen vanuit school om advies op beveiligde wijze.",
    "Voorbeeld 2 Verzuimoverleg",
    "Bij verzuimmelding in DUO over ongeoorloofd verzuim (16 uur binnen 4 weken) of vermoedelijk "
    "ongeoorloofd verzuim (rubriek overig verzuim).",
    "Ouders hebben schriftelijk toestemming verleend aan GGD en Jeugdhulp in verband met beroepsgeheim.",
    "Voorbeeld 3 Thuiszittersoverleg (regionaal)",
    "Samenwerkingsverband passend onderwijs (dekkend aanbod) (procesregisseur)",
    "Teamleider Jeugd en Gezin gemeente (Jeugdwet)",
    "Partijen hebben binnen eigen domein doorbraakbevoegdheid om bv jeugdhulp te organiseren of "
    "passend onderwijsaanbod te doen.",
    "Toelichting (Checklist):",
    "Functioneert het casusoverleg op schoolniveau, wijkniveau, gemeenteniveau of niveau SWV?",
    "Beschikt het Casusoverleg ook over doorzettingsmacht, dat wil zeggen het bepalen van een "
    "passend ondersteuningsaanbod (jeugdhulp/onderwijs)?",
    "Wie is aanspreekpunt voor ouders/jongeren voor wat betreft gegevensverwerking?",
    "Is de schriftelijke toestemming van ouders/jongeren voor het delen van bijzondere "
    "persoonsgegevens goed geregeld (zie Bijlage 5 Toestemmingsformulier)",
    "6. Fasen van verwerking persoonsgegevens",
    "Uitgangspunt is dat niet meer persoonsgegevens worden gedeeld dan strikt nodig voor het afgesproken doel.",
    "Intake/aanmelding", "1 kind, 1 plan opstellen", "Monitoring plan van aanpak",
    "Tot 6 maanden na afloop plan/arrangement leerling blijven volgen vanuit casusoverleg en "
    "terugkoppeling vanuit school.",
    "Afsluiting persoonsdossier",
    "Bijlage 3 van het Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp 2025",
    "Voor dit Convenant is gebruik gemaakt van het (gewijzigde) Model Privacy Convenant "
    "Samenwerking Onderwijs — Gemeenten — Jeugdhulp opgesteld door Harry Nijkamp in opdracht van "
    "Steunpunt Passend Onderwijs.",
    "In 2016 hebben de Ministeries van OCW en VWS het zogenaamde Thuiszitterspact gesloten",
    "De invoering van de Methodische Aanpak Schoolverzuim (MAS) heeft hieraan bijgedragen",
    "Casusoverleg veronderstelt ook procesregie; het Convenant bepaalt niet wie procesregisseur is, "
    "maar benoemt wel de noodzaak tot het maken van afspraken hierover.",
    "Daarnaast gaat dit Convenant ervan uit dat jongeren vanaf 12 jaar met hun ouders, ook "
    "rechtstreeks participeren in het Casusoverleg.",
    AGE_RULE,
    "Voor alle jongeren (ook jonger dan 12 jaar) geldt een hoorrecht",
]

FOOTNOTES = [
    "1 Procesregisseur is te onderscheiden van casusregisseur.",
    "2 Te onderscheiden van procesregisseur zie noot 1.",
    "3 Een partij die in een bepaalde fase persoonsgegevens verstrekt behoudt de zeggenschap",
    "4 Van der Grinten, M., Walraven, M., Kooij, D., Bomhof, M., Smeets, E., & Ledoux, G. (2018)",
    "5 Mét andere ogen, Advies voor versnelling en bestendiging van de samenwerking onderwijs-zorg-jeugd",
    "6 Dit hoorrecht is geregeld in artikel 12 van het VN-verdrag inzake de rechten van het kind.",
]


def one_line(text: str) -> str:
    """pdftotext text as one line: whitespace collapsed, no page furniture, no hyphen
    breaks ("privacy-" / "rechten" comes back as "privacy- rechten")."""
    text = re.sub(r"pagina \d+ van \d+", " ", text)
    text = re.sub(r"Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp Voorbeeldregio"
                  r"(?: · Bijlage \d)?\n", " ", text)
    return " ".join(re.sub(r"(\w)-\n(\w)", r"\1-\2", text).split())


@pytest.fixture(scope="module")
def ojpack():
    return load_pack(PACK)


def signed(pack):
    parties = tuple(Party(p.organisation, p.representative, date(2025, 9, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    return covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 9, 8))


@pytest.fixture(scope="module")
def covenant(ojpack):
    return render_pdf(ojpack, "covenant", signed(ojpack))


@pytest.fixture(scope="module")
def covenant_text(covenant, text_of_pdf):
    return text_of_pdf(covenant.pdf)


@pytest.fixture(scope="module")
def structural():
    return DeclarationDoc(kind="structural", table_name="MDO", person_name="E. Jansen",
                          organisation="Stichting Primair Onderwijs Voorbeeldstad",
                          function="Intern begeleider", signed_on=date(2025, 9, 15),
                          place="Voorbeeldstad")


@pytest.fixture(scope="module")
def incidental():
    return DeclarationDoc(kind="incidental", table_name="Thuiszitters", person_name="P. de Groot",
                          organisation="Stichting Jeugdhulp Voorbeeldregio",
                          function="Gezinsbehandelaar", case_ref="TZ-2025-007",
                          signed_on=date(2025, 10, 2))


@pytest.fixture(scope="module")
def consent():
    return ConsentDoc(resident_name="Sanne Vermeulen", resident_birth_date=date(2012, 4, 9),
                      signed_by="resident_and_parents",
                      purpose="de terugkeer naar school met passende begeleiding te regelen",
                      categories=("identity_contact", "attendance", "current_help"),
                      recipients=("Samenwerkingsverband Passend Onderwijs",
                                  "Gemeente Voorbeeldstad leerplicht",
                                  "Stichting Jeugdhulp Voorbeeldregio"),
                      other_recipients="Onderwijszorgconsulent", case_ref="TZ-2025-007",
                      table_name="Thuiszitters", signed_on=date(2025, 10, 1))


# --- manifest ------------------------------------------------------------------------

def test_manifest(ojpack):
    assert ojpack.name == PACK and ojpack.language == "nl"
    assert ojpack.title == "Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp"
    assert [a.name for a in ojpack.areas] == ["MDO", "Verzuim", "Thuiszitters"]
    assert [a.short_name for a in ojpack.areas] == ["MDO", "Verzuimoverleg", "Thuiszittersoverleg"]
    assert (ojpack.term.initial_years, ojpack.term.renewal_years, ojpack.term.notice_months,
            ojpack.term.ends_on) == (4, 1, 3, None)
    assert ojpack.age_bands == ("0-4", "4-12", "12-16", "16-18", "18-23")
    assert not ojpack.meetings_on_request and not ojpack.mandate and ojpack.chair_models == ()


def test_annexes(ojpack):
    rows = [(a.key, a.number, a.kind, a.template) for a in ojpack.annexes]
    assert rows == [
        ("bijlage1", "Bijlage 1", "structural_declaration", "bijlage1.html"),
        ("bijlage2", "Bijlage 2", "incidental_declaration", "bijlage2.html"),
        ("bijlage3", "Bijlage 3", "text", None),
        ("bijlage4", "Bijlage 4", "text", None),
        ("bijlage5", "Bijlage 5", "consent", "bijlage5.html"),
    ]
    assert [f"{a.number} {a.title}" for a in ojpack.annexes] == ANNEXES
    assert ojpack.document("consent") == "bijlage5.html"
    for annex in ojpack.annexes:
        if annex.template:
            assert (ojpack.path / annex.template).is_file()


def test_consent_signers_and_participants(ojpack):
    assert [(b.below_age, b.signers) for b in ojpack.consent_signers] == [
        (12, ("parents",)), (16, ("resident", "parents")), (None, ("resident",))]
    assert [(c.key, c.label, c.min_age) for c in ojpack.case_participants] == [
        ("ouder_met_gezag", "ouder met gezag", None), ("jongere", "jongere", 12)]


def test_procesregisseur_role(ojpack):
    (role,) = ojpack.roles
    assert (role.key, role.label) == ("procesregisseur", "procesregisseur")
    assert "Samenwerkingsverband Passend Onderwijs" in role.organisations
    partners = {p.organisation for p in ojpack.founding_partners}
    assert set(role.organisations) <= partners


def test_consent_lists(ojpack):
    keys = ojpack.category_keys()
    assert len(keys) == len(set(keys)) == 5
    assert all(re.fullmatch(r"[a-z_]+", k) for k in keys)
    names = ojpack.recipient_names()
    assert "Gemeente Voorbeeldstad leerplicht" in names and "GGD Voorbeeldregio" in names


# --- covenant --------------------------------------------------------------------------

def test_articles_and_annexes_in_order(covenant_text):
    positions = [covenant_text.index(a + "\n") for a in ARTICLES]
    assert positions == sorted(positions)
    # Annex headings are the first line of their page, after the articles, in order.
    pages = [one_line(p) for p in covenant_text.split("\f")]
    starts = [next(i for i, p in enumerate(pages) if p.startswith(a)) for a in ANNEXES]
    last_article_page = next(i for i, p in enumerate(pages) if ARTICLES[-1] in p)
    assert starts == sorted(starts) and starts[0] > last_article_page


def test_three_casusoverleggen(covenant_text):
    text = one_line(covenant_text)
    assert "Onder dit Convenant vallen de Casusoverleggen MDO, Verzuimoverleg en Thuiszittersoverleg" in text
    for word in ("MDO", "Verzuim", "Thuiszitters"):
        assert word in text


def test_seed_text_is_printed(covenant_text):
    text = one_line(covenant_text)
    missing = [s for s in SEED_SENTENCES if s not in text]
    assert missing == []


def test_footnotes_of_bijlage_3(covenant_text):
    text = one_line(covenant_text)
    for note in FOOTNOTES:
        assert note in text
    page = next(p for p in covenant_text.split("\f") if "Voorbeeld 1 Multidisciplinair" in p)
    assert page.index("1 Procesregisseur is te onderscheiden") > page.index("Fasen overleg")


def test_age_rules(covenant_text):
    text = one_line(covenant_text)
    assert AGE_RULE in text
    assert text.count(SIGNER_RULE) == 2          # art. 7 and the consent form


def test_fields_and_term(covenant_text, ojpack):
    text = one_line(covenant_text)
    assert "voor de duur van vier jaar" in text and "telkens met één jaar verlengd" in text
    assert "opzegtermijn van drie maanden" in text
    assert "Dit Convenant is in werking getreden op 8 september 2025." in text
    assert "Ieder Casusoverleg heeft een procesregisseur. De procesregisseur komt van de school of het samenwerkingsverband" in text
    assert "werkgebied van Voorbeeldregio" in text and "onder leiding van de gemeente Voorbeeldstad" in text
    lines = [f"{p.organisation}, vertegenwoordigd door {p.representative}," for p in ojpack.founding_partners]
    positions = [text.index(line) for line in lines]
    assert positions == sorted(positions)


def test_signatories_and_procesregisseurs(ojpack, text_of_pdf):
    tables = (CaseTable("MDO", "MDO", chair="E. Jansen"),
              CaseTable("Verzuim", "Verzuimoverleg", chair="F. Kok"),
              CaseTable("Thuiszitters", "Thuiszittersoverleg", chair="G. Dekker"))
    vm = covenant_from_pack(ojpack, parties=signed(ojpack).parties, tables=tables)
    layout = text_of_pdf(render_pdf(ojpack, "covenant", vm, variant=None).pdf, layout=True)
    assert re.search(r"Partij\s+Vertegenwoordigd", layout)
    assert re.search(r"Gemeente Voorbeeldstad\s+A\. de Wit\s+1 september 2025", layout)
    assert re.search(r"Casusoverleg\s+Procesregisseur", layout)
    assert re.search(r"Thuiszittersoverleg\s+G\. Dekker", layout)


def foreign_words(text: str) -> list[str]:
    """Words of the Emmen pack in ``text`` (whole words, as written: "instemmen" and "toegang" are fine)."""
    return [w for w in FOREIGN if re.search(rf"\b{w}\b", text)]


def test_no_other_pack_in_the_text(covenant_text, ojpack):
    assert foreign_words(covenant_text) == []
    for path in ojpack.path.glob("*.*"):
        if path.suffix in (".html", ".toml", ".css", ".md"):
            body = path.read_text(encoding="utf-8")
            assert not any(w in body for w in ("Emmen", "Sedna", "Toegang")), path.name


def test_pages_metadata_and_fonts(covenant, covenant_text, read_pdf):
    reader = read_pdf(covenant.pdf)
    pages = [p for p in covenant_text.split("\f") if p.strip()]
    assert len(pages) == len(reader.pages) and 15 <= len(pages) <= 25
    for number, page in enumerate(pages, 1):
        assert f"pagina {number} van {len(pages)}" in page
        assert page.lstrip().startswith("Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp Voorbeeldregio")
    meta = reader.metadata
    assert meta.title == "Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp Voorbeeldregio"
    assert meta["/CreationDate"].startswith("D:20250908")
    assert reader.trailer["/Root"]["/Lang"] == "nl"
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            assert "Pack-Sans" in str(font.get_object()["/BaseFont"])


# --- standalone annexes ----------------------------------------------------------------

def test_bijlage1_filled(ojpack, structural, text_of_pdf, read_pdf):
    rendered = render_pdf(ojpack, "declaration_structural", structural)
    text = one_line(text_of_pdf(rendered.pdf))
    assert "Bijlage 1 Verklaring geheimhouding deelnemer Casusoverleg" in text
    assert "vaste deelnemer aan het Casusoverleg MDO" in text
    assert "Naam en voorletters: E. Jansen" in text and "Functie: Intern begeleider" in text
    assert "Datum: 15 september 2025" in text and "Plaats: Voorbeeldstad" in text
    assert len(read_pdf(rendered.pdf).pages) == 1
    assert read_pdf(rendered.pdf).metadata.author == "E. Jansen"


def test_bijlage2_filled_names_the_case(ojpack, incidental, text_of_pdf, read_pdf):
    rendered = render_pdf(ojpack, "declaration_incidental", incidental)
    text = one_line(text_of_pdf(rendered.pdf))
    assert "Bijlage 2 Verklaring geheimhouding incidentele deelnemer Casusoverleg" in text
    assert "incidentele deelnemer aan het Casusoverleg Thuiszitters" in text
    assert "Kenmerk casus: TZ-2025-007" in text and "Datum: 2 oktober 2025" in text
    assert len(read_pdf(rendered.pdf).pages) == 1


@pytest.mark.parametrize("kind,template,title", [
    ("structural", "declaration_structural", ANNEXES[0]),
    ("incidental", "declaration_incidental", ANNEXES[1])])
def test_blank_declarations(ojpack, kind, template, title, text_of_pdf):
    rendered = render_pdf(ojpack, template, DeclarationDoc(kind=kind))
    text = one_line(text_of_pdf(rendered.pdf))
    assert title in text and "Casusoverleg [naam Casusoverleg]" in text
    assert rendered.html.count('class="line"') >= 5
    assert "Kenmerk casus" not in text


def test_declaration_kind_must_match(ojpack, incidental):
    with pytest.raises(jinja2.UndefinedError, match="wrong_kind"):
        render_html(ojpack, "declaration_structural", incidental)


def test_bijlage5_filled(ojpack, consent, text_of_pdf, read_pdf):
    rendered = render_pdf(ojpack, "consent", consent)
    text = one_line(text_of_pdf(rendered.pdf))
    layout = text_of_pdf(rendered.pdf, layout=True)
    assert text.startswith("Bijlage 5 Toestemmingsformulier") or "Bijlage 5 Toestemmingsformulier" in text
    assert "Sanne Vermeulen" in text and "9 april 2012" in text
    assert "de terugkeer naar school met passende begeleiding te regelen" in text
    ticked = {m.group(1).strip() for m in re.finditer(r"^\s*X\s+(\S.*)$", layout, re.M)}
    assert "gegevens over verzuim en aanwezigheid op school" in ticked
    assert any(t.startswith("Samenwerkingsverband Passend Onderwijs") for t in ticked)
    assert any(t.startswith("Gemeente Voorbeeldstad: leerplicht / team Jeugd en Gezin") for t in ticked)
    assert "Anders, namelijk: Onderwijszorgconsulent" in ticked
    assert len(ticked) == 7
    assert "<s>team Jeugd en Gezin</s>" in rendered.html and "<s>leerplicht</s>" not in rendered.html
    assert "<s>jongere</s> / <s>ouders met gezag</s>" in " ".join(rendered.html.split())
    assert SIGNER_RULE in text
    assert "Casusoverleg: Thuiszitters" in text and "Kenmerk casus: TZ-2025-007" in text
    assert len(read_pdf(rendered.pdf).pages) == 1
    assert read_pdf(rendered.pdf).metadata.title == "Bijlage 5 Toestemmingsformulier"


def test_bijlage5_blank(ojpack, text_of_pdf, read_pdf):
    rendered = render_pdf(ojpack, "consent", ConsentDoc())
    text = one_line(text_of_pdf(rendered.pdf))
    for placeholder in ("[NAAM JONGERE]", "[GEBOORTEDATUM]", "[BESCHRIJF HIER HET DOEL]"):
        assert placeholder in text
    assert not re.search(r"^\s*X\s", text_of_pdf(rendered.pdf, layout=True), re.M)
    assert "<s>" not in rendered.html and len(read_pdf(rendered.pdf).pages) == 1
    assert foreign_words(text) == []


def test_consent_rejects_what_is_not_on_the_form(ojpack):
    with pytest.raises(ValueError, match="GGD Drenthe"):
        render_html(ojpack, "consent", ConsentDoc(recipients=("GGD Drenthe",)))
    with pytest.raises(ValueError, match="name_address"):
        render_html(ojpack, "consent", ConsentDoc(categories=("name_address",)))


# --- DOCX ------------------------------------------------------------------------------

def test_docx_matches_the_html(ojpack, tmp_path):
    spec = importlib.util.spec_from_file_location("build_docx_oj", ojpack.path / "build_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = docx.Document(str(module.build(tmp_path / "covenant.docx")))
    committed = docx.Document(str(ojpack.path / "covenant.docx"))
    assert [p.text for p in fresh.paragraphs] == [p.text for p in committed.paragraphs]


def test_docx_filled(ojpack):
    document = docx.Document(io.BytesIO(render_docx(ojpack, "covenant_docx", signed(ojpack))))
    texts = [p.text for p in document.paragraphs]
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door A. de Wit," in texts
    assert [t.split(".")[0] for t in texts if t.startswith("Artikel ")] == [f"Artikel {n}" for n in range(1, 17)]
    assert any(t.startswith("Bijlage 5 Toestemmingsformulier") for t in texts)
    assert "Dit Convenant is in werking getreden op 8 september 2025." in texts
    assert not any("{{" in t or "{%" in t for t in texts)
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[0] == ["Partij", "Vertegenwoordigd door", "Datum", "Handtekening"]
    assert len(rows) == 1 + len(ojpack.founding_partners)


# --- meeting check and signing pages ---------------------------------------------------

def test_meeting_check_and_signing_pages(ojpack, text_of_pdf):
    import datetime as dt

    from signatures.assembly import FinalView, SignerView
    from registry.meetings import AMSTERDAM, MeetingCheck

    check = MeetingCheck(meeting_id=1, table_id=1, table_name="MDO",
                         starts_at=dt.datetime(2025, 10, 6, 14, 0, tzinfo=AMSTERDAM), location="Lokaal 3",
                         on=dt.date(2025, 10, 6), checked_at=dt.datetime(2025, 10, 5, 9, 0, tzinfo=AMSTERDAM),
                         warnings=(), cases=())
    text = one_line(text_of_pdf(render_pdf(ojpack, "meeting_check", check, variant=None).pdf))
    assert "Presentie- en toetsingslijst" in text and "MDO" in text
    assert "de procesregisseur beoordeelt vooraf welke Partijen nodig zijn" in text
    assert "Zonder geldige toestemming (Bijlage 5)" in text and "Handtekening procesregisseur" in text
    view = FinalView(kind="covenant", id=7, title="Privacy convenant Samenwerking Onderwijs Gemeente Jeugdhulp Voorbeeldregio",
                     version=1, sha256="ab" * 32, completed_at="2025-09-08 12:00 UTC",
                     signers=[SignerView(name="A. de Wit", role_nl="vertegenwoordiger", method="typed",
                                         signed_on="2025-09-01", identification="e-mail",
                                         organisation="Gemeente Voorbeeldstad", typed_name="A. de Wit")])
    text = one_line(text_of_pdf(render_pdf(ojpack, "signing_pages", view, variant=None).pdf))
    assert "Ondertekening" in text and "Certificaat van voltooiing" in text and "A. de Wit" in text
    assert foreign_words(text) == []
