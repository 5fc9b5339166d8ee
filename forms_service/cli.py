"""The ``forms-service`` command: set-up, accounts, tokens and registry questions.

It uses the same configuration as the web app (``DATABASE_URL`` or the instance SQLite
file), so ``forms-service check`` answers exactly what the web page would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys

import click

from forms_service.config import configure_data_key
from forms_service.config import load_config as _load_config
from database import migrate
from registry import accounts, queries, rules, texts
from database.engine import make_engine, make_session_factory
from registry.cases import CLOSE_REASONS
from registry.errors import DomainError
from registry.texts import _


def load_config() -> dict:
    """The app's configuration, with the data key ring configured (every command reads
    or writes encrypted columns with the same key as the web app)."""
    config = _load_config()
    configure_data_key(config)
    return config


def _session():
    """A session on the configured database."""
    return make_session_factory(make_engine(load_config()["DATABASE_URL"]))()


def _date(value: str | None) -> dt.date:
    """A ``YYYY-MM-DD`` option, or today in Europe/Amsterdam."""
    if not value:
        return rules.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(_("'%(value)s' is geen datum (JJJJ-MM-DD).", value=value)) from None


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """forms-service: casustafel covenant paperwork and registry."""
    from forms_service import i18n

    # Output in FORMS_SERVICE_LANGUAGE (or an English LANG); the worker's mails follow
    # each signer's stored language instead (registry.texts.speaking).
    texts.use_catalogue(i18n.catalogue)
    ctx.with_resource(texts.speaking(i18n.cli_language()))


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema."""
    url = load_config()["DATABASE_URL"]
    migrate.upgrade(url)
    click.echo(_("Database bijgewerkt: %(url)s", url=_safe_url(url)))


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command()
def demo() -> None:
    """Load the Emmen demo data (once)."""
    from forms_service.demo import load_demo

    with _session() as session:
        covenant = load_demo(session)
        session.commit()
    click.echo(_("Demodata geladen.") if covenant else _("Demodata was al geladen."))


@main.command("create-admin")
@click.option("--email", required=True)
def create_admin(email: str) -> None:
    """Create an administrator; the password comes from ADMIN_PASSWORD or a prompt."""
    password = os.environ.get("ADMIN_PASSWORD") or click.prompt(_("Wachtwoord"), hide_input=True, confirmation_prompt=True)
    with _session() as session:
        try:
            accounts.create_user(session, email, password, is_admin=True)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message} {' '.join(exc.fields.values())}") from None
        session.commit()
    click.echo(_("Beheerder aangemaakt: %(email)s", email=accounts.normalise_email(email)))


@main.command("ensure-demo-admin")
@click.option("--email", default="admin@example.org", show_default=True)
def ensure_demo_admin(email: str) -> None:
    """Create the demo administrator with a fresh random password (printed), if absent."""
    with _session() as session:
        try:
            user = accounts.user_by_email(session, email)
        except DomainError:
            user = None
        if user is not None:
            click.echo(_("Beheerder %(email)s bestaat al (wachtwoord opnieuw instellen: forms-service reset-password).",
                         email=email))
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        accounts.create_user(session, email, password, is_admin=True)
        session.commit()
    click.echo(_("Inloggen: %(email)s / %(password)s", email=email, password=password))
    click.echo(_("Bij de eerste login stelt u een authenticator-app in (tweestapsverificatie, TOTP)."))


@main.command("ensure-demo-users")
def ensure_demo_users() -> None:
    """Create the demo accounts (admin; chair and coordinator of Emmen-Noord) if absent, and print their logins."""
    from forms_service.demo import ensure_demo_users as ensure

    given = {"beheerder": os.environ["ADMIN_PASSWORD"]} if os.environ.get("ADMIN_PASSWORD") else {}
    with _session() as session:
        created = ensure(session, given)
        session.commit()
    click.echo(_("Inloggen op de demo:"))
    for label, email, password in created:
        if password:
            click.echo(f"  {label}: {email} / {password}")
        else:
            click.echo("  " + _("%(label)s: %(email)s (bestaat al; nieuw wachtwoord: forms-service reset-password --email "
                                  "%(email)s)", label=label, email=email))
    click.echo(_("Beheerder, voorzitter en coördinator stellen bij de eerste login een authenticator-app in "
                 "(tweestapsverificatie, TOTP): scan de QR-code en bewaar de herstelcodes."))


