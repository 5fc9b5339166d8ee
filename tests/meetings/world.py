"""A small world for meeting tests: two partners, a non-partner, a table with chair and
coordinator, a structural participant, an incidental guest for one case, and a consent."""

from __future__ import annotations

import datetime as dt

from registry import meetings, services
from tests import factories as f

D = dt.date


def build(session) -> dict:
    """GGD, Toegang and Sedna sign in May 2025; Woonstichting is no partner.

    Casustafel Noord: chair Anouk (Toegang) and coordinator Gerda (Sedna: the Emmen
    pack's table roles come from Stichting de Toegang and Sedna), both with
    Bijlage 1; Mira (GGD) with Bijlage 1; Sanne (Woonstichting) with Bijlage 2 for
    EN-1 only; Piet (Toegang) without any declaration. A consent for EN-1 (signed
    2026-02-16) names GGD for two data categories.
    """
    ggd, toegang, housing = f.organisation(session, "GGD"), f.organisation(session, "Stichting de Toegang Emmen"), f.organisation(session, "Woonstichting")
    sedna = f.organisation(session, "Stichting Welzijnsorganisatie Sedna")
    cov = f.covenant(session, [(ggd, D(2025, 5, 5)), (toegang, D(2025, 5, 12)), (sedna, D(2025, 5, 12))])
    anouk, gerda = f.person(session, toegang, "Anouk"), f.person(session, sedna, "Gerda")
    north = services.create_table(session, covenant_id=cov.id, name="Casustafel Noord", area="Noord", chair_id=anouk.id, coordinator_id=gerda.id)
    mira, sanne, piet = f.person(session, ggd, "Mira"), f.person(session, housing, "Sanne"), f.person(session, toegang, "Piet")
    for someone in (anouk, gerda, mira):
        services.create_declaration(session, kind="structural", person_id=someone.id, table_id=north.id, signed_on=D(2025, 5, 20))
    services.create_declaration(session, kind="incidental", person_id=sanne.id, table_id=north.id, case_ref="EN-1", signed_on=D(2026, 3, 2))
    consent = services.create_consent(
        session, table_id=north.id, case_ref="EN-1", signed_by="resident", resident_name="Tessa (fictief)",
        resident_birth_date=D(1984, 2, 17), purpose="Afstemmen ondersteuning.",
        categories=["name_address", "situation_summary"], recipient_ids=[ggd.id], signed_on=D(2026, 2, 16),
    )
    session.commit()
    return dict(cov=cov, ggd=ggd, toegang=toegang, housing=housing, north=north, anouk=anouk, gerda=gerda,
                mira=mira, sanne=sanne, piet=piet, consent=consent)


def plan(session, world, day: dt.date, cases: dict[str, list], hour: int = 14):
    """Plan a meeting at Noord on ``day``: ``cases`` maps a reference to the people taking part."""
    items = [meetings.AgendaItem(ref, "jeugd", "0-18", tuple(p.id for p in people)) for ref, people in cases.items()]
    meeting = meetings.plan_meeting(
        session, table_id=world["north"].id, starts_at=dt.datetime.combine(day, dt.time(hour)),
        location="Gemeentehuis", cases=items, planned_by="coordinator@example.org",
    ).meeting
    session.commit()
    return meeting


def invitee(check, case_ref: str, person) -> meetings.InviteeCheck:
    """The check of one person for one case."""
    case = next(c for c in check.cases if c.case_ref == case_ref)
    return next(i for i in case.invitees if i.person_id == person.id)


def codes(reasons) -> list[str]:
    """Reason codes in order."""
    return [r.code for r in reasons]
