"""The zorg-en-veiligheidshuis pack (issue 10 §5): a Zorg- en Veiligheidshuis covenant and
privacy protocol, model text after the seed shared/seeds/002 ("Verwerking van
persoonsgegevens bij complexe casuïstiek in de zorg- en veiligheidshuizen"). Its four
phases with who sees the case in each, the case roles, a procesregisseur per case, the
staged retention after the decision to de-escalate, the partners' authorisation of the
procesregisseur as an article; every document rendered and read back with pdftotext,
the DOCX rebuilt and filled."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import re
from datetime import date

import docx
import jinja2
import pytest

from registry.documents import (CaseTable, DeclarationDoc, Party, covenant_from_pack, load_pack,
                                render_docx, render_html, render_pdf)
from registry.packs import form_annexes, pack_summary
from tests.readback import pdf_text

PACK = "zorg-en-veiligheidshuis"
TITLE = "Convenant Zorg- en Veiligheidshuis"
HEADER = "Convenant Zorg- en Veiligheidshuis Voorbeeldregio"
FOREIGN = ("Emmen", "Sedna", "Drenthe", "casustafel", "gebiedsnetwerk", "Neteland", "458ter")

ARTICLES = [
    "Artikel 1. Begrippen",
    "Artikel 2. Doel",
    "Artikel 3. Juridische positie van het Zorg- en Veiligheidshuis",
    "Artikel 4. Partners en aanmelding",
    "Artikel 5. Bevoegdheidsverlening aan de procesregisseur (mandaat en machtiging)",
    "Artikel 6. Grondslag en bijzondere persoonsgegevens",
    "Artikel 7. Fase 1 – Aanmelding en intake",
    "Artikel 8. Fase 2 – Triage en voorbereiding casusoverleg",
    "Artikel 9. Fase 3 – Casusoverleg",
    "Artikel 10. Fase 4 – Afschaling en bewaartermijnen",
    "Artikel 11. Toegang per fase",
    "Artikel 12. Informeren van de betrokkene en rechten",
    "Artikel 13. Procesregisseur, voorzitter en coördinator",
    "Artikel 14. Geheimhouding",
    "Artikel 15. Duur, toetreding en opzegging",
]

ANNEXES = [
    "Bijlage 1 Verklaring geheimhouding deelnemer casusoverleg Zorg- en Veiligheidshuis",
    "Bijlage 2 Verklaring geheimhouding incidentele deelnemer casusoverleg Zorg- en Veiligheidshuis",
    "Bijlage 3 Vier fasenmodel en doelen per fase",
]

# Sentences of the seed the covenant prints word for word.
SEED_SENTENCES = [
    # B2.1 doelstelling and juridische positie
    "De doelstelling van de samenwerking in (Zorg- en) Veiligheidshuizen is het bijdragen aan "
    "veiligheid(sbeleving) als onderdeel van het integrale veiligheidsbeleid: het voorkomen en "
    "verminderen van recidive, (ernstige) overlast, criminaliteit en maatschappelijke uitval bij "
    "complexe problemen, door een combinatie van repressie, bestuurlijke interventie en zorg.",
    "De consequentie hiervan is dat het Zorg- en Veiligheidshuis nooit op eigen titel gegevens "
    "verwerkt, maar de gegevens verwerkt ten behoeve van een of meerdere van de partijen in het "
    "samenwerkingsverband.",
    "Er is sprake van ernstige lokale of gebiedsgebonden veiligheidsproblematiek, die vraagt om een "
    "ketenoverstijgende aanpak.",
    # B2.2.1 aanmelding: only partners, with the bevoegdheidsverlening
    "Aanmelding bij het Zorg- en Veiligheidshuis (ZVH) kan alleen door een partij die ook "
    "convenantpartner is en waarvoor de bevoegdheidsverlening aan de procesregisseurs in het ZVH om "
    "namens hen werkzaamheden uit te voeren op de juiste wijze is geregeld",
    "De procesregisseur is de facto uitvoerder voor de aanmeldende partner.",
    "In deze fase hebben uitsluitend de aanmeldende partner, de procesregisseur en eventueel de "
    "betrokken ondersteunende medewerker van het ZVH toegang tot de casusinformatie",
    "De grondslag voor gegevensverwerking door de procesregisseur in het zorg- en veiligheidshuis is "
    "dezelfde als de grondslag die geldt voor de aanmeldende partner.",
    # B2.2.2 triage
    "Standaard alle partijen in het samenwerkingsverband benaderen is niet toegestaan omdat daarmee "
    "niet voldaan kan worden aan het noodzakelijkheids- en proportionaliteitsvereiste uit de AVG.",
    "Betrokken partijen hebben geen inzage in elkaars gegevens die t.b.v. de casus zijn verstrekt.",
    # B2.2.3 casusoverleg
    "Uitsluitend de deelnemers aan het casusoverleg krijgen inzage voor zover noodzakelijk voor het "
    "casusoverleg.",
    "Een deelnemer die geen rol heeft in de uitvoering van het plan van aanpak neemt geen "
    "persoonsgegevens mee naar zijn eigen organisatie.",
    # B2.2.4 afschaling in stappen
    "Stap 1: 0-6 maanden na besluit tot afschaling. Dossier blijft actief in het systeem van het ZVH "
    "voor het geval dat er terugval optreedt en er een nieuw casusoverleg nodig is.",
    "Stap 2: 6-12 maanden na besluit tot afschaling. Het dossier wordt gearchiveerd. Nog wel is "
    "vindbaar dát een persoon behandeld is in het ZVH, maar het dossier zelf is niet meer "
    "toegankelijk.",
    "In de regel neemt de manager van het Zorg- en Veiligheidshuis de beslissing of een dossier weer "
    "actief gemaakt wordt.",
    "Stap 3: 1 jaar na besluit tot afschaling. Het dossier wordt geheel uit het systeem van het Zorg- "
    "en Veiligheidshuis verwijderd. Uitsluitend ‘niet tot personen herleidbare gegevens’ blijven "
    "achter.",
    "In uitzonderingsgevallen kan tot andere termijnen worden besloten, mits de motivatie wordt "
    "vastgelegd en er een termijn wordt vastgesteld voor herbeoordeling. Die termijn voor "
    "herbeoordeling is maximaal 6 maanden.",
    # B2.6 (Bijlage 3)
    "Bepalen van de relevante deelnemers aan het casusoverleg, hun rol (expertise/adviseur, "
    "informant, beoogde uitvoerder interventies) en de van hen gevraagde inhoudelijke bijdrage;",
    "Afschaling: afbouwen betrokkenheid en opschonen procesregiedossier bij het Zorg- en "
    "Veiligheidshuis.",
]

# The partners' authorisation of the procesregisseur (issue 10 §5), art. 5.
MANDATE = ("Iedere Partner verleent bij ondertekening van dit convenant aan de procesregisseurs van het "
           "Zorg- en Veiligheidshuis mandaat en, voor zover het geen besluiten betreft, machtiging om "
           "namens haar de werkzaamheden van procesregie te verrichten")
AUTHORITY = "De procesregisseur handelt onder het gezag van de betreffende partij"


def norm(text: str) -> str:
    """Whitespace collapsed, no space after a hyphen (a line may break after "Zorg-")."""
    return re.sub(r"-\s+", "-", " ".join(text.split()))


def one_line(text: str) -> str:
    """pdftotext text as one normalised line, without the running header and page numbers."""
    text = re.sub(r"pagina \d+ van \d+", " ", text)
    text = re.sub(re.escape(HEADER) + r"(?: · Bijlage \d)?\n", " ", text)
    return norm(text)


def foreign_words(text: str) -> list[str]:
    return [w for w in FOREIGN if re.search(rf"\b{w}\b", text)]


@pytest.fixture(scope="module")
def zpack():
    return load_pack(PACK)


def signed(pack):
    parties = tuple(Party(p.organisation, p.representative, date(2025, 9, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    return covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 9, 8))


@pytest.fixture(scope="module")
def covenant(zpack):
    return render_pdf(zpack, "covenant", signed(zpack))


@pytest.fixture(scope="module")
def covenant_text(covenant):
    return pdf_text(covenant.pdf)


# --- manifest ------------------------------------------------------------------------

def test_manifest(zpack):
    assert zpack.name == PACK and zpack.title == TITLE and zpack.language == "nl"
    assert zpack.region == "Voorbeeldregio" and zpack.municipality == "gemeente Voorbeeldstad"
    assert (zpack.term.initial_years, zpack.term.renewal_years, zpack.term.notice_months) == (4, 1, 3)
    assert [(a.key, a.number, a.kind) for a in zpack.annexes] == [
        ("bijlage1", "Bijlage 1", "structural_declaration"),
        ("bijlage2", "Bijlage 2", "incidental_declaration"),
        ("bijlage3", "Bijlage 3", "text")]
    assert [f"{a.number} {a.title}" for a in zpack.annexes] == ANNEXES
    assert [a.key for a in form_annexes(zpack)] == ["bijlage1", "bijlage2"]     # no consent form
    for annex in zpack.annexes:
        assert annex.template is None or (zpack.path / annex.template).is_file()
    assert zpack.consent_signers == () and zpack.consent_categories == () and zpack.consent_recipients == ()
    with pytest.raises(Exception, match="consent"):
        zpack.document("consent")
    assert [(r.key, r.label) for r in zpack.roles] == [
        ("procesregisseur", "procesregisseur"), ("chair", "voorzitter"), ("coordinator", "coördinator")]
    assert all(r.organisations == ("Gemeente Voorbeeldstad",) for r in zpack.roles)
    partners = [p.organisation for p in zpack.founding_partners]
    assert partners[0] == "Gemeente Voorbeeldstad" and len(partners) == 7
    for kind in ("Politie", "Openbaar Ministerie", "Reclassering", "GGZ", "Veilig Thuis", "Raad voor de Kinderbescherming"):
        assert any(kind in p for p in partners), kind
    assert [c.key for c in zpack.case_participants] == ["betrokkene", "ouder_met_gezag"]
    assert zpack.meetings_on_request is True and zpack.mandate is False
    assert "(ernstige) overlast" in zpack.meeting_themes and zpack.age_bands == ("0-12", "12-18", "18-23", "23+")
    assert [a.name for a in zpack.areas] == ["Casusoverleg complexe casuïstiek"]
    assert pack_summary(zpack)["name"] == PACK


def test_case_life_keys_in_the_manifest(zpack):
    """The keys of the case-life contract (issue 10), as pack.settings holds them."""
    settings = zpack.settings
    assert settings["cases"]["procesregisseur"] is True
    assert settings["cases"]["procesregisseur_label"] == "procesregisseur"
    # not the resident's consent: the partners' own statutory tasks (the contract's
    # non-consent basis; the label says what it is)
    assert settings["cases"]["legal_basis"] == "shared_professional_secrecy"
    assert "art. 6 lid 1 sub e AVG" in settings["cases"]["legal_basis_label"]
    assert "min_age" not in settings["cases"]
    assert [(p["key"], p["label"], p["visible_to"]) for p in settings["phases"]] == [
        ("aanmelding", "1. Aanmelding en intake", ["bringer", "procesregisseur"]),
        ("triage", "2. Triage en voorbereiding casusoverleg", ["bringer", "procesregisseur"]),
        ("casusoverleg", "3. Casusoverleg", ["participants", "procesregisseur", "chair"]),
        ("afschaling", "4. Afschaling", ["bringer", "procesregisseur"]),
    ]
    assert all("deadlines" not in p for p in settings["phases"])
    assert [(r["key"], r["label"], r["ad_hoc"]) for r in settings["case_roles"]] == [
        ("expert", "expert/adviseur", False), ("informant", "informant", False),
        ("uitvoerder", "beoogde uitvoerder interventies", False)]
    assert settings["retention"] == {"from": "phase:afschaling", "archive_after_months": 6,
                                     "delete_after_months": 12, "exception_max_months": 6}
    assert settings["retention"]["from"].removeprefix("phase:") in {p["key"] for p in settings["phases"]}
    assert "tracks" not in settings


def test_parsed_case_life_when_the_loader_has_it(zpack):
    """Once registry/packs.py parses the contract's keys, they agree with the manifest."""
    if not hasattr(zpack, "phases"):
        pytest.skip("the loader does not parse [[phases]] yet")
    assert [(p.key, tuple(p.visible_to)) for p in zpack.phases] == [
        ("aanmelding", ("bringer", "procesregisseur")), ("triage", ("bringer", "procesregisseur")),
        ("casusoverleg", ("participants", "procesregisseur", "chair")), ("afschaling", ("bringer", "procesregisseur"))]
    assert [(r.key, r.ad_hoc) for r in zpack.case_roles] == [("expert", False), ("informant", False), ("uitvoerder", False)]
    assert (zpack.retention.anchor, zpack.retention.archive_after_months, zpack.retention.delete_after_months,
            zpack.retention.exception_max_months) == ("phase:afschaling", 6, 12, 6)
    assert zpack.case_rules.procesregisseur is True and zpack.case_rules.legal_basis != "consent"
    assert zpack.case_rules.min_age is None


