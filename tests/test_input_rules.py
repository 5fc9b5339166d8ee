"""Input rules of the registry, on SQLite and PostgreSQL: nobody signs after today (every
API route and web form that takes a signing date), a date a form cannot read keeps what
was typed and says "Geen geldige datum", an empty or malformed query date is a 400, case
references that look like a name or an address are refused, and every certificate of
completion carries a QR code to ``/verify`` for its document and says how to check the
file without us."""

from __future__ import annotations

import base64
import datetime as dt
import html as html_lib
import io
import re
import shutil
import subprocess

import pytest
from sqlalchemy import select

from registry import rules, services
from registry.errors import ValidationError
from registry.models import Case, Consent, Declaration, Meeting, Partnership
from signatures import assembly
from signatures import workflow as signing
from signatures.models import SignedDocument
from tests import signing_support as support
from tests.meetings.world import build

TODAY = rules.today()
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()
GOOD_REFERENCES = ["EN-2026-007", "MDO-1", "X-1", "ZVH-1", "EN-NIET-HIER", "EN-NIEUW", "CASE-1", "TZ-2025-007",
                   "GGZ-2026-002", "MDO-2026-04", "C", "AS-2", "EN-2026AB", "Casus 12", "Emmen-Noord 3"]
BAD_REFERENCES = {
    "Jan Jansen, Dorpsstraat 1": "adres", "Jan Jansen": "naam", "Jan de Vries": "naam", "J. de Vries": "naam",
    "Anna-Maria Jansen-Bakker": "naam", "Dorpsstraat 1": "adres", "hoofdweg 12a": "adres", "Kerkstraat 5-2": "adres",
    "1234 AB": "postcode", "7811ab": "postcode", "EN-1234 AB": "postcode", "Postcode 7811 AB": "postcode",
}


# ----------------------------------------------------------------------------- the rules themselves


@pytest.mark.parametrize("reference", GOOD_REFERENCES)
def test_case_numbers_pass(reference):
    assert rules.case_reference_problem(reference) is None


@pytest.mark.parametrize("reference,kind", BAD_REFERENCES.items())
def test_names_addresses_and_postcodes_are_refused(reference, kind):
    problem = rules.case_reference_problem(reference)
    assert problem and problem.startswith("Gebruik een casusnummer, geen naam of adres") and kind in problem
    assert reference not in problem  # the message does not repeat the personal data


def test_signing_date_rule():
    day = dt.date(2026, 5, 1)
    assert rules.signing_date_problem(None, day) is None
    assert rules.signing_date_problem(day, day) is None
    assert rules.signing_date_problem(day - dt.timedelta(days=400), day) is None
    problem = rules.signing_date_problem(day + dt.timedelta(days=1), day)
    assert "2 mei 2026" in problem and "na vandaag" in problem
    assert rules.signing_date_problem(TODAY) is None and rules.signing_date_problem(TODAY + dt.timedelta(days=1))


def test_the_demo_references_and_dates_pass_the_rules(session):
    from forms_service import demo

    demo.load_demo(session)
    session.flush()
    assert session.scalars(select(Case.reference)).all()
    for reference in session.scalars(select(Case.reference)):
        assert rules.case_reference_problem(reference) is None, reference
    for model in (Declaration, Consent, Partnership):
        for signed_on in session.scalars(select(model.signed_on).where(model.signed_on.is_not(None))):
            assert rules.signing_date_problem(signed_on) is None


# ----------------------------------------------------------------------------- API


@pytest.fixture
def world(api):
    """A covenant in force with one partner, a table and a person with a Bijlage 1."""
    org = api.post("/api/v1/organisations", {"name": "GGD Drenthe"}).json
    rep = api.post("/api/v1/people", {"name": "Rep", "initials": "R.", "organisation_id": org["id"], "function": "Directeur",
                                      "email": "rep@ggd.example"}).json
    cov = api.post("/api/v1/covenants", {"pack": "emmen-casustafel", "title": "Convenant", "region": "Emmen"}).json
    assert api.post(f"/api/v1/covenants/{cov['id']}/partners", {"organisation_id": org["id"], "representative_id": rep["id"],
                                                                 "signed_on": "2025-05-01"}).status_code == 201
    table = api.post("/api/v1/tables", {"covenant_id": cov["id"], "name": "Noord", "area": "Emmen-Noord"}).json
    assert api.post("/api/v1/declarations", {"kind": "structural", "person_id": rep["id"], "table_id": table["id"],
                                             "signed_on": "2025-05-02"}).status_code == 201
    return {"org": org["id"], "person": rep["id"], "covenant": cov["id"], "table": table["id"]}


