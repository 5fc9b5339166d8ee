"""The ``forms-service`` command against a real database file, as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture
def cli(tmp_path, db_url):
    """Run the CLI in a subprocess with its own instance folder and the test database."""
    env = {**os.environ, "FORMS_SERVICE_INSTANCE": str(tmp_path / "inst"), "DATABASE_URL": db_url,
           "FORMS_SERVICE_LANGUAGE": "nl"}  # Dutch whatever the machine's LANG
    env.pop("ADMIN_PASSWORD", None)

    def run(*args, input_text=None, extra_env=None):
        return subprocess.run(
            [sys.executable, "-m", "forms_service.cli", *args], capture_output=True, text=True,
            env={**env, **(extra_env or {})}, input=input_text, timeout=120,
        )

    return run


def test_setup_demo_admin_token_and_questions(cli, tmp_path):
    assert cli("init-db").returncode == 0
    first, second = cli("demo"), cli("demo")
    assert "Demodata geladen." in first.stdout and "al geladen" in second.stdout
    admin = cli("create-admin", "--email", "Beheer@Example.org", extra_env={"ADMIN_PASSWORD": "een lang wachtwoord"})
    assert admin.returncode == 0 and "beheer@example.org" in admin.stdout
    token = cli("create-token", "--email", "beheer@example.org")
    assert token.returncode == 0 and len(token.stdout.strip().splitlines()[-1]) >= 40
    allowed = cli("check", "--person", "9", "--table", "1", "--on", "2026-01-05")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert allowed.stdout.startswith("TOEGESTAAN") and "bijlage1_signed" in allowed.stdout
    denied = cli("check", "--person", "9", "--table", "1", "--on", "2025-05-01")
    assert denied.returncode == 1 and "covenant_not_in_force" in denied.stdout
    entitled = cli("entitled", "--table", "1", "--on", "2026-03-02", "--case", "EN-2026-014")
    assert "Sanne Hofstra" in entitled.stdout and "GGD Drenthe" in entitled.stdout
    assert (tmp_path / "inst" / "secret_key").exists()


def test_the_command_line_speaks_english_when_asked(cli):
    """FORMS_SERVICE_LANGUAGE=en (or an English LANG without it): output and errors in English,
    reasons and dates too; Dutch stays the default."""
    assert cli("init-db").returncode == 0 and cli("demo").returncode == 0
    english = {"FORMS_SERVICE_LANGUAGE": "en"}
    unknown = cli("check", "--person", "1", "--table", "42", extra_env=english)
    assert unknown.returncode == 1 and "Case table 42 does not exist." in unknown.stderr, unknown.stderr
    listed = cli("entitled", "--table", "1", "--on", "2026-03-02", extra_env=english)
    assert listed.stdout.startswith("Case table 1 on 2 March 2026") and "Organisations:" in listed.stdout
    assert "People:" in listed.stdout and "Personen:" not in listed.stdout
    by_lang = cli("entitled", "--table", "1", "--on", "2026-03-02",
                  extra_env={"FORMS_SERVICE_LANGUAGE": "", "LANG": "en_GB.UTF-8"})
    assert by_lang.stdout.startswith("Case table 1 on 2 March 2026"), by_lang.stdout
    dutch = cli("entitled", "--table", "1", "--on", "2026-03-02")
    assert dutch.stdout.startswith("Casustafel 1 op 2 maart 2026") and "Personen:" in dutch.stdout


def test_cli_errors_are_clear(cli):
    cli("init-db")
    assert "bestaat niet" in cli("check", "--person", "1", "--table", "42").stderr
    bad_date = cli("check", "--person", "1", "--table", "1", "--on", "1-1-2026")
    assert bad_date.returncode == 2 and "geen datum" in bad_date.stderr
    short = cli("create-admin", "--email", "a@example.org", extra_env={"ADMIN_PASSWORD": "kort"})
    assert short.returncode == 1 and "10 tekens" in short.stderr
    assert cli("create-token", "--email", "niemand@example.org").returncode == 1


def test_demo_users_print_their_logins_and_can_log_in(cli, db_url, tmp_path):
    import re

    from forms_service import create_app
    from tests.auth_support import login, logged_in_as

    cli("init-db")
    cli("demo")
    first = cli("ensure-demo-users")
    assert first.returncode == 0, first.stderr
    logins = {label: (email, password) for label, email, password in
              re.findall(r"^  (.+?): (\S+@\S+) / (\S+)$", first.stdout, re.M)}
    assert set(logins) == {"beheerder", "voorzitter Emmen-Noord", "coördinator Emmen-Noord"}
    assert "authenticator-app" in first.stdout
    again = cli("ensure-demo-users")
    assert again.stdout.count("bestaat al") == 3
    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "SIGNING_COMPLETE_ON_START": False})
    try:
        from registry import accounts
        from database.engine import make_session_factory

        with make_session_factory(app.extensions["db_engine"])() as session:
            chair = accounts.user_by_email(session, logins["voorzitter Emmen-Noord"][0])
            assert chair.person.name == "Anouk Veenstra" and [g.role for g in chair.grants] == ["chair"]
            assert chair.grants[0].table_id == 1
            coordinator = accounts.user_by_email(session, logins["coördinator Emmen-Noord"][0])
            assert coordinator.person.name == "Gerda Smit" and [g.role for g in coordinator.grants] == ["coordinator"]
        client = app.test_client()
        email, password = logins["voorzitter Emmen-Noord"]
        assert login(client, email, password).recovery_codes  # first login enrols TOTP
        assert logged_in_as(client) == email
    finally:
        app.extensions["db_engine"].dispose()


def test_create_token_expiry_option(cli):
    cli("init-db")
    cli("create-admin", "--email", "b@example.org", extra_env={"ADMIN_PASSWORD": "een lang wachtwoord"})
    default = cli("create-token", "--email", "b@example.org")
    assert default.returncode == 0 and "geldig tot en met" in default.stdout
    too_far = cli("create-token", "--email", "b@example.org", "--expires-on", "2999-01-01")
    assert too_far.returncode == 1 and "365" in too_far.stderr


def test_close_and_evaluate_a_case_from_the_command_line(cli, db_url):
    from sqlalchemy import select

    from database.engine import make_engine, make_session_factory
    from registry.models import Case, CaseEvent
    from registry.texts import long_date

    assert cli("init-db").returncode == 0 and cli("demo").returncode == 0
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        case = session.scalar(select(Case).where(Case.closed_on.is_(None)).order_by(Case.id))
        case_id, opened = case.id, case.opened_on
    early = cli("close-case", "--case", str(case_id), "--on", "2000-01-01", "--reason", "handled")
    assert early.returncode == 1 and f"De casus is geopend op {long_date(opened)}" in early.stderr
    unknown = cli("close-case", "--case", str(case_id), "--reason", "klaar")
    assert unknown.returncode == 2 and "handled" in unknown.stderr
    closed = cli("close-case", "--case", str(case_id), "--on", opened.isoformat(), "--reason", "handled")
    assert closed.returncode == 0 and f"gesloten per {long_date(opened)}" in closed.stdout, closed.stderr
    evaluated = cli("evaluate-case", "--case", str(case_id), "--on", opened.isoformat())
    assert evaluated.returncode == 0 and "geëvalueerd" in evaluated.stdout, evaluated.stderr
    again = cli("evaluate-case", "--case", str(case_id))
    assert again.returncode == 1 and "Al geëvalueerd" in again.stderr
    with make_session_factory(engine)() as session:
        kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id))]
        assert kinds[-2:] == ["closed", "evaluated"]
        assert session.get(Case, case_id).evaluated_on == opened
    engine.dispose()
    assert cli("close-case", "--case", "999999", "--reason", "handled").returncode == 1