@main.command("reset-password")
@click.option("--email", required=True)
def reset_password(email: str) -> None:
    """Set a new password (ADMIN_PASSWORD or a prompt) for an account."""
    password = os.environ.get("ADMIN_PASSWORD") or click.prompt(_("Wachtwoord"), hide_input=True, confirmation_prompt=True)
    with _session() as session:
        try:
            accounts.set_password(session, accounts.user_by_email(session, email), password)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        session.commit()
    click.echo(_("Wachtwoord ingesteld."))


@main.command("create-token")
@click.option("--email", required=True)
@click.option("--expires-on", default=None, help="laatste geldige dag JJJJ-MM-DD (standaard over 90 dagen, hoogstens 365)")
def create_token(email: str, expires_on: str | None) -> None:
    """Print a new API token for an account (the token is the last line)."""
    with _session() as session:
        try:
            issued = accounts.issue_token(session, accounts.user_by_email(session, email), expires_on)
        except DomainError as exc:
            raise click.ClickException(f"{exc.message} {' '.join(exc.fields.values())}".strip()) from None
        session.commit()
    click.echo(_("Nieuw API-token, geldig tot en met %(date)s (wordt maar één keer getoond):",
                 date=texts.long_date(issued.row.expires_on)))
    click.echo(issued.token)


@main.command()
@click.option("--person", "person_id", type=int, required=True)
@click.option("--table", "table_id", type=int, required=True)
@click.option("--on", "on", default=None, help="JJJJ-MM-DD (standaard vandaag)")
@click.option("--case", "case_ref", default=None)
@click.option("--json", "as_json", is_flag=True, help="Antwoord als JSON")
def check(person_id: int, table_id: int, on: str | None, case_ref: str | None, as_json: bool) -> None:
    """May a person join a table on a date? Exit code 0 = allowed, 1 = denied."""
    day = _date(on)
    with _session() as session:
        try:
            decision = queries.check(session, person_id, table_id, day, case_ref)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
    if as_json:
        click.echo(json.dumps({"allowed": decision.allowed, "basis": decision.basis,
                               "reasons": [r.as_dict() for r in decision.reasons]}, ensure_ascii=False))
    else:
        click.echo((_("TOEGESTAAN") if decision.allowed else _("NIET TOEGESTAAN"))
                   + (f" ({decision.basis})" if decision.basis else ""))
        for reason in (*decision.reasons, *decision.warnings):
            click.echo(f"  - [{reason.code}] {reason.text}")
    sys.exit(0 if decision.allowed else 1)


@main.command()
@click.option("--table", "table_id", type=int, required=True)
@click.option("--on", "on", default=None, help="JJJJ-MM-DD (standaard vandaag)")
@click.option("--case", "case_ref", default=None)
def entitled(table_id: int, on: str | None, case_ref: str | None) -> None:
    """List the organisations and people entitled to join a table on a date."""
    day = _date(on)
    with _session() as session:
        try:
            result = queries.entitled(session, table_id, day, case_ref)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(_("Casustafel %(table)s op %(date)s", table=table_id, date=texts.long_date(day))
               + (_(", casus %(ref)s", ref=case_ref) if case_ref else ""))
    click.echo(_("Organisaties:"))
    for organisation in result.organisations:
        click.echo(f"  {organisation.name}: {'; '.join(r.text for r in organisation.reasons)}")
    click.echo(_("Personen:"))
    for person in result.people:
        click.echo(f"  {person.name} ({person.organisation_name}, {person.basis}): {'; '.join(r.text for r in person.reasons)}")


# ----------------------------------------------------------------------------- a case's life