def _refused(response, status: int, field: str, text: str) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    message = response.json["error"]["fields"].get(field)
    assert message and text in message, response.json
    return message


def _consent(world, **overrides) -> dict:
    return {"case_ref": "EN-2026-007", "table_id": world["table"], "recipients": [world["org"]], "categories": ["name_address"],
            "signed_by": "resident", "resident_name": "Tessa (fictief)", "resident_birth_date": "1984-02-17",
            "purpose": "Afstemmen.", **overrides}


def test_api_refuses_signing_dates_after_today_everywhere(api, world, app_session):
    other = api.post("/api/v1/organisations", {"name": "Sedna"}).json
    rep = api.post("/api/v1/people", {"name": "Sed", "initials": "S.", "organisation_id": other["id"], "function": "Directeur"}).json
    partner = {"organisation_id": other["id"], "representative_id": rep["id"]}
    _refused(api.post(f"/api/v1/covenants/{world['covenant']}/partners", {**partner, "signed_on": TOMORROW}),
             422, "signed_on", "na vandaag")
    declaration = {"kind": "structural", "person_id": world["person"], "table_id": world["table"]}
    _refused(api.post("/api/v1/declarations", {**declaration, "signed_on": TOMORROW}), 422, "signed_on", "na vandaag")
    _refused(api.post("/api/v1/declarations", {"kind": "incidental", "person_id": world["person"], "table_id": world["table"],
                                               "case_ref": "EN-9", "signed_on": "2999-01-01"}), 422, "signed_on", "1 januari 2999")
    _refused(api.post("/api/v1/consents", _consent(world, signed_on=TOMORROW)), 422, "signed_on", "na vandaag")
    app_session.expire_all()
    assert app_session.scalar(select(Partnership).where(Partnership.organisation_id == other["id"])) is None
    assert app_session.scalars(select(Case)).all() == []  # a refused request changes nothing
    # today is fine
    assert api.post(f"/api/v1/covenants/{world['covenant']}/partners", {**partner, "signed_on": TODAY.isoformat()}).status_code == 201
    assert api.post("/api/v1/declarations", {**declaration, "signed_on": TODAY.isoformat()}).status_code == 201
    assert api.post("/api/v1/consents", _consent(world, signed_on=TODAY.isoformat())).status_code == 201


def test_paper_signature_in_the_future_is_refused_by_the_same_rule(api, world, app_session):
    declaration = api.post("/api/v1/declarations", {"kind": "structural", "person_id": world["person"],
                                                    "table_id": world["table"]}).json["id"]
    with pytest.raises(ValidationError) as refused:
        signing.record_paper(app_session, "declaration", declaration, signed_on=TODAY + dt.timedelta(days=1),
                             scan=support.blank_pdf(), filename="x.pdf", actor="admin@example.org")
    assert refused.value.fields["signed_on"] == rules.signing_date_problem(TODAY + dt.timedelta(days=1))
    app_session.rollback()
    with pytest.raises(ValidationError) as refused:  # the service writers refuse it as well
        services.sign_declaration(app_session, app_session.get(Declaration, declaration), TODAY + dt.timedelta(days=3), "paper")
    assert "signed_on" in refused.value.fields
    app_session.rollback()


