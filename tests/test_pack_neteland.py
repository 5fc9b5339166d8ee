"""The neteland-casusoverleg pack (issue 10 §5): the charter of the Neteland casusoverleg
(Belgium, shared/seeds/001) — adults only, information shared under art. 458ter Sw.
(shared professional secrecy) instead of consent, the fixed partners of the expert
table and ad hoc partners per dossier, a triage table, four phases, three sporen and the
6-month terms of the SAMEN-regisseur.

The legal basis is a rule of the core (registry/packs.py, registry/consents.py,
registry/meetings.py): no consent can be recorded at such a table (API and web form: 422
naming ``table_id``), no consent form is offered, and the chair's check shows the basis
instead of a consent status, without consent warnings. Documents are rendered and read
back with pdftotext."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import io
import re
from datetime import date

import docx
import jinja2
import pypdf
import pytest

from registry import consents as consent_rules
from registry import packs, rules
from registry.documents import (DeclarationDoc, Party, covenant_from_pack, load_pack, render_docx, render_html,
                                render_pdf)
from registry.errors import ValidationError
from tests.readback import pdf_text

PACK = "neteland-casusoverleg"
TITLE = "Charter casusoverleg"
HEADER = "Charter casusoverleg Neteland"
LABEL = "gedeeld beroepsgeheim (art. 458ter Sw.)"
REFUSAL = ("Deze tafel deelt informatie op grond van gedeeld beroepsgeheim (art. 458ter Sw.); "
           "een toestemmingsformulier is niet van toepassing.")
FIXED_PARTNERS = ["Lokale politie Neteland", "Parket van de procureur des Konings Antwerpen", "Lokale besturen Neteland",
                  "CAW De Kempen", "CGG", "Justitiehuis"]
FOREIGN = ("Emmen", "Sedna", "Drenthe", "Voorbeeldstad", "gemeente", "Jeugdwet", "WGBO", "AVG")

ARTICLES = ["Artikel 1. Doelgroep", "Artikel 2. Wat?", "Artikel 3. Hoe?", "Artikel 4. Fasen en sporen",
            "Artikel 5. Gedeeld beroepsgeheim", "Artikel 6. Deelnemers en verklaringen van geheimhouding",
            "Artikel 7. De SAMEN-regisseur en de termijnen", "Artikel 8. Bewaring", "Artikel 9. Looptijd"]
ANNEXES = ["Bijlage 1 Verklaring van geheimhouding deelnemer vaste partner",
           "Bijlage 2 Verklaring van geheimhouding ad hoc partner",
           "Bijlage 3 De vier fasen van het casusoverleg"]

# Sentences of the seed the charter prints word for word (whitespace normalised).
SEED_SENTENCES = [
    "Meerderjarige kwetsbare personen uit de regio Neteland waarvan de fysieke en/ of psychische integriteit of die "
    "van anderen in gevaar is.",
    "Het casusoverleg is een gezamenlijke bespreking en multidisciplinaire uitwisseling van informatie die tot een "
    "gedragen besluit van partners leidt.",
    "Op het casusoverleg kunnen, onder protocol 458ter SW, alle betrokken partners (waaronder parket, politie, "
    "hulpverleners, lokaal bestuur) informatie delen.",
    "één van de partners wordt aangeduid om verdere afhandeling in handen te nemen en te superviseren.",
    "De aangemelde dossiers voor het casusoverleg worden door de SAMEN regisseur op de triagetafel besproken. Aan "
    "deze tafel nemen een parketcriminoloog en parketjurist deel.",
    "Na screening door het triageteam plaatst de SAMEN-regisseur de aanmelding op de agenda van de expertentafel.",
    "Maandelijks komt de expertentafel samen voor een eerste infodeling en bespreking van de nieuwe gescreende "
    "dossiers en opvolging van de terugkomdossiers.",
    "Deze expertentafel bestaat uit volgende vaste partners: • lokale politie Neteland • parket van de procureur des "
    "Konings Antwerpen • lokale besturen Neteland • CAW De Kempen • CGG • Justitiehuis",
    "Afhankelijk van de besproken dossiers, kan de expertentafel ad hoc partners betrekken.",
    "Het casusoverleg doorloopt 4 verschillende fasen:",
    "Voor een dossier wordt aangemeld, gaat de aanmelder na of alle mogelijkheden binnen de eigen werking voldoende "
    "werden verkend en getoetst op hun haalbaarheid.",
    "Na bespreking op de triagetafel stuurt de SAMEN regisseur een uitnodiging voor het volgende casusoverleg naar de "
    "vaste partners van de expertentafel.",
    "Er gebeurt een analyse met een multilateraal gedragen besluit als resultaat.",
    "De casusregie is steeds in handen van de SAMEN-regisseur die verantwoordelijk is voor de coördinatie en "
    "opvolging van de uitvoering van het plan van aanpak.",
    "spoor 1: de aanmelder ontvangt een intersectoraal advies en volgt het dossier verder op binnen de eigen werking.",
    "spoor 2: het dossier wordt verder opgevolgd door één van de andere partners die terugkoppelt aan de aanmelder",
    "spoor 3: het dossier stroomt door naar een SAMEN-traject waar via zorgoverleg-momenten de betrokken "
    "hulpverleners en de cliënt mee aan tafel gaan.",
    "Het plan van aanpak is een organisch plan dat steeds bijgestuurd wordt.",
    "De SAMEN-regisseur brengt na uiterlijk 6 maanden het dossier terug op de expertentafel. Dit kan ook sneller in "
    "het geval van nieuwe problematiek, escalatie van de situatie, wanneer aanpassing van het plan van aanpak nodig is.",
    "Ten vroegste 6 maanden na het opstellen van het plan van aanpak kan overgegaan worden naar passieve casusregie.",
    "Na 6 maanden passieve casusregie neemt de SAMEN-regisseur zelf contact op met de betrokken diensten en de "
    "cliënten.",
    "De levenskwaliteit van de cliënt is verbeterd;",
    "De veiligheid voor cliënt en omgeving is nog steeds geïnstalleerd.",
    "Ook kan de onmogelijkheid tot verdere behandeling worden vastgesteld.",
]


def one_line(text: str) -> str:
    """pdftotext text as one line without the page furniture (header, page numbers)."""
    text = re.sub(r"pagina \d+ van \d+", " ", text)
    text = re.sub(re.escape(HEADER) + r"(?: · Bijlage \d)?\n", " ", text)
    return " ".join(re.sub(r"(\w)-\n(\w)", r"\1-\2", text).split())


def read_pdf(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


@pytest.fixture(scope="module")
def npack():
    return load_pack(PACK)


def signed(pack):
    parties = tuple(Party(p.organisation, p.representative, date(2025, 9, 1 + i))
                    for i, p in enumerate(pack.founding_partners))
    return covenant_from_pack(pack, parties=parties, in_force_on=date(2025, 9, 8))


@pytest.fixture(scope="module")
def covenant(npack):
    return render_pdf(npack, "covenant", signed(npack))


@pytest.fixture(scope="module")
def covenant_text(covenant):
    return pdf_text(covenant.pdf)


# --- the manifest: Belgian, adults only, art. 458ter, phases, tracks, roles --------------------

def test_manifest(npack):
    assert npack.name == PACK and npack.language == "nl" and npack.region == "Neteland"
    assert npack.municipality == "lokale besturen Neteland"
    cases = npack.settings["cases"]
    assert cases == {"legal_basis": "shared_professional_secrecy", "legal_basis_label": LABEL, "min_age": 18,
                     "procesregisseur": True, "procesregisseur_label": "SAMEN-regisseur"}
    assert [(a.key, a.number, a.kind) for a in npack.annexes] == [
        ("bijlage1", "Bijlage 1", "structural_declaration"), ("bijlage2", "Bijlage 2", "incidental_declaration"),
        ("bijlage3", "Bijlage 3", "text")]
    assert [f"{a.number} {a.title}" for a in npack.annexes] == ANNEXES
    assert "consent" not in dict(npack.documents)
    assert not npack.consent_signers and not npack.consent_categories and not npack.consent_recipients
    assert [p.organisation for p in npack.founding_partners] == FIXED_PARTNERS
    assert [a.name for a in npack.areas] == ["Expertentafel", "Triagetafel"]
    roles = {r.key: r for r in npack.roles}
    assert set(roles) == {"chair", "coordinator", "procesregisseur"}
    assert roles["procesregisseur"].label == "SAMEN-regisseur"
    assert roles["procesregisseur"].organisations == ("Lokale besturen Neteland",)
    assert list(roles["chair"].organisations) == FIXED_PARTNERS
    assert all(rules.age_band_bounds(band)[0] >= 18 for band in npack.age_bands)


def test_phases_deadlines_tracks_roles_and_retention(npack):
    phases = npack.phases
    assert [p.key for p in phases] == ["aanmelding", "dossiervorming_weging", "uitvoering", "afsluiting"]
    assert [p.label for p in phases][:3] == ["Aanmelding", "Dossiervorming en weging",
                                             "Aanduiding verantwoordelijke en uitvoering"]
    assert phases[0].visible_to == ("bringer", "procesregisseur")             # before the expert table
    assert all("participants" in p.visible_to for p in phases[1:])
    assert phases[0].deadlines == () and phases[1].deadlines == ()
    assert [(d.months, d.kind) for d in phases[2].deadlines] == [(6, "due"), (6, "not_before")]
    assert "expertentafel" in phases[2].deadlines[0].label
    assert "passieve casusregie" in phases[2].deadlines[1].label
    assert [(d.months, d.kind) for d in phases[3].deadlines] == [(6, "not_before")]
    assert [(r.key, r.ad_hoc) for r in npack.case_roles] == [("vaste_partner", False), ("ad_hoc_partner", True)]
    assert [t.key for t in npack.tracks] == ["1", "2", "3"]
    assert "intersectoraal advies" in npack.tracks[0].label and "SAMEN-traject" in npack.tracks[2].label
    assert npack.retention == packs.Retention(anchor="closed", archive_after_months=None, delete_after_months=12,
                                              exception_max_months=6)
    assert npack.case_rules == packs.CaseRules(legal_basis="shared_professional_secrecy", legal_basis_label=LABEL,
                                               min_age=18, procesregisseur=True,
                                               procesregisseur_label="SAMEN-regisseur")


def test_legal_basis_accessors(npack):
    assert packs.legal_basis(npack) == "shared_professional_secrecy"
    assert packs.legal_basis_label(npack) == LABEL
    assert not packs.consent_applies(npack)
    emmen = load_pack("emmen-casustafel")
    assert packs.legal_basis(emmen) == "consent" and packs.consent_applies(emmen)
    assert packs.legal_basis_label(emmen).startswith("toestemming van de inwoner")
    assert packs.legal_basis(None) == "consent" and packs.consent_applies(None)
    # a pack stating the basis without its own label gets the default one
    bare = dataclasses.replace(emmen, case_rules=packs._case_rules({"legal_basis": "shared_professional_secrecy"}))
    assert packs.legal_basis(bare) == "shared_professional_secrecy"
    assert packs.legal_basis_label(bare) == "gedeeld beroepsgeheim" == packs.LEGAL_BASIS_LABELS[packs.legal_basis(bare)]
    assert consent_rules.no_consent_reason(npack) == REFUSAL and consent_rules.no_consent_reason(emmen) is None
    with pytest.raises(ValidationError) as refused:
        consent_rules.refuse_without_consent(npack)
    assert refused.value.fields == {"table_id": REFUSAL}


def test_no_consent_form_is_offered(npack):
    assert [a.key for a in packs.form_annexes(npack)] == ["bijlage1", "bijlage2"]
    # even a pack that carries a consent annex offers none once its basis is not consent
    emmen = load_pack("emmen-casustafel")
    secrecy = dataclasses.replace(emmen, case_rules=packs.CaseRules(legal_basis="shared_professional_secrecy"))
    assert "consent" in {a.kind for a in packs.form_annexes(emmen)}
    assert "consent" not in {a.kind for a in packs.form_annexes(secrecy)}


# --- the charter --------------------------------------------------------------------------------

def test_articles_and_annexes_in_order(covenant_text):
    positions = [covenant_text.index(a + "\n") for a in ARTICLES]
    assert positions == sorted(positions)
    pages = [one_line(p) for p in covenant_text.split("\f")]
    starts = [next(i for i, p in enumerate(pages) if p.startswith(a)) for a in ANNEXES]
    assert starts == sorted(starts) and starts[0] > next(i for i, p in enumerate(pages) if ARTICLES[-1] in p)


def test_seed_text_word_for_word(covenant_text):
    text = one_line(covenant_text)
    assert [s for s in SEED_SENTENCES if s not in text] == []


def test_legal_basis_adults_only_and_no_consent_form(covenant_text):
    text = one_line(covenant_text)
    assert f"Op het casusoverleg wordt informatie gedeeld op grond van {LABEL}, niet op grond van toestemming" in text
    assert "Het casusoverleg gebruikt daarom geen toestemmingsformulier." in text
    assert "alleen dossiers van personen van 18 jaar of ouder; een dossier van een minderjarige wordt niet aangemeld" in text
    assert "Toestemmingsformulier" not in text and "[NAAM" not in text
    assert "de volgende tafels: de expertentafel en de triagetafel." in text
    assert ("twaalf maanden na het afsluiten van het dossier verwijderd" in text
            and "ten hoogste zes maanden later" in text)
    assert "geldt voor drie jaar. Daarna wordt het stilzwijgend telkens met één jaar verlengd." in text
    assert "opzegtermijn van drie maanden" in text
    # the seed's contact is an office, not a person's phone number or e-mail
    assert "Molenvest 19 – 2200 Herentals" in text and "@" not in text and "0499" not in text


def test_parties_and_signatures(covenant, covenant_text, npack):
    text = one_line(covenant_text)
    for partner in npack.founding_partners:
        assert f"{partner.organisation}, vertegenwoordigd door {partner.representative}," in text
    layout = pdf_text(covenant.pdf, layout=True)
    assert re.search(r"Vaste partner\s+Vertegenwoordigd\s+Datum\s+Handtekening", layout)
    assert re.search(r"CAW De Kempen\s+D\. Jacobs\s+4 september 2025", layout)
    assert "Dit charter is in werking getreden op 8 september 2025." in text


def test_pages_metadata_fonts_and_nothing_foreign(covenant, covenant_text, npack):
    reader = read_pdf(covenant.pdf)
    pages = [p for p in covenant_text.split("\f") if p.strip()]
    assert len(pages) == len(reader.pages) and 6 <= len(pages) <= 12
    for number, page in enumerate(pages, 1):
        assert f"pagina {number} van {len(pages)}" in page
        assert page.lstrip().startswith(HEADER)
    assert reader.metadata.title == HEADER
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            assert "Pack-Sans" in str(font.get_object()["/BaseFont"])
    assert [w for w in FOREIGN if re.search(rf"\b{w}\b", covenant_text)] == []
    for path in npack.path.glob("*.*"):
        if path.suffix in (".html", ".toml", ".css"):
            assert not any(w in path.read_text(encoding="utf-8") for w in ("Emmen", "Voorbeeldstad", "GGZ")), path.name


# --- the declarations ----------------------------------------------------------------------------

def test_declarations_filled(npack):
    structural = DeclarationDoc(kind="structural", table_name="Expertentafel", person_name="H. Wouters",
                                organisation="CAW De Kempen", function="maatschappelijk werker",
                                signed_on=date(2025, 9, 20), place="Herentals")
    rendered = render_pdf(npack, "declaration_structural", structural)
    text = one_line(pdf_text(rendered.pdf))
    assert ANNEXES[0] in text and "deelneemt aan Expertentafel van het casusoverleg" in text
    assert "Naam en voorletters: H. Wouters" in text and "Datum: 20 september 2025" in text
    assert ("tot geheimhouding verplicht is wat betreft de tijdens het overleg meegedeelde geheimen, en weet dat wie "
            "dit geheim schendt, gestraft wordt met de straffen bepaald in artikel 458 van het Strafwetboek") in text
    assert LABEL in text and len(read_pdf(rendered.pdf).pages) == 1
    incidental = DeclarationDoc(kind="incidental", table_name="Expertentafel", person_name="G. Claes",
                                organisation="OCMW Herentals", function="maatschappelijk werker",
                                case_ref="NET-2026-004", signed_on=date(2026, 2, 3))
    rendered = render_pdf(npack, "declaration_incidental", incidental)
    text = one_line(pdf_text(rendered.pdf))
    assert ANNEXES[1] in text and "De verklaring geldt alleen voor het dossier hieronder." in text
    assert "Kenmerk dossier: NET-2026-004" in text and "Ad hoc partner: G. Claes" in text
    assert len(read_pdf(rendered.pdf).pages) == 1
    with pytest.raises(jinja2.UndefinedError, match="wrong_kind"):
        render_html(npack, "declaration_structural", incidental)


@pytest.mark.parametrize("kind,template", [("structural", "declaration_structural"),
                                           ("incidental", "declaration_incidental")])
def test_blank_declarations(npack, kind, template):
    rendered = render_pdf(npack, template, DeclarationDoc(kind=kind))
    text = one_line(pdf_text(rendered.pdf))
    assert rendered.html.count('class="line"') >= 5 and "458ter" in text
    assert [w for w in FOREIGN if re.search(rf"\b{w}\b", text)] == []


def test_the_consent_document_does_not_exist(npack):
    with pytest.raises(Exception, match="consent"):
        render_html(npack, "consent", None)


# --- DOCX, meeting check, signing pages --------------------------------------------------------

def test_docx_matches_the_html_and_fills(npack, tmp_path):
    spec = importlib.util.spec_from_file_location("build_docx_neteland", npack.path / "build_docx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fresh = docx.Document(str(module.build(tmp_path / "covenant.docx")))
    committed = docx.Document(str(npack.path / "covenant.docx"))
    assert [p.text for p in fresh.paragraphs] == [p.text for p in committed.paragraphs]
    document = docx.Document(io.BytesIO(render_docx(npack, "covenant_docx", signed(npack))))
    texts = [p.text for p in document.paragraphs]
    assert "CAW De Kempen, vertegenwoordigd door D. Jacobs," in texts
    assert any("de volgende tafels: de expertentafel en de triagetafel." in t for t in texts)
    assert any(LABEL in t for t in texts)
    assert not any("{{" in t or "{%" in t for t in texts)
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[1][:3] == ["Lokale politie Neteland", "A. Peeters", "1 september 2025"]


def test_meeting_check_prints_the_legal_basis(npack):
    from registry.meetings import AMSTERDAM, CaseCheck, InviteeCheck, MeetingCheck

    coverage = rules.legal_basis_coverage("shared_professional_secrecy", LABEL)
    invitee = InviteeCheck(7, "H. Wouters", 3, "CAW De Kempen", True, "structural",
                           (rules.Reason("bijlage1_signed", "Bijlage 1 getekend op 2025-09-20."),), coverage, ())
    check = MeetingCheck(meeting_id=2, table_id=1, table_name="Expertentafel",
                         starts_at=dt.datetime(2025, 10, 6, 14, 0, tzinfo=AMSTERDAM), location="Herentals",
                         on=dt.date(2025, 10, 6), checked_at=dt.datetime(2025, 10, 5, 9, 0, tzinfo=AMSTERDAM),
                         warnings=(), cases=(CaseCheck("NET-2025-001", "nieuw dossier", "26-64", (invitee,)),),
                         legal_basis="shared_professional_secrecy", legal_basis_label=LABEL)
    text = one_line(pdf_text(render_pdf(npack, "meeting_check", check, variant=None).pdf))
    assert f"Informatie wordt gedeeld op grond van {LABEL}; een toestemmingsformulier is niet van toepassing." in text
    assert "Grondslag informatiedeling" in text and "vaste partner (Bijlage 1)" in text
    assert text.count(LABEL) >= 2 and "Toestemming" not in text
    assert "Dossier NET-2025-001 · nieuw dossier · leeftijd 26-64" in text


def test_signing_pages(npack):
    from signatures.assembly import FinalView, SignerView

    view = FinalView(kind="covenant", id=9, title=HEADER, version=1, sha256="cd" * 32,
                     completed_at="2025-09-08 12:00 UTC",
                     signers=[SignerView(name="A. Peeters", role_nl="vertegenwoordiger", method="typed",
                                         signed_on="2025-09-01", identification="e-mail",
                                         organisation="Lokale politie Neteland", typed_name="A. Peeters")])
    text = one_line(pdf_text(render_pdf(npack, "signing_pages", view, variant=None).pdf))
    assert "Certificaat van voltooiing" in text and "A. Peeters" in text


# --- through the API and the web: no consent, the basis in the check ------------------------------

def _org(api, name: str) -> int:
    answer = api.post("/api/v1/organisations", {"name": name})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def _person(api, name: str, organisation_id: int, email: str | None = None) -> int:
    answer = api.post("/api/v1/people", {"name": name, "initials": name[0] + ".", "organisation_id": organisation_id,
                                         "function": "medewerker", **({"email": email} if email else {})})
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def world(api) -> dict:
    """The charter in force with three fixed partners, an expert table with its chair,
    coordinator and SAMEN-regisseur, and an ad hoc partner's organisation."""
    cov = api.post("/api/v1/covenants", {"pack": PACK, "title": TITLE, "region": "Neteland"})
    assert cov.status_code == 201, cov.json
    assert cov.json["municipality"] == "lokale besturen Neteland"
    assert cov.json["areas"] == ["Expertentafel", "Triagetafel"]
    cid = cov.json["id"]
    orgs = {name: _org(api, name) for name in ("Lokale politie Neteland", "Lokale besturen Neteland", "CAW De Kempen")}
    for i, (name, org) in enumerate(orgs.items()):
        rep = _person(api, f"Vertegenwoordiger {i}", org)
        added = api.post(f"/api/v1/covenants/{cid}/partners",
                         {"organisation_id": org, "representative_id": rep, "signed_on": f"2025-09-0{i + 1}"})
        assert added.status_code == 201, added.json
    assert added.json["covenant"]["in_force_on"] == "2025-09-03"     # the last fixed partner listed signed
    chair = _person(api, "Inspecteur Vos", orgs["Lokale politie Neteland"], "vos@politie.example")
    regisseur = _person(api, "Sam Regisseur", orgs["Lokale besturen Neteland"], "sam@neteland.example")
    worker = _person(api, "Hanne Wouters", orgs["CAW De Kempen"], "hanne@caw.example")
    wrong = api.post("/api/v1/tables", {"covenant_id": cid, "name": "Expertentafel Neteland", "area": "Expertentafel",
                                        "chair_id": chair, "coordinator_id": regisseur,
                                        "roles": {"procesregisseur": worker}})
    assert wrong.status_code == 422 and "roles.procesregisseur" in wrong.json["error"]["fields"]
    table = api.post("/api/v1/tables", {"covenant_id": cid, "name": "Expertentafel Neteland", "area": "Expertentafel",
                                        "chair_id": chair, "coordinator_id": regisseur,
                                        "roles": {"procesregisseur": regisseur}})
    assert table.status_code == 201, table.json
    triage = api.post("/api/v1/tables", {"covenant_id": cid, "name": "Triagetafel Neteland", "area": "Triagetafel",
                                         "coordinator_id": regisseur, "roles": {"procesregisseur": regisseur}})
    assert triage.status_code == 201, triage.json
    for person in (chair, regisseur, worker):
        signed_ = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person,
                                                    "table_id": table.json["id"], "signed_on": "2025-09-10"})
        assert signed_.status_code == 201, signed_.json
    ocmw = _org(api, "OCMW Herentals")
    ad_hoc = _person(api, "Gert Claes", ocmw, "gert@ocmw.example")
    return {"covenant": cid, "table": table.json["id"], "triage": triage.json["id"], "chair": chair,
            "regisseur": regisseur, "worker": worker, "ad_hoc": ad_hoc, "ocmw": ocmw, **orgs}