def _actor() -> str:
    """Who a command acts as in a case's history: ``cli:<login name>``."""
    return f"cli:{os.environ.get('USER') or os.environ.get('LOGNAME') or 'onbekend'}"


@main.command("close-case")
@click.option("--case", "case_id", type=int, required=True, help="id van de casus")
@click.option("--on", "on", default=None, help="JJJJ-MM-DD (standaard vandaag)")
@click.option("--reason", type=click.Choice(sorted(CLOSE_REASONS)),
              required=True, help="reden van afsluiten")
@click.option("--evaluated-on", default=None, help="JJJJ-MM-DD: datum van de evaluatie, als die er al is")
def close_case(case_id: int, on: str | None, reason: str, evaluated_on: str | None) -> None:
    """Close a case with a reason code (and its evaluation date); not_belonging deletes it at once."""
    from registry import cases

    with _session() as session:
        try:
            case = cases.get_case(session, case_id)
            cases.close_case(session, case, on=_date(on), reason=reason, by=_actor(),
                             evaluated_on=_date(evaluated_on) if evaluated_on else None)
            session.commit()
        except DomainError as exc:
            raise click.ClickException(_domain_text(exc)) from None
        click.echo(_("Casus %(id)s gesloten per %(date)s (%(reason)s)", id=case.id, date=texts.long_date(case.closed_on),
                     reason=_(cases.CLOSE_REASONS[reason]))
                   + (_(", geëvalueerd op %(date)s", date=texts.long_date(case.evaluated_on)) if case.evaluated_on else "")
                   + (_("; verwijderd") if case.retention_stage == "erased" else "") + ".")


@main.command("evaluate-case")
@click.option("--case", "case_id", type=int, required=True, help="id van de casus")
@click.option("--on", "on", default=None, help="JJJJ-MM-DD (standaard vandaag)")
def evaluate_case(case_id: int, on: str | None) -> None:
    """Record the evaluation of a closed case (Emmen art. 6: then it may be deleted)."""
    from registry import cases

    with _session() as session:
        try:
            case = cases.get_case(session, case_id)
            cases.record_evaluation(session, case, on=_date(on), by=_actor())
            session.commit()
        except DomainError as exc:
            raise click.ClickException(_domain_text(exc)) from None
        click.echo(_("Casus %(id)s geëvalueerd op %(date)s.", id=case.id, date=texts.long_date(case.evaluated_on)))


def _domain_text(exc: DomainError) -> str:
    """A registry error as one line: its message and each field's message."""
    return " ".join([exc.message, *(f"{name}: {text}" for name, text in exc.fields.items())])


# ----------------------------------------------------------------------------- signing jobs


def _session_factory():
    """A session factory on the configured database (the sealing job owns its transactions)."""
    return make_session_factory(make_engine(load_config()["DATABASE_URL"]))


@main.command("complete-pending")
def complete_pending() -> None:
    """Seal every fully signed document that is not sealed yet (after a crash or a TSA outage).

    Exit code 1 when a document could not be sealed (the reason is printed and logged).
    """
    from signatures import workflow as service

    config = load_config()
    counts = service.complete_pending(_session_factory(), config, ignore_backoff=True)  # by hand: now
    click.echo(_("Verzegeld: %(sealed)s, op papier: %(paper)s, bezet: %(busy)s, mislukt: %(failed)s, "
                 "verlopen links: %(expired)s", **counts))
    if counts["failed"]:
        _report_failures()
        sys.exit(1)


def _report_failures() -> None:
    """Print each document that is still waiting for its seal, with the last error."""
    from sqlalchemy import select

    from signatures.models import SignedDocument

    with _session() as session:
        for doc in session.scalars(select(SignedDocument).where(SignedDocument.status == "pending_seal")):
            click.echo(f"  {doc.subject_kind}/{doc.subject_id}: {doc.last_error}", err=True)


@main.command("ltv-refresh")
@click.option("--within-days", type=click.IntRange(min=0), default=None,
              help="documenten waarvan het certificaat van het nieuwste tijdstempel binnen zoveel dagen verloopt "
                   "(standaard LTV_REFRESH_DAYS, 90)")
