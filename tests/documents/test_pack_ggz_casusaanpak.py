"""The ggz-casusaanpak pack: a regional GGZ Intentieverklaring (model text after the
Handreiking in shared/seeds/004) with a fixed end date, a chosen chair model, signing
"met mandaat" and meetings on request, rendered with the existing renderer and read back
with pdftotext."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import io
import re
from datetime import date
from types import SimpleNamespace

import docx
import jinja2
import pytest

from registry.documents import (CaseTable, ConsentDoc, CovenantDoc, DeclarationDoc, Party,
                                     covenant_from_pack, load_pack, render_docx, render_html,
                                     render_pdf)
from registry.packs import Term

PACK = "ggz-casusaanpak"
HEADER = "Intentieverklaring Regionale Casusaanpak Complexe Casuïstiek GGZ Voorbeeldregio"
FOREIGN = ("Emmen", "Sedna", "Toegang", "Drenthe", "casustafel", "gebiedsnetwerk")

ARTICLES = [
    "Artikel 1. Begrippen",
    "Artikel 2. Gedeelde missie",
    "Artikel 3. Partners en tijdsinvestering",
    "Artikel 4. Mandaat",
    "Artikel 5. Voorzitterschap en coördinatie",
    "Artikel 6. Overlegmomenten",
    "Artikel 7. Betrokkenheid van de cliënt",
    "Artikel 8. Gegevensuitwisseling en privacy",
    "Artikel 9. Werkafspraken",
    "Artikel 10. Evaluatie",
    "Artikel 11. Looptijd",
]

ANNEXES = [
    "Bijlage 1 Verklaring geheimhouding deelnemer regionaal casusoverleg",
    "Bijlage 2 Verklaring geheimhouding incidentele deelnemer regionaal casusoverleg",
    "Bijlage 3 Werkwijze regionaal casusoverleg",
    "Bijlage 4 Toestemmingsformulier bespreking in het regionaal casusoverleg",
]

CHAIRS = {
    "independent": "Onafhankelijk voorzitterschap: Partijen stellen een derde partij aan als "
                   "onafhankelijke voorzitter. Een onafhankelijke voorzitter heeft geen belang of "
                   "gewin binnen de samenwerking.",
    "fixed": "Vast voorzitterschap: Partijen wijzen gezamenlijk een voorzitter uit hun midden aan "
             "voor een bepaalde periode.",
    "rotating": "Roulerend voorzitterschap: Het voorzitterschap rouleert tussen de partijen, alle "
                "partijen delen de verantwoordelijkheid voor de opzet en voortgang.",
}

ON_REQUEST = ("Het regionaal casusoverleg komt op vaste momenten bijeen en daarnaast op afroep: "
              "betrokken Partners kunnen bijeen geroepen worden wanneer een casus hier aanleiding toe geeft.")
SIGNER_RULE = ("Is de cliënt jonger dan 12 jaar, dan tekenen de ouders met gezag. Is de cliënt 12 jaar "
               "of ouder maar jonger dan 16 jaar, dan tekenen de cliënt en de ouders met gezag samen. "
               "Vanaf 16 jaar tekent de cliënt zelf.")

# Sentences of the Handreiking the declaration prints word for word.
SEED_SENTENCES = [
    "we spreken van complexe casuïstiek wanneer de casus samenwerking vereist tussen meerdere "
    "partijen, de zorgvraag zich voor doet binnen de ggz én aanpalende sectoren, de complexiteit van "
    "de casus op inhoud én beschikbaarheid van zorg zit en de casus maatwerk vereist om tot een "
    "oplossing te komen.",
    "het betrekken van in ieder geval het sociaal domein, een zorgverzekeraar en zorgaanbieders die "
    "de doelgroep bedienen cruciaal is",
    "wat is nú het beste voor deze patiënt met deze zorgvraag?",
    "Casuïstiek-overleggen kunnen met- en zonder de aanwezigheid van patiënten plaatsvinden.",
    "Afgevaardigden van organisaties moeten voldoende mandaat hebben om in de samenwerking keuzes en "
    "toezeggingen te maken uit naam van hun eigen organisatie",
    "Een gedeelde, gezamenlijke missie over samenwerking in de regio is een belangrijk startpunt om "
    "commitment op te halen bij alle partijen.",
    "Overlegmomenten kunnen op vaste momenten plaatsvinden met een vaste groep deelnemers, of "
    "betrokken partijen kunnen op afroep bijeen geroepen worden wanneer een casus hier aanleiding toe geeft.",
    "Over de financiering van de samenwerking (investering in tijd, extra taken) dienen goede "
    "afspraken te worden gemaakt die een blijvend karakter hebben.",
    "Melden — Van identificeren van complexe casuïstiek op de wachtlijst tot aan het aanhangig maken "
    "in regionaal verband.",
    "Welk type voorzitterschap heeft onze voorkeur?",
    "Worden er vaste momenten ingepland, of worden overleggen gekoppeld aan vastgelopen casuïstiek?",
    "Hoe vindt er borging plaats van de (in)formele samenwerkingen?",
]


def one_line(text: str) -> str:
    """pdftotext text as one line, without page furniture; a hyphen at a line end stays."""
    text = re.sub(r"pagina \d+ van \d+", " ", text)
    text = re.sub(re.escape(HEADER) + r"(?: · Bijlage \d)?\n", " ", text)
    return " ".join(re.sub(r"(\w)-\n(\w)", r"\1-\2", text).split())


def foreign_words(text: str) -> list[str]:
    """Words of the Emmen pack in ``text`` (whole words, as written)."""
    return [w for w in FOREIGN if re.search(rf"\b{w}\b", text)]


@dataclasses.dataclass(frozen=True)
class CovenantWithChair(CovenantDoc):
    """What the core's view-model will carry: the chosen chair model."""

    chair_model: str = ""


