"""Orchestration of online signing, without Flask: send, sign, decline, remind, paper, seal.

Transactions: functions that take a ``session`` flush and never commit (the web
request or CLI command commits once). The sealing job functions (:func:`finalize`,
:func:`complete_pending`) take a *session factory* because they own their
transactions: claim → build and seal (no transaction held open while a timestamp
server answers) → store.

Exactly-once sealing across processes
-------------------------------------
No request seals: a request never talks to a timestamp server. The signer's POST (or a
paper upload) only records the signature and, when it was the last, marks the document
waiting for its seal; the worker (``forms-service worker``) seals it.

1. The transaction that counts the last required signature also inserts the
   subject's ``SignedDocument`` row with status ``pending_seal`` (unique per
   subject). Every signing transaction appends to the evidence log first, which
   locks the log's head row, so concurrent last signatures are serialised and the
   later one sees the earlier one: the row is always created.
2. A worker claims the row with a conditional ``UPDATE`` (status ``pending_seal`` and
   no live lease) and commits the claim. The lease is short (``SEAL_LEASE_SECONDS``,
   20 s) and a heartbeat thread extends it every 5 s while the seal is built, so a
   killed worker's lease runs out within 20 seconds and the next round of any worker takes
   the document again — no hand command.
3. The sealed PDF is stored with a conditional ``UPDATE ... WHERE claim_token = mine
   AND status = 'pending_seal'``: only one store can win, and only the winner logs the
   ``sealed`` event.
4. :func:`seal_waiting` (each worker round) seals what waits; :func:`complete_pending`
   (``forms-service complete-pending``, and the worker once a day) also expires old
   links and creates missing rows for subjects that are complete.

A timestamp server that fails is retried (``signatures.seal``) and then reported:
the document stays ``pending_seal`` with ``last_error`` set, is logged at ERROR
level and shown to staff — never sealed with the local clock instead. The next
attempt waits (``next_attempt_at``, exponential backoff up to 10 minutes,
:mod:`signatures.leases`), so a timestamp server that is down is not asked for every
document in every round; the pages show "volgende poging om 10:42".
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from registry.documents import build
from signatures import assembly as final_pdf
from signatures.snapshots import ensure_snapshot, snapshot_by_sha
from signatures.subjects import (
    KINDS,
    Signer,
    amsterdam_date,
    apply_signature,
    check_consent_signers,
    decline_consent,
    refuse_closed_consent,
    is_complete,
    live_requests,
    load_subject,
    partnership_for,
    validate_signers,
)
from registry import services, texts
from registry.texts import _
from registry.errors import Conflict, NotFound, ValidationError
from registry.models import Covenant, Declaration, Partnership, Person
from signatures import leases, lifecycle, mail, tokens
from signatures.disclosure import get_disclosure
from signatures.evidence import append_event, events_for
from signatures.models import DocumentSnapshot, PaperScan, SignedDocument, SigningRequest

log = logging.getLogger(__name__)

SEAL_LEASE_SECONDS = leases.SEAL_LEASE_SECONDS
"""How long a claim on a document lasts without a heartbeat; a killed worker's claim runs out after it."""

HEARTBEAT_SECONDS = leases.HEARTBEAT_SECONDS
"""How often a worker that is sealing extends its lease."""

SIGN_PATH = "/onderteken/"


@dataclass(frozen=True)
class Invitation:
    """A created request with its link token (the token exists only here and in the mail)."""

    request: SigningRequest
    token: str
    link: str
    outbox_id: int | None = None
    """The outbox row of the invitation mail (None for in-person requests)."""


# ----------------------------------------------------------------------------- sending


def signing_link(base_url: str, token: str, language: str | None = None) -> str:
    """The absolute link a signer receives; for a request sent in another language than
    the default one, ``?lang=`` so the signing page opens in the mail's language."""
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("signing links must be absolute: configure PUBLIC_BASE_URL")
    link = base_url.rstrip("/") + SIGN_PATH + token
    if language in texts.LANGUAGES and language != texts.LANGUAGES[0]:
        link += "?lang=" + language
    return link


def send_for_signing(session: Session, config: Mapping[str, Any], kind: str, subject_id: int, *, actor: str,
                     base_url: str, signers: list[Signer] | None = None, method: str = "link",
                     witness_person_id: int | None = None) -> list[Invitation]:
    """Invite every signer of a subject that has not signed (or the given ``signers``).

    ``method="in_person"`` creates the request without mail, for signing on the
    professional's tablet with the professional as witness.
    """
    subject = load_subject(session, kind, subject_id)
    signers = signers if signers is not None else subject.signers
    if not signers:
        raise Conflict(_("Er hoeft niemand (meer) te tekenen."), {"signers": _("Iedereen heeft al getekend.")})
    validate_signers(signers, need_email=(method == "link"))
    _refuse_duplicates(session, kind, subject_id, signers)
    if kind == "consent":
        # Exactly the roles the consent needs; by link all at once (in person they sign one after another).
        check_consent_signers(session, subject_id, signers, amsterdam_date(tokens.utcnow()), complete=method == "link")
    snapshot = ensure_snapshot(session, kind, subject_id, subject.title)
    return [_invite(session, config, subject.kind, subject.id, s, snapshot, actor=actor, base_url=base_url,
                    method=method, witness_person_id=witness_person_id) for s in signers]


def _refuse_duplicates(session: Session, kind: str, subject_id: int, signers: list[Signer]) -> None:
    """One live request per signer: a second invitation must go through 'resend'."""
    live = live_requests(session, kind, subject_id)
    for signer in signers:
        for request in live:
            same = (signer.person_id is not None and request.signer_person_id == signer.person_id) or (
                signer.person_id is None and lifecycle.normalise_name(request.signer_name) == lifecycle.normalise_name(signer.name))
            if same:
                word = "getekend" if request.status == "signed" else "uitgenodigd"
                raise Conflict(_('%(name)s is al %(word)s.', name=signer.name, word=word), {"signers": _('%(name)s is al %(word)s (verzoek %(id)s).', name=signer.name, word=word, id=request.id)})