@click.option("--all", "everything", is_flag=True, help="elk verzegeld document met een tijdstempel, ongeacht de vervaldatum")
def ltv_refresh(within_days: int | None, everything: bool) -> None:
    """Add a document timestamp (PAdES-B-LTA) to sealed documents before their newest
    timestamp's certificate expires (meant for cron; safe to run twice).

    Exit code 1 when a document could not be refreshed (printed per document).
    """
    from signatures import ltv

    config = load_config()
    if not config.get("TIMESTAMP_URL"):
        raise click.UsageError(_("ltv-refresh heeft TIMESTAMP_URL nodig (een tijdstempeldienst)."))
    report = ltv.refresh(_session_factory(), config, within_days=within_days, everything=everything)
    for name in report.refreshed:
        click.echo("  " + _("%(name)s: documenttijdstempel toegevoegd (PAdES-B-LTA)", name=name))
    for name, error in report.failed.items():
        click.echo("  " + _("%(name)s: mislukt: %(error)s", name=name, error=error), err=True)
    click.echo(_("Tijdstempels toegevoegd: %(refreshed)s, nog niet nodig: %(not_due)s, al actueel: %(current)s, "
                 "zonder tijdstempel (B-B): %(none)s, bezet: %(busy)s, mislukt: %(failed)s",
                 refreshed=len(report.refreshed), not_due=len(report.not_due), current=len(report.current),
                 none=len(report.no_timestamp), busy=len(report.busy), failed=len(report.failed)))
    if report.failed:
        sys.exit(1)


@main.command("send-reminders")
def send_reminders() -> None:
    """By hand or cron (the worker does it once a day): expire old links, remind quiet signers
    (with a new link, written to the outbox; the worker sends it), seal what is complete."""
    from forms_service.worker import public_base_url
    from signatures import workflow as service

    config = load_config()
    base_url = public_base_url(config)
    if not base_url:
        raise click.ClickException(_("Stel PUBLIC_BASE_URL in: herinneringen bevatten een volledige link."))
    with _session() as session:
        sent = service.send_reminders(session, config, base_url=base_url)
        session.commit()
    counts = service.complete_pending(_session_factory(), config, ignore_backoff=True)  # by hand: now
    click.echo(_("Herinneringen verstuurd: %(sent)s; verzegeld: %(sealed)s; mislukt: %(failed)s",
                 sent=sent, sealed=counts["sealed"], failed=counts["failed"]))


# ----------------------------------------------------------------------------- retention and the worker


@main.command()
@click.option("--on", "on", default=None, help="JJJJ-MM-DD (standaard vandaag)")
@click.option("--dry-run", is_flag=True, help="Alleen tonen wat zou gebeuren; niets wijzigen")
def retention(on: str | None, dry_run: bool) -> None:
    """Archive and delete the cases whose retention term passed (one line per case; for cron)."""
    from forms_service.worker import run_retention

    day = _date(on)
    with _session() as session:
        steps, done = run_retention(session, day, dry_run=dry_run)
        if not dry_run:
            session.commit()
    shown = steps if dry_run else done
    for step in shown:
        click.echo((_("zou: ") if dry_run else "") + step.description)
    archived = sum(1 for s in shown if s.action == "archive")
    if dry_run:
        click.echo(_("Bewaartermijnen op %(date)s (proefdraai, niets gewijzigd): te archiveren: %(archived)s, "
                     "te verwijderen: %(deleted)s.", date=texts.long_date(day), archived=archived,
                     deleted=len(shown) - archived))
    else:
        click.echo(_("Bewaartermijnen op %(date)s: gearchiveerd: %(archived)s, verwijderd: %(deleted)s.",
                     date=texts.long_date(day), archived=archived, deleted=len(shown) - archived))