# --- the covenant ---------------------------------------------------------------------

def test_articles_and_annexes_in_order(covenant_text):
    text = one_line(covenant_text)
    positions = [text.index(norm(a) + " ") for a in ARTICLES]
    assert positions == sorted(positions)
    pages = [one_line(p) for p in covenant_text.split("\f")]
    starts = [next(i for i, p in enumerate(pages) if p.startswith(norm(a))) for a in ANNEXES]
    assert starts == sorted(starts) and starts[0] > next(i for i, p in enumerate(pages) if ARTICLES[-1] in p)


def test_seed_text(covenant_text):
    text = one_line(covenant_text)
    assert [s for s in SEED_SENTENCES if norm(s) not in text] == []


def test_procesregisseur_mandate_article(covenant_text):
    text = one_line(covenant_text)
    assert norm(MANDATE) in text and norm(AUTHORITY) in text
    assert "het opschonen, archiveren en vernietigen van het procesregiedossier in de fase van afschaling" in text
    assert norm("Iedere casus heeft een procesregisseur; de procesregisseurs komen van het Zorg- en "
                "Veiligheidshuis Voorbeeldregio, ondergebracht bij de gemeente Voorbeeldstad.") in text


def test_access_per_phase_follows_the_manifest(covenant_text, zpack):
    layout = pdf_text(render_pdf(zpack, "covenant", signed(zpack)).pdf, layout=True)
    assert re.search(r"1\. Aanmelding en\s+de aanmeldende partner en de procesregisseur", layout)
    assert re.search(r"3\. Casusoverleg\s+de deelnemers aan het casusoverleg, de procesregisseur en de", layout)
    assert re.search(r"4\. Afschaling\s+de aanmeldende partner en de procesregisseur", layout)
    # the stages print the pack's months: an edited pack changes the text
    edited = dict(zpack.settings, retention={"from": "phase:afschaling", "archive_after_months": 3,
                                             "delete_after_months": 9, "exception_max_months": 4})
    import dataclasses
    html = render_html(dataclasses.replace(zpack, settings=edited), "covenant", signed(zpack))
    assert "Stap 1: 0-3 maanden" in html and "Stap 3: 9 maanden na besluit" in html and "maximaal 4 maanden" in html