def send_declaration(session: Session, config: Mapping[str, Any], *, kind: str, person_id: int, table_id: int,
                     case_ref: str | None = None, actor: str, base_url: str) -> Invitation:
    """Send a missing Bijlage 1 (``structural``) or Bijlage 2 (``incidental``, one case) by link.

    The art. 6 check's one click: the person's declaration that waits for signing is
    reused, or one is created waiting for signing; then it is sent. Flushes only, so the
    caller commits the declaration and the request together. A person without an
    e-mail address is refused before anything is written; a second click while the
    first invitation is open raises :class:`Conflict` ("al uitgenodigd").
    """
    person = services.get(session, Person, person_id, "person_id")
    if not (person.email and "@" in person.email):
        raise ValidationError(_('Geen e-mailadres bekend voor %(name)s.', name=person.name), {
            "email": _("Vul eerst het e-mailadres van deze persoon in, of laat de verklaring op papier tekenen.")})
    declaration = services.pending_declaration(
        session, kind=kind, person_id=person_id, table_id=table_id, case_ref=case_ref,
    ) or services.create_declaration(session, kind=kind, person_id=person_id, table_id=table_id,
                                     case_ref=case_ref, signed_on=None)
    return send_for_signing(session, config, "declaration", declaration.id, actor=actor, base_url=base_url)[0]


def send_accession(session: Session, config: Mapping[str, Any], covenant_id: int, representative_id: int, *,
                   actor: str, base_url: str) -> Invitation:
    """Send the covenant to the representative of a partner that accedes (*toetreding*)."""
    subject = load_subject(session, "covenant", covenant_id)
    signers = [s for s in subject.signers if s.person_id == representative_id]
    if not signers:
        raise Conflict(_("Deze vertegenwoordiger hoeft niet te tekenen."),
                       {"representative_id": _("Heeft al getekend.")})
    return send_for_signing(session, config, "covenant", covenant_id, actor=actor, base_url=base_url, signers=signers)[0]


def accession(session: Session, config: Mapping[str, Any], covenant: Covenant, *, organisation_id: int,
              representative_id: int, actor: str, base_url: str, signed_on: dt.date | None = None,
              mandate: str | None = None, require_link: bool = False) -> Partnership:
    """The one accession (*toetreding*) of the web and the API: recorded in the covenant's
    history (:func:`registry.covenant_life.accede`, who and when) and, unless signed on
    paper (``signed_on``), the covenant sent to the representative for signing. A
    representative without an e-mail address is refused on the web form
    (``require_link``); through the API the accession then waits for a paper signature."""
    from registry import covenant_life

    partnership = covenant_life.accede(session, covenant, organisation_id=organisation_id,
                                       representative_id=representative_id, actor=actor, signed_on=signed_on,
                                       mandate=mandate)
    representative = session.get(Person, representative_id)
    if signed_on is None and (require_link or (representative is not None and representative.email)):
        send_accession(session, config, covenant.id, representative_id, actor=actor, base_url=base_url)
    return partnership


def list_partner(session: Session, config: Mapping[str, Any], covenant: Covenant, *, organisation_id: int,
                 representative_id: int, actor: str, base_url: str, signed_on: dt.date | None = None,
                 mandate: str | None = None) -> Partnership:
    """``POST …/partners``: on a draft a partner of the list that is sent as a whole; on a
    covenant in force the same :func:`accession` as the web's, with its history and invitation."""
    if covenant.in_force_on is None:
        return services.add_partner(session, covenant, organisation_id=organisation_id,
                                    representative_id=representative_id, signed_on=signed_on, mandate=mandate)
    return accession(session, config, covenant, organisation_id=organisation_id, representative_id=representative_id,
                     actor=actor, base_url=base_url, signed_on=signed_on, mandate=mandate)


def send_amendment(session: Session, config: Mapping[str, Any], amendment_id: int, *, actor: str,
                   base_url: str) -> list[Invitation]:
    """Send an amendment (art. 13) to every current partner that has not signed it, and
    record that in the covenant's history."""
    from registry import covenant_life, rules
    from registry.models import CovenantAmendment

    invitations = send_for_signing(session, config, "amendment", amendment_id, actor=actor, base_url=base_url)
    amendment = session.get(CovenantAmendment, amendment_id)
    covenant_life.record(session, "amendment_sent", rules.today(), actor, covenant_id=amendment.covenant_id,
                         amendment_id=amendment.id, detail=", ".join(i.request.signer_name for i in invitations))
    return invitations


def release_departed_partners(session: Session, covenant_id: int, *, actor: str) -> list[SigningRequest]:
    """A partner that is no longer current (excluded, terminated, notice ended) is not
    waited for (art. 13): its open request for a pending amendment is cancelled (the one
    cancel path, logged with ``actor`` and the time), and an amendment that only lacked
    its signature comes into force and waits for its seal. The cancelled requests."""
    from registry import amendments, rules

    covenant = session.get(Covenant, covenant_id)
    current = amendments.current_partner_ids(session, covenant, rules.today())
    cancelled = []
    for amendment in amendments.of_covenant(session, covenant):
        if amendment.in_force_on is not None:
            continue
        for request in live_requests(session, "amendment", amendment.id):
            person = session.get(Person, request.signer_person_id) if request.signer_person_id else None
            if request.status != "signed" and person is not None and person.organisation_id not in current:
                cancelled.append(cancel(session, request.id, actor=actor, reason="geen partner meer"))
        amendments.refresh_in_force(session, amendment, actor)
        if amendment.in_force_on is not None:
            mark_complete_if_done(session, "amendment", amendment.id)
    return cancelled


def release_all_departed(session: Session, *, actor: str = "system") -> int:
    """The daily backstop of :func:`release_departed_partners` for every covenant with a
    pending amendment (a notice or an exclusion that takes effect on a later day)."""
    from registry.models import CovenantAmendment

    covenant_ids = session.scalars(select(CovenantAmendment.covenant_id)
                                   .where(CovenantAmendment.in_force_on.is_(None)).distinct()).all()
    return sum(len(release_departed_partners(session, cid, actor=actor)) for cid in covenant_ids)