@main.command()
@click.option("--once", is_flag=True, help="Eén ronde en stoppen")
@click.option("--interval", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconden tussen twee rondes")
def worker(once: bool, interval: float) -> None:
    """Background work: expire links, seal what waits, the daily jobs (reminders, retention), send the outbox."""
    from forms_service.worker import loop

    loop(_session_factory(), load_config(), interval=interval, once=once, echo=click.echo)


@main.command("verify-log")
def verify_log() -> None:
    """Recompute the hash chains of the evidence log and the access log; exit code 1
    names the first broken entry of each broken log."""
    from registry.access_log import verify as verify_access_log
    from signatures.evidence import verify_chain

    broken = False
    with _session() as session:
        results = ((_("Bewijslog"), verify_chain(session)), (_("Toegangslog"), verify_access_log(session)))
    for name, result in results:
        if result.ok:
            click.echo(_("%(name)s in orde: %(n)s regels gecontroleerd.", name=name, n=result.checked))
            continue
        broken = True
        click.echo(_("%(name)s GEBROKEN bij regel %(seq)s: %(problem)s (%(n)s regels in orde daarvoor).",
                     name=name, seq=result.first_broken_seq, problem=result.problem, n=result.checked), err=True)
    if broken:
        sys.exit(1)


@main.command("rotate-data-key")
def rotate_data_key() -> None:
    """Re-encrypt every encrypted value with a new data key, then drop the old key.

    With the key file in the instance folder: a new key is generated and written first
    (old key kept beside it), every value re-encrypted in one transaction, then the old
    key removed. With ``DATA_KEY``: set the new key in ``DATA_KEY`` and the old one in
    ``DATA_KEY_PREVIOUS``, run this, then remove ``DATA_KEY_PREVIOUS``. Stop the web app
    first: a running app keeps writing with the key it started with.
    """
    from database.base import Base
    from registry import crypto
    import registry.models  # noqa: F401  (every encrypted column on Base.metadata)
    import signatures.models  # noqa: F401

    config = _load_config()
    key_file = None if config.get("DATA_KEY") else crypto.key_file_path(config["INSTANCE_DIR"])
    if key_file:
        old_keys = crypto.load_or_create_key_file(config["INSTANCE_DIR"])
        new_key = crypto.generate_key()
        crypto.write_key_file(key_file, [new_key, *old_keys])  # a crash below loses nothing
    ring = configure_data_key(config)
    if not key_file and not ring.older:
        click.echo(_("Let op: DATA_KEY_PREVIOUS is leeg; alles wordt met DATA_KEY opnieuw versleuteld."), err=True)
    engine = make_engine(config["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            counts = crypto.rotate(connection, Base.metadata, ring)
    except crypto.CryptoError as exc:
        raise click.ClickException(_("Niets gewijzigd: %(error)s", error=exc)) from None
    finally:
        engine.dispose()
    if key_file:
        crypto.write_key_file(key_file, [new_key])
        crypto.configure(crypto.KeyRing(crypto.decode_key(new_key)))
    for name in sorted(set(counts.encrypted) | set(counts.unchanged)):
        click.echo("  " + _("%(name)s: %(done)s opnieuw versleuteld, %(same)s al met de nieuwe sleutel", name=name,
                            done=counts.encrypted.get(name, 0), same=counts.unchanged.get(name, 0)))
    for name, n in sorted(counts.keys.items()):
        click.echo("  " + _("%(name)s: %(n)s opnieuw berekend", name=name, n=n))
    total = sum(counts.encrypted.values())
    click.echo(_("Datasleutel vervangen door %(key)s: %(total)s waarden opnieuw versleuteld, %(keys)s "
                 "inwonersleutels opnieuw berekend.", key=ring.current_id, total=total, keys=sum(counts.keys.values())))
    if key_file:
        click.echo(_("Oude sleutel verwijderd uit %(file)s. Maak nu een nieuwe back-up van dit bestand.", file=key_file))
    else:
        click.echo(_("Verwijder nu DATA_KEY_PREVIOUS en bewaar de nieuwe DATA_KEY op een veilige plek."))


if __name__ == "__main__":
    main()
