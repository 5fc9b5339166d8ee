"""Web pages of signing: the public signing page at the link, ``/verify``, and staff actions.

Public pages need no login: the link token is the signer's key. Each public page
loads the request by its token (Dutch error page when unknown, expired, used or
cancelled), and a failed step changes nothing. Staff pages: send, resend, cancel,
paper, in person, downloads, the outbox.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask import (
    Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for,
)
from sqlalchemy import select

from forms_service import access, db
from registry.documents import build
from forms_service.web.document_forms import parse_form_date
from forms_service.web.preview import preview_response
from forms_service.auth import current_user, login_required
from signatures import workflow as service

from signatures.subjects import KINDS, Signer, load_subject
from signatures.verification import expected_document, matches_expected, verify_upload
from registry import access as rights
from registry.errors import DomainError
from signatures import lifecycle, mail
from signatures.disclosure import get_disclosure
from signatures.evidence import append_event
from signatures.models import OutboxMessage, SignedDocument, SigningRequest

bp = Blueprint("signing", __name__)

ERROR_STATUS = {"unknown_token": 404, "expired": 410, "already_used": 410, "cancelled": 410, "not_open": 410,
                "copy_expired": 410}
FORM_ERRORS = ("name_mismatch", "not_agreed", "bad_signature", "signature_too_large", "document_changed")


def base_url() -> str:
    """Absolute base for links: PUBLIC_BASE_URL, else the host this request came in on."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def client() -> tuple[str | None, str | None]:
    """The signer's IP address and user agent (behind a proxy: configure ProxyFix)."""
    return request.remote_addr, (request.user_agent.string or "")[:400] or None


def error_page(exc: lifecycle.SigningError):
    """A clear Dutch page for a link that cannot be used; nothing was changed."""
    db.session().rollback()
    return render_template("signing/error.html", code=exc.code, message=exc.message_nl), ERROR_STATUS.get(exc.code, 400)


# ----------------------------------------------------------------------------- the signer


@bp.route("/onderteken/<token>", methods=["GET", "POST"])
def sign_page(token: str):
    """The signing page: the document, its hash, the disclosure, the one signing form."""
    session = db.session()
    ip, agent = client()
    try:
        if request.method == "POST":
            return _sign(token, ip, agent)
        signing_request = lifecycle.open_request(session, token, ip=ip, user_agent=agent)
    except lifecycle.SigningError as exc:
        if exc.code == "already_used" and _is_signed(token):  # the link now leads to the thank-you page
            session.rollback()
            return redirect(url_for("signing.done", token=token), code=303)
        return error_page(exc)
    session.commit()
    return _render_form(token, signing_request)


def _render_form(token: str, signing_request: SigningRequest, error: str | None = None, status: int = 200):
    snapshot = service.document_for(db.session(), signing_request)
    return render_template("signing/sign.html", token=token, req=signing_request, snapshot=snapshot,
                           disclosure=get_disclosure(), error=error, form=request.form), status


def _sign(token: str, ip: str | None, agent: str | None):
    """Handle the posted form: full_name, agree=y, optional signature, csrf_token."""
    session = db.session()
    form = request.form
    try:
        signed = service.sign(session, token, full_name=form.get("full_name", ""), agree=form.get("agree") == "y",
                              signature=form.get("signature") or None, ip=ip, user_agent=agent,
                              document_sha256=form.get("document_sha256") or None)
    except lifecycle.SigningError as exc:
        if exc.code not in FORM_ERRORS:
            return error_page(exc)
        session.rollback()
        signing_request = lifecycle.find_request(session, token)
        return _render_form(token, signing_request, exc.message_nl, 422)
    except DomainError as exc:  # e.g. the registry already has a paper signature for this partner
        session.rollback()
        return render_template("signing/error.html", code=exc.code, message=exc.message), exc.status
    session.commit()  # the worker seals (a request never waits for a timestamp server)
    return redirect(url_for("signing.done", token=token), code=303)


def _is_signed(token: str) -> bool:
    try:
        return lifecycle.find_request(db.session(), token).status == "signed"
    except lifecycle.SigningError:
        return False


def _signed_request(token: str) -> SigningRequest:
    """A request that this link signed, within SIGNED_COPY_DAYS of signing (thank-you page, copy)."""
    signing_request = lifecycle.find_request(db.session(), token)
    if signing_request.status != "signed":
        raise lifecycle.SigningError("not_open")
    service.check_signed_copy_open(current_app.config, signing_request)
    return signing_request