def open_declaration_requests(session: Session, table_id: int) -> dict[tuple[int, str, str | None], SigningRequest]:
    """Open invitations for unsigned declarations at a table, by (person, kind, case)."""
    rows = session.execute(select(Declaration, SigningRequest).join(SigningRequest, (
        SigningRequest.subject_kind == "declaration") & (SigningRequest.subject_id == Declaration.id)).where(
        Declaration.table_id == table_id, Declaration.signed_on.is_(None),
        SigningRequest.status.in_(("pending", "opened"))).order_by(SigningRequest.id)).all()
    return {(d.person_id, d.kind, d.case_ref): r for d, r in rows}


def _invite(session: Session, config: Mapping[str, Any], kind: str, subject_id: int, signer: Signer,
            snapshot: DocumentSnapshot, *, actor: str, base_url: str, method: str,
            witness_person_id: int | None, language: str | None = None) -> Invitation:
    """Create one request and, for a link, mail it: in ``language`` (a resend keeps the
    first one's), else the sender's (the page's) language, stored for later mails."""
    request, token = lifecycle.create_request(
        session, subject_kind=kind, subject_id=subject_id, signer_name=signer.name, signer_role=signer.role,
        signer_email=signer.email, signer_person_id=signer.person_id, method=method,
        valid_days=int(config.get("SIGNING_LINK_DAYS") or tokens.DEFAULT_VALID_DAYS),
        document_sha256=snapshot.sha256, actor=actor)
    request.requested_by = actor
    request.witness_person_id = witness_person_id
    request.language = language if language in texts.LANGUAGES else texts.language()
    session.flush()
    link = signing_link(base_url, token, request.language)
    outbox_id = None
    if method == "link":
        outbox_id = _mail_link(session, config, request, link, snapshot.title, reminder=False, actor=actor)
    return Invitation(request, token, link, outbox_id)


def _mail_link(session: Session, config: Mapping[str, Any], request: SigningRequest, link: str, title: str,
               *, reminder: bool, actor: str, now: dt.datetime | None = None) -> int:
    """Mail an invitation or a reminder and log it; the outbox row's id."""
    now = tokens.as_utc(now or tokens.utcnow())
    with texts.speaking(request.language):
        subject, body = _link_mail(request, link, title, reminder=reminder, now=now)
    message = mail.enqueue(session, request.signer_email, subject, body)
    lifecycle.mark_sent(session, request, reminder=reminder, actor=actor, now=now)
    return message.id


def _link_mail(request: SigningRequest, link: str, title: str, *, reminder: bool,
               now: dt.datetime) -> tuple[str, str]:
    """Subject and body of an invitation or a reminder, in the current language (the
    one stored with the request, :func:`_mail_link`); times in Europe/Amsterdam."""
    subject = (_("Herinnering: verzoek om te ondertekenen: %(title)s", title=title) if reminder
               else _("Verzoek om te ondertekenen: %(title)s", title=title))
    days = (request.expires_at - now).days
    body = (
        _("Beste %(name)s,", name=request.signer_name) + "\n\n"
        + _("U wordt gevraagd het volgende document te ondertekenen: %(title)s.", title=title) + "\n\n"
        + _("Open deze persoonlijke link om het document te lezen en te ondertekenen:") + f"\n{link}\n\n"
        + _("De link is alleen voor u, werkt één keer en verloopt over %(days)s dagen (%(until)s).",
            days=max(days, 0), until=texts.local_time(request.expires_at)) + "\n"
        + (_("Eerdere links voor dit verzoek werken niet meer.") + "\n" if reminder else "")
        + "\n" + _("Wilt u niet tekenen? Op dezelfde pagina kunt u weigeren en een reden geven.") + "\n\n"
        + _("Met vriendelijke groet,") + "\n" + _("De coördinator van de casustafel") + "\n"
    )
    return subject, body


def resend(session: Session, config: Mapping[str, Any], request_id: int, *, actor: str, base_url: str) -> Invitation:
    """A fresh request (new link, new expiry) for the same signer; an open one is cancelled."""
    old = _request(session, request_id)
    if old.status == "signed":
        raise Conflict(_("Dit verzoek is al ondertekend."), {"request_id": _("Al ondertekend.")})
    if old.subject_kind == "consent":
        refuse_closed_consent(session, old.subject_id)
    if old.status in ("pending", "opened"):
        lifecycle.cancel_request(session, old.id, actor=actor, reason="opnieuw verstuurd")
    subject = load_subject(session, old.subject_kind, old.subject_id)
    signer = Signer(old.signer_name, old.signer_email, old.signer_role, old.signer_person_id)
    validate_signers([signer], need_email=old.method == "link")
    snapshot = ensure_snapshot(session, old.subject_kind, old.subject_id, subject.title)
    return _invite(session, config, old.subject_kind, old.subject_id, signer, snapshot, actor=actor,
                   base_url=base_url, method=old.method, witness_person_id=old.witness_person_id,
                   language=old.language)


def cancel(session: Session, request_id: int, *, actor: str, reason: str | None = None) -> SigningRequest:
    """Withdraw an open request; its link stops working at once."""
    _request(session, request_id)
    try:
        return lifecycle.cancel_request(session, request_id, actor=actor, reason=reason)
    except lifecycle.SigningError as exc:
        raise Conflict(exc.message_nl, {"request_id": exc.message_nl}) from exc


def send_reminders(session: Session, config: Mapping[str, Any], *, base_url: str,
                   now: dt.datetime | None = None) -> int:
    """Expire what is due, then remind open link requests quiet for SIGNING_REMINDER_DAYS.

    The token is stored only as a hash, so a reminder carries a *new* link and the
    old one stops working (the mail says so). Returns the number of reminders.
    """
    now = tokens.as_utc(now or tokens.utcnow())
    lifecycle.expire_due(session, now)
    quiet = dt.timedelta(days=int(config.get("SIGNING_REMINDER_DAYS") or 3))
    due = session.scalars(select(SigningRequest).where(
        SigningRequest.status.in_(("pending", "opened")), SigningRequest.method == "link",
        SigningRequest.created_at <= now - quiet,
        or_(SigningRequest.reminder_sent_at.is_(None), SigningRequest.reminder_sent_at <= now - quiet),
    ).order_by(SigningRequest.id)).all()
    return sum(_remind(session, config, r, base_url, now) for r in due)