@pytest.mark.parametrize("reference", ["Jan Jansen, Dorpsstraat 1", "1234 AB"])
def test_api_refuses_case_references_that_look_like_a_name_or_address(api, world, app_session, reference):
    hint = "Gebruik een casusnummer, geen naam of adres"
    _refused(api.post("/api/v1/declarations", {"kind": "incidental", "person_id": world["person"], "table_id": world["table"],
                                               "case_ref": reference, "signed_on": "2026-01-05"}), 422, "case_ref", hint)
    _refused(api.post("/api/v1/consents", _consent(world, case_ref=reference, signed_on="2026-01-05")), 422, "case_ref", hint)
    _refused(api.post("/api/v1/meetings", {"table_id": world["table"], "starts_at": "2026-03-10T14:00", "cases": [
        {"case_ref": "EN-1", "invitee_ids": [world["person"]]}, {"case_ref": reference, "invitee_ids": [world["person"]]}]}),
        422, "cases[1].case_ref", hint)
    _refused(api.post("/api/v1/cases", {"table_id": world["table"], "reference": reference}), 422, "reference", hint)
    app_session.expire_all()
    assert app_session.scalars(select(Case)).all() == [] and app_session.scalars(select(Meeting)).all() == []
    for good in ("EN-2026-007", "MDO-1"):
        assert api.post("/api/v1/cases", {"table_id": world["table"], "reference": good}).status_code == 201


def test_api_query_dates_empty_or_malformed_are_400_naming_the_field(api, world):
    for query in ("on=", "on=2026-13-45", "on=morgen", "on=%20"):
        for path in (f"/api/v1/tables/{world['table']}/entitled?{query}",
                     f"/api/v1/check?person={world['person']}&table={world['table']}&{query}",
                     f"/api/v1/people/{world['person']}/tables?{query}"):
            response = api.get(path)
            assert response.status_code == 400, (path, response.status_code)
            assert "on" in response.json["error"]["fields"], (path, response.json)
    assert api.get(f"/api/v1/tables/{world['table']}/entitled").status_code == 200  # left out: today
    assert api.get(f"/api/v1/tables/{world['table']}/entitled?on=2026-01-05").json["on"] == "2026-01-05"


# ----------------------------------------------------------------------------- web forms


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def _errors(response) -> list[str]:
    return [html_lib.unescape(e) for e in re.findall(r'<p class="error">([^<]*)</p>', response.get_data(as_text=True))]


def _bijlage1(world, **overrides) -> dict:
    return {"name": "Kamphuis", "initials": "M.", "organisation": "GGD", "function": "Wijkverpleegkundige",
            "email": "", "table_id": str(world["north"].id), **overrides}


def test_web_forms_refuse_a_future_signing_date_on_the_field(logged_in, app_session):
    world = build(app_session)
    response = logged_in.post("/forms/bijlage1", data={"csrf_token": _csrf(logged_in, "/forms/bijlage1"),
                                                         **_bijlage1(world, signed_on=TOMORROW)})
    assert response.status_code in (200, 422)
    assert rules.signing_date_problem(TODAY + dt.timedelta(days=1)) in _errors(response)
    assert f'value="{TOMORROW}"' in response.get_data(as_text=True)
    bijlage4 = {"resident_name": "Tessa (fictief)", "resident_birth_date": "1984-02-17", "signed_by": "resident",
                "purpose": "Afstemmen.", "categories": ["name_address"], "recipients": [str(world["ggd"].id)],
                "case_ref": "EN-2026-021", "table_id": str(world["north"].id), "signed_on": TOMORROW}
    response = logged_in.post("/forms/bijlage4", data={"csrf_token": _csrf(logged_in, "/forms/bijlage4"), **bijlage4})
    assert rules.signing_date_problem(TODAY + dt.timedelta(days=1)) in _errors(response)
    app_session.expire_all()
    assert len(app_session.scalars(select(Declaration)).all()) == 4 and len(app_session.scalars(select(Consent)).all()) == 1