@bp.get("/onderteken/<token>/klaar")
def done(token: str):
    """Thank you; the sealed copy once everyone has signed."""
    try:
        signing_request = _signed_request(token)
    except lifecycle.SigningError as exc:
        return error_page(exc)
    row = _document_row(signing_request)
    doc = row if row is not None and row.status == "sealed" else None
    return render_template("signing/done.html", token=token, req=signing_request, doc=doc,
                           waiting=row is not None and row.status == "pending_seal",
                           until=service.signed_copy_until(current_app.config, signing_request),
                           days=service.signed_copy_days(current_app.config))


def _document_row(signing_request: SigningRequest) -> SignedDocument | None:
    """The request's finished-document row in any state (waiting for its seal, sealed, paper)."""
    return db.session().scalar(select(SignedDocument).where(
        SignedDocument.subject_kind == signing_request.subject_kind, SignedDocument.subject_id == signing_request.subject_id))


def _sealed(signing_request: SigningRequest) -> SignedDocument | None:
    doc = _document_row(signing_request)
    return doc if doc is not None and doc.status == "sealed" else None


def _signer_snapshot(token: str):
    """The stored document behind a link that is open (or already signed), or a SigningError."""
    session = db.session()
    signing_request = lifecycle.find_request(session, token)
    if signing_request.status != "signed":
        lifecycle.check_usable(signing_request)
    else:
        service.check_signed_copy_open(current_app.config, signing_request)
    return service.document_for(session, signing_request)


@bp.get("/onderteken/<token>/document.pdf")
def document_pdf(token: str):
    """The exact PDF the signer is asked to sign (while the link is open, or after signing)."""
    try:
        snapshot = _signer_snapshot(token)
    except lifecycle.SigningError as exc:
        return error_page(exc)
    return pdf_response(snapshot.pdf, f"document-{snapshot.subject_kind}-{snapshot.subject_id}-v{snapshot.version}.pdf")


@bp.get("/onderteken/<token>/voorbeeld")
def document_preview(token: str):
    """The exact document as HTML for the page's iframe, styled by its pack, inert (CSP)."""
    try:
        snapshot = _signer_snapshot(token)
    except lifecycle.SigningError as exc:
        return error_page(exc)
    pack = build.pack_named(build.pack_of_subject(db.session(), snapshot.subject_kind, snapshot.subject_id))
    return preview_response(snapshot.html, pack)


@bp.get("/onderteken/<token>/ondertekend.pdf")
def signed_copy(token: str):
    """The signer's copy of the sealed PDF (logged as downloaded)."""
    session = db.session()
    try:
        signing_request = _signed_request(token)
    except lifecycle.SigningError as exc:
        return error_page(exc)
    doc = _sealed(signing_request) or abort(409, _("Het document is nog niet door iedereen ondertekend."))
    ip, agent = client()
    append_event(session, subject_kind=doc.subject_kind, subject_id=doc.subject_id, request_id=signing_request.id,
                 event="downloaded", actor=f"{signing_request.signer_name} <{signing_request.signer_email or ''}>",
                 ip=ip, user_agent=agent, details={"sha256": doc.sha256})
    session.commit()
    return pdf_response(doc.pdf, f"ondertekend-{doc.subject_kind}-{doc.subject_id}.pdf")


@bp.post("/onderteken/<token>/weigeren")
def decline(token: str):
    """Decline with an optional reason; the requester is told."""
    ip, agent = client()
    try:
        service.decline(db.session(), current_app.config, token, request.form.get("reason"), ip=ip, user_agent=agent)
    except lifecycle.SigningError as exc:
        return error_page(exc)
    db.session().commit()
    return render_template("signing/declined.html")


def pdf_response(data: bytes, filename: str) -> Response:
    """A PDF download."""
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


# ----------------------------------------------------------------------------- verify (public)


@bp.route("/verify", methods=["GET", "POST"])
def verify():
    """Anyone uploads a PDF and reads whether our seal is intact, and who signed when."""
    result = None
    # The QR code on a certificate of completion opens /verify?document=<SHA-256>.
    wanted = request.values.get("document", "")[:100]
    expected = expected_document(db.session(), wanted) if wanted else None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Kies een PDF-bestand."), "error")
        else:
            result = verify_upload(db.session(), current_app.config, upload.read())
    return render_template("signing/verify.html", result=result, wanted=wanted, expected=expected,
                           matches=matches_expected(result, expected))


# ----------------------------------------------------------------------------- staff


def actor() -> str:
    """Who is acting, for the evidence log."""
    return current_user().email