def remind(session: Session, config: Mapping[str, Any], request_id: int, *, actor: str, base_url: str) -> SigningRequest:
    """Remind one signer now (the staff's "Herinneren" button): the same request gets a
    fresh link by mail and the old link stops working; its expiry stays. 409 when the
    request is no longer open or is not sent by link."""
    request = _request(session, request_id)
    if request.status not in ("pending", "opened") or request.method != "link":
        raise Conflict(_("Alleen een openstaand verzoek per e-mail kan worden herinnerd."),
                       {"request_id": _("Dit verzoek staat niet (meer) open.")})
    if not _remind(session, config, request, base_url, tokens.utcnow(), actor=actor):
        raise Conflict(_("Dit verzoek staat niet (meer) open."), {"request_id": _("Dit verzoek staat niet (meer) open.")})
    return request


def uninvited_signers(session: Session, kind: str, subject_id: int) -> list[Signer]:
    """The signers of a subject who have not signed and have no open request (for "send"
    on a covenant whose partners were invited one by one)."""
    live = live_requests(session, kind, subject_id)
    return [s for s in load_subject(session, kind, subject_id).signers
            if not any((s.person_id is not None and r.signer_person_id == s.person_id) or (
                s.person_id is None and lifecycle.normalise_name(r.signer_name) == lifecycle.normalise_name(s.name))
                for r in live)]


def _remind(session: Session, config: Mapping[str, Any], request: SigningRequest, base_url: str,
            now: dt.datetime, actor: str = "system") -> int:
    """Rotate the link token of one open request and mail it; 1 when sent."""
    token, token_hash = tokens.new_token()
    changed = session.execute(update(SigningRequest).where(
        SigningRequest.id == request.id, SigningRequest.status.in_(("pending", "opened")))
        .values(token_hash=token_hash, reminder_sent_at=now).execution_options(synchronize_session=False))
    if changed.rowcount != 1:
        return 0
    session.refresh(request)
    title = load_subject(session, request.subject_kind, request.subject_id).title
    _mail_link(session, config, request, signing_link(base_url, token, request.language), title, reminder=True, actor=actor, now=now)
    return 1


# ----------------------------------------------------------------------------- the signer


def document_for(session: Session, request: SigningRequest) -> DocumentSnapshot:
    """The stored document this request shows."""
    snapshot = snapshot_by_sha(session, request.subject_kind, request.subject_id, request.document_sha256)
    if snapshot is None:
        raise NotFound(_("Het document bij dit verzoek is niet gevonden."))
    return snapshot


def sign(session: Session, token: str, *, full_name: str, agree: bool, signature: str | None,
         ip: str | None, user_agent: str | None, document_sha256: str | None = None,
         now: dt.datetime | None = None) -> SigningRequest:
    """Count one online signature, update the registry and, when it was the last, queue the seal."""
    request = lifecycle.sign_request(session, token, full_name, agree, signature, ip, user_agent, now,
                                     document_sha256=document_sha256)
    apply_signature(session, request, amsterdam_date(request.signed_at), "online")
    mark_complete_if_done(session, request.subject_kind, request.subject_id)
    return request


def decline(session: Session, config: Mapping[str, Any], token: str, reason: str | None, *,
            ip: str | None, user_agent: str | None) -> SigningRequest:
    """The signer declines; the requester is told by mail, with the reason."""
    request = lifecycle.decline_request(session, token, reason, ip=ip, user_agent=user_agent)
    if request.subject_kind == "consent":
        decline_consent(session, request, amsterdam_date(tokens.utcnow()), actor="system")
    if request.requested_by and "@" in request.requested_by:
        title = load_subject(session, request.subject_kind, request.subject_id).title
        then = (_("De toestemming is daarmee geweigerd en wordt nooit geldig; de andere open verzoeken zijn "
                  "ingetrokken. Leg zo nodig een nieuwe toestemming vast.") if request.subject_kind == "consent"
                else _("U kunt het verzoek opnieuw versturen of op papier laten tekenen."))
        mail.enqueue(session, request.requested_by, _("Geweigerd: %(title)s", title=title),
                     _("%(name)s heeft geweigerd te ondertekenen: %(title)s.", name=request.signer_name, title=title)
                     + "\n\n" + _("Reden: %(reason)s", reason=request.declined_reason or _("(geen reden gegeven)"))
                     + "\n\n" + _("Verzoek %(id)s.", id=request.id) + " " + then + "\n")
    return request


# ----------------------------------------------------------------------------- paper and in person


def record_paper(session: Session, kind: str, subject_id: int, *, signed_on: dt.date, scan: bytes,
                 filename: str, actor: str, request_id: int | None = None,
                 person_id: int | None = None) -> SigningRequest:
    """Record a signature on paper: the date and the scanned PDF, kept with the document."""
    _check_scan(scan)
    if kind == "consent":
        refuse_closed_consent(session, subject_id)
    services.check_signing_date(signed_on)
    request = _request(session, request_id) if request_id else _paper_request(session, kind, subject_id, person_id, actor)
    if (request.subject_kind, request.subject_id) != (kind, subject_id):
        raise NotFound(_("Dit verzoek hoort niet bij dit document."), {"request_id": _("Hoort bij een ander document.")})
    moment = dt.datetime.combine(signed_on, dt.time(12), tzinfo=dt.timezone.utc)
    try:
        lifecycle.record_offline_signature(session, request.id, method="paper", actor=actor, signed_at=moment)
    except lifecycle.SigningError as exc:
        raise Conflict(exc.message_nl, {"request_id": exc.message_nl}) from exc
    session.add(PaperScan(request_id=request.id, subject_kind=kind, subject_id=subject_id, signed_on=signed_on,
                          filename=(filename or "scan.pdf")[:200], pdf=scan,
                          sha256=hashlib.sha256(scan).hexdigest(), uploaded_by=actor))
    apply_signature(session, request, signed_on, "paper")
    mark_complete_if_done(session, kind, subject_id)
    return request


