"""The zorg-en-veiligheidshuis pack (issue 10 §5): a Zorg- en Veiligheidshuis covenant and
privacy protocol, model text after the seed shared/seeds/002 ("Verwerking van
persoonsgegevens bij complexe casuïstiek in de zorg- en veiligheidshuizen"). Its four
phases with who sees the case in each, the case roles, a procesregisseur per case, the
staged retention after the decision to de-escalate, the partners' authorisation of the
procesregisseur as an article; every document rendered and read back with pdftotext,
the DOCX rebuilt and filled."""

from __future__ import annotations

import dataclasses
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
from registry.packs import Retention, form_annexes, pack_summary
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
    assert settings["cases"]["legal_basis"] == "statutory_task"
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


def test_the_loader_parses_the_case_life_keys(zpack):
    """registry/packs.py parses the contract's keys as the manifest has them."""
    assert [(p.key, tuple(p.visible_to)) for p in zpack.phases] == [
        ("aanmelding", ("bringer", "procesregisseur")), ("triage", ("bringer", "procesregisseur")),
        ("casusoverleg", ("participants", "procesregisseur", "chair")), ("afschaling", ("bringer", "procesregisseur"))]
    assert [(r.key, r.ad_hoc) for r in zpack.case_roles] == [("expert", False), ("informant", False), ("uitvoerder", False)]
    assert (zpack.retention.anchor, zpack.retention.archive_after_months, zpack.retention.delete_after_months,
            zpack.retention.exception_max_months) == ("phase:afschaling", 6, 12, 6)
    assert zpack.case_rules.procesregisseur is True and zpack.case_rules.legal_basis != "consent"
    assert zpack.case_rules.legal_basis_label.startswith("wettelijke taak van de aanmeldende partner")
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
    edited = Retention(anchor="phase:afschaling", archive_after_months=3, delete_after_months=9, exception_max_months=4)
    html = render_html(dataclasses.replace(zpack, retention=edited), "covenant", signed(zpack))
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
    assert [p["key"] for p in zvh["phases"]] == ["aanmelding", "triage", "casusoverleg", "afschaling"]
    assert zvh["retention"] == {"from": "phase:afschaling", "archive_after_months": 6,
                                "delete_after_months": 12, "exception_max_months": 6}
    assert zvh["min_age"] is None and zvh["legal_basis"] == "statutory_task"
    for key in ("bijlage1", "bijlage2"):
        blank = api.get(f"/api/v1/packs/{PACK}/forms/{key}.pdf")
        assert blank.status_code == 200 and blank.mimetype == "application/pdf"
        assert norm(f"Bijlage {key[-1]} Verklaring geheimhouding") in one_line(pdf_text(blank.data))
    assert api.get(f"/api/v1/packs/{PACK}/forms/bijlage3.pdf").status_code == 404   # a text annex
    assert api.get(f"/api/v1/packs/{PACK}/forms/bijlage4.pdf").status_code == 404   # no consent form


# --- end to end through the API (issue 10 §5) -------------------------------------------

def _person(api, name: str, organisation_id: int, function: str = "Medewerker") -> int:
    response = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": organisation_id,
                                           "function": function, "email": f"{name.split()[-1].lower()}@example.org"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _client_for(app_session, client, email: str, grants=(), person_id=None):
    """An API client for a new account with these grants and this linked person."""
    from registry import accounts
    from tests.conftest import Api

    user = accounts.create_user(app_session, email, "een lang wachtwoord", name="Gebruiker", person_id=person_id,
                                grants=list(grants), created_by="test")
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return Api(client, token)


