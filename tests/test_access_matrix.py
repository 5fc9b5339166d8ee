"""The access matrix: every route of ``app.url_map`` × anonymous, an account without
grants, and each role in and out of scope — the status each one gets.

The world is the Emmen demo plus a meeting, an unsigned Bijlage 1 with a signing
request, and these accounts:

| name | grants | linked person |
|---|---|---|
| ``admin`` | admin | — |
| ``coord_cov`` | coordinator of the covenant | Emmen-Noord's coordinator (Bijlage 1) |
| ``coord_north`` | coordinator of Emmen-Noord | Emmen-Noord's coordinator |
| ``chair_north`` | chair of Emmen-Noord | Emmen-Noord's chair (Bijlage 1) |
| ``chair_unentitled`` | chair of Emmen-Noord | Emmen-Zuid's chair (no Bijlage 1 at Emmen-Noord) |
| ``chair_south`` | chair of Emmen-Zuid | Emmen-Zuid's chair |
| ``partner`` | partner contact of GGD Drenthe | — |
| ``privacy`` | privacy officer of the covenant | — |

An erasure request of the demo consent's resident, for the covenant, is in the register.
| ``nogrant`` | none | — |

Every record the routes name lives at Emmen-Noord (the consent, the meeting, the
declaration of a GGD Drenthe employee). Allowed means any answer but 401, 403 or 5xx
(a body may still be refused with 4xx); refused means 403 (JSON ``forbidden`` /
``not_entitled`` on the API), and for anonymous visitors 401 (API) or a redirect to
the login page (web). Each route runs on a fresh copy of the world's database, so one
route's writes cannot change another's answer. A route without an entry fails the test.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field

import pytest

from registry import accounts
from database.engine import make_engine, make_session_factory
from sqlalchemy import select

from registry.models import ApiToken, CaseTable, Consent, Declaration, Grant, Organisation, Person
from tests.auth_support import login
from tests.conftest import enrol_totp

PASSWORD = "matrix password 123"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"
PRINCIPALS = ["anon", "nogrant", "admin", "coord_cov", "coord_north", "chair_north", "chair_unentitled",
              "chair_south", "partner", "privacy"]
LOGGED_IN = set(PRINCIPALS) - {"anon"}

ADMIN = {"admin"}
MANAGE_COV = {"admin", "coord_cov"}
COORDS = {"admin", "coord_cov", "coord_north"}
NORTH_MEETINGS = COORDS | {"chair_north", "chair_unentitled"}
NORTH_READ = NORTH_MEETINGS | {"partner"}
COVENANT_READ = NORTH_READ | {"chair_south"}
RESIDENT = COORDS | {"chair_north"}
ACTIONS = RESIDENT
"""A meeting's action list: its entitled participants (the north chair and coordinator) and the admin."""
BIJLAGE1 = COORDS | {"partner"}
LOGS = {"admin", "privacy"}
PUBLIC = set(PRINCIPALS)
OPEN = frozenset(PRINCIPALS)
"""Login and logout: any answer but a server error (they redirect everyone somewhere)."""


@dataclass
class World:
    """The database file with the world, the ids routes need, and each principal's credentials."""

    db_path: str
    instance: str = ""
    ids: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)


def _grant(role: str, **scope) -> Grant:
    return Grant(role=role, created_by="matrix", **scope)


def _build_world(session, config) -> dict:
    """Demo + meeting + a GGD employee's unsigned Bijlage 1 sent for signing; returns ids."""
    from forms_service.demo import load_demo
    from signatures import workflow as service
    from registry import meetings, services
    from sqlalchemy import select

    covenant = load_demo(session)
    north = session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Noord"))
    south = session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Zuid"))
    ggd = session.scalar(select(Organisation).where(Organisation.name == "GGD Drenthe"))
    worker = services.create_person(session, name="Wim Wever", initials="W.", organisation_id=ggd.id,
                                    function="Verpleegkundige", email="wim@ggd.example.org")
    declaration = services.create_declaration(session, kind="structural", person_id=worker.id, table_id=north.id)
    signed = session.scalar(select(Declaration).where(Declaration.table_id == north.id, Declaration.kind == "structural",
                                                      Declaration.person_id == north.coordinator_id))
    consent = session.scalar(select(Consent))
    meeting = meetings.plan_meeting(
        session, table_id=north.id, starts_at=dt.datetime.combine(dt.date.today() + dt.timedelta(days=7), dt.time(14)),
        location="Raadhuis", cases=[meetings.AgendaItem("EN-2026-007", None, None, (north.chair_id, north.coordinator_id))],
        planned_by="matrix").meeting
    invitation = service.send_for_signing(session, config, "declaration", declaration.id, actor="matrix",
                                          base_url="http://localhost/")[0]
    from registry import actions

    meeting_case = meeting.cases[0].case
    action = actions.record_action(session, meeting, meeting_case, session.get(Person, north.chair_id), "referral",
                                   meeting.on + dt.timedelta(days=14), "matrix")
    partnership = covenant.partnerships[1]
    from registry import subject_requests

    subject_request = subject_requests.create_request(
        session, kind="erasure", resident_name=consent.resident_name, resident_birth_date=consent.resident_birth_date,
        received_on=None, by="matrix", covenant_id=covenant.id)
    from signatures import webhooks

    hook = webhooks.create_subscription(session, url="https://93.184.216.34/hook", events=["consent.withdrawn"],
                                        secret="matrix secret 1234567", by="matrix")
    from registry import amendments

    amendment = amendments.propose(session, covenant, "Matrix: nieuwe versie", "matrix")
    people = {
        "admin": (None, [_grant("admin")]),
        "coord_cov": (north.coordinator_id, [_grant("coordinator", covenant_id=covenant.id)]),
        "coord_north": (north.coordinator_id, [_grant("coordinator", table_id=north.id)]),
        "chair_north": (north.chair_id, [_grant("chair", table_id=north.id)]),
        "chair_unentitled": (south.chair_id, [_grant("chair", table_id=north.id)]),
        "chair_south": (south.chair_id, [_grant("chair", table_id=south.id)]),
        "partner": (None, [_grant("partner_contact", organisation_id=ggd.id)]),
        "privacy": (None, [_grant("privacy_officer", covenant_id=covenant.id)]),
        "nogrant": (None, []),
    }
    for name, (person_id, grants) in people.items():
        user = accounts.create_user(session, f"{name}@matrix.example.org", PASSWORD)
        user.person_id, user.grants = person_id, grants
        if accounts.requires_mfa(user):
            enrol_totp(user, TOTP_SECRET)
    session.flush()
    return {
        "covenant": covenant.id, "north": north.id, "south": south.id, "ggd": ggd.id,
        "org_partner": partnership.organisation_id, "chair": north.chair_id, "worker": worker.id,
        "declaration": declaration.id, "signed_declaration": signed.id, "consent": consent.id, "case": consent.case_id,
        "meeting": meeting.id, "request": invitation.request.id, "token": invitation.token,
        "pack": covenant.pack, "subject_request": subject_request.id, "action": action.id, "webhook": hook.id,
        "amendment": amendment.id,
    }


