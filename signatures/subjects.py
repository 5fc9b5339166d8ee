"""What can be signed online, who signs it, and what a signature does in the registry.

| subject | signers | effect of a signature |
|---|---|---|
| ``covenant`` | the representative of every partner that has not signed | the organisation is a partner from its signing date |
| ``declaration`` | the participant (Bijlage 1 structural, Bijlage 2 incidental) | the declaration holds from its signing date |
| ``consent`` | the resident and/or parents (Bijlage 4), named when sent: exactly the roles the pack's age rule requires | the consent holds once every invited signer signed and every required role is among them; a decline makes it ``declined`` |
| ``amendment`` | the representative of every current partner that has not signed the new version (art. 13) | the partner's written consent; the last one brings the version into force |

The registry is changed by :mod:`registry.services` in the same transaction as the
signature, with the Europe/Amsterdam calendar date of the signature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import amendments
from registry import consents as consent_rules
from registry import services
from registry.documents import build
from registry.errors import NotFound, ValidationError
from registry.models import Consent, Covenant, CovenantAmendment, Declaration, Partnership, Person
from signatures import lifecycle
from signatures.models import SigningRequest
from registry.texts import _

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SIGNED_BY_ROLE = {"resident": "resident", "parents": "parents"}


@dataclass(frozen=True)
class Signer:
    """Someone who must sign a subject."""

    name: str
    email: str | None
    role: str  # representative | participant | resident | parents
    person_id: int | None = None
    organisation: str = ""
    function: str = ""


@dataclass(frozen=True)
class Subject:
    """A signable document of the registry, as plain data."""

    kind: str
    id: int
    title: str
    signers: list[Signer] = field(default_factory=list)


def amsterdam_date(moment: dt.datetime) -> dt.date:
    """The Dutch calendar date of a moment (a signature at 00:30 CEST is that day)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(AMSTERDAM).date()


def load_subject(session: Session, kind: str, subject_id: int) -> Subject:
    """The subject with its open signers, or NotFound."""
    if kind not in DOCUMENT_KINDS:
        raise NotFound(_('Onbekend soort document: %(kind)s.', kind=kind))
    return DOCUMENT_KINDS[kind].load(session, subject_id)


def _covenant(session: Session, subject_id: int) -> Subject:
    covenant = services.get(session, Covenant, subject_id, "covenant_id")
    signers = [_person_signer(p.representative, "representative") for p in covenant.partnerships
               if p.signed_on is None and p.representative is not None]
    return Subject("covenant", covenant.id, covenant.title, signers)


def _declaration(session: Session, subject_id: int) -> Subject:
    declaration = services.get(session, Declaration, subject_id, "declaration_id")
    title = declaration_title(declaration)
    signers = [] if declaration.signed_on else [_person_signer(declaration.person, "participant")]
    return Subject("declaration", declaration.id, title, signers)


def declaration_title(declaration: Declaration) -> str:
    """The pack's number and title of the declaration's annex ("Bijlage 1 — Verklaring …")."""
    return build.annex_heading(build.declaration_annex(declaration))


def _consent(session: Session, subject_id: int) -> Subject:
    consent = services.get(session, Consent, subject_id, "consent_id")
    title = build.annex_heading(build.consent_annex(consent))  # the pack's number and title
    if consent.signed_on or consent.declined_on or consent.withdrawn_on:
        return Subject("consent", consent.id, title, [])
    signed = {r.signer_role for r in live_requests(session, "consent", consent.id) if r.status == "signed"}
    signers = [Signer(consent.resident_name if role == "resident" else f"Ouder/verzorger van {consent.resident_name}",
                      None, role) for role in services.consent_required_signers(consent) if role not in signed]
    return Subject("consent", consent.id, title, signers)


def consent_status(session: Session, consent: Consent) -> str:
    """The consent's status (:func:`registry.consents.status`): sent means a request still counts."""
    return consent_rules.status(consent, sent=bool(live_requests(session, "consent", consent.id)))


def consent_roles_signed(session: Session, consent_id: int) -> bool:
    """Has every invited signer of a consent signed, and is every required role among them?"""
    consent = services.get(session, Consent, consent_id, "consent_id")
    if consent.declined_on is not None or not all_signed(session, "consent", consent_id):
        return False
    signed = {r.signer_role for r in live_requests(session, "consent", consent_id)}
    return set(services.consent_required_signers(consent)) <= signed


def check_consent_signers(session: Session, consent_id: int, signers: list["Signer"], on: dt.date,
                          complete: bool = True) -> None:
    """Requests for a consent go to its required roles only and, with the live ones, cover
    them when ``complete`` (422 ``signers``)."""
    consent = services.get(session, Consent, consent_id, "consent_id")
    already = [r.signer_role for r in live_requests(session, "consent", consent_id)]
    services.check_consent_signers(consent, [s.role for s in signers], already, on, complete=complete)


def refuse_closed_consent(session: Session, consent_id: int) -> None:
    """A declined or withdrawn consent is not signed any more (409)."""
    consent = services.get(session, Consent, consent_id, "consent_id")
    services.refuse_closed_consent(consent)


def decline_consent(session: Session, request: SigningRequest, declined_on: dt.date, actor: str) -> None:
    """A required signer declined: the consent is declined and every other open request cancelled."""
    consent = services.get(session, Consent, request.subject_id, "consent_id")
    services.decline_consent(session, consent, declined_on)
    for other in live_requests(session, "consent", consent.id):
        if other.id != request.id and other.status in ("pending", "opened"):
            lifecycle.cancel_request(session, other.id, actor=actor,
                                     reason=f"toestemming geweigerd (verzoek {request.id})")  # no name: details are never erased


