"""Resident data follows the registry, and every read of it is in the access log.

On both databases, through the API: a coordinator reads a consent while her person is
entitled at the table; the moment her Bijlage 1 is revoked, her employment ends or her
organisation's partnership ends, the same request answers 403 ``not_entitled``. Every
read (view, print, export) appends a hash-chained entry that the privacy officer and
the admin read back, newest first, filtered; ``verify-log`` checks both chains and names
a tampered access-log entry.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from registry import access_log, accounts
from registry.models import AccessLogEntry, CaseTable, Consent, Covenant, Declaration, Grant, Partnership, Person
from tests.auth_support import login
from tests.conftest import Api


@pytest.fixture
def demo(app, app_session):
    """The Emmen demo; returns the Emmen-Noord table, its coordinator and the consent."""
    from forms_service.demo import load_demo

    covenant = load_demo(app_session)
    app_session.commit()
    north = app_session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Noord"))
    consent = app_session.scalar(select(Consent))
    return {"covenant": covenant.id, "north": north.id, "coordinator": north.coordinator_id, "consent": consent.id}


def _account(app_session, email: str, person_id: int | None, grants: list[Grant]) -> str:
    """A user with these grants and an API token for it."""
    user = accounts.create_user(app_session, email, "a long enough password")
    user.person_id, user.grants = person_id, grants
    token = accounts.create_token(app_session, user)
    app_session.commit()
    return token


@pytest.fixture
def coordinator(client, app_session, demo):
    """An API client for a coordinator of Emmen-Noord linked to its coordinator person."""
    token = _account(app_session, "gerda@example.org", demo["coordinator"],
                     [Grant(role="coordinator", table_id=demo["north"])])
    return Api(client, token)


def test_reading_a_consent_needs_todays_entitlement_and_revoking_bijlage1_ends_it(coordinator, api, demo, app_session):
    url = f"/api/v1/consents/{demo['consent']}"
    first = coordinator.get(url)
    assert first.status_code == 200
    assert first.json["resident_name"] == "Tessa de Vries (fictief)" and first.json["resident_birth_date"] == "1984-02-17"
    assert set(first.json) >= {"id", "table_id", "case_ref", "resident_name", "resident_birth_date", "signed_by",
                               "recipients", "other_recipients", "categories", "purpose", "signed_on",
                               "withdrawn_on", "status"}
    declaration = app_session.scalar(select(Declaration).where(
        Declaration.person_id == demo["coordinator"], Declaration.table_id == demo["north"]))
    today = dt.date.today().isoformat()
    revoked = api.post(f"/api/v1/declarations/{declaration.id}/revocation", json={"on": today})
    assert revoked.status_code == 200 and revoked.json["revoked_on"] == today
    refused = coordinator.get(url)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_entitled"
    assert "Tessa" not in refused.get_data(as_text=True)
    assert coordinator.get(f"/api/v1/consents/{demo['consent']}/document.pdf").status_code == 403


def test_the_end_of_employment_ends_access_the_same_day(coordinator, demo, app_session):
    url = f"/api/v1/consents/{demo['consent']}"
    assert coordinator.get(url).status_code == 200
    app_session.execute(update(Person).where(Person.id == demo["coordinator"])
                        .values(employed_until=dt.date.today() - dt.timedelta(days=1)))
    app_session.commit()
    refused = coordinator.get(url)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_entitled"


def test_the_end_of_the_partnership_ends_access(coordinator, api, demo, app_session):
    person = app_session.get(Person, demo["coordinator"])
    url = f"/api/v1/consents/{demo['consent']}"
    assert coordinator.get(url).status_code == 200
    ended = api.post(f"/api/v1/covenants/{demo['covenant']}/partners/{person.organisation_id}/termination",
                     json={"on": dt.date.today().isoformat(), "decision": "Besluit van de meerderheid"})
    assert ended.status_code == 200
    assert coordinator.get(url).status_code == 403


def test_a_chair_of_another_table_and_a_partner_contact_never_read_resident_data(client, app_session, demo):
    south = app_session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Zuid"))
    chair = Api(client, _account(app_session, "bram@example.org", south.chair_id, [Grant(role="chair", table_id=south.id)]))
    person = app_session.get(Person, demo["coordinator"])
    contact = Api(client, _account(app_session, "contact@example.org", None,
                                   [Grant(role="partner_contact", organisation_id=person.organisation_id)]))
    for who in (chair, contact):
        for path in ("", "/document.pdf", "/signed.pdf"):
            answer = who.get(f"/api/v1/consents/{demo['consent']}{path}")
            assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden", path
        withdrawn = who.post(f"/api/v1/consents/{demo['consent']}/withdrawal", json={"on": "2026-12-01"})
        assert withdrawn.status_code == 403
    assert app_session.get(Consent, demo["consent"]).withdrawn_on is None


def test_every_read_is_logged_and_the_privacy_officer_reads_it_back(coordinator, api, client, demo, app_session):
    consent = demo["consent"]
    assert coordinator.get(f"/api/v1/consents/{consent}").status_code == 200
    assert coordinator.get(f"/api/v1/consents/{consent}/document.pdf").status_code == 200
    assert api.get(f"/api/v1/consents/{consent}").status_code == 200
    assert coordinator.get(f"/api/v1/consents/{consent}/signed.pdf").status_code == 409  # not signed online: nothing shown
    privacy = Api(client, _account(app_session, "fg@example.org", None,
                                   [Grant(role="privacy_officer", covenant_id=demo["covenant"])]))
    log = privacy.get(f"/api/v1/access-log?consent_id={consent}")
    assert log.status_code == 200
    entries = log.json["entries"]
    assert [(e["action"], e["email"], e["role"]) for e in entries] == [
        ("view", "admin@example.org", "admin"), ("print", "gerda@example.org", "coordinator"),
        ("view", "gerda@example.org", "coordinator")]
    assert all(e["subject"] == {"kind": "consent", "id": consent} and e["ip"] == "127.0.0.1" for e in entries)
    assert entries[0]["at"] > entries[-1]["at"]
    gerda = accounts.user_by_email(app_session, "gerda@example.org")
    only_gerda = privacy.get(f"/api/v1/access-log?user_id={gerda.id}").json["entries"]
    assert {e["email"] for e in only_gerda} == {"gerda@example.org"} and len(only_gerda) == 2
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert privacy.get(f"/api/v1/access-log?from={tomorrow}").json["entries"] == []
    assert privacy.get("/api/v1/access-log?from=gisteren").status_code == 400
    # reading the log is itself logged, and the coordinator may not read it
    assert coordinator.get("/api/v1/access-log").status_code == 403
    kinds = [e["subject"]["kind"] for e in api.get("/api/v1/access-log").json["entries"]]
    assert kinds.count("access_log") == 3  # the privacy officer's three reads; a refused or malformed one is none
    assert access_log.verify(app_session).ok


def test_a_privacy_officer_of_another_covenant_sees_none_of_it(coordinator, client, demo, app_session):
    assert coordinator.get(f"/api/v1/consents/{demo['consent']}").status_code == 200
    other = Covenant(pack="emmen-casustafel", title="Ander convenant", region="Elders")
    app_session.add(other)
    app_session.flush()
    officer = Api(client, _account(app_session, "fg2@example.org", None, [Grant(role="privacy_officer", covenant_id=other.id)]))
    assert officer.get("/api/v1/access-log").json["entries"] == []


def test_verify_log_checks_both_chains_and_names_a_tampered_access_entry(app, coordinator, demo, app_session,
                                                                         monkeypatch):
    from click.testing import CliRunner

    from forms_service.cli import main

    for _ in range(3):
        assert coordinator.get(f"/api/v1/consents/{demo['consent']}").status_code == 200
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    runner = CliRunner()
    fine = runner.invoke(main, ["verify-log"])
    assert fine.exit_code == 0 and "Bewijslog in orde" in fine.output and "Toegangslog in orde: 3 regels" in fine.output
    app_session.execute(update(AccessLogEntry).where(AccessLogEntry.seq == 2).values(action="search"))
    app_session.commit()
    broken = runner.invoke(main, ["verify-log"])
    assert broken.exit_code == 1 and "Toegangslog GEBROKEN bij regel 2" in broken.output


def test_the_consent_page_and_its_pdf_are_logged_on_the_web(logged_in, demo, app_session):
    assert logged_in.get(f"/consents/{demo['consent']}").status_code == 200
    assert logged_in.get(f"/consents/{demo['consent']}/toestemming.pdf").status_code == 200
    page = logged_in.get("/toegangslog").get_data(as_text=True)
    assert "afdruk" in page and "inzage" in page
    actions = [e.action for e in app_session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))]
    assert actions == ["view", "print", "view"]


def test_the_privacy_officer_reads_the_evidence_log_of_its_covenant_only(client, app, app_session, demo, make_user):
    """The evidence page lists the covenant's signing steps; another covenant's officer sees none."""
    from signatures.evidence import append_event

    append_event(app_session, subject_kind="consent", subject_id=demo["consent"], event="sent", actor="Tessa",
                 ip="192.0.2.7")
    app_session.commit()
    for email, covenant_id, expect in (("fg@example.org", demo["covenant"], True), ("fg2@example.org", None, False)):
        if covenant_id is None:
            other = Covenant(pack="emmen-casustafel", title="Ander", region="Elders")
            app_session.add(other)
            app_session.flush()
            covenant_id = other.id
        email, password, secret = make_user(grants=[{"role": "privacy_officer", "covenant_id": covenant_id}], email=email)
        web = app.test_client()
        login(web, email, password, secret)
        page = web.get("/bewijslog")
        assert page.status_code == 200
        assert ("192.0.2.7" in page.get_data(as_text=True)) is expect
    kinds = [e.subject_kind for e in app_session.scalars(select(AccessLogEntry))]
    assert kinds == ["evidence_log", "evidence_log"]