def test_a_malformed_date_keeps_what_was_typed_and_says_geen_geldige_datum(logged_in, app_session):
    world = build(app_session)
    response = logged_in.post("/forms/bijlage1", data={"csrf_token": _csrf(logged_in, "/forms/bijlage1"),
                                                         **_bijlage1(world, signed_on="2026-13-45")})
    page = response.get_data(as_text=True)
    assert "Geen geldige datum; gebruik JJJJ-MM-DD." in _errors(response) and "Vul de datum in." not in page
    field = re.search(r'<input[^>]*name="signed_on"[^>]*>', page).group(0)
    assert 'value="2026-13-45"' in field and 'type="text"' in field  # a date input would show it empty
    fresh = logged_in.get("/forms/bijlage1").get_data(as_text=True)
    assert 'type="date"' in re.search(r'<input[^>]*name="signed_on"[^>]*>', fresh).group(0)

    path = f"/tables/{world['north'].id}/meetings/new"
    data = {"csrf_token": _csrf(logged_in, path), "day": "2026-13-45", "time": "14:00",
            "cases-0-case_ref": "EN-1", "cases-0-invitee_ids": [str(world["mira"].id)]}
    response = logged_in.post(path, data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Geen geldige datum" in page and "Vul de datum in." not in page
    assert 'value="2026-13-45"' in re.search(r'<input[^>]*name="day"[^>]*>', page).group(0)
    empty = logged_in.post(path, data={**data, "day": ""})
    assert "Vul de datum in." in empty.get_data(as_text=True) and "Geen geldige datum" not in empty.get_data(as_text=True)
    app_session.rollback()
    assert app_session.scalars(select(Meeting)).all() == []


def test_web_forms_refuse_names_as_case_references(logged_in, app_session):
    world = build(app_session)
    path = f"/tables/{world['north'].id}/meetings/new"
    response = logged_in.post(path, data={"csrf_token": _csrf(logged_in, path), "day": "2026-03-10", "time": "14:00",
                                          "cases-0-case_ref": "Jan Jansen, Dorpsstraat 1",
                                          "cases-0-invitee_ids": [str(world["mira"].id)]})
    assert response.status_code == 422
    assert any(e.startswith("Gebruik een casusnummer, geen naam of adres") for e in _errors(response))
    response = logged_in.post("/forms/bijlage2", data={"csrf_token": _csrf(logged_in, "/forms/bijlage2"),
                                                         **_bijlage1(world, case_ref="1234 AB", signed_on="2026-01-05")})
    assert any(e.startswith("Gebruik een casusnummer, geen naam of adres") for e in _errors(response))
    app_session.rollback()
    assert app_session.scalars(select(Meeting)).all() == []
    assert {c.reference for c in app_session.scalars(select(Case))} == {"EN-1"}


def test_paper_signing_page_refuses_future_and_malformed_dates(logged_in, api, app_session):
    from tests.test_signing_concurrency import _declaration_waiting

    declaration = _declaration_waiting(api, app_session)
    for typed, expected in ((TOMORROW, "na vandaag"), ("2026-13-45", "Geen geldige datum")):
        response = logged_in.post(f"/ondertekening/declaration/{declaration}/papier", data={
            "csrf_token": _csrf(logged_in, "/ondertekening"), "signed_on": typed,
            "scan": (io.BytesIO(support.blank_pdf()), "scan.pdf")}, content_type="multipart/form-data", follow_redirects=True)
        text = html_lib.unescape(response.get_data(as_text=True))
        assert expected in text and "Vul de datum van ondertekening in" not in text, text[:2000]
        app_session.expire_all()
        assert app_session.get(Declaration, declaration).signed_on is None


# ----------------------------------------------------------------------------- the QR code on the certificate


def _sealed_covenant(api, client, app, app_session) -> tuple[int, bytes, SignedDocument]:
    app.config["PUBLIC_BASE_URL"] = "https://casustafel.example.nl"
    covenant_id, reps = support.covenant_with_partners(api, 1)
    assert api.post(f"/api/v1/covenants/{covenant_id}/signing-requests").status_code == 201
    link = support.links_by_recipient(api)[reps[0]["email"]]
    assert support.sign_via_form(client, link, reps[0]["name"], support.png_data_url()).status_code == 303
    assert support.worker_round(app)["sealed"] == 1
    sealed = api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf")
    assert sealed.status_code == 200
    app_session.expire_all()
    return covenant_id, sealed.data, app_session.scalar(select(SignedDocument))


def test_certificate_has_a_qr_code_to_verify_and_says_how_to_check_without_us(api, client, app, app_session, tmp_path):
    covenant_id, pdf, doc = _sealed_covenant(api, client, app, app_session)
    expected_url = f"https://casustafel.example.nl/verify?document={doc.document_sha256}"

    # The certificate page as the one renderer built it: the QR is segno's PNG of exactly that URL.
    requests = signing._signed_requests(app_session, "covenant", covenant_id)
    snapshot = signing._final_snapshot(app_session, doc, requests)
    view = signing.final_view(app_session, doc, snapshot, requests, config=app.config)
    assert view.verify_url == expected_url
    from registry.documents import build as docs, render
    html = render.render_pdf(docs.pack_named("emmen-casustafel"), "signing_pages", view, variant=None).html
    qr = re.search(r'<img class="qr" src="data:image/png;base64,([^"]+)"', html)
    assert qr and base64.b64decode(qr.group(1)) == assembly.verify_qr_png(expected_url)
    import segno
    assert segno.make(expected_url, error="m").designator  # the URL fits a QR code (segno raises otherwise)

    # In the sealed PDF: the link, the offline instructions and the QR image on the certificate page.
    from pypdf import PdfReader
    reader = PdfReader(io.BytesIO(pdf))
    certificate = next(p for p in reader.pages if "Certificaat van voltooiing" in (p.extract_text() or ""))
    start = reader.get_page_number(certificate)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages[start:]).split())
    assert "pdfsig" in text and "Adobe Acrobat" in text and "Controleren zonder ons" in text
    assert doc.document_sha256 in text.replace(" ", "")
    images = [image for page in reader.pages[start:] for image in page.images]
    from PIL import Image, ImageChops
    wanted = Image.open(io.BytesIO(assembly.verify_qr_png(expected_url))).convert("L")
    assert any(image.image.size == wanted.size
               and ImageChops.difference(image.image.convert("L"), wanted).getbbox() is None
               for image in images), [i.image.size for i in images]  # pixel for pixel the QR of that URL
    if shutil.which("pdfsig"):
        path = tmp_path / "sealed.pdf"
        path.write_bytes(pdf)
        report = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60).stdout
        assert "Signature Validation: Signature is Valid" in report