def test_legal_basis_is_not_consent(covenant_text):
    text = one_line(covenant_text)
    assert "De gegevensdeling berust niet op toestemming van de betrokkene." in text
    assert "Toestemmingsformulier" not in text and "Bijlage 4" not in text


def test_parties_term_and_roles(covenant_text, zpack):
    text = one_line(covenant_text)
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door E. van der Berg," in text
    assert "Politie Eenheid Voorbeeld, vertegenwoordigd door P. de Groot," in text
    assert "(met mandaat)" not in text
    assert "geldt voor de duur van vier jaar" in text and "stilzwijgend telkens met één jaar verlengd" in text
    assert "opzegtermijn van drie maanden" in text
    assert "Dit convenant is in werking getreden op 8 september 2025." in text
    tables = (CaseTable("Casusoverleg complexe casuïstiek", "het casusoverleg complexe casuïstiek",
                        chair="R. Regisseur", coordinator="M. Manager"),)
    vm = covenant_from_pack(zpack, parties=signed(zpack).parties, tables=tables)
    layout = pdf_text(render_pdf(zpack, "covenant", vm, variant=None).pdf, layout=True)
    assert re.search(r"Voorzitter\s+Coördinator", layout)
    assert re.search(r"Casusoverleg complexe casuïstiek\s+R\. Regisseur\s+M\. Manager", layout)