@bp.get("/ondertekening")
@login_required
def overview():
    """Find a document by name (``q``: a covenant's title, a person's name, a table, a
    case reference) and go to its page, where it is sent, reminded, cancelled or recorded
    on paper; below, the signing requests of the documents this account may send, newest
    first. No one types an internal kind or a database number.

    The list shows signers' names and e-mail addresses, so showing it is logged.
    """
    session = db.session()
    access.require_role_for(rights.SEND_BIJLAGE1)
    q = request.args.get("q", "").strip()[:100]
    rows = session.scalars(select(SigningRequest).order_by(SigningRequest.id.desc()).limit(500)).all()
    allowed = {}
    for row in rows:
        key = (row.subject_kind, row.subject_id)
        if key not in allowed:
            allowed[key] = _may_sign(*key)
    requests_ = [row for row in rows if allowed[(row.subject_kind, row.subject_id)]]
    docs = {(d.subject_kind, d.subject_id): d for d in session.scalars(select(SignedDocument))
            if allowed.get((d.subject_kind, d.subject_id))}
    labels = {key: record_link(*key) for key in {(r.subject_kind, r.subject_id) for r in requests_}}
    if requests_:
        access.log_read(_any_use(), "view", "signing_requests", None, {"requests": [r.id for r in requests_][:100]})
    page = render_template("signing/overview.html", requests=requests_, docs=docs, labels=labels, q=q,
                           found=find_documents(q) if q else None)
    session.commit()
    return page


def record_link(kind: str, subject_id: int) -> tuple[str, str | None]:
    """A document's name for people and its record page (where its signing is done)."""
    from registry.models import Consent, Covenant, Declaration
    from signatures.subjects import declaration_title

    session = db.session()
    if kind == "covenant" and (covenant := session.get(Covenant, subject_id)):
        return covenant.title, url_for("documents.covenant", covenant_id=subject_id)
    if kind == "declaration" and (declaration := session.get(Declaration, subject_id)):
        number = declaration_title(declaration).split(" — ")[0]
        return (f"{number}: {declaration.person.name} ({declaration.table.name})",
                url_for("documents.declaration", declaration_id=subject_id))
    if kind == "consent" and (consent := session.get(Consent, subject_id)):
        return (f"Toestemming casus {consent.case.reference} ({consent.case.table.name})",
                url_for("documents.consent", consent_id=subject_id))
    if kind == "meeting":
        return _("Presentie- en toetsingslijst"), url_for("meetings.check", meeting_id=subject_id)
    return _("Document"), None


FOUND_LIMIT = 50


def find_documents(q: str) -> list[tuple[str, str, str]]:
    """Documents whose name matches ``q`` and that this account may send: (what, name, URL)."""
    from registry.models import Case, CaseTable, Consent, Covenant, Declaration, Person

    session = db.session()
    from forms_service.web.records import like as contains

    like = contains(q)
    found: list[tuple[str, str, str]] = []
    for covenant in session.scalars(select(Covenant).where(Covenant.title.ilike(like, escape="\\")).order_by(Covenant.title).limit(FOUND_LIMIT)):
        if _may_sign("covenant", covenant.id):
            found.append((_("Convenant"), *record_link("covenant", covenant.id)))
    declarations = session.scalars(
        select(Declaration).join(Person, Person.id == Declaration.person_id)
        .join(CaseTable, CaseTable.id == Declaration.table_id)
        .where((Person.name.ilike(like, escape="\\")) | (CaseTable.name.ilike(like, escape="\\")))
        .order_by(Person.name, Declaration.id).limit(FOUND_LIMIT))
    for declaration in declarations:
        if _may_sign("declaration", declaration.id):
            found.append((_("Verklaring"), *record_link("declaration", declaration.id)))
    consents = session.scalars(select(Consent).join(Case, Case.id == Consent.case_id)
                               .where(Case.reference.ilike(like, escape="\\"), Consent.erased_on.is_(None))
                               .order_by(Case.reference, Consent.id).limit(FOUND_LIMIT))
    for consent in consents:
        if _may_sign("consent", consent.id):
            found.append((_("Toestemming"), *record_link("consent", consent.id)))
    return found[:FOUND_LIMIT]


def _may_sign(kind: str, subject_id: int) -> bool:
    """Whether this account may send the document (and so see its signers)."""
    try:
        rights.authorize_signing(db.session(), access.acting_user(), kind, subject_id, "send")
    except DomainError:
        return False
    return True


