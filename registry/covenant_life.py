"""The covenant's life after drafting, each step recorded with who did it and when.

Every writer here calls the one rule in :mod:`registry.services` (notice, termination,
exclusion, accession, revocation, end of employment) and appends a
:class:`registry.models.CovenantEvent`, so the web and the API leave the same history.
Ending the covenant itself (*beëindiging van het convenant*) lives here: by a majority
decision of the partners with a date and the decision's text, or at the end of a fixed
term. ``Covenant.ended_on`` is the first day it no longer holds; from then the registry
answers no partners (``covenant_ended``), so the public page and the partners API follow.

Like the services these functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import queries, rules, services
from registry.errors import Conflict, ValidationError
from registry.texts import _, long_date
from registry.models import Covenant, CovenantEvent, Declaration, Partnership, Person

EVENT_KINDS = ("accession", "notice", "termination", "exclusion", "revocation", "employment_ended",
               "covenant_ended", "amendment_proposed", "amendment_sent", "amendment_in_force")
"""The steps of :class:`CovenantEvent` (their Dutch labels live with the pages)."""

MAX_TEXT = 2000


def record(session: Session, kind: str, on: dt.date, actor: str, *, covenant_id: int | None = None,
           organisation_id: int | None = None, person_id: int | None = None,
           declaration_id: int | None = None, amendment_id: int | None = None,
           detail: str | None = None, ends_on: dt.date | None = None) -> CovenantEvent:
    """Append one step of the history (who: ``actor``, the account's e-mail)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown covenant event {kind!r}")
    event = CovenantEvent(kind=kind, on=on, recorded_by=actor or "onbekend", covenant_id=covenant_id,
                          organisation_id=organisation_id, person_id=person_id, declaration_id=declaration_id,
                          amendment_id=amendment_id, detail=detail, ends_on=ends_on)
    session.add(event)
    session.flush()
    return event


def _text(value: str | None, field: str, missing: str) -> str:
    """A required decision or reason text, stripped; a 422 naming ``field`` otherwise."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Controleer de velden."), {field: missing})
    if len(value) > MAX_TEXT:
        raise ValidationError(_("Controleer de velden."), {field: _("Maximaal %(n)s tekens.", n=MAX_TEXT)})
    return value


# ----------------------------------------------------------------------------- partners


def accede(session: Session, covenant: Covenant, *, organisation_id: int, representative_id: int,
           actor: str, signed_on: dt.date | None = None, mandate: str | None = None) -> Partnership:
    """Accession (*toetreding*) of a new partner: without ``signed_on`` it waits for its
    representative's signature (:func:`signatures.workflow.accession` sends it); a paper
    signature is recorded with its date (and ``mandate``). A partner from its own signing date."""
    if covenant.ended_on is not None:
        raise Conflict(_("Het convenant is beëindigd."), {"organisation_id": _("Een beëindigd convenant kent geen toetreding.")})
    partnership = services.add_partner(session, covenant, organisation_id=organisation_id,
                                       representative_id=representative_id, signed_on=signed_on, mandate=mandate)
    record(session, "accession", rules.today(), actor, covenant_id=covenant.id, organisation_id=organisation_id,
           person_id=representative_id)
    return partnership


def give_notice(session: Session, partnership: Partnership, given_on: dt.date, actor: str) -> Partnership:
    """Notice (*opzegging*): ends after the pack's notice months (:func:`services.give_notice`)."""
    services.give_notice(session, partnership, given_on)
    record(session, "notice", given_on, actor, covenant_id=partnership.covenant_id,
           organisation_id=partnership.organisation_id, ends_on=partnership.ends_on)
    _amendments_without(session, partnership, actor)
    return partnership


def terminate(session: Session, partnership: Partnership, on: dt.date, decision: str, actor: str) -> Partnership:
    """Immediate termination by majority decision (*directe beëindiging*), with the decision."""
    services.terminate_immediately(session, partnership, on, decision)
    record(session, "termination", on, actor, covenant_id=partnership.covenant_id,
           organisation_id=partnership.organisation_id, detail=partnership.termination_decision)
    _amendments_without(session, partnership, actor)
    return partnership


def _amendments_without(session: Session, partnership: Partnership, actor: str) -> None:
    """A partner that is gone is no longer waited for: its open signing request for a
    pending amendment (art. 13) is cancelled in this transaction, and an amendment that
    only lacked its signature is in force from the last current partner's signature
    (:func:`signatures.workflow.release_departed_partners`; a notice or an exclusion
    that ends on a later day is released by the worker's daily backstop)."""
    from signatures import workflow  # signing builds on the registry: import at call time

    workflow.release_departed_partners(session, partnership.covenant_id, actor=actor)


def exclude(session: Session, partnership: Partnership, on: dt.date, reason: str, actor: str) -> Partnership:
    """Exclusion (*uitsluiting*) with its reason."""
    services.exclude(session, partnership, on, reason)
    record(session, "exclusion", on, actor, covenant_id=partnership.covenant_id,
           organisation_id=partnership.organisation_id, detail=partnership.exclusion_reason)
    _amendments_without(session, partnership, actor)
    return partnership


# ----------------------------------------------------------------------------- people and declarations


def revoke_declaration(session: Session, declaration: Declaration, on: dt.date, actor: str) -> Declaration:
    """Revocation (*intrekking*) of a Bijlage 1/2 from ``on``."""
    services.revoke_declaration(session, declaration, on)
    record(session, "revocation", on, actor, covenant_id=declaration.table.covenant_id,
           person_id=declaration.person_id, declaration_id=declaration.id)
    return declaration


def end_employment(session: Session, person: Person, until: dt.date, actor: str) -> Person:
    """End of employment (*uit dienst*): entitled up to and including ``until``."""
    services.end_employment(session, person, until)
    record(session, "employment_ended", until, actor, person_id=person.id, organisation_id=person.organisation_id)
    return person


# ----------------------------------------------------------------------------- the covenant itself


def end_covenant(session: Session, covenant: Covenant, on: dt.date, decision: str, actor: str) -> Covenant:
    """End the covenant by majority decision of its partners: from ``on`` (the first day
    it no longer holds) nobody is a partner; ``decision`` is the decision's text."""
    decision = _text(decision, "decision", _("Beschrijf het meerderheidsbesluit."))
    _require_in_force(covenant, on, "on")
    covenant.ended_on = on
    session.flush()
    record(session, "covenant_ended", on, actor, covenant_id=covenant.id, detail=decision)
    return covenant


def fixed_term_end(covenant: Covenant) -> dt.date | None:
    """The first day after the covenant's fixed term (its pack's ``ends_on`` or a term
    without tacit renewal), or None when it renews itself without end."""
    last = rules.last_day_in_force(queries.covenant_facts(covenant))
    return last + dt.timedelta(days=1) if last is not None else None


def end_at_term(session: Session, covenant: Covenant, actor: str) -> Covenant:
    """Record the end of a covenant at the end of its fixed term (*einde looptijd*)."""
    end = fixed_term_end(covenant)
    if end is None:
        raise Conflict(_("Dit convenant heeft geen vaste looptijd."), {
            "on": _("Het convenant wordt telkens stilzwijgend verlengd; beëindig het bij meerderheidsbesluit.")})
    _require_in_force(covenant, end, "on")
    covenant.ended_on = end
    session.flush()
    record(session, "covenant_ended", end, actor, covenant_id=covenant.id, detail="einde van de looptijd")
    return covenant


def _require_in_force(covenant: Covenant, on: dt.date, field: str) -> None:
    """Only a covenant in force, not ended yet, ends; not before it came into force."""
    if covenant.ended_on is not None:
        raise Conflict(_("Het convenant is al beëindigd."), {field: _("Al beëindigd per %(d)s.", d=long_date(covenant.ended_on))})
    if covenant.in_force_on is None:
        raise Conflict(_("Het convenant is nog niet in werking."), {field: _("Een concept wordt niet beëindigd.")})
    if on <= covenant.in_force_on:
        raise ValidationError(_("Controleer de velden."), {
            field: _("Kies een datum na de inwerkingtreding (%(d)s).", d=long_date(covenant.in_force_on))})


# ----------------------------------------------------------------------------- reading the history


def history(session: Session, *, covenant_id: int | None = None, person_id: int | None = None,
            declaration_id: int | None = None) -> list[CovenantEvent]:
    """The recorded steps of a covenant, a person or a declaration, newest first."""
    query = select(CovenantEvent).order_by(CovenantEvent.recorded_at.desc(), CovenantEvent.id.desc())
    if covenant_id is not None:
        query = query.where(CovenantEvent.covenant_id == covenant_id)
    if person_id is not None:
        query = query.where(CovenantEvent.person_id == person_id)
    if declaration_id is not None:
        query = query.where(CovenantEvent.declaration_id == declaration_id)
    return list(session.scalars(query))