@pytest.fixture(scope="module")
def gpack():
    return load_pack(PACK)


def signed(pack):
    parties = tuple(Party(p.organisation, p.representative, date(2025, 9, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    return covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 9, 8))


def with_chair(pack, model: str) -> CovenantWithChair:
    base = signed(pack)
    return CovenantWithChair(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                             chair_model=model)


@pytest.fixture(scope="module")
def covenant(gpack):
    return render_pdf(gpack, "covenant", signed(gpack))


@pytest.fixture(scope="module")
def covenant_text(covenant, text_of_pdf):
    return text_of_pdf(covenant.pdf)


# --- manifest ------------------------------------------------------------------------

def test_manifest(gpack):
    assert gpack.name == PACK and gpack.language == "nl"
    assert gpack.term.ends_on == date(2027, 12, 31) and gpack.term.renewal_years == 0
    assert gpack.chair_models == ("independent", "fixed", "rotating")
    assert gpack.mandate is True and gpack.meetings_on_request is True
    assert [(a.key, a.number, a.kind) for a in gpack.annexes] == [
        ("bijlage1", "Bijlage 1", "structural_declaration"),
        ("bijlage2", "Bijlage 2", "incidental_declaration"),
        ("bijlage3", "Bijlage 3", "text"),
        ("bijlage4", "Bijlage 4", "consent")]
    assert [f"{a.number} {a.title}" for a in gpack.annexes] == ANNEXES
    for annex in gpack.annexes:
        assert annex.template is None or (gpack.path / annex.template).is_file()
    assert [(b.below_age, b.signers) for b in gpack.consent_signers] == [
        (12, ("parents",)), (16, ("resident", "parents")), (None, ("resident",))]
    assert [(r.key, r.label) for r in gpack.roles] == [("chair", "voorzitter"), ("coordinator", "coördinator")]
    partners = {p.organisation for p in gpack.founding_partners}
    chair = gpack.roles[0]
    assert chair.organisations[0] not in partners          # the independent chair's organisation
    assert set(chair.organisations[1:]) == partners        # fixed / rotating: a partner
    assert [c.key for c in gpack.case_participants] == ["client", "naaste", "ouder_met_gezag"]
    assert all(re.fullmatch(r"[a-z_]+", k) for k in gpack.category_keys())


# --- the declaration of intent -----------------------------------------------------------

def test_articles_and_annexes_in_order(covenant_text):
    positions = [covenant_text.index(a + "\n") for a in ARTICLES]
    assert positions == sorted(positions)
    pages = [one_line(p) for p in covenant_text.split("\f")]
    starts = [next(i for i, p in enumerate(pages) if p.startswith(a)) for a in ANNEXES]
    assert starts == sorted(starts) and starts[0] > next(i for i, p in enumerate(pages) if ARTICLES[-1] in p)


def test_fixed_end_date_without_renewal(covenant_text):
    text = one_line(covenant_text)
    assert ("Deze intentieverklaring treedt in werking op de dag van ondertekening door alle "
            "Partners en geldt tot en met 31 december 2027.") in text
    assert "Zij wordt niet stilzwijgend verlengd." in text
    assert "Zij geldt tot en met 31 december 2027." in text                 # signing page
    assert "uiterlijk zes maanden vóór 31 december 2027" in text
    assert "opzegtermijn van één maand" in text
    assert "stilzwijgend telkens" not in text


def test_signing_met_mandaat(covenant_text, text_of_pdf, covenant, gpack):
    text = one_line(covenant_text)
    assert "Afgevaardigden van Partners zitten met mandaat aan tafel" in text
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door C. van Dijk (met mandaat)," in text
    layout = text_of_pdf(covenant.pdf, layout=True)
    assert re.search(r"Gemeente Voorbeeldstad\s+C\. van Dijk \(met\s", layout)
    assert len(re.findall(r"\(met mandaat\)", text)) >= 2 * len(gpack.founding_partners)


def test_per_party_mandate_flag(gpack, text_of_pdf):
    """Once parties carry ``mandate``, only those signing with mandate print it."""
    base = signed(gpack)
    parties = (SimpleNamespace(organisation="GGZ Voorbeeldregio", representative="J. Hendriks",
                               signed_on=date(2025, 9, 2), mandate=True),
               SimpleNamespace(organisation="Zorgverzekeraar Voorbeeld", representative="B. Vos",
                               signed_on=date(2025, 9, 3), mandate=False))
    vm = dataclasses.replace(base, parties=parties)
    text = one_line(text_of_pdf(render_pdf(gpack, "covenant", vm, variant=None).pdf))
    assert "vertegenwoordigd door J. Hendriks (met mandaat)," in text
    assert "vertegenwoordigd door B. Vos," in text and "B. Vos (met mandaat)" not in text


def test_all_chair_models_to_choose_without_one(covenant_text, covenant):
    text = one_line(covenant_text)
    assert "Partners kiezen bij ondertekening één van de volgende vormen van voorzitterschap" in text
    for sentence in CHAIRS.values():
        assert sentence in text
    assert covenant.html.count('<span class="box"></span><b>') == 3


@pytest.mark.parametrize("model", ["independent", "fixed", "rotating"])
def test_chosen_chair_model_is_printed(gpack, model, text_of_pdf):
    html = render_html(gpack, "covenant", with_chair(gpack, model))
    text = " ".join(re.sub("<[^>]+>", "", html).split())
    assert "Partners kiezen de volgende vorm van voorzitterschap van het regionaal casusoverleg. " + CHAIRS[model] in text
    for other, sentence in CHAIRS.items():
        if other != model:
            assert sentence not in text
    if model == "independent":
        pdf_text = one_line(text_of_pdf(render_pdf(gpack, "covenant", with_chair(gpack, model), variant=None).pdf))
        assert CHAIRS[model] in pdf_text


def test_unknown_chair_model_fails_loudly(gpack):
    with pytest.raises(jinja2.UndefinedError, match="chair_model_not_in_this_pack"):
        render_html(gpack, "covenant", with_chair(gpack, "dictator"))


def test_meetings_on_request(covenant_text, gpack):
    text = one_line(covenant_text)
    assert ON_REQUEST in text
    fixed_only = dataclasses.replace(gpack, meetings_on_request=False)
    html = render_html(fixed_only, "covenant", signed(gpack))
    assert "Het regionaal casusoverleg komt op vaste momenten bijeen.</li>" in html
    assert "daarnaast op afroep" not in html


def test_term_without_end_date(gpack):
    """The same text for a pack without ``ends_on``: a duration instead of a last day."""
    open_ended = dataclasses.replace(gpack, term=Term(initial_years=2, renewal_years=0, notice_months=3))
    html = render_html(open_ended, "covenant", signed(gpack))
    assert "geldt voor de duur van twee jaar" in html and "tot en met" not in html
    assert "opzegtermijn van drie maanden" in html


def test_seed_text_and_rules(covenant_text):
    text = one_line(covenant_text)
    assert [s for s in SEED_SENTENCES if s not in text] == []
    assert text.count(SIGNER_RULE) == 2                         # art. 8 and the consent form
    assert "(EPA, dubbele diagnose, (L)VB, verward gedrag, forensisch, jeugd naar volwassenen)" in text


def test_parties_signatories_and_roles(gpack, text_of_pdf):
    tables = (CaseTable("Regionaal casusoverleg", "het regionaal casusoverleg",
                        chair="M. Onafhankelijk", coordinator="S. Secretaris"),)
    vm = covenant_from_pack(gpack, parties=signed(gpack).parties, tables=tables)
    layout = text_of_pdf(render_pdf(gpack, "covenant", vm, variant=None).pdf, layout=True)
    assert re.search(r"Partner\s+Vertegenwoordigd", layout)
    assert re.search(r"Voorzitter\s+Coördinator", layout)
    assert re.search(r"Regionaal casusoverleg\s+M\. Onafhankelijk\s+S\. Secretaris", layout)


def test_no_other_pack_in_the_text(covenant_text, gpack):
    assert foreign_words(covenant_text) == []
    for path in gpack.path.glob("*.*"):
        if path.suffix in (".html", ".toml", ".css", ".md"):
            body = path.read_text(encoding="utf-8")
            assert not any(w in body for w in ("Emmen", "Sedna", "Toegang")), path.name


def test_pages_metadata_and_fonts(covenant, covenant_text, read_pdf):
    reader = read_pdf(covenant.pdf)
    pages = [p for p in covenant_text.split("\f") if p.strip()]
    assert len(pages) == len(reader.pages) and 8 <= len(pages) <= 16
    for number, page in enumerate(pages, 1):
        assert f"pagina {number} van {len(pages)}" in page
        assert page.lstrip().startswith(HEADER)
    assert reader.metadata.title == HEADER
    assert reader.metadata["/CreationDate"].startswith("D:20250908")
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            assert "Pack-Sans" in str(font.get_object()["/BaseFont"])


# --- standalone annexes ----------------------------------------------------------------

def test_declarations_filled(gpack, text_of_pdf, read_pdf):
    structural = DeclarationDoc(kind="structural", table_name="Regionaal casusoverleg",
                                person_name="H. de Jong", organisation="GGZ Voorbeeldregio",
                                function="Psychiater", signed_on=date(2025, 9, 20))
    text = one_line(text_of_pdf(render_pdf(gpack, "declaration_structural", structural).pdf))
    assert ANNEXES[0] in text and "vaste deelnemer aan het casusoverleg Regionaal casusoverleg" in text
    assert "Naam en voorletters: H. de Jong" in text and "Datum: 20 september 2025" in text
    incidental = DeclarationDoc(kind="incidental", table_name="Regionaal casusoverleg",
                                person_name="R. Smits", organisation="Huisartsenpraktijk Centrum",
                                function="POH-GGZ", case_ref="GGZ-2025-003", signed_on=date(2025, 10, 1))
    rendered = render_pdf(gpack, "declaration_incidental", incidental)
    text = one_line(text_of_pdf(rendered.pdf))
    assert ANNEXES[1] in text and "op afroep voor één casus aanschuift" in text
    assert "Kenmerk casus: GGZ-2025-003" in text and len(read_pdf(rendered.pdf).pages) == 1
    with pytest.raises(jinja2.UndefinedError, match="wrong_kind"):
        render_html(gpack, "declaration_structural", incidental)


@pytest.mark.parametrize("kind,template", [("structural", "declaration_structural"),
                                           ("incidental", "declaration_incidental")])
def test_blank_declarations(gpack, kind, template, text_of_pdf):
    rendered = render_pdf(gpack, template, DeclarationDoc(kind=kind))
    text = one_line(text_of_pdf(rendered.pdf))
    assert "casusoverleg [naam casusoverleg]" in text and rendered.html.count('class="line"') >= 5
    assert foreign_words(text) == []


def test_consent_filled(gpack, text_of_pdf, read_pdf):
    consent = ConsentDoc(resident_name="Mila de Bruin", resident_birth_date=date(1998, 2, 11),
                         signed_by="resident", purpose="snel passende behandeling en begeleid wonen te vinden",
                         categories=("identity_contact", "care_question", "current_care"),
                         recipients=("GGZ Voorbeeldregio", "RIBW Voorbeeldregio", "Mijn huisarts"),
                         case_ref="GGZ-2025-003", table_name="Regionaal casusoverleg",
                         signed_on=date(2025, 9, 30))
    rendered = render_pdf(gpack, "consent", consent)
    text = one_line(text_of_pdf(rendered.pdf))
    layout = text_of_pdf(rendered.pdf, layout=True)
    assert ANNEXES[3] in text and "Mila de Bruin" in text and "11 februari 1998" in text
    ticked = {m.group(1).strip() for m in re.finditer(r"^\s*X\s+(\S.*)$", layout, re.M)}
    assert "GGZ Voorbeeldregio" in ticked and "Mijn huisarts" in ticked and len(ticked) == 6
    assert "<s>ouders met gezag</s> / <s>cliënt en ouders met gezag</s>" in " ".join(rendered.html.split())
    assert SIGNER_RULE in text and "uiterlijk met het einde van de Intentieverklaring op 31 december 2027" in text
    assert len(read_pdf(rendered.pdf).pages) == 1


def test_consent_blank_and_checked(gpack, text_of_pdf, read_pdf):
    rendered = render_pdf(gpack, "consent", ConsentDoc())
    text = one_line(text_of_pdf(rendered.pdf))
    for placeholder in ("[NAAM CLIËNT]", "[GEBOORTEDATUM]", "[BESCHRIJF HIER HET DOEL]"):
        assert placeholder in text
    assert "<s>" not in rendered.html and len(read_pdf(rendered.pdf).pages) == 1
    assert foreign_words(text) == []
    with pytest.raises(ValueError, match="VNN"):
        render_html(gpack, "consent", ConsentDoc(recipients=("VNN",)))


# --- DOCX, meeting check, signing pages -------------------------------------------------

def test_docx_matches_the_html_and_fills(gpack, tmp_path):
    spec = importlib.util.spec_from_file_location("build_docx_ggz", gpack.path / "build_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = docx.Document(str(module.build(tmp_path / "covenant.docx")))
    committed = docx.Document(str(gpack.path / "covenant.docx"))
    assert [p.text for p in fresh.paragraphs] == [p.text for p in committed.paragraphs]
    document = docx.Document(io.BytesIO(render_docx(gpack, "covenant_docx", signed(gpack))))
    texts = [p.text for p in document.paragraphs]
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door C. van Dijk (met mandaat)," in texts
    assert any("geldt tot en met 31 december 2027." in t for t in texts)
    assert not any("{{" in t or "{%" in t for t in texts)
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[1][:3] == ["Gemeente Voorbeeldstad", "C. van Dijk (met mandaat)", "1 september 2025"]


def test_meeting_check_and_signing_pages(gpack, text_of_pdf):
    from signatures.assembly import FinalView, SignerView
    from registry.meetings import AMSTERDAM, MeetingCheck

    check = MeetingCheck(meeting_id=2, table_id=1, table_name="Regionaal casusoverleg",
                         starts_at=dt.datetime(2025, 10, 6, 14, 0, tzinfo=AMSTERDAM), location=None,
                         on=dt.date(2025, 10, 6), checked_at=dt.datetime(2025, 10, 5, 9, 0, tzinfo=AMSTERDAM),
                         warnings=(), cases=())
    text = one_line(text_of_pdf(render_pdf(gpack, "meeting_check", check, variant=None).pdf))
    assert "Regionaal casusoverleg" in text and "wordt de casus alleen anoniem besproken (artikel 8)" in text
    view = FinalView(kind="covenant", id=9, title=HEADER, version=1, sha256="cd" * 32,
                     completed_at="2025-09-08 12:00 UTC",
                     signers=[SignerView(name="C. van Dijk", role_nl="vertegenwoordiger", method="typed",
                                         signed_on="2025-09-01", identification="e-mail",
                                         organisation="Gemeente Voorbeeldstad", typed_name="C. van Dijk")])
    text = one_line(text_of_pdf(render_pdf(gpack, "signing_pages", view, variant=None).pdf))
    assert "Certificaat van voltooiing" in text and "C. van Dijk" in text
    assert foreign_words(text) == []
