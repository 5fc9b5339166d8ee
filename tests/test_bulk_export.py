"""Bulk export: every sealed PDF of a table or covenant as one streamed ZIP with index.csv.

The same rules as downloading each sealed PDF one by one: a coordinator whose account
has no registry person entitled at the table gets the Bijlage 1/2 but not the consent
(named in the index as left out, with no resident data); each included consent is
logged as an export in the access log; the index's SHA-256 match the files."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from sqlalchemy import select

from registry.models import AccessLogEntry, CaseTable
from signatures.models import SignedDocument
from tests import signing_support as support
from tests.auth_support import login


@pytest.fixture
def sealed(api, client, app_session):
    """A covenant (one partner, signed on paper) whose table has a sealed Bijlage 1, a
    sealed Bijlage 2 and a sealed Bijlage 4, and a Bijlage 1 still waiting."""
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    org = reps[0]["organisation_id"]
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": org,
                                         "function": "Jeugdverpleegkundige", "email": "mira@ggd.example"}).json
    guest = api.post("/api/v1/people", {"name": "Guus Gast", "initials": "G.", "organisation_id": org,
                                        "function": "Wijkagent", "email": "guus@politie.example"}).json
    waiting = api.post("/api/v1/people", {"name": "Wachtende Wim", "initials": "W.", "organisation_id": org,
                                          "function": "Wijkcoach", "email": "wim@ggd.example"}).json
    b1 = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"]}).json
    b2 = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": guest["id"], "table_id": table["id"], "case_ref": "EN-7"}).json
    b1_waiting = api.post("/api/v1/declarations", {"kind": "structural", "person_id": waiting["id"], "table_id": table["id"]}).json
    consent = api.post("/api/v1/consents", {"table_id": table["id"], "case_ref": "EN-9", "signed_by": "resident",
                                            "resident_name": "Sanne de Boer", "resident_birth_date": "1990-01-01",
                                            "purpose": "Afstemming van de hulp", "categories": ["name_address"],
                                            "recipients": [org]}).json
    for declaration in (b1, b2, b1_waiting):
        assert api.post(f"/api/v1/declarations/{declaration['id']}/signing-requests").status_code == 201
    assert api.post(f"/api/v1/consents/{consent['id']}/signing-requests",
                    {"signers": [{"name": "Sanne de Boer", "email": "sanne@mail.example", "role": "resident"}]}).status_code == 201
    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links["mira@ggd.example"], "Mira Kamphuis", support.png_data_url()).status_code == 303
    assert support.sign_via_form(client, links["guus@politie.example"], "Guus Gast").status_code == 303
    assert support.sign_via_form(client, links["sanne@mail.example"], "Sanne de Boer").status_code == 303
    assert support.worker_round(api)["sealed"] == 3
    app_session.expire_all()
    assert app_session.scalar(select(SignedDocument).where(SignedDocument.subject_kind == "consent")).status == "sealed"
    return {"covenant": covenant_id, "table": table["id"], "b1": b1["id"], "b2": b2["id"], "consent": consent["id"],
            "waiting": b1_waiting["id"]}


def _zip(answer) -> tuple[zipfile.ZipFile, list[dict]]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    assert answer.mimetype == "application/zip" and answer.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    assert archive.testzip() is None
    rows = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode("utf-8"))))
    return archive, rows


def _export_log(app_session, kind: str) -> list[AccessLogEntry]:
    app_session.expire_all()
    return app_session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == "export",
                                                            AccessLogEntry.subject_kind == kind)).all()


def test_table_zip_holds_every_sealed_pdf_with_matching_index(api, app_session, sealed):
    archive, rows = _zip(api.get(f"/api/v1/tables/{sealed['table']}/signed.zip"))
    names = sorted(n for n in archive.namelist() if n != "index.csv")
    assert names == sorted([f"verklaring-{sealed['b1']}.pdf", f"verklaring-{sealed['b2']}.pdf",
                            f"toestemming-{sealed['consent']}.pdf"])   # the waiting Bijlage 1 is not sealed
    assert archive.namelist()[-1] == "index.csv"
    by_file = {row["bestand"]: row for row in rows}
    assert set(by_file) == set(names)
    for name in names:
        data = archive.read(name)
        assert data.startswith(b"%PDF")
        assert by_file[name]["sha256"] == hashlib.sha256(data).hexdigest()
    stored = {d.subject_id: d.sha256 for d in app_session.scalars(select(SignedDocument).where(SignedDocument.subject_kind == "declaration"))}
    assert by_file[f"verklaring-{sealed['b1']}.pdf"]["sha256"] == stored[sealed["b1"]]   # the same file as one by one
    assert by_file[f"verklaring-{sealed['b1']}.pdf"]["ondertekenaars"] == "Mira Kamphuis"
    assert by_file[f"verklaring-{sealed['b1']}.pdf"]["document"].startswith("Bijlage 1")
    assert by_file[f"toestemming-{sealed['consent']}.pdf"]["ondertekenaars"] == "Sanne de Boer"
    assert len(by_file[f"verklaring-{sealed['b2']}.pdf"]["ondertekend_op"]) == 10
    single = api.get(f"/api/v1/consents/{sealed['consent']}/signed.pdf")
    assert single.data == archive.read(f"toestemming-{sealed['consent']}.pdf")
    exports = _export_log(app_session, "consent")
    assert [e.subject_id for e in exports] == [sealed["consent"]] * 2   # the ZIP and the single download
    assert exports[0].details.get("bulk_export") == f"casustafel-{sealed['table']}"


def test_covenant_zip_has_a_folder_per_table(api, sealed):
    archive, rows = _zip(api.get(f"/api/v1/covenants/{sealed['covenant']}/signed.zip"))
    folder = f"casustafel-{sealed['table']}/"
    assert sorted(archive.namelist()) == sorted([f"{folder}verklaring-{sealed['b1']}.pdf", f"{folder}verklaring-{sealed['b2']}.pdf",
                                                 f"{folder}toestemming-{sealed['consent']}.pdf", "index.csv"])
    assert all(row["casustafel"] == "Casustafel Emmen-Noord" for row in rows)


def test_without_resident_rights_the_consent_is_left_out_and_said_so(client, app_session, make_user, sealed):
    email, password, secret = make_user(grants=[{"role": "coordinator", "table_id": sealed["table"]}])  # no registry person
    token = _token_for(app_session, email)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/consents/{sealed['consent']}/signed.pdf", headers=headers).status_code == 403
    before = len(_export_log(app_session, "consent"))
    archive, rows = _zip(client.get(f"/api/v1/tables/{sealed['table']}/signed.zip", headers=headers))
    assert f"toestemming-{sealed['consent']}.pdf" not in archive.namelist()
    assert f"verklaring-{sealed['b1']}.pdf" in archive.namelist()
    left_out = [row for row in rows if not row["bestand"]]
    assert len(left_out) == 1 and left_out[0]["soort"] == "consent" and left_out[0]["id"] == str(sealed["consent"])
    assert left_out[0]["opmerking"].startswith("Niet opgenomen") and "inwoner" in left_out[0]["opmerking"]
    assert left_out[0]["ondertekenaars"] == "" and left_out[0]["sha256"] == ""
    assert "Sanne" not in archive.read("index.csv").decode()   # no resident data in the index
    assert len(_export_log(app_session, "consent")) == before   # nothing exported, nothing logged
    assert len(_export_log(app_session, "declaration")) >= 2


def _token_for(app_session, email: str) -> str:
    from registry import accounts
    from registry.models import User

    user = app_session.scalar(select(User).where(User.email == email))
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return token


def test_who_may_export(client, app_session, make_user, sealed):
    partner, *_ = make_user(grants=[{"role": "partner_contact", "organisation_id": 1}])
    headers = {"Authorization": f"Bearer {_token_for(app_session, partner)}"}
    refused = client.get(f"/api/v1/tables/{sealed['table']}/signed.zip", headers=headers)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    chair, *_ = make_user(grants=[{"role": "chair", "table_id": sealed["table"]}])  # no person: not entitled
    headers = {"Authorization": f"Bearer {_token_for(app_session, chair)}"}
    refused = client.get(f"/api/v1/tables/{sealed['table']}/signed.zip", headers=headers)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_entitled"
    assert client.get("/api/v1/tables/999999/signed.zip", headers=headers).status_code == 404
    coordinator, *_ = make_user(grants=[{"role": "coordinator", "table_id": sealed["table"]}])
    headers = {"Authorization": f"Bearer {_token_for(app_session, coordinator)}"}
    assert client.get(f"/api/v1/covenants/{sealed['covenant']}/signed.zip", headers=headers).status_code == 403


def test_web_buttons_and_zip(logged_in, sealed):
    table_page = logged_in.get(f"/tables/{sealed['table']}").get_data(as_text=True)
    assert "Alles downloaden (ZIP)" in table_page and f"/tables/{sealed['table']}/ondertekend.zip" in table_page
    covenant_page = logged_in.get(f"/covenants/{sealed['covenant']}").get_data(as_text=True)
    assert "Alles downloaden (ZIP)" in covenant_page and f"/covenants/{sealed['covenant']}/ondertekend.zip" in covenant_page
    answer = logged_in.get(f"/tables/{sealed['table']}/ondertekend.zip")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="ondertekend-casustafel-{sealed["table"]}.zip"'
    archive, rows = _zip(answer)
    assert len(rows) == 3
    archive, rows = _zip(logged_in.get(f"/covenants/{sealed['covenant']}/ondertekend.zip"))
    assert len(rows) == 3


def test_no_button_without_export_rights(client, make_user, sealed):
    email, password, secret = make_user(grants=[{"role": "partner_contact", "organisation_id": 1}])
    login(client, email, password, secret)
    page = client.get(f"/tables/{sealed['table']}")
    assert page.status_code == 200 and "Alles downloaden (ZIP)" not in page.get_data(as_text=True)
    assert client.get(f"/tables/{sealed['table']}/ondertekend.zip").status_code == 403


def test_stream_keeps_one_pdf_in_memory(app, app_session, sealed):
    """The generator reads one PDF per step: after the first piece only that PDF was loaded."""
    from registry.models import User
    from signatures import export

    admin = app_session.scalar(select(User).where(User.email == "admin@example.org"))
    table = app_session.get(CaseTable, sealed["table"])
    plan = export.plan_table_export(app_session, admin, table)
    assert len(plan.included) == 3 and not plan.left_out
    pieces = export.stream_zip(app_session, plan)
    first = next(pieces)
    biggest = max(len(app_session.scalar(select(SignedDocument.pdf).where(SignedDocument.id == i.signed_document_id)))
                  for i in plan.included)
    assert len(first) <= biggest + 1024   # one member (header + PDF), not the whole archive
    rest = b"".join(pieces)
    assert zipfile.ZipFile(io.BytesIO(first + rest)).testzip() is None
