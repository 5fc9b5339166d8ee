"""Encryption at rest (issue 10, part 4): a resident's name, birth date and e-mail, and the
documents that name them, are not in the database file (SQLite, WAL included) nor in a
``pg_dump``; an entitled reader still gets them through the API; a data key rotates;
a tampered ciphertext is an error; the resident key finds a resident however the name
was typed; the instance folder and the SQLite file are private."""

from __future__ import annotations

import base64
import datetime as dt
import os
import sqlite3
import stat
import subprocess

import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from database import migrate
from database.engine import make_engine, make_session_factory
from forms_service import cli
from registry import crypto
from registry.models import Consent
from tests import pgserver
from tests import signing_support as support

NAME = "Xanthippe Quirijnsdochter"
BIRTH = dt.date(2011, 3, 17)
EMAIL = "xanthippe.quirijn@mail.example"
NEEDLES = [
    NAME, "Quirijnsdochter", "Xanthippe", EMAIL, "xanthippe.quirijn",
    BIRTH.isoformat(), BIRTH.strftime("%d-%m-%Y"), "17 maart 2011", "17-3-2011", "20110317",
]
"""Everything that identifies the resident, in each form the app could store it."""
MARKERS = [b"%PDF", b"FlateDecode", b"\x89PNG", b"<html", b"<!DOCTYPE"]
"""Signs of a clear document (a PDF's text is compressed: it must not be there at all)."""


def _consent_signed_online(api, client) -> int:
    """A consent for the resident, sent to them, opened, signed and sealed: every table
    that can hold their identity gets a row."""
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Noord", "area": "Emmen-Noord"}).json
    consent = api.post("/api/v1/consents", {
        "table_id": table["id"], "case_ref": "ZX-1", "signed_by": "resident_and_parents",
        "resident_name": NAME, "resident_birth_date": BIRTH.isoformat(), "purpose": "Afstemming van de hulp",
        "categories": ["name_address"], "recipients": [reps[0]["organisation_id"]]})
    if consent.status_code == 422 and "signed_by" in consent.json["error"]["fields"]:
        consent = api.post("/api/v1/consents", {
            "table_id": table["id"], "case_ref": "ZX-1", "signed_by": "parents",
            "resident_name": NAME, "resident_birth_date": BIRTH.isoformat(), "purpose": "Afstemming van de hulp",
            "categories": ["name_address"], "recipients": [reps[0]["organisation_id"]]})
    assert consent.status_code == 201, consent.json
    consent_id = consent.json["id"]
    assert api.get(f"/api/v1/consents/{consent_id}/document.pdf").status_code == 200
    role = "resident" if consent.json["signed_by"] != "parents" else "parents"
    signers = [{"name": NAME, "email": EMAIL, "role": role}]
    if consent.json["signed_by"] == "resident_and_parents":
        signers.append({"name": "Ouder Quirijnsdochter", "email": "ouder.quirijn@mail.example", "role": "parents"})
    sent = api.post(f"/api/v1/consents/{consent_id}/signing-requests", {"signers": signers})
    assert sent.status_code == 201, sent.json
    links = support.links_by_recipient(api)
    for signer in signers:
        done = support.sign_via_form(client, links[signer["email"]], signer["name"], support.png_data_url())
        assert done.status_code == 303, done.get_data(as_text=True)[:400]
    support.worker_round(api)  # the worker seals
    assert api.get(f"/api/v1/consents/{consent_id}/signed.pdf").status_code == 200
    return consent_id