def _log_in(client, email: str) -> None:
    """Log in through the real flow: password, then a TOTP code where the role needs one."""
    response = login(client, email, PASSWORD, TOTP_SECRET)
    assert response.status_code == 302 and "/login" not in response.headers["Location"], response.get_data(as_text=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory, sqlite_template):
    """The world on a SQLite file, with an API token and a session cookie per principal."""
    import os

    folder = tmp_path_factory.mktemp("matrix")
    path = folder / "world.sqlite3"
    shutil.copy(sqlite_template, path)
    os.environ["FORMS_SERVICE_INSTANCE"] = str(folder / "instance")
    from forms_service import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "RATELIMIT_ENABLED": False})
    found = World(str(path), str(folder / "instance"))
    with make_session_factory(app.extensions["db_engine"])() as session:
        found.ids = _build_world(session, app.config)
        for name in LOGGED_IN:
            user = accounts.user_by_email(session, f"{name}@matrix.example.org")
            found.tokens[name] = accounts.create_token(session, user)
            found.ids[f"user_{name}"] = user.id
        found.ids["token_nogrant"] = session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == accounts.hash_token(found.tokens["nogrant"])))
        session.commit()
    for name in LOGGED_IN:
        client = app.test_client()
        _log_in(client, f"{name}@matrix.example.org")
        found.cookies[name] = client.get_cookie("session").value
    app.extensions["db_engine"].dispose()
    yield found
    os.environ.pop("FORMS_SERVICE_INSTANCE", None)


# ----------------------------------------------------------------------------- the matrix