CONSENT_BODY = {"case_ref": "NET-2026-001", "categories": ["identity"], "signed_by": "resident",
                "resident_name": "Inwoner Fictief", "resident_birth_date": "1980-04-04", "signed_on": "2026-01-10"}


def test_a_consent_is_refused_at_a_table_sharing_under_458ter(api):
    w = world(api)
    for table_id in (w["table"], w["triage"]):
        refused = api.post("/api/v1/consents", {**CONSENT_BODY, "table_id": table_id, "recipients": [w["ocmw"]]})
        assert refused.status_code == 422, refused.json
        assert refused.json["error"]["fields"] == {"table_id": REFUSAL}
        assert refused.json["error"]["message"] == REFUSAL
    blank = api.get(f"/api/v1/packs/{PACK}/forms/bijlage2.pdf")
    assert blank.status_code == 200 and "Verklaring van geheimhouding ad hoc partner" in pdf_text(blank.data)
    assert api.get(f"/api/v1/packs/{PACK}/forms/bijlage4.pdf").status_code == 404
    summary = next(p for p in api.get("/api/v1/packs").json["packs"] if p["name"] == PACK)
    assert [a["kind"] for a in summary["annexes"]] == ["structural_declaration", "incidental_declaration", "text"]


def test_the_chairs_check_shows_the_legal_basis_not_a_consent(api, logged_in):
    w = world(api)
    assert api.post("/api/v1/declarations", {"kind": "incidental", "person_id": w["ad_hoc"], "table_id": w["table"],
                                             "case_ref": "NET-2026-002", "signed_on": "2026-02-01"}).status_code == 201
    day = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": f"{day}T14:00", "cases": [
        {"case_ref": "NET-2026-002", "theme": "nieuw dossier", "age_band": "26-64",
         "invitee_ids": [w["worker"], w["ad_hoc"], w["regisseur"]]}]})
    assert meeting.status_code == 201, meeting.json
    check = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    assert check["legal_basis"] == {"key": "shared_professional_secrecy", "label": LABEL}
    invitees = {i["person_id"]: i for i in check["cases"][0]["invitees"]}
    assert invitees[w["worker"]]["allowed"] and invitees[w["worker"]]["basis"] == "structural"
    assert invitees[w["ad_hoc"]]["allowed"] and invitees[w["ad_hoc"]]["basis"] == "incidental"
    for invitee in invitees.values():
        assert invitee["consent"]["legal_basis"] == "shared_professional_secrecy"
        assert invitee["consent"]["reason"]["code"] == "shared_professional_secrecy"
        assert LABEL in invitee["consent"]["reason"]["text"]
        assert not [x for x in invitee["warnings"] if x["code"].startswith("consent")]
    assert not [x for x in check["warnings"] + check["cases"][0]["warnings"] if x["code"].startswith("consent")]

    page = logged_in.get(f"/meetings/{meeting.json['id']}").get_data(as_text=True)
    assert "<th>Grondslag</th>" in page and f'<td class="legal-basis" data-label="Grondslag">{LABEL}</td>' in page
    assert "Toestemmingen bij deze casussen" not in page and "alleen anonieme of DAT-informatie" not in page

    sealed = api.get(f"/api/v1/meetings/{meeting.json['id']}/check.pdf")
    assert sealed.status_code == 200, sealed.json
    text = one_line(pdf_text(sealed.data))
    assert "Grondslag informatiedeling" in text and LABEL in text and "Toestemming (" not in text