def _check_scan(scan: bytes) -> None:
    """A scan must be a readable PDF."""
    from pypdf import PdfReader

    try:
        if not scan.startswith(b"%PDF-"):
            raise ValueError("no PDF header")
        PdfReader(io.BytesIO(scan)).pages[0]
    except Exception as exc:  # noqa: BLE001 - any parse failure means: not a usable scan
        raise ValidationError(_("De scan is geen leesbare PDF."), {"scan": _("Upload de scan als PDF-bestand.")}) from exc


def _paper_request(session: Session, kind: str, subject_id: int, person_id: int | None, actor: str) -> SigningRequest:
    """A request (method paper) for an unsigned signer that has no open request."""
    subject = load_subject(session, kind, subject_id)
    open_for = {r.signer_person_id for r in live_requests(session, kind, subject_id)}
    candidates = [s for s in subject.signers if (person_id is None or s.person_id == person_id)]
    candidates = [s for s in candidates if s.person_id is None or s.person_id not in open_for] or candidates
    if not candidates:
        raise Conflict(_("Er hoeft niemand (meer) te tekenen."), {"person_id": _("Deze persoon hoeft niet (meer) te tekenen.")})
    signer = candidates[0]
    for request in live_requests(session, kind, subject_id):
        if request.status != "signed" and request.signer_person_id == signer.person_id:
            return request
    request, _token = lifecycle.create_request(
        session, subject_kind=kind, subject_id=subject_id, signer_name=signer.name, signer_role=signer.role,
        signer_email=signer.email, signer_person_id=signer.person_id, method="paper", actor=actor)
    request.token_hash = None  # a paper request has no link
    request.requested_by = actor
    session.flush()
    return request


# ----------------------------------------------------------------------------- completion and sealing


def mark_complete_if_done(session: Session, kind: str, subject_id: int) -> SignedDocument | None:
    """When the subject is fully signed, make sure its ``pending_seal`` row exists."""
    if not is_complete(session, kind, subject_id):
        return None
    existing = _document(session, kind, subject_id)
    if existing is not None:
        return existing
    doc = SignedDocument(subject_kind=kind, subject_id=subject_id, status="pending_seal", attempts=0,
                         created_at=tokens.utcnow())
    try:
        with session.begin_nested():
            session.add(doc)
    except IntegrityError:
        return _document(session, kind, subject_id)
    return doc


def _document(session: Session, kind: str, subject_id: int) -> SignedDocument | None:
    return session.scalar(select(SignedDocument).where(
        SignedDocument.subject_kind == kind, SignedDocument.subject_id == subject_id))


def finalize(session_factory: sessionmaker, config: Mapping[str, Any], doc_id: int, *,
             now: dt.datetime | None = None, ignore_backoff: bool = False) -> str:
    """Seal one ``pending_seal`` document; returns ``sealed``, ``paper``, ``busy`` or ``failed``.

    Worker-side only (it may wait for a timestamp server): the lease is kept alive by a
    heartbeat while the seal is built; a failure sets the next attempt (backoff)."""
    table = SignedDocument.__table__
    claim = _claim(session_factory, doc_id, now, ignore_backoff=ignore_backoff)
    if claim is None:
        return "busy"
    try:
        with leases.Heartbeat(session_factory, table, doc_id, claim, where=(table.c.status == "pending_seal",)):
            with session_factory() as session:
                doc = session.get(SignedDocument, doc_id)
                pdf_bytes, status, doc_sha = build_final(session, config, doc)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded, logged and retried later
        leases.fail(session_factory, table, doc_id, claim, exc, now=now)
        return "failed"
    outcome = _store(session_factory, doc_id, claim, pdf_bytes, status, doc_sha)
    if outcome == "sealed":
        _tell_signers(session_factory, config, doc_id)
    return outcome


def _claim(session_factory: sessionmaker, doc_id: int, now: dt.datetime | None, *,
           ignore_backoff: bool = False) -> str | None:
    """Take the document for sealing (committed), or None when done, taken or not due."""
    table = SignedDocument.__table__
    return leases.take(session_factory, table, doc_id, now=now, where=(table.c.status == "pending_seal",),
                       ignore_backoff=ignore_backoff)


def extend_lease(session_factory: sessionmaker, doc_id: int, claim: str) -> bool:
    """Push our claim's end ``SEAL_LEASE_SECONDS`` ahead; False when the claim is no longer ours."""
    table = SignedDocument.__table__
    return leases.extend(session_factory, table, doc_id, claim, where=(table.c.status == "pending_seal",))


DEFAULT_SIGNED_COPY_DAYS = 30


def signed_copy_days(config: Mapping[str, Any]) -> int:
    """``SIGNED_COPY_DAYS``: how long after signing a link still shows the thank-you page and the copy."""
    return int(config.get("SIGNED_COPY_DAYS") or DEFAULT_SIGNED_COPY_DAYS)


def signed_copy_until(config: Mapping[str, Any], request: SigningRequest) -> dt.datetime:
    """The moment a signed link stops showing the thank-you page and the sealed copy.

    Counted from the signature (``signed_at``), independent of the link's ``expires_at``.
    """
    return tokens.as_utc(request.signed_at) + dt.timedelta(days=signed_copy_days(config))


def check_signed_copy_open(config: Mapping[str, Any], request: SigningRequest, now: dt.datetime | None = None) -> None:
    """Raise ``SigningError('copy_expired')`` once the signed link's period is over."""
    if request.signed_at is None or tokens.as_utc(now or tokens.utcnow()) >= signed_copy_until(config, request):
        days = signed_copy_days(config)
        raise lifecycle.SigningError("copy_expired", (
            _('U hebt dit document ondertekend. De pagina en de verzegelde kopie waren via deze link %(days)s dagen na het ondertekenen beschikbaar; die termijn is voorbij. Vraag de coördinator van de casustafel om een kopie.', days=days)))