def _any_use() -> rights.Use:
    """The account's widest grant, for logging a list that spans several scopes."""
    return rights.widest_use(db.session(), access.acting_user())


def _allow(kind: str, subject_id: int, purpose: str = "send") -> rights.Use:
    """403 (the Dutch page) unless this account may do a signing action on the document."""
    return rights.authorize_signing(db.session(), access.acting_user(), kind, subject_id, purpose)


@bp.post("/ondertekening/<kind>/<int:subject_id>/versturen")
@login_required
def send(kind: str, subject_id: int):
    """Send a document for signing to everyone who still has to sign and is not invited yet
    (a covenant: each unsigned partner's representative; a Bijlage 4: the signers named)."""
    _allow(kind, subject_id)
    if kind == "consent" and request.form.get("name"):
        signers = _consent_signers()
    elif kind == "covenant":
        signers = service.uninvited_signers(db.session(), kind, subject_id) or None
    else:
        signers = None
    return _staff_action(lambda s: service.send_for_signing(
        s, current_app.config, kind, subject_id, actor=actor(), base_url=base_url(), signers=signers),
        _("Uitnodigingen verstuurd."), back=_record_page(kind, subject_id))


RECORD_PAGES = {"declaration": ("documents.declaration", "declaration_id"),
                "consent": ("documents.consent", "consent_id"),
                "covenant": ("documents.covenant", "covenant_id")}


def _record_page(kind: str, subject_id: int) -> str | None:
    """The record's own page when the form asked to go back there (``back=record``)."""
    if request.form.get("back") != "record" or kind not in RECORD_PAGES:
        return None
    endpoint, arg = RECORD_PAGES[kind]
    return url_for(endpoint, **{arg: subject_id}) + "#send-for-signing"


def _consent_signers() -> list[Signer]:
    """The Bijlage 4 signers named on the staff form: ``name``/``email``/``role`` and further
    rows ``name_1``/``email_1``/``role_1`` … (a row without a name is left out)."""
    signers = []
    for suffix in ("", "_1", "_2", "_3"):
        name = request.form.get("name" + suffix, "").strip()
        if suffix and not name:
            continue
        role = request.form.get("role" + suffix)
        role = role if role in ("resident", "parents") else "resident"
        signers.append(Signer(name, request.form.get("email" + suffix, "").strip() or None, role))
    return signers


@bp.post("/ondertekening/<kind>/<int:subject_id>/in-persoon")
@login_required
def in_person(kind: str, subject_id: int):
    """Sign now on this tablet: the professional is recorded as witness."""
    session = db.session()
    _allow(kind, subject_id)
    try:
        subject = load_subject(session, kind, subject_id)
        signers = _consent_signers() if kind == "consent" and request.form.get("name") else subject.signers[:1]
        invitation = service.send_for_signing(session, current_app.config, kind, subject_id, actor=actor(),
                                              base_url=base_url(), signers=signers, method="in_person",
                                              witness_person_id=current_user().person_id)[0]
    except DomainError as exc:
        session.rollback()
        flash(error_text(exc), "error")
        return redirect(_record_page(kind, subject_id) or url_for("signing.overview"))
    session.commit()
    return redirect(url_for("signing.sign_page", token=invitation.token))


@bp.post("/ondertekening/verzoeken/<int:request_id>/intrekken")
@login_required
def cancel(request_id: int):
    """Withdraw an open request."""
    signing_request = _allow_request(request_id)
    return _staff_action(lambda s: service.cancel(s, request_id, actor=actor(), reason=request.form.get("reason")),
                         _("Verzoek ingetrokken."), back=_record_page(signing_request.subject_kind, signing_request.subject_id))


@bp.post("/ondertekening/verzoeken/<int:request_id>/opnieuw")
@login_required
def resend(request_id: int):
    """A new link for the same signer."""
    signing_request = _allow_request(request_id)
    return _staff_action(lambda s: service.resend(s, current_app.config, request_id, actor=actor(), base_url=base_url()),
                         _("Opnieuw verstuurd."), back=_record_page(signing_request.subject_kind, signing_request.subject_id))


@bp.post("/ondertekening/verzoeken/<int:request_id>/herinneren")
@login_required
def remind(request_id: int):
    """Remind the signer now: a fresh link by mail to the same open request."""
    signing_request = _allow_request(request_id)
    return _staff_action(lambda s: service.remind(s, current_app.config, request_id, actor=actor(), base_url=base_url()),
                         _("Herinnering verstuurd."), back=_record_page(signing_request.subject_kind, signing_request.subject_id))


