"""Amendments of a covenant (*wijziging van het convenant*, art. 13): "het Convenant kan
slechts worden aangepast als alle Convenantpartners hier schriftelijk mee instemmen".

An amendment is a new version of the covenant's text and annexes (the covenant's pack as
it is now, with the next version number and a summary of what changes). It goes to
every partner current on the day it is proposed; it is in force from the day the last
of them that is still a partner signed. Until then, and for every earlier date, the
previous version holds (:func:`version_on`). A partner that leaves (notice ended,
termination, exclusion) before signing is no longer waited for.

One pending amendment per covenant at a time: the next is proposed once it is in force.
Plain typed Python without Flask; functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import covenant_life, packs, queries, rules, services
from registry.errors import Conflict, NotFound, ValidationError
from registry.texts import _, long_date
from registry.models import AmendmentApproval, Covenant, CovenantAmendment

BASE_VERSION = 1
"""The version of a covenant's text as first signed."""

STATUSES = ("pending", "in_force")


@dataclass(frozen=True)
class AmendmentState:
    """Where an amendment stands on a date: who signed, who is still missing."""

    status: str  # pending | in_force
    in_force_on: dt.date | None
    signed_by: tuple[AmendmentApproval, ...]
    missing: tuple[AmendmentApproval, ...]


def get(session: Session, covenant: Covenant, amendment_id: int) -> CovenantAmendment:
    """An amendment of this covenant, or a 404 naming ``amendment_id``."""
    amendment = session.get(CovenantAmendment, amendment_id)
    if amendment is None or amendment.covenant_id != covenant.id:
        raise NotFound(_("Wijziging %(id)s bestaat niet.", id=amendment_id),
                       {"amendment_id": _("Bestaat niet bij dit convenant.")})
    return amendment


def of_covenant(session: Session, covenant: Covenant) -> list[CovenantAmendment]:
    """Every amendment of a covenant, newest version first."""
    return list(session.scalars(select(CovenantAmendment).where(CovenantAmendment.covenant_id == covenant.id)
                                .order_by(CovenantAmendment.version.desc())))


def current_partner_ids(session: Session, covenant: Covenant, on: dt.date) -> set[int]:
    """The organisations that are partners on ``on`` (the registry's statuses)."""
    return {p.organisation_id for p, _name, status in queries.partner_statuses(session, covenant, on) if status.current}


def propose(session: Session, covenant: Covenant, summary: str, actor: str, on: dt.date | None = None) -> CovenantAmendment:
    """Propose the next version of the covenant's text, to be signed by every current partner."""
    on = on or rules.today()
    summary = (summary or "").strip()
    if not summary:
        raise ValidationError(_("Controleer de velden."), {"summary": _("Beschrijf kort wat er verandert.")})
    if len(summary) > covenant_life.MAX_TEXT:
        raise ValidationError(_("Controleer de velden."), {"summary": _("Maximaal %(n)s tekens.", n=covenant_life.MAX_TEXT)})
    if not queries.covenant_in_force(covenant, on):
        raise Conflict(_("Het convenant is niet in werking."), {"summary": _("Alleen een convenant in werking wordt gewijzigd.")})
    pending = next((a for a in of_covenant(session, covenant) if a.in_force_on is None), None)
    if pending is not None:
        raise Conflict(_("Er loopt al een wijziging."), {
            "summary": _("Versie %(n)s wacht nog op ondertekening; stel daarna een nieuwe wijziging voor.",
                         n=pending.version)})
    partners = [p for p in covenant.partnerships if p.organisation_id in current_partner_ids(session, covenant, on)]
    if not partners:
        raise Conflict(_("Het convenant heeft geen partners."), {"summary": _("Er is geen partner om de wijziging te tekenen.")})
    latest = session.scalar(select(func.max(CovenantAmendment.version)).where(CovenantAmendment.covenant_id == covenant.id))
    pack = packs.cached_pack(covenant.pack)
    amendment = CovenantAmendment(covenant_id=covenant.id, version=(latest or BASE_VERSION) + 1, summary=summary,
                                  pack_version=pack.version if pack else None, proposed_on=on, proposed_by=actor)
    amendment.approvals = [AmendmentApproval(organisation_id=p.organisation_id, representative_id=p.representative_id)
                           for p in partners]
    session.add(amendment)
    session.flush()
    covenant_life.record(session, "amendment_proposed", on, actor, covenant_id=covenant.id,
                         amendment_id=amendment.id, detail=f"versie {amendment.version}: {summary}")
    return amendment


