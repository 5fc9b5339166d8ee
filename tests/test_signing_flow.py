"""The whole signing flow through the app: a covenant with three partners, a Bijlage 1,
a Bijlage 2 and a Bijlage 4, from invitation to sealed PDF, checked by pdfsig and by
our own verifier; tampering makes both say no."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

from registry.models import Consent, Declaration, Partnership
from signatures.evidence import verify_chain
from signatures.models import EvidenceEvent, SignedDocument, SigningRequest
from tests import signing_support as support

needs_pdfsig = pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")


def pdfsig(pdf: bytes, tmp_path) -> str:
    """poppler's independent report on the PDF's signatures."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def test_covenant_with_three_partners(api, client, app_session, tmp_path):
    covenant_id, reps = support.covenant_with_partners(api, 3)
    sent = api.post(f"/api/v1/covenants/{covenant_id}/signing-requests")
    assert sent.status_code == 201, sent.json
    assert [(r["signer"], r["email"], r["status"]) for r in sent.json["requests"]] == [
        (rep["name"], rep["email"], "pending") for rep in reps]
    again = api.post(f"/api/v1/covenants/{covenant_id}/signing-requests")
    assert again.status_code == 409  # one live request per signer

    links = support.links_by_recipient(api)
    assert set(links) == {rep["email"] for rep in reps} and all(link.startswith("http://localhost/onderteken/") for link in links.values())

    page = client.get(support.path_of(links[reps[0]["email"]]))
    text = page.get_data(as_text=True)
    request = app_session.scalars(select(SigningRequest).order_by(SigningRequest.id)).first()
    assert request.document_sha256 in text and "Elektronisch ondertekenen" in text and 'name="full_name"' in text
    pdf = client.get(support.path_of(links[reps[0]["email"]]) + "/document.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert hashlib.sha256(pdf.data).hexdigest() == request.document_sha256

    for i, rep in enumerate(reps):
        assert api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf").status_code == 409
        signature = support.png_data_url() if i != 1 else None
        done = support.sign_via_form(client, links[rep["email"]], "  " + rep["name"].upper() + " ", signature)
        assert done.status_code == 303, done.get_data(as_text=True)[:400]
        app_session.expire_all()
        partnership = app_session.scalar(select(Partnership).where(Partnership.representative_id == rep["id"]))
        assert partnership.signed_on is not None and partnership.signed_via == "online"  # the registry sees it at once

    waiting = api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf")  # the request did not seal: the worker does
    assert waiting.status_code == 409 and waiting.json["error"]["code"] == "not_sealed"
    assert support.worker_round(api)["sealed"] == 1
    sealed = api.get(f"/api/v1/covenants/{covenant_id}/signed.pdf")
    assert sealed.status_code == 200 and sealed.mimetype == "application/pdf"
    _check_sealed(api, client, sealed.data, tmp_path, [rep["name"] for rep in reps])
    assert app_session.scalar(select(func.count()).select_from(SignedDocument)) == 1
    notices = [m for m in api.get("/api/v1/outbox").json["messages"] if m["subject"].startswith("Ondertekend en verzegeld")]
    assert sorted(m["to"] for m in notices) == sorted(rep["email"] for rep in reps)
    assert verify_chain(app_session).ok
    events = {e.event for e in app_session.scalars(select(EvidenceEvent))}
    assert {"created", "sent", "opened", "agreed", "signed", "sealed"} <= events


def _check_sealed(api, client, pdf: bytes, tmp_path, names: list[str]) -> None:
    """pdfsig and our verifier accept it; a flipped byte and an edit make both refuse."""
    if shutil.which("pdfsig"):
        assert "Signature Validation: Signature is Valid" in pdfsig(pdf, tmp_path)
    answer = client.post("/api/v1/verify", data={"file": (io.BytesIO(pdf), "x.pdf")}, content_type="multipart/form-data")
    assert answer.status_code == 200
    body = answer.json
    assert body["valid"] and body["intact"] and body["trusted"] and body["problems"] == [], body
    assert body["document"]["identical_to_stored_copy"] is True
    assert sorted(s["name"] for s in body["signers"]) == sorted(names)
    assert "@" not in answer.get_data(as_text=True)  # no e-mail address of any signer

    from pypdf import PdfReader
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Certificaat van voltooiing" in text and "Ondertekening" in text

    flipped = bytearray(pdf)
    flipped[len(pdf) // 3] ^= 0x01
    bad = client.post("/api/v1/verify", data={"file": (io.BytesIO(bytes(flipped)), "x.pdf")}, content_type="multipart/form-data").json
    assert not bad["valid"] and bad["problems"]
    if shutil.which("pdfsig"):
        assert "Signature is Valid" not in pdfsig(bytes(flipped), tmp_path)

    edited = _edit_text(pdf)
    bad = client.post("/api/v1/verify", data={"file": (io.BytesIO(edited), "x.pdf")}, content_type="multipart/form-data").json
    assert not bad["valid"] and any(p["code"] == "modified_after_sealing" for p in bad["problems"]), bad
    if shutil.which("pdfsig"):
        assert "Not total document signed" in pdfsig(edited, tmp_path)


def _edit_text(pdf: bytes) -> bytes:
    """Append an incremental update that adds text to page 1 (what a forger would do)."""
    from tests.signatures.test_signatures_seal import edit_incrementally

    return edit_incrementally(pdf)


def test_bijlage_1_2_and_4(api, client, app_session, tmp_path):
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    person = api.post("/api/v1/people", {"name": "Mira Kamphuis", "initials": "M.", "organisation_id": reps[0]["organisation_id"],
                                         "function": "Jeugdverpleegkundige", "email": "mira@ggd.example"}).json
    guest = api.post("/api/v1/people", {"name": "Guus Gast", "initials": "G.", "organisation_id": reps[0]["organisation_id"],
                                        "function": "Wijkagent", "email": "guus@politie.example"}).json
    b1 = api.post("/api/v1/declarations", {"kind": "structural", "person_id": person["id"], "table_id": table["id"]})
    b2 = api.post("/api/v1/declarations", {"kind": "incidental", "person_id": guest["id"], "table_id": table["id"], "case_ref": "EN-7"})
    assert b1.status_code == 201 and b1.json["signed_on"] is None and b2.status_code == 201
    consent = api.post("/api/v1/consents", {"table_id": table["id"], "case_ref": "EN-9", "signed_by": "resident",
                                            "resident_name": "Sanne de Boer", "resident_birth_date": "1990-01-01", "purpose": "Afstemming van de hulp",
                                            "categories": ["name_address"], "recipients": [reps[0]["organisation_id"]]})
    assert consent.status_code == 201 and consent.json["signed_on"] is None, consent.json
    consent_id = consent.json["id"]

    assert api.post(f"/api/v1/declarations/{b1.json['id']}/signing-requests").status_code == 201
    assert api.post(f"/api/v1/declarations/{b2.json['id']}/signing-requests").status_code == 201
    no_mail = api.post(f"/api/v1/consents/{consent_id}/signing-requests")
    assert no_mail.status_code == 422 and "signers[0].email" in no_mail.json["error"]["fields"]
    sent = api.post(f"/api/v1/consents/{consent_id}/signing-requests", {"signers": [{"name": "Sanne de Boer", "email": "sanne@mail.example", "role": "resident"}]})
    assert sent.status_code == 201 and sent.json["requests"][0]["status"] == "pending"

    links = support.links_by_recipient(api)
    assert support.sign_via_form(client, links["mira@ggd.example"], "mira kamphuis", support.png_data_url()).status_code == 303
    assert support.sign_via_form(client, links["guus@politie.example"], "Guus  Gast").status_code == 303
    assert support.sign_via_form(client, links["sanne@mail.example"], "Sanne de Boer", support.png_data_url()).status_code == 303

    app_session.expire_all()
    assert app_session.get(Declaration, b1.json["id"]).signed_via == "online"
    assert app_session.get(Declaration, b2.json["id"]).signed_on is not None
    assert app_session.get(Consent, consent_id).signed_on is not None
    allowed = api.get(f"/api/v1/check?person={person['id']}&table={table['id']}").json
    assert allowed["allowed"] is True and allowed["basis"] == "structural", allowed  # the registry sees it at once

    assert support.worker_round(api)["sealed"] == 3
    for path, name in ((f"/api/v1/declarations/{b1.json['id']}/signed.pdf", "Mira Kamphuis"),
                       (f"/api/v1/declarations/{b2.json['id']}/signed.pdf", "Guus Gast"),
                       (f"/api/v1/consents/{consent_id}/signed.pdf", "Sanne de Boer")):
        sealed = api.get(path)
        assert sealed.status_code == 200, (path, sealed.json)
        answer = client.post("/api/v1/verify", data={"file": (io.BytesIO(sealed.data), "x.pdf")}, content_type="multipart/form-data").json
        assert answer["valid"] and [s["name"] for s in answer["signers"]] == [name], answer
    assert app_session.scalar(select(func.count()).select_from(SignedDocument).where(SignedDocument.status == "sealed")) == 3


def test_verify_page_is_public_and_explains(client, tmp_path):
    page = client.get("/verify")
    assert page.status_code == 200 and "Controleren" in page.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = client.post("/verify", data={"csrf_token": token, "file": (io.BytesIO(b"geen pdf"), "x.pdf")},
                         content_type="multipart/form-data")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "Niet geldig" in text and "geen leesbare PDF" in text