def test_emmen_check_still_shows_consent(api):
    """The other packs keep consent as their basis: the check says so and the column is a consent answer."""
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant Emmen", "region": "Emmen"}).json
    org = _org(api, "GGD Drenthe")
    rep = _person(api, "R. ter Laak", org)
    assert api.post(f"/api/v1/covenants/{cov['id']}/partners",
                    {"organisation_id": org, "representative_id": rep, "signed_on": "2025-05-05"}).status_code == 201
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "Casustafel Noord", "area": "Emmen-Noord"}).json
    meeting = api.post("/api/v1/meetings", {"table_id": table["id"], "starts_at": "2026-03-05T10:00",
                                            "cases": [{"case_ref": "EN-1", "invitee_ids": [rep]}]}).json
    check = api.get(f"/api/v1/meetings/{meeting['id']}/check").json
    assert check["legal_basis"]["key"] == "consent"
    assert check["legal_basis"]["label"].startswith("toestemming van de inwoner")
    consent = check["cases"][0]["invitees"][0]["consent"]
    assert consent["legal_basis"] == "consent" and consent["reason"]["code"] == "consent_missing"


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_web_offers_no_consent_form_and_refuses_one(api, logged_in, app_session):
    w = world(api)
    overview = logged_in.get("/forms").get_data(as_text=True)
    assert f"/forms/{PACK}/bijlage1.pdf" in overview and f"/forms/{PACK}/bijlage2.pdf" in overview
    assert not re.search(rf"/forms/{PACK}/bijlage[3-9]\.pdf", overview)
    assert logged_in.get(f"/forms/{PACK}/bijlage3.pdf").status_code == 404
    form_page = logged_in.get("/forms/bijlage4").get_data(as_text=True)
    assert "Expertentafel Neteland" not in form_page           # not a table to choose for a consent
    posted = logged_in.post("/forms/bijlage4", data={
        "csrf_token": csrf(logged_in, "/forms/bijlage4"), "table_id": str(w["table"]), "case_ref": "NET-2026-003",
        "signed_by": "resident", "resident_name": "Inwoner Fictief", "resident_birth_date": "1980-04-04",
        "purpose": "x", "signed_on": "2026-01-10"})
    assert posted.status_code == 422
    assert REFUSAL in posted.get_data(as_text=True)
    from registry.models import Consent
    assert app_session.query(Consent).count() == 0
    # the table, covenant and preview pages of the pack render
    for path in (f"/tables/{w['table']}", f"/tables/{w['triage']}", f"/covenants/{w['covenant']}"):
        assert logged_in.get(path).status_code == 200, path
    preview = logged_in.get(f"/covenants/{w['covenant']}/preview")
    assert preview.status_code == 200 and LABEL in preview.get_data(as_text=True)