def _person_signer(person: Person, role: str) -> Signer:
    return Signer(person.name, person.email, role, person.id, person.organisation.name, person.function)


def apply_signature(session: Session, request: SigningRequest, signed_on: dt.date, via: str) -> None:
    """Make the registry see one signature at once (same transaction as the signature)."""
    DOCUMENT_KINDS[request.subject_kind].apply(session, request, signed_on, via)


def _apply_covenant(session: Session, request: SigningRequest, signed_on: dt.date, via: str) -> None:
    services.sign_partnership(session, partnership_for(session, request), signed_on, via)


def _apply_declaration(session: Session, request: SigningRequest, signed_on: dt.date, via: str) -> None:
    declaration = services.get(session, Declaration, request.subject_id, "declaration_id")
    services.sign_declaration(session, declaration, signed_on, via)


def _apply_consent(session: Session, request: SigningRequest, signed_on: dt.date, via: str) -> None:
    if consent_roles_signed(session, request.subject_id):
        consent = services.get(session, Consent, request.subject_id, "consent_id")
        services.sign_consent(session, consent, signed_on, via)


def partnership_for(session: Session, request: SigningRequest) -> Partnership:
    """The partnership a representative's covenant request is for."""
    person = services.get(session, Person, request.signer_person_id, "signer_person_id")
    return services.partnership_of(session, session.get(Covenant, request.subject_id), person.organisation_id)


def live_requests(session: Session, kind: str, subject_id: int) -> list[SigningRequest]:
    """Requests of a subject that count: open or signed (not cancelled/declined/expired)."""
    return list(session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == kind, SigningRequest.subject_id == subject_id,
        SigningRequest.status.in_(("pending", "opened", "signed"))).order_by(SigningRequest.id)))


def all_signed(session: Session, kind: str, subject_id: int) -> bool:
    """Have all live requests been signed (and is there at least one)?"""
    session.flush()
    requests = live_requests(session, kind, subject_id)
    return bool(requests) and all(r.status == "signed" for r in requests)


def is_complete(session: Session, kind: str, subject_id: int) -> bool:
    """Is the document fully signed, so it can be sealed?

    Every live request is signed and the kind's own rule holds (a covenant: every
    partner has signed, online or on paper, so a partner that declined keeps it open).
    """
    if not all_signed(session, kind, subject_id):
        return False
    return DOCUMENT_KINDS[kind].complete(session, subject_id)


def _covenant_complete(session: Session, subject_id: int) -> bool:
    covenant = session.get(Covenant, subject_id)
    return all(p.signed_on is not None for p in covenant.partnerships)


def _consent_complete(session: Session, subject_id: int) -> bool:
    consent = session.get(Consent, subject_id)
    return consent is not None and consent.declined_on is None and consent_roles_signed(session, subject_id)


# ----------------------------------------------------------------------------- amendments (art. 13)


def _amendment(session: Session, subject_id: int) -> Subject:
    """An amendment: signed by the representative of every current partner still missing."""
    amendment = services.get(session, CovenantAmendment, subject_id, "amendment_id")
    missing = {a.organisation_id for a in amendments.state(session, amendment).missing}
    signers = [_person_signer(a.representative, "representative") for a in amendment.approvals
               if a.organisation_id in missing and a.representative is not None]
    return Subject("amendment", amendment.id, amendment_title(amendment), signers)


def amendment_title(amendment: CovenantAmendment) -> str:
    """"<covenant title> — wijziging, versie N"."""
    return f"{amendment.covenant.title} — wijziging, versie {amendment.version}"


def _apply_amendment(session: Session, request: SigningRequest, signed_on: dt.date, via: str) -> None:
    amendment = services.get(session, CovenantAmendment, request.subject_id, "amendment_id")
    person = services.get(session, Person, request.signer_person_id, "signer_person_id")
    amendments.sign(session, amendment, person.organisation_id, signed_on, via)


def _amendment_complete(session: Session, subject_id: int) -> bool:
    amendment = session.get(CovenantAmendment, subject_id)
    return amendment is not None and amendment.in_force_on is not None


# ----------------------------------------------------------------------------- the one registry of kinds


@dataclass(frozen=True)
class DocumentKind:
    """What signing needs to know of one kind of document: how to load it with its open
    signers, what one signature does in the registry, and when it is complete."""

    load: Callable[[Session, int], Subject]
    apply: Callable[[Session, SigningRequest, dt.date, str], None]
    complete: Callable[[Session, int], bool]


DOCUMENT_KINDS: dict[str, DocumentKind] = {
    "covenant": DocumentKind(_covenant, _apply_covenant, _covenant_complete),
    "declaration": DocumentKind(_declaration, _apply_declaration, lambda _session, _id: True),
    "consent": DocumentKind(_consent, _apply_consent, _consent_complete),
    "amendment": DocumentKind(_amendment, _apply_amendment, _amendment_complete),
}
"""Every kind of document that is signed online (a new kind is one entry here)."""

KINDS = tuple(DOCUMENT_KINDS)


def validate_signers(signers: list[Signer], need_email: bool) -> None:
    """Every signer needs a name, and an e-mail address when the link goes by mail."""
    errors = {}
    for i, signer in enumerate(signers):
        if not signer.name.strip():
            errors[f"signers[{i}].name"] = _("Vul de naam in.")
        if need_email and not (signer.email and "@" in signer.email):
            errors[f"signers[{i}].email"] = _("Geen e-mailadres bekend voor %(name)s.", name=signer.name)
    if errors:
        raise ValidationError(_("Niet iedereen kan een uitnodiging ontvangen."), errors)
