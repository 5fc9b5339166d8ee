"""Demo data: the Emmen covenant of ``shared/seeds/000_*.txt`` as if signed on paper in 2025.

The eight partner organisations and their representatives are the seed's; everyone
else (chairs, coordinators, participants, the resident) is invented. Loading is
idempotent: a database that already has the demo covenant is left alone.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import services
from registry.models import Covenant

D = dt.date
DEMO_TITLE = "Convenant Samenwerking Casustafel Emmen"
PACK = "emmen-casustafel"

# (organisation, representative (name, initials), signed on paper)
PARTNERS = [
    ("Gemeente Emmen", ("D. Keen", "D."), D(2025, 5, 12)),
    ("AtHomeFirst Noord B.V.", ("M. Bakker", "M."), D(2025, 5, 6)),
    ("Stichting Cosis", ("M. de Graaf", "M."), D(2025, 5, 7)),
    ("Dokter Schoonmaakorganisatie B.V.", ("J. Dokter", "J."), D(2025, 5, 7)),
    ("GGD Drenthe", ("R. ter Laak", "R."), D(2025, 5, 8)),
    ("Stichting de Toegang Emmen", ("B. Hartog", "B."), D(2025, 5, 9)),
    ("Faveo Zorg B.V. (Thalia Thuiszorg)", ("E.A. van Gelder", "E.A."), D(2025, 5, 9)),
    ("Stichting Welzijnsorganisatie Sedna", ("J.R.R. Brongers", "J.R.R."), D(2025, 5, 12)),
]

GUEST_ORGANISATION = "Woonstichting De Esch (fictief)"
"""The non-partner whose employee signs a Bijlage 2 for one case."""

AREAS = ["Emmen-Noord", "Emmen-Zuid", "Emmen-Oost", "De Monden", "De Velden", "De Blokken"]

# Invented chairs (Stichting de Toegang) and coordinators (Sedna), one pair per area.
CHAIRS = ["Anouk Veenstra", "Bram Oosting", "Carmen Lubbers", "Daan Kuipers", "Eva Brinkman", "Frank Hulshof"]
COORDINATORS = ["Gerda Smit", "Hidde Wolters", "Iris Dijkstra", "Joost Mulder", "Karin Bos", "Lars Schuiling"]

# Invented participants of partners: (name, initials, organisation, function, areas, signed on)
PARTICIPANTS = [
    ("Mira Kamphuis", "M.", "GGD Drenthe", "Jeugdverpleegkundige", ["Emmen-Noord", "Emmen-Zuid"], D(2025, 5, 20)),
    ("Nico Everts", "N.", "Stichting Cosis", "Persoonlijk begeleider", ["Emmen-Noord"], D(2025, 5, 21)),
    ("Olga Pruim", "O.", "Gemeente Emmen", "Consulent Wmo", ["Emmen-Oost"], D(2025, 6, 2)),
    ("Pieter Nijboer", "P.", "Dokter Schoonmaakorganisatie B.V.", "Teamleider", ["Emmen-Noord"], D(2025, 6, 3)),
    ("Roos Timmer", "R.", "Faveo Zorg B.V. (Thalia Thuiszorg)", "Wijkverpleegkundige", ["De Monden"], D(2025, 6, 10)),
]


def load_demo(session: Session) -> Covenant | None:
    """Load the demo once; returns the new covenant, or None when it was already there
    (then only the missing e-mail addresses of its people are filled in)."""
    existing = session.scalar(select(Covenant).where(Covenant.title == DEMO_TITLE))
    if existing is not None:
        fill_demo_addresses(session, existing)
        return None
    covenant = services.create_covenant(session, pack=PACK, title=DEMO_TITLE, region="Emmen")
    organisations = {}
    for name, (rep_name, initials), signed_on in PARTNERS:
        organisation = services.create_organisation(session, name)
        organisations[name] = organisation
        representative = services.create_person(
            session, name=rep_name, initials=initials, organisation_id=organisation.id, function="Bestuurder",
            email=_email(rep_name, name),
        )
        services.add_partner(
            session, covenant, organisation_id=organisation.id, representative_id=representative.id, signed_on=signed_on
        )
    tables = _tables(session, covenant, organisations)
    _participants(session, organisations, tables)
    _incidental_and_consent(session, organisations, tables)
    # A partner that gave notice this autumn: still a partner until the end of December.
    services.give_notice(session, covenant.partnerships[3], D(2026, 9, 30))
    return covenant


def _email(name: str, organisation: str) -> str:
    """An invented address on the reserved example.org domain ("E.A. van Gelder" →
    ``e.a.van.gelder@…``: one dot between the parts, never two in a row)."""
    slug = "".join(c for c in organisation.lower() if c.isalnum())[:20]
    local = ".".join(part for part in "".join(c if c.isalnum() else " " for c in name.lower()).split())
    return f"{local}@{slug}.example.org"


def fill_demo_addresses(session: Session, covenant: Covenant) -> int:
    """Give every person of the demo's organisations without an e-mail address one
    (a demo loaded before the representatives had one); idempotent. How many were filled."""
    from registry.models import Organisation, Person

    organisation_ids = {p.organisation_id for p in covenant.partnerships}
    people = session.scalars(select(Person).join(Organisation).where(
        Organisation.id.in_(organisation_ids) | (Organisation.name == GUEST_ORGANISATION))).all()
    missing = [p for p in people if not p.email]
    for person in missing:
        person.email = _email(person.name, person.organisation.name)
    session.flush()
    return len(missing)


def _tables(session: Session, covenant: Covenant, organisations: dict) -> dict:
    """One table per area with a chair (De Toegang) and a coordinator (Sedna), both with Bijlage 1."""
    toegang, sedna = organisations["Stichting de Toegang Emmen"], organisations["Stichting Welzijnsorganisatie Sedna"]
    tables = {}
    for area, chair_name, coordinator_name in zip(AREAS, CHAIRS, COORDINATORS):
        chair = services.create_person(
            session, name=chair_name, initials=chair_name[0] + ".", organisation_id=toegang.id,
            function="Voorzitter casustafel", email=_email(chair_name, toegang.name),
        )
        coordinator = services.create_person(
            session, name=coordinator_name, initials=coordinator_name[0] + ".", organisation_id=sedna.id,
            function="Coördinator casustafel", email=_email(coordinator_name, sedna.name),
        )
        table = services.create_table(
            session, covenant_id=covenant.id, name=f"Casustafel {area}", area=area,
            chair_id=chair.id, coordinator_id=coordinator.id,
        )
        for person in (chair, coordinator):
            services.create_declaration(session, kind="structural", person_id=person.id, table_id=table.id, signed_on=D(2025, 5, 19))
        tables[area] = table
    return tables


def _participants(session: Session, organisations: dict, tables: dict) -> None:
    """Participants of partners, each with a Bijlage 1 per table they join."""
    for name, initials, organisation_name, function, areas, signed_on in PARTICIPANTS:
        organisation = organisations[organisation_name]
        person = services.create_person(
            session, name=name, initials=initials, organisation_id=organisation.id,
            function=function, email=_email(name, organisation_name),
        )
        for area in areas:
            services.create_declaration(session, kind="structural", person_id=person.id, table_id=tables[area].id, signed_on=signed_on)


def _incidental_and_consent(session: Session, organisations: dict, tables: dict) -> None:
    """A non-partner's employee with a Bijlage 2 for one case, and a resident's consent."""
    north = tables["Emmen-Noord"]
    housing = services.create_organisation(session, GUEST_ORGANISATION)
    guest = services.create_person(
        session, name="Sanne Hofstra", initials="S.", organisation_id=housing.id,
        function="Woonconsulent", email=_email("Sanne Hofstra", housing.name),
    )
    services.create_declaration(
        session, kind="incidental", person_id=guest.id, table_id=north.id, case_ref="EN-2026-014", signed_on=D(2026, 3, 2)
    )
    services.create_consent(
        session, table_id=north.id, case_ref="EN-2026-007", signed_by="resident",
        resident_name="Tessa de Vries (fictief)", resident_birth_date=D(1984, 2, 17),
        purpose="Afstemmen welke ondersteuning bij schulden en opvoeding het beste past.",
        categories=["name_address", "situation_summary"],
        recipient_ids=[organisations["GGD Drenthe"].id, organisations["Stichting de Toegang Emmen"].id],
        other_recipients=[], signed_on=D(2026, 2, 16),
    )


# ----------------------------------------------------------------------------- demo accounts

DEMO_ADMIN_EMAIL = "admin@example.org"


def ensure_demo_users(session: Session, passwords: dict[str, str] | None = None) -> list[tuple[str, str, str | None]]:
    """The demo's accounts: the administrator plus, once the demo is loaded, a chair and a
    coordinator of Casustafel Emmen-Noord linked to its demo chair and coordinator persons.

    Returns ``(label, e-mail, password)`` per account; the password is None for an account
    that already existed (it is left alone). New passwords are random unless ``passwords``
    (label → password) gives one. The caller commits.
    """
    import secrets

    from registry import accounts
    from registry.models import CaseTable, User

    passwords = passwords or {}
    wanted: list[tuple[str, str, str, int | None, list[dict]]] = [
        ("beheerder", DEMO_ADMIN_EMAIL, "Demobeheerder", None, [{"role": "admin"}])]
    demo = session.scalar(select(Covenant).where(Covenant.title == DEMO_TITLE))
    if demo is not None:
        fill_demo_addresses(session, demo)
    north = session.scalar(select(CaseTable).where(CaseTable.area == "Emmen-Noord", CaseTable.name == "Casustafel Emmen-Noord"))
    if north is not None:
        for label, person, role in (("voorzitter Emmen-Noord", north.chair, "chair"),
                                    ("coördinator Emmen-Noord", north.coordinator, "coordinator")):
            if person is not None and person.email:
                wanted.append((label, person.email, person.name, person.id, [{"role": role, "table_id": north.id}]))
    result = []
    for label, email, name, person_id, grants in wanted:
        if session.scalar(select(User.id).where(User.email == accounts.normalise_email(email))) is not None:
            result.append((label, email, None))
            continue
        password = passwords.get(label) or secrets.token_urlsafe(12)
        accounts.create_user(session, email, password, name=name, person_id=person_id, grants=grants, created_by="demo")
        result.append((label, email, password))
    return result