def test_zvh_end_to_end(api, app_session, client):
    """A ZVH covenant with its partners and casusoverleg; a case through the four phases,
    seen in each only by whom the pack says; participants in the pack's roles; the
    documents rendered; a case that does not belong deleted at once."""
    cov = api.post("/api/v1/covenants", {"pack": PACK, "title": TITLE, "region": "Voorbeeldregio"})
    assert cov.status_code == 201, cov.json
    covenant_id = cov.json["id"]
    orgs = {name: api.post("/api/v1/organisations", {"name": name}).json["id"]
            for name in ("Gemeente Voorbeeldstad", "Politie Eenheid Voorbeeld", "Reclassering Nederland",
                         "GGZ Voorbeeldregio", "Veilig Thuis Voorbeeldregio")}
    gemeente, politie, reclassering, ggz, veilig_thuis = orgs.values()
    reps = {org: _person(api, f"Vertegenwoordiger {i}", org, "Bestuurder") for i, org in enumerate(orgs.values())}
    for i, (org, rep) in enumerate(reps.items()):
        added = api.post(f"/api/v1/covenants/{covenant_id}/partners",
                         {"organisation_id": org, "representative_id": rep, "signed_on": f"2026-01-0{i + 1}"})
        assert added.status_code == 201, added.json
    assert added.json["covenant"]["in_force_on"] == "2026-01-05"

    regisseur = _person(api, "Rob Regisseur", gemeente, "Procesregisseur")
    voorzitter = _person(api, "Carla Voorzitter", gemeente, "Procesregisseur")
    manager = _person(api, "Mona Manager", gemeente, "Manager Zorg- en Veiligheidshuis")
    agent = _person(api, "Paul Wijkagent", politie, "Wijkagent")
    werker = _person(api, "Rik Reclassering", reclassering, "Reclasseringswerker")
    psychiater = _person(api, "Gea Psychiater", ggz, "Psychiater")
    # the procesregisseur comes from the organisation hosting the ZVH (the pack's rule)
    wrong = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casusoverleg ZVH",
                                        "area": "Casusoverleg complexe casuïstiek", "roles": {"procesregisseur": agent}})
    assert wrong.status_code == 422 and "roles.procesregisseur" in wrong.json["error"]["fields"]
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casusoverleg ZVH",
                                        "area": "Casusoverleg complexe casuïstiek", "chair_id": voorzitter,
                                        "coordinator_id": manager, "roles": {"procesregisseur": regisseur}})
    assert table.status_code == 201, table.json
    table_id = table.json["id"]
    for person in (werker, psychiater):
        declared = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person, "table_id": table_id,
                                                     "signed_on": "2026-01-20"})
        assert declared.status_code == 201, declared.json
    # the ZVH shares on the partners' statutory task: no consent form at its tables
    consent = api.post("/api/v1/consents", {"table_id": table_id, "case_ref": "ZVH-X", "signed_by": "resident",
                                            "resident_name": "Iemand", "resident_birth_date": "1980-01-01",
                                            "purpose": "x", "categories": [], "recipients": []})
    assert consent.status_code == 422 and "wettelijke taak" in consent.json["error"]["fields"]["table_id"]

    # phase 1: aanmelding by a partner's wijkagent
    opened = api.post("/api/v1/cases", {"table_id": table_id, "reference": "ZVH-2026-001", "opened_on": "2026-02-02",
                                        "brought_by_person_id": agent})
    assert opened.status_code == 201, opened.json
    case = opened.json
    assert (case["phase"], case["opened_on"], case["closed_on"]) == ("aanmelding", "2026-02-02", None)
    path = f"/api/v1/cases/{case['id']}"

    bringer = _client_for(app_session, client, "politie@example.org", [{"role": "partner_contact", "organisation_id": politie}])
    procesregisseur = _client_for(app_session, client, "rob@example.org", (), regisseur)
    chair = _client_for(app_session, client, "carla@example.org", [{"role": "chair", "table_id": table_id}], voorzitter)
    coordinator = _client_for(app_session, client, "mona@example.org", [{"role": "coordinator", "table_id": table_id}], manager)
    participant = _client_for(app_session, client, "rik@example.org", (), werker)
    other = _client_for(app_session, client, "vt@example.org", [{"role": "partner_contact", "organisation_id": veilig_thuis}])

    def who_sees() -> set[str]:
        clients = {"bringer": bringer, "procesregisseur": procesregisseur, "chair": chair,
                   "coordinator": coordinator, "participant": participant, "other": other}
        seen = {name for name, c in clients.items() if c.get(path).status_code == 200}
        for name, c in clients.items():
            if name not in seen:
                assert c.get(path).status_code == 403, name
        return seen

    assert who_sees() == {"bringer", "procesregisseur"}
    refused = coordinator.get(path).json["error"]["message"]
    assert "1. Aanmelding en intake" in refused and "de aanmelder" in refused and "de procesregisseur" in refused

    # phase 2: triage by the procesregisseur, on behalf of the aanmelder
    moved = procesregisseur.post(f"{path}/phase", {"phase": "triage", "on": "2026-02-09", "reason": "past in het ZVH"})
    assert moved.status_code == 200, moved.json
    assert moved.json["phase"] == "triage" and moved.json["due"] == []
    assert who_sees() == {"bringer", "procesregisseur"}
    for person, role in ((werker, "uitvoerder"), (psychiater, "expert")):
        joined = procesregisseur.post(f"{path}/participants", {"person_id": person, "role": role, "on": "2026-02-16"})
        assert joined.status_code == 201 and joined.json["ad_hoc"] is False, joined.json
    bad_role = procesregisseur.post(f"{path}/participants", {"person_id": agent, "role": "adhoc"})
    assert bad_role.status_code == 422 and "expert" in bad_role.json["error"]["fields"]["role"]
    assert procesregisseur.post(f"{path}/sharing-basis", {"organisation_id": politie, "basis": "own_task"}).status_code == 200
    assert who_sees() == {"bringer", "procesregisseur"}            # participants only from phase 3

    # phase 3: casusoverleg, seen by its participants, the procesregisseur and the chair
    assert procesregisseur.post(f"{path}/phase", {"phase": "casusoverleg", "on": "2026-03-02"}).status_code == 200
    assert who_sees() == {"participant", "procesregisseur", "chair"}
    meeting = api.post("/api/v1/meetings", {"table_id": table_id, "starts_at": "2026-03-05T10:00", "on_request": True,
                                            "cases": [{"case_ref": "ZVH-2026-001", "theme": "(ernstige) overlast",
                                                       "age_band": "23+", "invitee_ids": [werker, psychiater]}]})
    assert meeting.status_code == 201, meeting.json
    bad_theme = api.post("/api/v1/meetings", {"table_id": table_id, "starts_at": "2026-03-06T10:00",
                                              "cases": [{"case_ref": "ZVH-2026-001", "theme": "jeugd",
                                                         "invitee_ids": [werker]}]})
    assert bad_theme.status_code == 422
    checked = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    assert [i["allowed"] for i in checked["cases"][0]["invitees"]] == [True, True]
    check_pdf = api.get(f"/api/v1/meetings/{meeting.json['id']}/check.pdf")
    assert check_pdf.status_code == 200
    check_text = norm(pdf_text(check_pdf.data))
    assert "Rik Reclassering" in check_text and "wettelijke taak van de aanmeldende partner" in check_text

    # phase 4: afschaling — back to the procesregisseur and the aanmelder
    down = procesregisseur.post(f"{path}/phase", {"phase": "afschaling", "on": "2026-06-01",
                                                  "reason": "aanpak voldoende uitgekristalliseerd"})
    assert down.status_code == 200 and down.json["phase"] == "afschaling"
    assert who_sees() == {"bringer", "procesregisseur"}
    file = api.get(path).json
    assert [(e["kind"], e["from_phase"], e["to_phase"], e["on"]) for e in file["events"]] == [
        ("opened", None, "aanmelding", "2026-02-02"), ("phase", "aanmelding", "triage", "2026-02-09"),
        ("phase", "triage", "casusoverleg", "2026-03-02"), ("phase", "casusoverleg", "afschaling", "2026-06-01")]
    assert [(p["name"], p["role"]) for p in file["participants"]] == [("Rik Reclassering", "uitvoerder"),
                                                                      ("Gea Psychiater", "expert")]
    assert [(b["organisation_id"], b["basis"]) for b in file["sharing_bases"]] == [(politie, "own_task")]
    closed = procesregisseur.post(f"{path}/closure", {"on": "2026-06-15", "reason": "deescalated"})
    assert closed.status_code == 200 and closed.json["closed_on"] == "2026-06-15", closed.json

    # a non-partner joins one case with Bijlage 2; a case that does not belong is deleted at once
    corporatie = api.post("/api/v1/organisations", {"name": "Woningcorporatie Voorbeeld"}).json["id"]
    consulent = _person(api, "Wim Woning", corporatie, "Consulent")
    other_case = api.post("/api/v1/cases", {"table_id": table_id, "reference": "ZVH-2026-002", "opened_on": "2026-04-01",
                                            "brought_by_person_id": agent}).json
    incidental = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": consulent, "table_id": table_id,
                                                   "case_ref": "ZVH-2026-002", "signed_on": "2026-04-02"})
    assert incidental.status_code == 201, incidental.json
    declaration_pdf = f"/api/v1/declarations/{incidental.json['id']}/document.pdf"
    text = one_line(pdf_text(api.get(declaration_pdf).data))
    assert norm(ANNEXES[1]) in text and "Wim Woning" in text and "Kenmerk casus: ZVH-2026-002" in text
    gone = api.post(f"/api/v1/cases/{other_case['id']}/closure", {"on": "2026-04-03", "reason": "not_belonging"})
    assert gone.status_code == 200 and gone.json["retention_stage"] == "erased"
    assert api.get(f"/api/v1/cases/{other_case['id']}").status_code == 410
    assert "ZVH-2026-002" not in one_line(pdf_text(api.get(declaration_pdf).data))   # only administration stays

    # the documents as printed
    pdf = api.get(f"/api/v1/covenants/{covenant_id}/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = one_line(pdf_text(pdf.data))
    assert "Gemeente Voorbeeldstad, vertegenwoordigd door Vertegenwoordiger 0," in text
    assert "Artikel 5. Bevoegdheidsverlening aan de procesregisseur (mandaat en machtiging)" in text
    assert norm(MANDATE) in text and "Dit convenant is in werking getreden op 5 januari 2026." in text
    assert re.search(r"Casusoverleg complexe casuïstiek Carla Voorzitter Mona Manager", text)
    docx_file = api.get(f"/api/v1/covenants/{covenant_id}/document.docx")
    assert docx_file.status_code == 200
    texts = [p.text for p in docx.Document(io.BytesIO(docx_file.data)).paragraphs]
    assert "Reclassering Nederland, vertegenwoordigd door Vertegenwoordiger 2," in texts