def test_the_qr_code_opens_verify_for_that_document(api, client, app, app_session):
    _, pdf, doc = _sealed_covenant(api, client, app, app_session)
    page = client.get(f"/verify?document={doc.document_sha256}").get_data(as_text=True)
    assert "via de QR-code" in page and f"covenant/{doc.subject_id}" in page and doc.document_sha256 in page
    token = _csrf(client, f"/verify?document={doc.document_sha256}")
    same = client.post("/verify", data={"csrf_token": token, "document": doc.document_sha256,
                                        "file": (io.BytesIO(pdf), "convenant.pdf")}, content_type="multipart/form-data")
    assert "Dit is het document van de QR-code." in same.get_data(as_text=True)
    other = client.post("/verify", data={"csrf_token": token, "document": "ab" * 32,
                                         "file": (io.BytesIO(pdf), "convenant.pdf")}, content_type="multipart/form-data")
    text = other.get_data(as_text=True)
    assert "hoort niet bij een document dat door deze dienst is verzegeld" in text and "niet het document van de QR-code" in text
    assert "geen geldige documentcode" in client.get("/verify?document=<script>").get_data(as_text=True)
    assert "<script>" not in client.get("/verify?document=<script>").get_data(as_text=True)


def test_every_pack_prints_the_qr_code_and_the_check_without_us():
    """Each pack's certificate of completion carries the QR block: the common page, or a
    pack's own copy of it."""
    from registry import packs
    from registry.documents.render import COMMON_TEMPLATES

    for name in packs.list_packs():
        pack = packs.load_pack(name)
        own = pack.path / pack.document("signing_pages")
        page = (own if own.is_file() else COMMON_TEMPLATES / "signing_pages.html").read_text(encoding="utf-8")
        assert "doc.verify_qr_data_url" in page and "pdfsig bestand.pdf" in page, name