def test_no_other_pack_in_the_text(covenant_text, zpack):
    assert foreign_words(covenant_text) == []
    for path in zpack.path.glob("*.*"):
        if path.suffix in (".html", ".toml", ".css", ".md"):
            body = path.read_text(encoding="utf-8")
            assert not any(w in body for w in ("Emmen", "Sedna", "Drenthe", "ggz-casusaanpak")), path.name


def test_pages_metadata_and_fonts(covenant, covenant_text):
    import pypdf
    reader = pypdf.PdfReader(io.BytesIO(covenant.pdf))
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


# --- the declarations ---------------------------------------------------------------

def test_declarations_filled(zpack):
    import pypdf
    structural = DeclarationDoc(kind="structural", table_name="Casusoverleg complexe casuïstiek",
                                person_name="S. Visser", organisation="Reclassering Nederland",
                                function="Reclasseringswerker", signed_on=date(2025, 9, 20))
    text = one_line(pdf_text(render_pdf(zpack, "declaration_structural", structural).pdf))
    assert norm(ANNEXES[0]) in text and "vaste deelnemer aan het casusoverleg Casusoverleg complexe casuïstiek" in text
    assert "Naam en voorletters: S. Visser" in text and "Datum: 20 september 2025" in text
    assert "Op de gegevens rust een strikte doelbinding." in text
    incidental = DeclarationDoc(kind="incidental", table_name="Casusoverleg complexe casuïstiek",
                                person_name="W. Woning", organisation="Woningcorporatie Voorbeeld",
                                function="Consulent", case_ref="ZVH-2025-017", signed_on=date(2025, 10, 1))
    rendered = render_pdf(zpack, "declaration_incidental", incidental)
    text = one_line(pdf_text(rendered.pdf))
    assert norm(ANNEXES[1]) in text and "Kenmerk casus: ZVH-2025-017" in text
    assert norm("Een niet convenantpartner kan in specifieke casussen deelnemer zijn aan een casusoverleg, "
                "mits dit noodzakelijk is, en mits deze zich conformeert aan de afspraken in het privacy-protocol.") in text
    assert len(pypdf.PdfReader(io.BytesIO(rendered.pdf)).pages) == 1
    with pytest.raises(jinja2.UndefinedError, match="wrong_kind"):
        render_html(zpack, "declaration_structural", incidental)