MINOR = "Deze tafel bespreekt alleen inwoners van 18 jaar en ouder; een casus van een minderjarige hoort hier niet."


def test_neteland_end_to_end_through_the_api(api):
    """The charter's case life through the API: an adult's dossier through the four
    phases with the SAMEN-regisseur's terms as dates, a vaste and an ad hoc partner, the
    expert table's check with the legal basis, no consent, closure; a minor refused."""
    w = world(api)
    summary = next(p for p in api.get("/api/v1/packs").json["packs"] if p["name"] == PACK)
    assert summary["legal_basis"] == "shared_professional_secrecy" and summary["min_age"] == 18
    assert [p["key"] for p in summary["phases"]] == ["aanmelding", "dossiervorming_weging", "uitvoering", "afsluiting"]
    assert summary["retention"] == {"from": "closed", "archive_after_months": None, "delete_after_months": 12,
                                    "exception_max_months": 6}

    # adults only: a minor's dossier is refused, and so is one without an age
    minor = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "NET-2026-009", "age": 17,
                                       "brought_by_person_id": w["worker"]})
    assert minor.status_code == 422 and minor.json["error"]["fields"] == {"age": MINOR}
    no_age = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "NET-2026-009"})
    assert no_age.status_code == 422 and set(no_age.json["error"]["fields"]) == {"age"}
    assert api.get(f"/api/v1/tables/{w['table']}/cases").json["cases"] == []
    bad_track = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "NET-2026-010", "age": 45, "track": "4"})
    assert bad_track.status_code == 422 and set(bad_track.json["error"]["fields"]) == {"track"}

    # 1. aanmelding by a fixed partner, adult, spoor 3
    opened = api.post("/api/v1/cases", {"table_id": w["table"], "reference": "NET-2026-010", "opened_on": "2026-01-05",
                                        "brought_by_person_id": w["worker"], "age": 45, "track": "3"})
    assert opened.status_code == 201, opened.json
    case = opened.json
    assert (case["phase"], case["phase_label"], case["track"], case["due"]) == ("aanmelding", "Aanmelding", "3", [])
    assert case["brought_by_organisation_id"] == w["CAW De Kempen"]
    path = f"/api/v1/cases/{case['id']}"

    # 2. dossiervorming en weging: no terms
    moved = api.post(f"{path}/phase", {"phase": "dossiervorming_weging", "on": "2026-01-20",
                                       "reason": "gescreend op de triagetafel"})
    assert moved.status_code == 200 and moved.json["due"] == []

    # 3. aanduiding verantwoordelijke en uitvoering: back at the table within 6 months,
    #    passive regie no earlier than 6 months
    moved = api.post(f"{path}/phase", {"phase": "uitvoering", "on": "2026-02-10", "reason": "plan van aanpak"})
    assert moved.status_code == 200, moved.json
    assert [(d["kind"], d["date"]) for d in moved.json["due"]] == [("due", "2026-08-10"), ("not_before", "2026-08-10")]
    assert moved.json["due"][0]["label"] == "terug op de expertentafel (uiterlijk 6 maanden)"
    in_time = api.get(f"/api/v1/tables/{w['table']}/cases?on=2026-08-10").json["cases"][0]["due"]
    assert [d["passed"] for d in in_time] == [False, False]
    late = api.get(f"/api/v1/tables/{w['table']}/cases?on=2026-08-11").json["cases"][0]["due"]
    assert [d["passed"] for d in late] == [True, False]           # a not_before date never "passes"

    # participants: a fixed partner's worker, and an ad hoc partner only with a Bijlage 2
    fixed = api.post(f"{path}/participants", {"person_id": w["worker"], "role": "vaste_partner", "on": "2026-02-10"})
    assert fixed.status_code == 201 and fixed.json["ad_hoc"] is False
    refused = api.post(f"{path}/participants", {"person_id": w["ad_hoc"], "role": "ad_hoc_partner", "on": "2026-02-12"})
    assert refused.status_code == 422 and set(refused.json["error"]["fields"]) == {"person_id"}
    declared = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": w["ad_hoc"], "table_id": w["table"],
                                                 "case_ref": "NET-2026-010", "signed_on": "2026-02-11"})
    assert declared.status_code == 201, declared.json
    joined = api.post(f"{path}/participants", {"person_id": w["ad_hoc"], "role": "ad_hoc_partner", "on": "2026-02-12"})
    assert joined.status_code == 201 and joined.json["ad_hoc"] is True

    # the expert table's check: the legal basis, no consent, no consent warnings
    meeting = api.post("/api/v1/meetings", {"table_id": w["table"], "starts_at": "2026-03-02T14:00", "cases": [
        {"case_ref": "NET-2026-010", "theme": "terugkomdossier", "age_band": "26-64",
         "invitee_ids": [w["worker"], w["ad_hoc"], w["regisseur"]]}]})
    assert meeting.status_code == 201, meeting.json
    check = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json
    assert check["legal_basis"] == {"key": "shared_professional_secrecy", "label": LABEL}
    invitees = {i["person_id"]: i for i in check["cases"][0]["invitees"]}
    assert [(invitees[p]["allowed"], invitees[p]["basis"]) for p in (w["worker"], w["ad_hoc"], w["regisseur"])] == [
        (True, "structural"), (True, "incidental"), (True, "structural")]
    assert {i["consent"]["legal_basis"] for i in invitees.values()} == {"shared_professional_secrecy"}
    assert not [x for i in invitees.values() for x in i["warnings"] if x["code"].startswith("consent")]
    consent = api.post("/api/v1/consents", {**CONSENT_BODY, "case_ref": "NET-2026-010", "table_id": w["table"],
                                            "recipients": [w["CAW De Kempen"]]})
    assert consent.status_code == 422 and consent.json["error"]["fields"] == {"table_id": REFUSAL}

    # 4. afsluiten dossier after passive regie: closure considered no earlier than 6 months
    moved = api.post(f"{path}/phase", {"phase": "afsluiting", "on": "2026-09-01", "reason": "passieve casusregie"})
    assert moved.status_code == 200, moved.json
    assert [(d["kind"], d["date"]) for d in moved.json["due"]] == [("not_before", "2027-03-01")]
    closed = api.post(f"{path}/closure", {"on": "2027-03-15", "reason": "handled"})
    assert closed.status_code == 200 and closed.json["closed_on"] == "2027-03-15" and closed.json["due"] == []
    file = api.get(path).json
    assert [(e["kind"], e["to_phase"], e["on"]) for e in file["events"]] == [
        ("opened", "aanmelding", "2026-01-05"), ("phase", "dossiervorming_weging", "2026-01-20"),
        ("phase", "uitvoering", "2026-02-10"), ("phase", "afsluiting", "2026-09-01"), ("closed", None, "2027-03-15")]
    assert [(p["role"], p["ad_hoc"]) for p in file["participants"]] == [("vaste_partner", False),
                                                                        ("ad_hoc_partner", True)]

    # the charter as the API prints it
    pdf = api.get(f"/api/v1/covenants/{w['covenant']}/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = one_line(pdf_text(pdf.data))
    assert "Lokale politie Neteland, vertegenwoordigd door Vertegenwoordiger 0," in text and LABEL in text