def _raw_database(db_url: str) -> bytes:
    """Every byte the database keeps: the SQLite file plus its WAL, or a ``pg_dump``."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = url.database
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        data = b""
        for suffix in ("", "-wal", "-journal"):
            if os.path.exists(path + suffix):
                with open(path + suffix, "rb") as handle:
                    data += handle.read()
        return data
    bin_dir = pgserver.find_pg_bin()
    argv = [f"{bin_dir}/pg_dump", "-h", url.host, "-p", str(url.port), "-U", url.username or "postgres",
            "--no-owner", url.database]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    done = subprocess.run(argv, capture_output=True, timeout=120, check=True)
    return done.stdout


def _assert_nothing_identifies(raw: bytes) -> None:
    lowered = raw.lower()
    for needle in NEEDLES:
        for form in {needle.encode(), needle.lower().encode(), needle.encode("utf-16-le")}:
            assert form.lower() not in lowered, needle
        assert needle.encode().hex().encode() not in lowered, f"{needle} (hex, bytea)"
    for marker in MARKERS:
        assert marker.lower() not in lowered, marker
        assert marker.hex().encode() not in lowered, f"{marker!r} (hex, bytea)"


def test_the_database_holds_no_resident_identity(api, client, app, db_url):
    consent_id = _consent_signed_online(api, client)
    app.extensions["db_engine"].dispose()
    raw = _raw_database(db_url)
    assert b"fse1:" in raw  # the values are there, as ciphertext
    _assert_nothing_identifies(raw)

    answer = api.get(f"/api/v1/consents/{consent_id}")  # an entitled reader (admin) gets them in the clear
    assert answer.status_code == 200
    assert answer.json["resident_name"] == NAME and answer.json["resident_birth_date"] == BIRTH.isoformat()
    pdf = api.get(f"/api/v1/consents/{consent_id}/signed.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_resident_key_finds_the_consents_of_a_resident(api, app_session, db_url):
    covenant_id, reps = support.covenant_with_partners(api, 1, prefix="Gemeente", signed_on="2025-05-05")
    table = api.post("/api/v1/tables", {"covenant_id": covenant_id, "name": "Casustafel Emmen-Zuid", "area": "Emmen-Zuid"}).json
    made = api.post("/api/v1/consents", {
        "table_id": table["id"], "case_ref": "ZX-2", "signed_by": "resident", "signed_on": "2025-06-01",
        "resident_name": "Jan de Vriës", "resident_birth_date": "1980-02-29", "purpose": "Afstemming",
        "categories": ["name_address"], "recipients": [reps[0]["organisation_id"]]})
    assert made.status_code == 201, made.json
    wanted = crypto.resident_key("  JAN  de   vries ", dt.date(1980, 2, 29))
    found = app_session.scalars(sa.select(Consent).where(Consent.resident_key == wanted)).all()
    assert [c.id for c in found] == [made.json["id"]] and found[0].resident_name == "Jan de Vriës"

    found[0].resident_birth_date = dt.date(1980, 3, 1)  # an update recomputes it
    app_session.commit()
    assert found[0].resident_key == crypto.resident_key("jan de vries", dt.date(1980, 3, 1)) != wanted


def test_resident_key_normalises_the_name_and_needs_the_date():
    day = dt.date(2001, 5, 6)
    assert crypto.resident_key("  Jan  de Vries", day) == crypto.resident_key("jan de vries", day)
    assert crypto.resident_key("Jan de Vriës", day) == crypto.resident_key("JAN DE VRIES", day)
    assert crypto.resident_key("Jan de Vries", day) != crypto.resident_key("Jan de Vries", dt.date(2001, 5, 7))
    assert crypto.resident_key("Jan de Vries", day) != crypto.resident_key("Jan de Vriesen", day)
    assert len(crypto.resident_key("Jan de Vries", day)) == 64
    other = crypto.ring_from_texts(crypto.generate_key())
    assert crypto.resident_key("Jan de Vries", day, other) != crypto.resident_key("Jan de Vries", day)


def _raw_consent(engine, consent_id: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT resident_name, resident_birth_date, resident_key FROM consent "
                                         "WHERE id = :id"), {"id": consent_id}).mappings().one())


def test_a_tampered_ciphertext_is_an_error_not_garbage(session, engine):
    consent = _bare_consent(session)
    raw = _raw_consent(engine, consent.id)
    assert raw["resident_name"].startswith("fse1:") and NAME not in raw["resident_name"]
    blob = bytearray(crypto.text_blob(raw["resident_name"]))
    blob[-1] ^= 0x01
    tampered = crypto.TEXT_PREFIX + base64.urlsafe_b64encode(bytes(blob)).decode()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE consent SET resident_name = :v WHERE id = :id"), {"v": tampered, "id": consent.id})
    with make_session_factory(engine)() as fresh:
        with pytest.raises(crypto.DecryptionError, match="consent.resident_name.*beschadigd of gewijzigd"):
            fresh.get(Consent, consent.id)
    with engine.begin() as conn:  # a ciphertext moved to another column does not decrypt there either
        conn.execute(sa.text("UPDATE consent SET resident_name = resident_birth_date WHERE id = :id"), {"id": consent.id})
    with make_session_factory(engine)() as fresh:
        with pytest.raises(crypto.DecryptionError, match="consent.resident_name"):
            fresh.get(Consent, consent.id)
    with engine.begin() as conn:  # a clear value is not passed off as decrypted
        conn.execute(sa.text("UPDATE consent SET resident_name = 'Jan' WHERE id = :id"), {"id": consent.id})
    with make_session_factory(engine)() as fresh:
        with pytest.raises(crypto.DecryptionError, match="niet versleuteld"):
            fresh.get(Consent, consent.id)
    with pytest.raises(crypto.UnknownKeyError):
        crypto.decrypt_text(crypto.encrypt_text("x", "t.c", crypto.ring_from_texts(crypto.generate_key())), "t.c")


def _bare_consent(session) -> Consent:
    """A signed consent for the resident, written through the service on a bare session."""
    from registry import services
    from tests import factories

    org = factories.organisation(session)
    table = factories.table(session, factories.covenant(session, [(org, dt.date(2025, 5, 1))]))
    consent = services.create_consent(
        session, table_id=table.id, case_ref="ZX-9", signed_by="resident", resident_name=NAME,
        resident_birth_date=dt.date(1990, 1, 1), purpose="Afstemming", categories=["name_address"],
        recipient_ids=[org.id], signed_on=dt.date(2025, 6, 1))
    session.commit()
    return consent


def test_rotate_data_key_reencrypts_and_drops_the_old_key(session, engine, db_url, instance_dir, monkeypatch):
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    from forms_service.config import configure_data_key, load_config

    configure_data_key(load_config())  # the instance folder's key file, generated now
    key_file = instance_dir / "data_key"
    old_keys = crypto.read_key_file(key_file)
    assert len(old_keys) == 1 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    consent = _bare_consent(session)
    before = _raw_consent(engine, consent.id)
    assert before["resident_key"] == crypto.resident_key(NAME, dt.date(1990, 1, 1))

    result = CliRunner().invoke(cli.main, ["rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert "consent.resident_name: 1 opnieuw versleuteld" in result.output
    assert "consent.resident_key: 1 opnieuw berekend" in result.output
    new_keys = crypto.read_key_file(key_file)
    assert len(new_keys) == 1 and new_keys != old_keys  # the old key is gone
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    after = _raw_consent(engine, consent.id)
    assert after["resident_name"] != before["resident_name"] and after["resident_birth_date"] != before["resident_birth_date"]
    new_ring = crypto.ring_from_texts(new_keys[0])
    assert crypto.decrypt_text(after["resident_name"], "consent.resident_name", new_ring) == NAME
    with pytest.raises(crypto.UnknownKeyError):  # the old ring cannot read the new values
        crypto.decrypt_text(after["resident_name"], "consent.resident_name", crypto.ring_from_texts(old_keys[0]))
    assert after["resident_key"] == crypto.resident_key(NAME, dt.date(1990, 1, 1), new_ring) != before["resident_key"]

    crypto.configure(crypto.ring_from_texts(old_keys[0]),  # a process started before the rotation
                     reload=lambda: crypto.key_ring_from_config(load_config()))
    with make_session_factory(engine)() as fresh:
        again = fresh.get(Consent, consent.id)
        assert again.resident_name == NAME and again.resident_birth_date == dt.date(1990, 1, 1)
    assert crypto.key_ring().current == new_ring.current  # it re-read the key file

    second = CliRunner().invoke(cli.main, ["rotate-data-key"])
    assert second.exit_code == 0 and crypto.read_key_file(key_file) != new_keys


def test_rotate_with_data_key_from_the_environment(session, engine, db_url, instance_dir, monkeypatch, data_key):
    consent = _bare_consent(session)
    before = _raw_consent(engine, consent.id)
    new = crypto.generate_key()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DATA_KEY_PREVIOUS", os.environ["DATA_KEY"])
    monkeypatch.setenv("DATA_KEY", new)
    from forms_service.cli import main

    result = CliRunner().invoke(main, ["rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert "Verwijder nu DATA_KEY_PREVIOUS" in result.output and not (instance_dir / "data_key").exists()
    after = _raw_consent(engine, consent.id)
    assert crypto.decrypt_text(after["resident_name"], "consent.resident_name", crypto.ring_from_texts(new)) == NAME
    assert after["resident_name"] != before["resident_name"]
    monkeypatch.delenv("DATA_KEY_PREVIOUS")
    crypto.configure(crypto.ring_from_texts(new))
    with make_session_factory(engine)() as fresh:
        assert fresh.get(Consent, consent.id).resident_name == NAME


def test_migration_0008_encrypts_existing_clear_values(db_url):
    config = migrate.alembic_config(db_url)
    command.downgrade(config, "0007_pack_rules")  # the schema before encryption, with clear rows
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO covenant (id, pack, title, region, version, started_early, created_at) "
                             "VALUES (1, 'emmen-casustafel', 'C', 'R', 1, false, '2025-01-01 00:00:00')"))
        conn.execute(sa.text("INSERT INTO case_table (id, covenant_id, name, area) VALUES (1, 1, 'T', 'A')"))
        conn.execute(sa.text("INSERT INTO \"case\" (id, table_id, reference, opened_on) VALUES (1, 1, 'R-1', '2025-01-01')"))
        conn.execute(sa.text("INSERT INTO consent (id, case_id, signed_by, resident_name, resident_birth_date, purpose, "
                             "categories, other_recipients, created_at) VALUES (1, 1, 'resident', :n, '1990-01-01', '', "
                             "'[]', '[]', '2025-01-01 00:00:00')"), {"n": NAME})
        # rows that reference the tables SQLite copies while altering them (foreign keys stay whole)
        conn.execute(sa.text("INSERT INTO organisation (id, name, created_at) VALUES (1, 'GGD', '2025-01-01 00:00:00')"))
        conn.execute(sa.text("INSERT INTO consent_recipient (consent_id, organisation_id) VALUES (1, 1)"))
        conn.execute(sa.text("INSERT INTO outbox_messages (id, \"to\", subject, body, created_at) "
                             "VALUES (1, :to, 'S', :body, '2025-01-01 00:00:00')"), {"to": EMAIL, "body": f"Beste {NAME}"})
    engine.dispose()

    crypto.configure(None)
    with pytest.raises(RuntimeError, match="datasleutel"):
        migrate.upgrade(db_url)
    ring = crypto.ring_from_texts(crypto.generate_key())
    crypto.configure(ring)
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    raw = _raw_consent(engine, 1)
    assert raw["resident_name"].startswith("fse1:") and raw["resident_key"] == crypto.resident_key(NAME, dt.date(1990, 1, 1))
    with make_session_factory(engine)() as fresh:
        consent = fresh.get(Consent, 1)
        assert consent.resident_name == NAME and consent.resident_birth_date == dt.date(1990, 1, 1)
        from signatures.models import OutboxMessage
        assert fresh.get(OutboxMessage, 1).to == EMAIL
        assert [o.id for o in consent.recipients] == [1] and consent.case.reference == "R-1"
    engine.dispose()
    if make_url(db_url).get_backend_name() == "sqlite":
        _assert_nothing_identifies(_raw_database(db_url))  # secure_delete: the old clear pages are zeroed
    else:
        assert NAME.encode() not in _raw_database(db_url)

    command.downgrade(config, "0007_pack_rules")  # and back, in the clear
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT resident_name FROM consent")).scalar() == NAME
        assert str(conn.execute(sa.text("SELECT resident_birth_date FROM consent")).scalar()) == "1990-01-01"
    engine.dispose()


def test_instance_folder_and_sqlite_file_are_private(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", str(tmp_path / "fresh" / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.setattr(os, "umask", os.umask)  # restored below
    previous = os.umask(0o022)  # an ordinary, permissive umask
    try:
        from forms_service.config import configure_data_key, load_config

        config = load_config()
        configure_data_key(config)
        migrate.upgrade(config["DATABASE_URL"])
        engine = make_engine(config["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organisation (name, created_at) VALUES ('X', '2025-01-01')"))
            folder = tmp_path / "fresh" / "instance"
            mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
            assert mode(folder) == 0o700
            assert mode(folder / "forms_service.sqlite3") == 0o600
            assert mode(folder / "forms_service.sqlite3-wal") == 0o600
            assert mode(folder / "data_key") == 0o600 and mode(folder / "secret_key") == 0o600
        engine.dispose()
        os.chmod(folder, 0o755)  # an existing folder others may read is narrowed
        load_config()
        assert mode(folder) == 0o700
    finally:
        os.umask(previous)


def test_an_encrypted_column_refuses_a_sql_comparison():
    from signatures.models import OutboxMessage

    assert str(sa.select(Consent.id).where(Consent.resident_name.is_not(None))).endswith("IS NOT NULL")
    for compare in (lambda: Consent.resident_name == NAME, lambda: OutboxMessage.to == EMAIL,
                    lambda: Consent.resident_birth_date < BIRTH, lambda: Consent.resident_name.like("X%")):
        with pytest.raises(crypto.CryptoError, match="niet worden vergeleken"):
            compare()