def _tell_signers(session_factory: sessionmaker, config: Mapping[str, Any], doc_id: int) -> None:
    """Mail every signer who signed by link that their sealed copy is ready (via their own link).

    The link itself is not in this mail: only its hash is stored. A failure here is
    logged and never undoes the seal.
    """
    try:
        with session_factory() as session:
            doc = session.get(SignedDocument, doc_id)
            title = load_subject(session, doc.subject_kind, doc.subject_id).title
            for request in _signed_requests(session, doc.subject_kind, doc.subject_id):
                if request.method == "link" and request.signer_email:
                    with texts.speaking(request.language):  # the signer's language, not the worker's
                        subject = _("Ondertekend en verzegeld: %(title)s", title=title)
                        body = completion_mail_body(config, request, title, doc.sha256)
                    mail.enqueue(session, request.signer_email, subject, body)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - a notice must never undo a seal
        log.error("notifying signers of document %s failed: %s", doc_id, exc)


def completion_mail_body(config: Mapping[str, Any], request: SigningRequest, title: str, sha256: str | None) -> str:
    """The "sealed" notice: where the copy is and exactly how long (SIGNED_COPY_DAYS after signing)."""
    days, until = signed_copy_days(config), signed_copy_until(config, request)
    return (_("Beste %(name)s,", name=request.signer_name) + "\n\n"
            + _("Iedereen heeft ondertekend: %(title)s.", title=title) + "\n"
            + _("Het document is verzegeld. U downloadt uw kopie via de persoonlijke link uit de uitnodiging "
                "(de pagina 'Dank u wel'). Dat kan tot %(days)s dagen na uw ondertekening, dus tot %(until)s; "
                "daarna werkt de link niet meer en vraagt u de coördinator om een kopie.",
                days=days, until=texts.local_time(until)) + "\n\n"
            + _("Controleren kan iedereen op de pagina /verify (SHA-256 %(sha256)s).", sha256=sha256) + "\n")


def _store(session_factory: sessionmaker, doc_id: int, claim: str, pdf_bytes: bytes, status: str,
           doc_sha: str) -> str:
    """Store the result if our claim still holds; only the winner logs ``sealed``."""
    sha = hashlib.sha256(pdf_bytes).hexdigest()
    table = SignedDocument.__table__
    with session_factory() as session:
        result = session.execute(update(table).where(
            table.c.id == doc_id, table.c.status == "pending_seal", table.c.claim_token == claim,
        ).values(status=status, pdf=pdf_bytes, sha256=sha, sealed_at=tokens.utcnow().replace(tzinfo=None),
                 document_sha256=doc_sha, last_error=None, next_attempt_at=None, claim_token=None,
                 claimed_until=None))
        if result.rowcount != 1:
            session.rollback()
            return "busy"
        doc = session.get(SignedDocument, doc_id)
        append_event(session, subject_kind=doc.subject_kind, subject_id=doc.subject_id,
                     event="sealed" if status == "sealed" else "paper_recorded", actor="system",
                     details={"sha256": sha, "document_sha256": doc_sha, "status": status})
        session.commit()
    return status


def seal_waiting(session_factory: sessionmaker, config: Mapping[str, Any], *,
                 now: dt.datetime | None = None, ignore_backoff: bool = False) -> dict[str, int]:
    """The worker's sealing round: seal every ``pending_seal`` document whose next attempt
    has come (claimed one by one); ``ignore_backoff`` (the hand tool) tries every one now."""
    table = SignedDocument.__table__
    moment = tokens.as_utc(now or tokens.utcnow())
    waiting = [table.c.status == "pending_seal"] + ([] if ignore_backoff else [leases.ripe(table, moment)])
    with session_factory() as session:  # a live lease is left to the claim: it counts as busy
        pending = session.scalars(select(table.c.id).where(*waiting).order_by(table.c.id)).all()
    counts = {"sealed": 0, "paper": 0, "busy": 0, "failed": 0}
    for doc_id in pending:
        counts[finalize(session_factory, config, doc_id, now=now, ignore_backoff=ignore_backoff)] += 1
    return counts


def expire_links(session_factory: sessionmaker, *, now: dt.datetime | None = None) -> int:
    """Expire every link whose time is up (committed); returns how many."""
    with session_factory() as session:
        expired = lifecycle.expire_due(session, now)
        session.commit()
    return expired


def complete_pending(session_factory: sessionmaker, config: Mapping[str, Any], *,
                     now: dt.datetime | None = None, ignore_backoff: bool = False) -> dict[str, int]:
    """The tool (``forms-service complete-pending``; the worker once a day): expire due
    links, release partners that left from pending amendments, create missing rows (a scan
    of every signed subject), seal what waits; ``ignore_backoff`` (the hand run after a
    timestamp server's outage) tries every waiting document now, the worker's daily run
    keeps to the backoff."""
    expired = expire_links(session_factory, now=now)
    with session_factory() as session:
        release_all_departed(session)
        _create_missing_rows(session)
        session.commit()
    return {"expired": expired, **seal_waiting(session_factory, config, now=now, ignore_backoff=ignore_backoff)}


def _create_missing_rows(session: Session) -> None:
    """Backstop: a fully signed subject without a SignedDocument row gets one."""
    signed = session.execute(select(SigningRequest.subject_kind, SigningRequest.subject_id)
                             .where(SigningRequest.status == "signed").distinct()).all()
    for kind, subject_id in signed:
        if kind in KINDS and _document(session, kind, subject_id) is None:
            mark_complete_if_done(session, kind, subject_id)


# ----------------------------------------------------------------------------- building the final PDF


def build_final(session: Session, config: Mapping[str, Any], doc: SignedDocument) -> tuple[bytes, str, str]:
    """``(pdf, status, document_sha256)``: sealed PDF, or the merged scans when all on paper."""
    requests = _signed_requests(session, doc.subject_kind, doc.subject_id)
    scans = _scans(session, requests)
    snapshot = _final_snapshot(session, doc, requests)
    if all(r.method == "paper" for r in requests) and scans:
        merged = final_pdf.merge(scans)
        return merged, "paper", snapshot.sha256 if snapshot else hashlib.sha256(merged).hexdigest()
    if snapshot is None:
        raise RuntimeError("no stored document to seal")
    view = final_view(session, doc, snapshot, requests, config=config)
    pages = final_pdf.render_pages(view, build.pack_of_subject(session, doc.subject_kind, doc.subject_id))
    # A covenant's own signature table shows who signed and when, pointing to the pages
    # after it; the certificate keeps the SHA-256 of the stored document each signer saw.
    body = build.signed_body(session, doc.subject_kind, doc.subject_id, _page_count(snapshot.pdf) + 1) or snapshot.pdf
    assembled = final_pdf.assemble(body, pages, scans, view)
    return seal(config, assembled, view), "sealed", snapshot.sha256