def state(session: Session, amendment: CovenantAmendment, on: dt.date | None = None) -> AmendmentState:
    """Who signed and who is missing: the partners asked that are still partners on ``on``."""
    on = on or rules.today()
    signed = tuple(a for a in amendment.approvals if a.signed_on is not None)
    if amendment.in_force_on is not None:
        return AmendmentState("in_force", amendment.in_force_on, signed, ())
    current = current_partner_ids(session, amendment.covenant, on)
    missing = tuple(a for a in amendment.approvals if a.signed_on is None and a.organisation_id in current)
    return AmendmentState("pending", None, signed, missing)


def sign(session: Session, amendment: CovenantAmendment, organisation_id: int, signed_on: dt.date,
         signed_via: str = "paper", actor: str = "system") -> AmendmentApproval:
    """Record one partner's written consent; the last one brings the amendment into force."""
    services.check_signing_date(signed_on)
    approval = next((a for a in amendment.approvals if a.organisation_id == organisation_id), None)
    if approval is None:
        raise NotFound(_("Deze organisatie hoeft deze wijziging niet te tekenen."),
                       {"organisation_id": _("Niet gevraagd.")})
    if approval.signed_on is not None:
        raise Conflict(_("Al getekend."), {"signed_on": _("Al getekend op %(date)s.",
                                                          date=long_date(approval.signed_on))})
    if signed_on < amendment.proposed_on:
        raise ValidationError(_("Controleer de velden."), {"signed_on": _("Ligt vóór het voorstel van de wijziging.")})
    approval.signed_on, approval.signed_via = signed_on, signed_via
    session.flush()
    refresh_in_force(session, amendment, actor)
    return approval


def refresh_in_force(session: Session, amendment: CovenantAmendment, actor: str = "system") -> None:
    """In force from the day the last current partner signed, once nobody is missing."""
    if amendment.in_force_on is not None:
        return
    now = state(session, amendment)
    if now.missing or not now.signed_by:
        return
    amendment.in_force_on = max(a.signed_on for a in now.signed_by)
    amendment.covenant.version = amendment.version
    session.flush()
    covenant_life.record(session, "amendment_in_force", amendment.in_force_on, actor,
                         covenant_id=amendment.covenant_id, amendment_id=amendment.id, detail=f"versie {amendment.version}")


def version_on(session: Session, covenant: Covenant, on: dt.date) -> CovenantAmendment | None:
    """The amendment whose text holds on ``on`` (the newest in force by then), or None:
    the text as first signed (version :data:`BASE_VERSION`)."""
    return session.scalar(select(CovenantAmendment).where(
        CovenantAmendment.covenant_id == covenant.id, CovenantAmendment.in_force_on.is_not(None),
        CovenantAmendment.in_force_on <= on).order_by(CovenantAmendment.version.desc()).limit(1))


def organisation_names(amendment: CovenantAmendment) -> dict[int, str]:
    """Organisation id → name of the partners asked to sign."""
    return {a.organisation_id: a.organisation.name for a in amendment.approvals}


def approval_for_person(amendment: CovenantAmendment, organisation_id: int) -> AmendmentApproval:
    """The approval of a representative's organisation, or a 404."""
    found = next((a for a in amendment.approvals if a.organisation_id == organisation_id), None)
    if found is None:
        raise NotFound(_("Deze organisatie hoeft deze wijziging niet te tekenen."),
                       {"organisation_id": _("Niet gevraagd.")})
    return found