@bp.post("/ondertekening/<kind>/<int:subject_id>/papier")
@login_required
def paper(kind: str, subject_id: int):
    """Record a paper signature: the date and the scanned PDF."""
    _allow(kind, subject_id)
    back = _record_page(kind, subject_id) or url_for("signing.overview")
    upload = request.files.get("scan")
    typed = request.form.get("signed_on", "")
    try:
        signed_on = parse_form_date(typed)
    except ValueError as exc:
        flash(_("Datum van ondertekening „%(typed)s”: %(problem)s", typed=typed.strip()[:40], problem=str(exc)), "error")
        return redirect(back)
    if signed_on is None:
        flash(_("Vul de datum van ondertekening in (JJJJ-MM-DD)."), "error")
        return redirect(back)
    request_id = request.form.get("request_id", type=int)
    result = _staff_action(lambda s: service.record_paper(
        s, kind, subject_id, signed_on=signed_on, scan=upload.read() if upload else b"",
        filename=upload.filename if upload else "", actor=actor(), request_id=request_id,
        person_id=request.form.get("person_id", type=int)), _("Papieren ondertekening vastgelegd."), back=back)
    return result  # the last signature marked the document waiting for its seal; the worker seals it


def _allow_request(request_id: int) -> SigningRequest:
    """404 for an unknown request; 403 unless this account may act on its document."""
    signing_request = db.session().get(SigningRequest, request_id) or abort(404)
    _allow(signing_request.subject_kind, signing_request.subject_id)
    return signing_request


def error_text(exc: DomainError) -> str:
    """A refusal as one Dutch sentence for a flash: the message, then the field messages
    that add something (a 404's "Bestaat niet." repeats the message and is left out)."""
    extra = [text for text in exc.fields.values() if text and exc.status != 404 and text not in exc.message]
    return " ".join([exc.message, *dict.fromkeys(extra)]).strip()


def _staff_action(work, message: str, back: str | None = None):
    """Run a service call, commit, and go back (to the overview, or ``back``) with a
    message: a success, or the refusal flashed as an error (category ``error``)."""
    session = db.session()
    target = back or url_for("signing.overview")
    try:
        work(session)
    except DomainError as exc:
        session.rollback()
        flash(error_text(exc), "error")
        return redirect(target)
    session.commit()
    flash(message, "success")
    return redirect(target)


@bp.get("/ondertekening/<kind>/<int:subject_id>/ondertekend.pdf")
@login_required
def staff_download(kind: str, subject_id: int):
    """The sealed PDF (or the paper scan) of a document; logged in the access log (it
    holds the signers' personal data) and in the evidence log."""
    session = db.session()
    if kind not in KINDS:
        abort(404)
    use = _allow(kind, subject_id, "copy")
    try:
        doc = service.signed_document(session, kind, subject_id)
    except DomainError as exc:
        return render_template("signing/error.html", code=exc.code, message=exc.message), exc.status
    access.log_read(use, "export", kind, subject_id, {"sha256": doc.sha256})
    append_event(session, subject_kind=kind, subject_id=subject_id, event="downloaded", actor=actor(),
                 ip=request.remote_addr, user_agent=request.user_agent.string[:400], details={"sha256": doc.sha256})
    session.commit()
    return pdf_response(doc.pdf, f"ondertekend-{kind}-{subject_id}.pdf")


@bp.get("/outbox")
@login_required
def outbox():
    """Every mail with where it stands: waiting for the worker, retried, sent, or failed for good
    (then, or without SMTP, an administrator passes it on by hand)."""
    use = access.require(rights.ADMIN)
    messages = db.session().scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)).all()
    access.log_read(use, "view", "outbox", None)
    page = render_template("signing/outbox.html", messages=messages, state=mail.state_nl,
                           mail_server=bool(current_app.config.get("MAIL_SERVER")),
                           max_attempts=mail.max_attempts(current_app.config))
    db.session().commit()
    return page


@bp.post("/outbox/<int:message_id>/doorgegeven")
@login_required
def outbox_passed_on(message_id: int):
    """The administrator passed a message on by hand: mark it sent; its links are redacted."""
    access.require(rights.ADMIN)
    message = db.session().get(OutboxMessage, message_id) or abort(404)
    mail.mark_passed_on(db.session(), message)
    db.session().commit()
    flash(_("Gemarkeerd als doorgegeven; de link in het bericht is onleesbaar gemaakt."))
    return redirect(url_for("signing.outbox"))