def _page_count(pdf: bytes) -> int:
    """The number of pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _signed_requests(session: Session, kind: str, subject_id: int) -> list[SigningRequest]:
    return list(session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == kind, SigningRequest.subject_id == subject_id,
        SigningRequest.status == "signed").order_by(SigningRequest.signed_at, SigningRequest.id)))


def _scans(session: Session, requests: list[SigningRequest]) -> list[bytes]:
    ids = [r.id for r in requests]
    return list(session.scalars(select(PaperScan.pdf).where(PaperScan.request_id.in_(ids)).order_by(PaperScan.id))) if ids else []


def _final_snapshot(session: Session, doc: SignedDocument, requests: list[SigningRequest]) -> DocumentSnapshot | None:
    """The newest snapshot a signer saw (all signers normally saw the same one)."""
    seen = {r.document_sha256 for r in requests if r.document_sha256}
    snapshots = session.scalars(select(DocumentSnapshot).where(
        DocumentSnapshot.subject_kind == doc.subject_kind, DocumentSnapshot.subject_id == doc.subject_id)
        .order_by(DocumentSnapshot.version.desc())).all()
    return next((s for s in snapshots if s.sha256 in seen), snapshots[0] if snapshots else None)


def final_view(session: Session, doc: SignedDocument, snapshot: DocumentSnapshot,
               requests: list[SigningRequest], *, config: Mapping[str, Any] | None = None) -> final_pdf.FinalView:
    """Plain data for the signature page and the certificate (with ``config``: the
    certificate's QR code to ``/verify`` for this document)."""
    # The subject's events are read once and handed to each signer: per signer they
    # were the whole log of the subject again (200 signers: 200 x 1,000 rows decrypted).
    by_request: dict[int, list] = {}
    for event in events_for(session, doc.subject_kind, doc.subject_id):
        if event.request_id is not None and event.event in final_pdf.EVENTS_NL:
            by_request.setdefault(event.request_id, []).append(event)
    signers = [_signer_view(session, r, by_request.get(r.id, [])) for r in requests]
    versions = sorted({r.disclosure_version for r in requests if r.disclosure_version})
    disclosures = "; ".join(_("versie %(version)s, SHA-256 %(sha256)s", version=v, sha256=get_disclosure(v).sha256)
                            for v in versions) or "—"
    return final_pdf.FinalView(
        kind=doc.subject_kind, id=doc.subject_id, title=snapshot.title, version=snapshot.version,
        sha256=snapshot.sha256, completed_at=_utc(max(r.signed_at for r in requests)), signers=signers,
        disclosures=disclosures, paper_partners=_outside_partners(session, doc, requests),
        verify_url=final_pdf.verify_url(config or {}, snapshot.sha256))


def _signer_view(session: Session, request: SigningRequest, own_events: list) -> final_pdf.SignerView:
    """One signer on the signature page and the certificate; ``own_events`` are this
    request's certificate events (see :data:`signatures.assembly.EVENTS_NL`), in log order."""
    person = session.get(Person, request.signer_person_id) if request.signer_person_id else None
    scan = session.scalar(select(PaperScan).where(PaperScan.request_id == request.id))
    events = [{"label": _(final_pdf.EVENTS_NL[e.event]), "at": _utc(e.occurred_at)} for e in own_events]
    return final_pdf.SignerView(
        name=request.signer_name, role_nl=_(final_pdf.ROLES_NL[request.signer_role]) if request.signer_role in final_pdf.ROLES_NL else request.signer_role,
        method=request.method, signed_on=(scan.signed_on if scan else amsterdam_date(request.signed_at)).isoformat(),
        identification=identification(session, request), organisation=person.organisation.name if person else "",
        function=person.function if person else "", typed_name=request.full_name_typed or "",
        signature_png=request.signature_png, document_sha256=request.document_sha256,
        disclosure_version=request.disclosure_version, disclosure_sha256=request.disclosure_sha256,
        scan_sha256=scan.sha256 if scan else None, ip=request.ip, user_agent=request.user_agent, events=events)


def identification(session: Session, request: SigningRequest) -> str:
    """How the signer was identified, in Dutch, for the certificate and the API."""
    if request.method == "paper":
        return _("Handtekening op papier; de scan is door de coördinator geüpload en aan dit document toegevoegd.")
    if request.method == "in_person":
        witness = session.get(Person, request.witness_person_id) if request.witness_person_id else None
        who = f"{witness.name} ({witness.organisation.name})" if witness else (request.requested_by or "onbekend")
        return _('In persoon getekend op het apparaat van de professional, in aanwezigheid van getuige %(who)s; naam getypt.', who=who)
    return (_('Persoonlijke eenmalige link per e-mail naar %(signer_email)s; volledige naam getypt („%(full_name_typed)s”) en akkoord gegeven met de verklaring elektronisch ondertekenen.', signer_email=request.signer_email, full_name_typed=request.full_name_typed))


def _outside_partners(session: Session, doc: SignedDocument, requests: list[SigningRequest]) -> list[dict]:
    """Covenant partners that signed without a request of this service (on paper, earlier)."""
    if doc.subject_kind != "covenant":
        return []
    covered = {partnership_for(session, r).id for r in requests if r.signer_person_id}
    covenant = session.get(Covenant, doc.subject_id)
    return [{"organisation": p.organisation.name, "name": p.representative.name if p.representative else "",
             "signed_on": p.signed_on.isoformat()}
            for p in covenant.partnerships if p.signed_on and p.id not in covered]


def _utc(moment: dt.datetime) -> str:
    """A moment on the certificate: Europe/Amsterdam, to the second ("8 september 2025 14:00:00")."""
    return texts.local_time(tokens.as_utc(moment), seconds=True)


# ----------------------------------------------------------------------------- seal and verify


@functools.lru_cache(maxsize=4)
def _identity(instance_dir: str, pkcs12: str | None, pkcs12_password: str | None, key_pem: str | None,
              cert_pem: str | None, key_password: str | None):
    from signatures.keys import load_or_create_signer

    return load_or_create_signer(instance_dir, pkcs12, pkcs12_password, key_pem, cert_pem, pem_password=key_password)


def seal_identity(config: Mapping[str, Any]):
    """The configured sealing identity (PKCS#12, PEM, or generated into instance/seal/)."""
    return _identity(str(config["INSTANCE_DIR"]), config.get("SEAL_PKCS12"), config.get("SEAL_PKCS12_PASSWORD"),
                     config.get("SEAL_KEY_PEM"), config.get("SEAL_CERT_PEM"), config.get("SEAL_KEY_PASSWORD"))


def seal(config: Mapping[str, Any], assembled: bytes, view: final_pdf.FinalView) -> bytes:
    """Seal a signed document once with PAdES (B-LT when TIMESTAMP_URL is set; a failing TSA raises)."""
    return seal_finished(config, assembled, title=view.title, subject=_('%(kind)s/%(id)s versie %(version)s', kind=view.kind, id=view.id, version=view.version),
                         reason=_('Ondertekend en verzegeld: %(title)s', title=view.title), keywords=final_pdf.keywords(view))


def seal_finished(config: Mapping[str, Any], pdf: bytes, *, title: str, subject: str, reason: str,
                  keywords: list[str] | None = None) -> bytes:
    """Seal any finished PDF with the service's seal: the one sealing path of the service.

    PAdES-B-LT with a token of TIMESTAMP_URL when configured (validation data for the
    TIMESTAMP_TRUST_PEM roots embedded), else B-B with the server
    clock as claimed time. A timestamp server that stays down raises
    :class:`signatures.seal.TimestampUnavailable`: never the local clock instead.
    """
    from signatures.seal import seal_pdf

    return seal_pdf(pdf, seal_identity(config), reason=reason, location=config.get("SEAL_LOCATION") or "Nederland",
                    timestamp_url=config.get("TIMESTAMP_URL"), title=title, subject=subject, keywords=keywords,
                    validation_roots=trusted_certificates(config)[1:])


def trusted_certificates(config: Mapping[str, Any]) -> list[bytes]:
    """Our seal certificate, plus the timestamp server's root when configured."""
    certs = [seal_identity(config).certificate_pem]
    if config.get("TIMESTAMP_TRUST_PEM"):
        with open(config["TIMESTAMP_TRUST_PEM"], "rb") as handle:
            certs.append(handle.read())
    return certs


def _request(session: Session, request_id: int) -> SigningRequest:
    request = session.get(SigningRequest, request_id)
    if request is None:
        raise NotFound(_('Ondertekeningsverzoek %(request_id)s bestaat niet.', request_id=request_id), {"request_id": _("Bestaat niet.")})
    return request


def signed_document(session: Session, kind: str, subject_id: int) -> SignedDocument:
    """The finished PDF of a subject, or a 409 that says why it is not there yet."""
    load_subject(session, kind, subject_id)
    doc = _document(session, kind, subject_id)
    if doc is not None and doc.status in ("sealed", "paper"):
        return doc
    if doc is not None:
        detail = _(' Laatste fout: %(last_error)s', last_error=doc.last_error) if doc.last_error else ""
        if doc.next_attempt_at is not None:
            detail += " " + next_attempt_text(doc.next_attempt_at)
        raise Conflict(_("Alle handtekeningen zijn binnen; het document wordt nog verzegeld.") + detail,
                       {"status": "pending_seal"}, code="not_sealed")
    waiting = [r.signer_name for r in live_requests(session, kind, subject_id) if r.status != "signed"]
    text = _('Nog niet door iedereen getekend (wacht op: %(value)s).', value=', '.join(waiting)) if waiting else _("Nog niet ondertekend.")
    raise Conflict(text, {"status": "not_signed"}, code="not_signed")


def next_attempt_text(moment: dt.datetime) -> str:
    """"Volgende poging om 10:42." — when the worker tries a seal again (Europe/Amsterdam)."""
    return _("Volgende poging om %(time)s.", time=texts.local_clock(moment))


# ----------------------------------------------------------------------------- state for record pages


@dataclass(frozen=True)
class SigningState:
    """How far the signing of one record (Bijlage 1, 2 or 4) is, for its page."""

    kind: str
    subject_id: int
    requests: list[SigningRequest]
    document: SignedDocument | None

    @property
    def open_requests(self) -> list[SigningRequest]:
        """Invitations that can still be signed."""
        return [r for r in self.requests if r.status in ("pending", "opened")]

    @property
    def finished(self) -> bool:
        """Is there a sealed PDF or a stored paper scan to download?"""
        return self.document is not None and self.document.status in ("sealed", "paper")


def signing_state(session: Session, kind: str, subject_id: int) -> SigningState:
    """Every signing request of a record (newest first) and its finished document, if any."""
    requests = list(session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == kind, SigningRequest.subject_id == subject_id)
        .order_by(SigningRequest.id.desc())))
    return SigningState(kind, subject_id, requests, _document(session, kind, subject_id))


@dataclass(frozen=True)
class Declined:
    """A signer's refusal of a document, for its record page: who, on which Dutch date, why."""

    signer_name: str
    on: dt.date
    reason: str | None


def declined(session: Session, kind: str, subject_id: int) -> list[Declined]:
    """Every refusal of a document, oldest first (the date from the evidence log)."""
    requests = {r.id: r for r in session.scalars(select(SigningRequest).where(
        SigningRequest.subject_kind == kind, SigningRequest.subject_id == subject_id,
        SigningRequest.status == "declined"))}
    if not requests:
        return []
    return [Declined(requests[e.request_id].signer_name, amsterdam_date(e.occurred_at), requests[e.request_id].declined_reason)
            for e in events_for(session, kind, subject_id) if e.event == "declined" and e.request_id in requests]