@pytest.mark.parametrize("kind,template", [("structural", "declaration_structural"),
                                           ("incidental", "declaration_incidental")])
def test_blank_declarations(zpack, kind, template):
    rendered = render_pdf(zpack, template, DeclarationDoc(kind=kind))
    text = one_line(pdf_text(rendered.pdf))
    assert "casusoverleg [naam casusoverleg]" in text and rendered.html.count('class="line"') >= 5
    assert foreign_words(text) == []


# --- DOCX, meeting check, signing pages -------------------------------------------------

def test_docx_matches_the_html_and_fills(zpack, tmp_path):
    spec = importlib.util.spec_from_file_location("build_docx_zvh", zpack.path / "build_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = docx.Document(str(module.build(tmp_path / "covenant.docx")))
    committed = docx.Document(str(zpack.path / "covenant.docx"))
    assert [p.text for p in fresh.paragraphs] == [p.text for p in committed.paragraphs]
    document = docx.Document(io.BytesIO(render_docx(zpack, "covenant_docx", signed(zpack))))
    texts = [p.text for p in document.paragraphs]
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door E. van der Berg," in texts
    assert any(t.startswith("Artikel 5. Bevoegdheidsverlening aan de procesregisseur") for t in texts)
    assert any(MANDATE in t for t in texts)
    assert any("Stap 2: 6-12 maanden na besluit tot afschaling." in t for t in texts)
    assert not any("{{" in t or "{%" in t for t in texts)
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[1][:3] == ["Gemeente Voorbeeldstad", "E. van der Berg", "1 september 2025"]


def test_meeting_check_and_signing_pages(zpack):
    from registry.meetings import AMSTERDAM, MeetingCheck
    from signatures.assembly import FinalView, SignerView

    check = MeetingCheck(meeting_id=2, table_id=1, table_name="Casusoverleg complexe casuïstiek",
                         starts_at=dt.datetime(2025, 10, 6, 14, 0, tzinfo=AMSTERDAM), location=None,
                         on=dt.date(2025, 10, 6), checked_at=dt.datetime(2025, 10, 5, 9, 0, tzinfo=AMSTERDAM),
                         warnings=(), cases=())
    text = one_line(pdf_text(render_pdf(zpack, "meeting_check", check, variant=None).pdf))
    assert "Casusoverleg complexe casuïstiek" in text
    assert "Grondslag voor gegevensdeling: wettelijke taak van de aanmeldende partner" in text
    assert "Toestemming (Bijlage 4)" not in text
    view = FinalView(kind="covenant", id=9, title=HEADER, version=1, sha256="cd" * 32,
                     completed_at="2025-09-08 12:00 UTC",
                     signers=[SignerView(name="E. van der Berg", role_nl="vertegenwoordiger", method="typed",
                                         signed_on="2025-09-01", identification="e-mail",
                                         organisation="Gemeente Voorbeeldstad", typed_name="E. van der Berg")])
    text = one_line(pdf_text(render_pdf(zpack, "signing_pages", view, variant=None).pdf))
    assert "Certificaat van voltooiing" in text and "E. van der Berg" in text
    assert foreign_words(text) == []


def test_the_api_lists_the_pack_and_its_blank_forms(api):
    found = {p["name"]: p for p in api.get("/api/v1/packs").json["packs"]}
    zvh = found[PACK]
    assert [r["key"] for r in zvh["table_roles"]] == ["procesregisseur", "chair", "coordinator"]
    assert [a["key"] for a in zvh["annexes"]] == ["bijlage1", "bijlage2", "bijlage3"]
    if "phases" in zvh:   # once GET /api/v1/packs says it (issue 10 contract)
        assert [p["key"] for p in zvh["phases"]] == ["aanmelding", "triage", "casusoverleg", "afschaling"]
        assert zvh["retention"] == {"from": "phase:afschaling", "archive_after_months": 6,
                                    "delete_after_months": 12, "exception_max_months": 6}
        assert zvh["min_age"] is None
    for key in ("bijlage1", "bijlage2"):
        blank = api.get(f"/api/v1/packs/{PACK}/forms/{key}.pdf")
        assert blank.status_code == 200 and blank.mimetype == "application/pdf"
        assert norm(f"Bijlage {key[-1]} Verklaring geheimhouding") in one_line(pdf_text(blank.data))
    assert api.get(f"/api/v1/packs/{PACK}/forms/bijlage3.pdf").status_code == 404   # a text annex
    assert api.get(f"/api/v1/packs/{PACK}/forms/bijlage4.pdf").status_code == 404   # no consent form