def _routes(i: dict) -> dict:
    """(endpoint, method) → (url, allowed principals, request keyword arguments), or a
    list of those when one route serves several URLs with different rights."""
    n, c, d, co, m, r = i["north"], i["covenant"], i["declaration"], i["consent"], i["meeting"], i["request"]
    tok, sr = i["token"], i["subject_request"]
    decl_body = {"kind": "structural", "person_id": i["worker"], "table_id": n}
    consent_body = {"case_ref": "EN-2026-099", "table_id": n, "recipients": [i["ggd"]], "categories": ["name_address"],
                    "signed_by": "resident", "resident_name": "Iemand Anders", "resident_birth_date": "1990-01-01", "purpose": "test"}
    web_decl = {"data": {"name": "Wim Wever", "initials": "W.", "organisation": "GGD Drenthe", "function": "x",
                         "email": "wim@ggd.example.org", "table_id": str(n)}}
    return {
        ("static", "GET"): ("/static/site.css", PUBLIC, {}),
        ("auth.login", "GET"): ("/login", PUBLIC, {}),
        ("auth.login", "POST"): ("/login", OPEN, {"data": {}}),
        ("auth.logout", "POST"): ("/logout", OPEN, {}),
        ("auth.totp", "GET"): ("/login/tweestaps", OPEN, {}),
        ("auth.totp", "POST"): ("/login/tweestaps", OPEN, {"data": {}}),
        ("auth.enrol", "GET"): ("/login/tweestaps/instellen", OPEN, {}),
        ("auth.enrol", "POST"): ("/login/tweestaps/instellen", OPEN, {"data": {}}),
        ("auth.set_password", "GET"): ("/wachtwoord/unknown-token", OPEN, {}),
        ("auth.set_password", "POST"): ("/wachtwoord/unknown-token", OPEN, {"data": {}}),
        ("auth.oidc_login", "GET"): ("/login/oidc", OPEN, {}),
        ("auth.oidc_callback", "GET"): ("/login/oidc/callback", OPEN, {}),
        ("auth.account", "GET"): ("/account", LOGGED_IN, {}),
        ("auth.account", "POST"): ("/account", LOGGED_IN, {"data": {}}),
        ("auth.new_recovery_codes", "POST"): ("/account/herstelcodes", LOGGED_IN, {"data": {}}),
        ("users.list_users", "GET"): ("/beheer/gebruikers/", ADMIN, {}),
        ("users.invite", "GET"): ("/beheer/gebruikers/nieuw", ADMIN, {}),
        ("users.invite", "POST"): ("/beheer/gebruikers/nieuw", ADMIN, {"data": {}}),
        ("users.detail", "GET"): (f"/beheer/gebruikers/{i['user_nogrant']}", ADMIN, {}),
        ("users.detail", "POST"): (f"/beheer/gebruikers/{i['user_nogrant']}", ADMIN, {"data": {}}),
        ("users.disable", "POST"): (f"/beheer/gebruikers/{i['user_nogrant']}/uitschakelen", ADMIN, {}),
        ("users.enable", "POST"): (f"/beheer/gebruikers/{i['user_nogrant']}/inschakelen", ADMIN, {}),
        ("users.reset_totp", "POST"): (f"/beheer/gebruikers/{i['user_nogrant']}/tweestaps-opnieuw", ADMIN, {}),
        ("users.reinvite", "POST"): (f"/beheer/gebruikers/{i['user_nogrant']}/uitnodiging", ADMIN, {}),
        ("users.revoke_token", "POST"): (f"/beheer/gebruikers/tokens/{i['token_nogrant']}/intrekken", ADMIN, {}),
        ("web.index", "GET"): ("/", LOGGED_IN, {}),
        ("web.table", "GET"): (f"/tables/{n}", NORTH_READ, {}),
        ("web.person", "GET"): (f"/people/{i['chair']}", COORDS | {"chair_north", "chair_unentitled"}, {}),
        ("documents.covenants", "GET"): ("/covenants", LOGGED_IN, {}),
        ("documents.covenant_new", "GET"): ("/covenants/new", ADMIN, {}),
        ("documents.covenant_new", "POST"): ("/covenants/new", ADMIN, {"data": {}}),
        ("documents.covenant_edit", "GET"): (f"/covenants/{c}/edit", MANAGE_COV, {}),
        ("documents.covenant_edit", "POST"): (f"/covenants/{c}/edit", MANAGE_COV, {"data": {}}),
        ("documents.covenant", "GET"): (f"/covenants/{c}", COVENANT_READ, {}),
        ("documents.covenant_preview", "GET"): (f"/covenants/{c}/preview", COVENANT_READ, {}),
        ("documents.covenant_pdf", "GET"): (f"/covenants/{c}/convenant.pdf", COVENANT_READ, {}),
        ("documents.covenant_signed_zip", "GET"): (f"/covenants/{c}/ondertekend.zip", MANAGE_COV, {}),
        ("web.table_signed_zip", "GET"): (f"/tables/{n}/ondertekend.zip", RESIDENT, {}),
        ("public.index", "GET"): ("/openbaar/convenanten", PUBLIC, {}),
        ("public.covenant", "GET"): (f"/openbaar/convenanten/{c}", PUBLIC, {}),
        ("public.covenant_pdf", "GET"): (f"/openbaar/convenanten/{c}/convenant.pdf", PUBLIC, {}),
        ("documents.covenant_docx", "GET"): (f"/covenants/{c}/convenant.docx", COVENANT_READ, {}),
        ("documents.forms_overview", "GET"): ("/forms", LOGGED_IN, {}),
        ("documents.blank_form", "GET"): (f"/forms/{i['pack']}/bijlage1.pdf", LOGGED_IN, {}),
        ("documents.declaration", "GET"): (f"/declarations/{d}", NORTH_READ, {}),
        ("documents.declaration_pdf", "GET"): (f"/declarations/{d}/verklaring.pdf", NORTH_READ, {}),
        # One view for the form annexes of every pack, by key; the allowed set follows
        # the annex's kind (structural declaration, incidental declaration, consent).
        ("documents.annex_form", "GET"): [("/forms/bijlage1", BIJLAGE1, {}), ("/forms/bijlage2", COORDS, {}),
                                          ("/forms/bijlage4", COORDS, {}), ("/forms/bijlage5", COORDS, {})],
        ("documents.annex_form", "POST"): [
            ("/forms/bijlage1", BIJLAGE1, web_decl),
            ("/forms/bijlage2", COORDS, {"data": {**web_decl["data"], "case_ref": "EN-1"}}),
            ("/forms/bijlage4", COORDS, {"data": {
                "table_id": str(n), "case_ref": "EN-2026-099", "signed_by": "resident", "resident_name": "Iemand", "resident_birth_date": "1990-01-01",
                "categories": "name_address", "recipients": str(i["ggd"]), "purpose": "x"}})],
        ("documents.consent", "GET"): (f"/consents/{co}", RESIDENT, {}),
        ("documents.consent_pdf", "GET"): (f"/consents/{co}/toestemming.pdf", RESIDENT, {}),
        ("meetings.plan", "GET"): (f"/tables/{n}/meetings/new", NORTH_MEETINGS, {}),
        ("meetings.plan", "POST"): (f"/tables/{n}/meetings/new", NORTH_MEETINGS, {"data": {}}),
        ("meetings.table_meetings", "GET"): (f"/tables/{n}/meetings", NORTH_MEETINGS, {}),
        ("meetings.check", "GET"): (f"/meetings/{m}", NORTH_MEETINGS, {}),
        ("meetings.check_pdf", "GET"): (f"/meetings/{m}/toetsingslijst.pdf", NORTH_MEETINGS, {}),
        ("meetings.send_for_signing", "POST"): (f"/meetings/{m}/send-for-signing", COORDS, {"data": {}}),
        ("meetings.need_to_know", "POST"): (f"/meetings/{m}/need-to-know", NORTH_MEETINGS, {"data": {}}),
        ("meetings.invitations", "POST"): (f"/meetings/{m}/invitations", NORTH_MEETINGS, {"data": {}}),
        ("meetings.attendance", "GET"): (f"/meetings/{m}/attendance", NORTH_MEETINGS, {}),
        ("meetings.attendance", "POST"): (f"/meetings/{m}/attendance", NORTH_MEETINGS, {"data": {}}),
        ("meetings.withdraw_consent", "GET"): (f"/consents/{co}/withdraw", RESIDENT, {}),
        ("meetings.withdraw_consent", "POST"): (f"/consents/{co}/withdraw", RESIDENT, {"data": {"on": "2026-12-01"}}),
        ("access_log.page", "GET"): ("/toegangslog", LOGS, {}),
        # the covenant's life on the web: managed like the covenant; revocation like a declaration,
        # end of employment like registering people
        ("covenant_life.accession", "POST"): (f"/covenants/{c}/toetreding", MANAGE_COV, {"data": {}}),
        ("covenant_life.partner_end", "POST"): (f"/covenants/{c}/partners/{i['org_partner']}/einde", MANAGE_COV, {"data": {}}),
        ("covenant_life.covenant_end", "POST"): (f"/covenants/{c}/einde", MANAGE_COV, {"data": {}}),
        ("covenant_life.propose_amendment", "POST"): (f"/covenants/{c}/wijzigingen", MANAGE_COV, {"data": {}}),
        ("covenant_life.amendment", "GET"): (f"/covenants/{c}/wijzigingen/{i['amendment']}", COVENANT_READ, {}),
        ("covenant_life.send_amendment", "POST"): (f"/covenants/{c}/wijzigingen/{i['amendment']}/versturen", MANAGE_COV, {}),
        ("covenant_life.revoke_declaration", "POST"): (f"/declarations/{d}/intrekking", COORDS, {"data": {}}),
        ("covenant_life.end_employment", "POST"): (f"/people/{i['worker']}/uit-dienst", BIJLAGE1, {"data": {}}),
        ("api.propose_amendment", "POST"): (f"/api/v1/covenants/{c}/amendments", MANAGE_COV, {"json": {}}),
        ("api.amendment", "GET"): (f"/api/v1/covenants/{c}/amendments/{i['amendment']}", COVENANT_READ, {}),
        ("api.send_amendment", "POST"): (f"/api/v1/covenants/{c}/amendments/{i['amendment']}/signing-requests", MANAGE_COV, {}),
        ("access_log.evidence", "GET"): ("/bewijslog", LOGS, {}),
        # residents' requests: the covenant's privacy officer and admins
        ("subject_requests.register_page", "GET"): ("/verzoeken", LOGS, {}),
        ("subject_requests.new_request", "GET"): ("/verzoeken/nieuw", LOGS, {}),
        ("subject_requests.new_request", "POST"): ("/verzoeken/nieuw", LOGS, {"data": {}}),
        ("subject_requests.detail", "GET"): (f"/verzoeken/{sr}", LOGS, {}),
        ("subject_requests.detail", "POST"): (f"/verzoeken/{sr}", LOGS, {"data": {}}),
        ("subject_requests.export_pdf", "GET"): (f"/verzoeken/{sr}/inzage.pdf", LOGS, {}),
        ("subject_requests.export_json_file", "GET"): (f"/verzoeken/{sr}/inzage.json", LOGS, {}),
        ("subject_requests.erase", "GET"): (f"/verzoeken/{sr}/verwijderen", LOGS, {}),
        ("subject_requests.erase", "POST"): (f"/verzoeken/{sr}/verwijderen", LOGS, {"data": {"confirm": "y"}}),
        ("signing.sign_page", "GET"): (f"/onderteken/{tok}", PUBLIC, {}),
        ("signing.sign_page", "POST"): ("/onderteken/unknown-token", PUBLIC, {"data": {}}),
        ("signing.done", "GET"): (f"/onderteken/{tok}/klaar", PUBLIC, {}),
        ("signing.document_pdf", "GET"): (f"/onderteken/{tok}/document.pdf", PUBLIC, {}),
        ("signing.document_preview", "GET"): (f"/onderteken/{tok}/voorbeeld", PUBLIC, {}),
        ("signing.signed_copy", "GET"): (f"/onderteken/{tok}/ondertekend.pdf", PUBLIC, {}),
        ("signing.decline", "POST"): ("/onderteken/unknown-token/weigeren", PUBLIC, {"data": {}}),
        ("signing.verify", "GET"): ("/verify", PUBLIC, {}),
        ("signing.verify", "POST"): ("/verify", PUBLIC, {"data": {}}),
        ("signing.overview", "GET"): ("/ondertekening", BIJLAGE1, {}),
        ("signing.send", "POST"): (f"/ondertekening/declaration/{d}/versturen", BIJLAGE1, {"data": {}}),
        ("signing.remind", "POST"): (f"/ondertekening/verzoeken/{r}/herinneren", BIJLAGE1, {"data": {}}),
        # the dashboard's companions: the annual evaluation, bulk Bijlage 1, lists of people and organisations
        ("records.record_evaluation", "POST"): (f"/covenants/{c}/evaluaties", MANAGE_COV, {"data": {}}),
        ("records.send_bijlage1_to_all", "POST"): (f"/tables/{n}/bijlage1-versturen", COORDS, {"data": {}}),
        ("records.people", "GET"): ("/mensen", COVENANT_READ, {}),
        ("records.organisations", "GET"): ("/organisaties", COVENANT_READ, {}),
        ("signing.in_person", "POST"): (f"/ondertekening/declaration/{d}/in-persoon", BIJLAGE1, {"data": {}}),
        ("signing.cancel", "POST"): (f"/ondertekening/verzoeken/{r}/intrekken", BIJLAGE1, {"data": {}}),
        ("signing.resend", "POST"): (f"/ondertekening/verzoeken/{r}/opnieuw", BIJLAGE1, {"data": {}}),
        ("signing.paper", "POST"): (f"/ondertekening/declaration/{d}/papier", BIJLAGE1, {"data": {}}),
        ("signing.staff_download", "GET"): (f"/ondertekening/declaration/{i['signed_declaration']}/ondertekend.pdf", COORDS, {}),
        ("signing.outbox", "GET"): ("/outbox", ADMIN, {}),
        ("signing.outbox_passed_on", "POST"): ("/outbox/1/doorgegeven", ADMIN, {}),
        # ------------------------------------------------------------------ API
        ("api.openapi", "GET"): ("/api/openapi.json", PUBLIC, {}),
        ("api.get_dashboard", "GET"): ("/api/v1/dashboard", LOGGED_IN, {}),
        ("api.docs", "GET"): ("/api/docs", PUBLIC, {}),
        ("api.docs_asset", "GET"): ("/api/docs/assets/swagger-ui.css", PUBLIC, {}),
        ("api.create_organisation", "POST"): ("/api/v1/organisations", COORDS, {"json": {"name": "Nieuw B.V."}}),
        ("api.create_person", "POST"): ("/api/v1/people", BIJLAGE1, {"json": {"name": "X", "organisation_id": i["ggd"]}}),
        ("api.create_covenant", "POST"): ("/api/v1/covenants", ADMIN, {"json": {"pack": i["pack"], "title": "T", "region": "R"}}),
        ("api.partners", "POST"): (f"/api/v1/covenants/{c}/partners", MANAGE_COV, {"json": {}}),
        ("api.start_covenant", "POST"): (f"/api/v1/covenants/{c}/start", MANAGE_COV, {"json": {}}),
        ("api.give_notice", "POST"): (f"/api/v1/covenants/{c}/partners/{i['org_partner']}/notice", MANAGE_COV, {"json": {}}),
        ("api.terminate", "POST"): (f"/api/v1/covenants/{c}/partners/{i['org_partner']}/termination", MANAGE_COV, {"json": {}}),
        ("api.exclude", "POST"): (f"/api/v1/covenants/{c}/partners/{i['org_partner']}/exclusion", MANAGE_COV, {"json": {}}),
        ("api.tables", "POST"): ("/api/v1/tables", MANAGE_COV, {"json": {"covenant_id": c, "name": "T", "area": "Emmen-Noord"}}),
        ("api.tables", "GET"): ("/api/v1/tables", LOGGED_IN, {}),
        ("api.create_declaration", "POST"): ("/api/v1/declarations", BIJLAGE1, {"json": decl_body}),
        ("api.revoke_declaration", "POST"): (f"/api/v1/declarations/{d}/revocation", COORDS, {"json": {"on": "2026-12-01"}}),
        ("api.entitled", "GET"): (f"/api/v1/tables/{n}/entitled", NORTH_READ, {}),
        ("api.check", "GET"): (f"/api/v1/check?person={i['chair']}&table={n}", NORTH_READ, {}),
        ("api.covenant_pdf", "GET"): (f"/api/v1/covenants/{c}/document.pdf", COVENANT_READ, {}),
        ("api.partners", "GET"): (f"/api/v1/covenants/{c}/partners", COVENANT_READ, {}),
        ("api.covenant_signed_zip", "GET"): (f"/api/v1/covenants/{c}/signed.zip", MANAGE_COV, {}),
        ("api.table_signed_zip", "GET"): (f"/api/v1/tables/{n}/signed.zip", RESIDENT, {}),
        ("api.covenant_docx", "GET"): (f"/api/v1/covenants/{c}/document.docx", COVENANT_READ, {}),
        ("api.declaration_pdf", "GET"): (f"/api/v1/declarations/{d}/document.pdf", NORTH_READ, {}),
        ("api.consent_pdf", "GET"): (f"/api/v1/consents/{co}/document.pdf", RESIDENT, {}),
        ("api.get_consent", "GET"): (f"/api/v1/consents/{co}", RESIDENT, {}),
        ("api.list_packs", "GET"): ("/api/v1/packs", LOGGED_IN, {}),
        ("api.blank_form", "GET"): (f"/api/v1/packs/{i['pack']}/forms/bijlage4.pdf", LOGGED_IN, {}),
        ("api.create_consent", "POST"): ("/api/v1/consents", COORDS, {"json": consent_body}),
        ("api.send_covenant", "POST"): (f"/api/v1/covenants/{c}/signing-requests", MANAGE_COV, {}),
        ("api.send_declaration", "POST"): (f"/api/v1/declarations/{d}/signing-requests", BIJLAGE1, {}),
        ("api.send_consent", "POST"): (f"/api/v1/consents/{co}/signing-requests", COORDS, {}),
        ("api.get_request", "GET"): (f"/api/v1/signing-requests/{r}", COORDS, {}),
        ("api.cancel_request", "POST"): (f"/api/v1/signing-requests/{r}/cancel", BIJLAGE1, {}),
        ("api.resend_request", "POST"): (f"/api/v1/signing-requests/{r}/resend", BIJLAGE1, {}),
        ("api.signed_covenant_pdf", "GET"): (f"/api/v1/covenants/{c}/signed.pdf", MANAGE_COV, {}),
        ("api.signed_declaration_pdf", "GET"): (f"/api/v1/declarations/{d}/signed.pdf", COORDS, {}),
        ("api.signed_consent_pdf", "GET"): (f"/api/v1/consents/{co}/signed.pdf", RESIDENT, {}),
        ("api.verify", "POST"): ("/api/v1/verify", PUBLIC, {}),
        ("api.outbox", "GET"): ("/api/v1/outbox", ADMIN, {}),
        ("api.outbox_sent", "POST"): ("/api/v1/outbox/1/sent", ADMIN, {}),
        ("api.plan_meeting", "POST"): ("/api/v1/meetings", NORTH_MEETINGS, {"json": {
            "table_id": n, "starts_at": "2027-03-10T14:00", "cases": [{"case_ref": "EN-1", "invitee_ids": [i["chair"]]}]}}),
        ("api.meeting_check", "GET"): (f"/api/v1/meetings/{m}/check", NORTH_MEETINGS, {}),
        ("api.meeting_invitations", "POST"): (f"/api/v1/meetings/{m}/invitations", NORTH_MEETINGS, {}),
        ("api.meeting_attendance", "PUT"): (f"/api/v1/meetings/{m}/attendance", NORTH_MEETINGS, {"json": {"attended": []}}),
        ("api.meeting_check_pdf", "GET"): (f"/api/v1/meetings/{m}/check.pdf", NORTH_MEETINGS, {}),
        ("api.check_batch", "POST"): ("/api/v1/check/batch", NORTH_READ, {"json": {"table_id": n, "checks": [{"person_id": i["chair"]}]}}),
        ("api.person_tables", "GET"): (f"/api/v1/people/{i['chair']}/tables", COORDS | {"chair_north", "chair_unentitled"}, {}),
        ("api.withdraw_consent", "POST"): (f"/api/v1/consents/{co}/withdrawal", RESIDENT, {"json": {"on": "2026-12-01"}}),
        ("api.withdraw_need_to_know", "POST"): ("/api/v1/need-to-know-withdrawals", NORTH_MEETINGS, {"json": {
            "table_id": n, "case_ref": "EN-2026-007", "organisation_id": i["ggd"]}}),
        # case pages: as the API, the table's staff by grant (Emmen's phases show a case to chair and coordinator)
        ("cases.case", "GET"): (f"/cases/{i['case']}", NORTH_MEETINGS, {}),
        ("cases.move_phase", "POST"): (f"/cases/{i['case']}/phase", NORTH_MEETINGS, {"data": {}}),
        ("cases.close", "POST"): (f"/cases/{i['case']}/closure", NORTH_MEETINGS, {"data": {}}),
        ("cases.evaluate", "POST"): (f"/cases/{i['case']}/evaluation", NORTH_MEETINGS, {"data": {}}),
        ("cases.add_participant", "POST"): (f"/cases/{i['case']}/participants", NORTH_MEETINGS, {"data": {}}),
        ("cases.sharing_basis", "POST"): (f"/cases/{i['case']}/sharing-basis", NORTH_MEETINGS, {"data": {}}),
        ("cases.casusregie", "POST"): (f"/cases/{i['case']}/casusregie", NORTH_MEETINGS, {"data": {}}),
        ("cases.procesregisseur", "POST"): (f"/cases/{i['case']}/procesregisseur", NORTH_MEETINGS, {"data": {}}),
        ("cases.new_case", "POST"): (f"/tables/{n}/cases", NORTH_MEETINGS, {"data": {}}),
        ("cases.retention_exception", "POST"): (f"/cases/{i['case']}/retention-exception", COORDS, {"data": {}}),
        ("cases.reopening", "POST"): (f"/cases/{i['case']}/reopening", COORDS, {"data": {}}),
        ("cases.meeting_actions", "GET"): (f"/meetings/{m}/actions", ACTIONS, {}),
        ("cases.meeting_actions", "POST"): (f"/meetings/{m}/actions", ACTIONS, {"data": {}}),
        ("cases.action_done", "POST"): (f"/actions/{i['action']}/done", ACTIONS, {"data": {}}),
        ("api.read_access_log", "GET"): ("/api/v1/access-log", LOGS, {}),
        ("api.create_user", "POST"): ("/api/v1/users", ADMIN, {"json": {
            "email": "nieuw@matrix.example.org", "name": "Nieuw", "grants": [{"role": "chair", "table_id": n}]}}),
        ("api.create_token", "POST"): (f"/api/v1/users/{i['user_nogrant']}/tokens", {"admin", "nogrant"}, {}),
        ("api.revoke_token", "DELETE"): (f"/api/v1/tokens/{i['token_nogrant']}", {"admin", "nogrant"}, {}),
        # cases: the table's staff by grant, as Emmen's phases show a case to its chair and coordinator
        ("api.create_case", "POST"): ("/api/v1/cases", NORTH_MEETINGS, {"json": {"table_id": n, "reference": "EN-NIEUW"}}),
        ("api.get_case", "GET"): (f"/api/v1/cases/{i['case']}", NORTH_MEETINGS, {}),
        ("api.move_phase", "POST"): (f"/api/v1/cases/{i['case']}/phase", NORTH_MEETINGS, {"json": {"phase": "inbreng"}}),
        ("api.close_case", "POST"): (f"/api/v1/cases/{i['case']}/closure", NORTH_MEETINGS,
                                     {"json": {"on": dt.date.today().isoformat(), "reason": "handled"}}),
        ("api.evaluate_case", "POST"): (f"/api/v1/cases/{i['case']}/evaluation", NORTH_MEETINGS,
                                        {"json": {"on": dt.date.today().isoformat()}}),
        ("api.add_participant", "POST"): (f"/api/v1/cases/{i['case']}/participants", NORTH_MEETINGS,
                                          {"json": {"person_id": i["worker"]}}),
        ("api.record_sharing_basis", "POST"): (f"/api/v1/cases/{i['case']}/sharing-basis", NORTH_MEETINGS,
                                               {"json": {"organisation_id": i["ggd"], "basis": "own_task"}}),
        ("api.table_cases", "GET"): (f"/api/v1/tables/{n}/cases", NORTH_READ, {}),
        # retention: coordinators and the admin (the demo case is active: reopening it is a 409)
        ("api.retention_exception", "POST"): (f"/api/v1/cases/{i['case']}/retention-exception", COORDS, {"json": {
            "reason": "lopend onderzoek", "review_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()}}),
        ("api.reopen_case", "POST"): (f"/api/v1/cases/{i['case']}/reopening", COORDS, {"json": {"reason": "heropend"}}),
        ("api.create_subject_request", "POST"): ("/api/v1/subject-requests", LOGS, {"json": {
            "kind": "access", "resident_name": "Iemand", "resident_birth_date": "1990-01-01"}}),
        ("api.list_subject_requests", "GET"): ("/api/v1/subject-requests", LOGS, {}),
        ("api.get_subject_request", "GET"): (f"/api/v1/subject-requests/{sr}", LOGS, {}),
        ("api.export_subject_request", "GET"): (f"/api/v1/subject-requests/{sr}/export", LOGS, {}),
        ("api.export_subject_request_pdf", "GET"): (f"/api/v1/subject-requests/{sr}/export.pdf", LOGS, {}),
        ("api.handle_subject_request", "POST"): (f"/api/v1/subject-requests/{sr}/handling", LOGS,
                                                 {"json": {"outcome": "granted"}}),
        ("api.erase_subject_request", "POST"): (f"/api/v1/subject-requests/{sr}/erasure", LOGS, {}),
        ("api.set_casusregie", "POST"): (f"/api/v1/cases/{i['case']}/casusregie", NORTH_MEETINGS,
                                         {"json": {"organisation_id": i["ggd"]}}),
        ("api.set_procesregisseur", "POST"): (f"/api/v1/cases/{i['case']}/procesregisseur", NORTH_MEETINGS,
                                              {"json": {"person_id": i["chair"]}}),
        # the action list: the table's coordinator and chair entitled today, and the meeting's entitled
        # invitees (here the chair and the coordinator themselves); chair_unentitled is not
        ("api.action_list", "GET"): (f"/api/v1/meetings/{m}/actions", ACTIONS, {}),
        ("api.action_list", "POST"): (f"/api/v1/meetings/{m}/actions", ACTIONS, {"json": {
            "case_ref": "EN-2026-007", "person_id": i["chair"], "action": "referral",
            "due_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()}}),
        ("api.action_done", "POST"): (f"/api/v1/actions/{i['action']}/done", ACTIONS, {"json": {}}),
        # webhooks: the administrator only (API and the admin pages)
        ("api.webhooks_collection", "GET"): ("/api/v1/webhooks", ADMIN, {}),
        ("api.webhooks_collection", "POST"): ("/api/v1/webhooks", ADMIN, {"json": {
            "url": "https://93.184.216.34/other", "events": ["consent.signed"], "secret": "matrix secret 7654321"}}),
        ("api.webhook", "GET"): (f"/api/v1/webhooks/{i['webhook']}", ADMIN, {}),
        ("api.webhook", "DELETE"): (f"/api/v1/webhooks/{i['webhook']}", ADMIN, {}),
        ("api.webhook_deliveries", "GET"): (f"/api/v1/webhooks/{i['webhook']}/deliveries", ADMIN, {}),
        ("webhooks.list_webhooks", "GET"): ("/beheer/webhooks/", ADMIN, {}),
        ("webhooks.list_webhooks", "POST"): ("/beheer/webhooks/", ADMIN, {"data": {}}),
        ("webhooks.detail", "GET"): (f"/beheer/webhooks/{i['webhook']}", ADMIN, {}),
        ("webhooks.remove", "POST"): (f"/beheer/webhooks/{i['webhook']}/verwijderen", ADMIN, {}),
    }


def _ask(client, principal: str, world: World, method: str, url: str, kwargs: dict):
    """One request as ``principal``: API with its token, web with its session cookie."""
    headers = {}
    client.delete_cookie("session")
    if principal != "anon":
        if url.startswith("/api/"):
            headers["Authorization"] = f"Bearer {world.tokens[principal]}"
        else:
            client.set_cookie("session", world.cookies[principal])
    return client.open(url, method=method, headers=headers, **kwargs)


def _verdict(principal: str, allowed: set[str], url: str, response) -> str | None:
    """None when the status is what the matrix expects, else a line saying what went wrong."""
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    if allowed is OPEN:
        return None
    if principal in allowed:
        if status in (401, 403) or (status == 302 and "/login" in response.headers.get("Location", "")):
            return f"{status}, expected to be let in"
        return None
    if principal == "anon":
        if url.startswith("/api/"):
            return None if status == 401 else f"{status}, expected 401"
        return None if status == 302 and "/login" in response.headers.get("Location", "") else f"{status}, expected a redirect to /login"
    if status != 403:
        return f"{status}, expected 403"
    if url.startswith("/api/") and response.json["error"]["code"] not in ("forbidden", "not_entitled"):
        return f"403 with code {response.json['error']['code']}"
    return None


@pytest.fixture
def fast_documents(monkeypatch):
    """Rendering is tested elsewhere; here only who gets in counts, so PDFs are stand-ins."""
    from registry.documents import build

    real = build.subject_document

    class Stub:
        pdf, html, sha256 = b"%PDF-1.7 stand-in", "<p>stand-in</p>", "0" * 64

    monkeypatch.setattr(build, "covenant_docx", lambda *a, **k: b"PK stand-in")
    monkeypatch.setattr(build, "blank_form", lambda *a, **k: Stub())
    monkeypatch.setattr(build, "subject_document", lambda session, kind, id_, *a, **k: Stub() if kind != "meeting" else real(session, kind, id_, *a, **k))


def test_every_route_answers_each_principal_as_the_matrix_says(world, tmp_path, monkeypatch, fast_documents):
    """Walk app.url_map × every principal; list every deviation (leaks and lock-outs alike)."""
    from forms_service import create_app

    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", world.instance)
    matrix = _routes(world.ids)
    problems, missing = [], []
    probe = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{world.db_path}"})
    rules = [(rule.endpoint, method) for rule in probe.url_map.iter_rules()
             for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    probe.extensions["db_engine"].dispose()
    for endpoint, method in rules:
        if (endpoint, method) not in matrix:
            missing.append(f"{method} {endpoint}")
            continue
        entries = matrix[(endpoint, method)]
        for n, (url, allowed, kwargs) in enumerate(entries if isinstance(entries, list) else [entries]):
            copy = tmp_path / f"{endpoint}-{method}-{n}.sqlite3"
            shutil.copy(world.db_path, copy)
            app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{copy}", "WTF_CSRF_ENABLED": False,
                              "RATELIMIT_ENABLED": False, "SIGNING_COMPLETE_ON_START": False})
            client = app.test_client()
            # refused principals first, so an allowed one's write cannot change their answer
            for principal in sorted(PRINCIPALS, key=lambda p: p in allowed):
                verdict = _verdict(principal, allowed, url, _ask(client, principal, world, method, url, kwargs))
                if verdict:
                    problems.append(f"{method} {url} as {principal}: {verdict}")
            app.extensions["db_engine"].dispose()
    assert not missing, "routes without an entry in the access matrix: " + ", ".join(missing)
    assert not problems, "\n".join(problems)


def test_the_matrix_names_no_route_that_does_not_exist(world, tmp_path, monkeypatch):
    """A stale entry would hide that a route was renamed without its checks."""
    from forms_service import create_app

    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{world.db_path}"})
    existing = {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods}
    app.extensions["db_engine"].dispose()
    stale = [key for key in _routes(world.ids) if key not in existing]
    assert not stale, stale


def test_refused_answers_name_the_reason(world, tmp_path, monkeypatch):
    """A chair whose person has no Bijlage 1 at the table gets ``not_entitled`` with the
    registry's reasons; a chair of another table gets ``forbidden``."""
    from forms_service import create_app

    monkeypatch.setenv("FORMS_SERVICE_INSTANCE", world.instance)
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{world.db_path}", "SIGNING_COMPLETE_ON_START": False})
    client = app.test_client()
    url = f"/api/v1/consents/{world.ids['consent']}"
    refused = _ask(client, "chair_unentitled", world, "GET", url, {})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "not_entitled"
    assert "Bijlage 1" in refused.json["error"]["message"] and "Tessa" not in refused.get_data(as_text=True)
    other = _ask(client, "chair_south", world, "GET", url, {})
    assert other.status_code == 403 and other.json["error"]["code"] == "forbidden"
    unknown = _ask(client, "admin", world, "GET", "/api/v1/consents/99999", {})
    assert unknown.status_code == 404
    assert _ask(client, "chair_south", world, "GET", "/api/v1/consents/99999", {}).status_code == 404
    app.extensions["db_engine"].dispose()
