"""What the partners publish about a covenant (art. 10): the public transparency page.

No login, so nothing personal: the covenant's title, region and municipality, its
status, the partners *as of a date* (the registry's rules, :func:`registry.queries.partner_statuses`:
a partner whose notice ended or who was excluded is gone), the representative who signed
for each of them, the areas and the tables by name, and the covenant text as PDF/UA-1.
No chair, coordinator, participant, resident or case appears. A covenant still in draft
is not published (404, the same as an unknown id). Nothing here knows Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import queries, rules
from registry.documents import build, cache, render
from registry.errors import NotFound
from registry.models import Covenant
from registry.texts import _

PUBLIC_PDF_VARIANT = "pdf/ua-1"
"""The accessible, tagged variant: the copy partners publish (art. 10)."""


@dataclass(frozen=True)
class PublicPartner:
    """A current partner: the organisation and who signed for it, and when."""

    organisation: str
    representative: str
    signed_on: dt.date | None
    since: dt.date | None
    notice_ends_on: dt.date | None
    """The first day it is no longer a partner, when notice has been given."""


@dataclass(frozen=True)
class PublicTable:
    """A case table by name and area (no person)."""

    name: str
    area: str


@dataclass(frozen=True)
class PublicCovenant:
    """Everything the public page shows about one covenant on one date."""

    id: int
    title: str
    region: str
    municipality: str
    status: str
    """``in_force`` or ``not_in_force`` on the date (not yet, or no longer)."""
    status_text: str
    """A Dutch sentence about the covenant's term on the date, dates written out."""
    in_force_on: dt.date | None
    on: dt.date
    partners: tuple[PublicPartner, ...]
    areas: tuple[str, ...]
    tables: tuple[PublicTable, ...]


def published_covenant(session: Session, covenant_id: int) -> Covenant:
    """The covenant, or 404 when it does not exist or is still a draft (not published)."""
    covenant = session.get(Covenant, covenant_id)
    if covenant is None or covenant.status == "draft":
        raise NotFound(_("Dit convenant is niet (of nog niet) openbaar."), {"covenant_id": _("Onbekend convenant.")})
    return covenant


def public_covenant(session: Session, covenant: Covenant, on: dt.date | None = None) -> PublicCovenant:
    """The public view of a published covenant on ``on`` (default today)."""
    from registry.services import covenant_areas

    on = on or rules.today()
    facts = queries.covenant_facts(covenant)
    in_force, _why = rules.covenant_reason(facts, on)
    partners = tuple(
        PublicPartner(name, p.representative.name if p.representative and p.signed_on else "", p.signed_on,
                      status.since, status.ends_on if status.status == "notice_given" else None)
        for p, name, status in queries.partner_statuses(session, covenant, on) if status.current
    )
    tables = tuple(PublicTable(t.name, t.area) for t in sorted(covenant.tables, key=lambda t: (t.area, t.name)))
    return PublicCovenant(
        id=covenant.id, title=covenant.title, region=covenant.region,
        municipality=build.covenant_municipality(covenant, build.pack_named(covenant.pack)),
        status="in_force" if in_force else "not_in_force", status_text=term_text(facts, covenant, in_force, on),
        in_force_on=covenant.in_force_on, on=on, partners=partners,
        areas=tuple(covenant_areas(covenant)), tables=tables,
    )


def term_text(facts: rules.CovenantFacts, covenant: Covenant, in_force: bool, on: dt.date) -> str:
    """The covenant's term as the public reads it ("In werking sinds 5 mei 2025; looptijd
    tot en met 4 mei 2028, daarna telkens stilzwijgend verlengd met 1 jaar.")."""
    day = render.dutch_date
    if not in_force:
        if facts.in_force_on is not None and on < facts.in_force_on:
            return f"Treedt in werking op {day(facts.in_force_on)}."
        if covenant.ended_on is not None and on >= covenant.ended_on:
            return f"Niet meer in werking: beëindigd per {day(covenant.ended_on)}."
        last = rules.last_day_in_force(facts)
        return f"Niet meer in werking: de looptijd eindigde op {day(last)}." if last else "Niet in werking."
    last, term_end = rules.last_day_in_force(facts), rules.current_term_end(facts, on)
    if last is not None:
        term = f"looptijd tot en met {day(last)}, niet stilzwijgend verlengd"
    elif term_end >= rules.add_years(facts.in_force_on, facts.initial_years):
        term = f"stilzwijgend verlengd tot en met {day(term_end)}"
    else:
        term = (f"looptijd tot en met {day(term_end)}, daarna telkens stilzwijgend verlengd met "
                f"{facts.renewal_years} jaar")
    return f"In werking sinds {day(facts.in_force_on)}; {term}."


def covenants_in_force(session: Session, on: dt.date | None = None) -> list[Covenant]:
    """The covenants in force on ``on`` (default today), by title: the public index."""
    on = on or rules.today()
    candidates = session.scalars(select(Covenant).where(Covenant.in_force_on.is_not(None))
                                 .order_by(Covenant.title, Covenant.id)).all()
    return [c for c in candidates if queries.covenant_in_force(c, on)]


def public_covenant_pdf(session: Session, covenant: Covenant, on: dt.date | None = None) -> bytes:
    """The covenant text as PDF/UA-1 with the partners of ``on``
    (:func:`registry.documents.build.public_covenant_doc`), rendered once per view-model
    and pack version and then served from the shared document cache
    (:mod:`registry.documents.cache`): a public URL must not cost a second of CPU per
    request, on any app server. A changed partner list gives another view-model. The
    cache row joins the session's transaction: the caller commits."""
    doc = build.public_covenant_doc(session, covenant, on or rules.today())
    return cache.rendered_pdf(session, build.pack_named(covenant.pack), "covenant", doc, PUBLIC_PDF_VARIANT)
