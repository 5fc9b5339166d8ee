"""Staff pages for the covenant's life after signing: accession, notice, immediate
termination, exclusion, ending the covenant, amendments (art. 13), revoking a Bijlage
1/2 and ending an employment.

Each view loads the record, asks the one decider (:mod:`registry.access`), calls the
same function the API calls (:mod:`registry.covenant_life`, :mod:`registry.amendments`,
the signing workflow), commits once and goes back to the record's page, where the
history shows who did what and when. A refusal shows the page again with the
registry's Dutch message at the form (422), nothing changed.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from forms_service import access, db
from forms_service.auth import login_required
from forms_service.web.document_forms import parse_form_date
from registry import access as rights
from registry import amendments, covenant_life, queries, rules, services
from registry.errors import DomainError, ValidationError
from registry.models import Covenant, Declaration, Organisation, Person
from signatures import workflow as signing

bp = Blueprint("covenant_life", __name__)

PARTNER_ENDINGS = ("notice", "termination", "exclusion")
"""The ways a partnership ends on the web form (*opzegging*, *directe beëindiging*, *uitsluiting*)."""


def actor() -> str:
    """Who does it: the logged-in account's e-mail, for the history."""
    return access.acting_user().email


def base_url() -> str:
    """Absolute base for signing links: PUBLIC_BASE_URL, else this request's host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def form_date(field: str, required: bool = True) -> dt.date | None:
    """A date typed on a form (the one web parser); a 422 naming ``field`` when bad or missing."""
    try:
        value = parse_form_date(request.form.get(field))
    except ValueError as exc:
        raise ValidationError(_("Controleer de velden."), {field: str(exc)}) from None
    if value is None and required:
        raise ValidationError(_("Controleer de velden."), {field: _("Vul de datum in.")})
    return value


def managed_covenant(covenant_id: int) -> Covenant:
    """The covenant, or 404; 403 unless the account may manage it."""
    covenant = db.session().get(Covenant, covenant_id)
    if covenant is None:
        abort(404)
    access.require(rights.MANAGE_COVENANT, rights.covenant_target(db.session(), covenant.id))
    return covenant


# ----------------------------------------------------------------------------- what the covenant page shows


def covenant_context(covenant: Covenant) -> dict:
    """What the covenant page's life section needs: today's partner statuses, the people
    who could accede, the fixed term's end, amendments and the history."""
    session = db.session()
    today = rules.today()
    listed = {p.organisation_id for p in covenant.partnerships}
    term_end = covenant_life.fixed_term_end(covenant) if covenant.in_force_on else None
    candidates = session.scalars(select(Person).join(Organisation).where(Person.organisation_id.not_in(listed) if listed else True)
                                 .order_by(Organisation.name, Person.name)).all()
    return {
        "life_statuses": queries.partner_statuses(session, covenant, today),
        "life_candidates": candidates,
        "life_term_end": term_end,
        "life_term_last": term_end - dt.timedelta(days=1) if term_end else None,
        "life_amendments": [(a, amendments.state(session, a)) for a in amendments.of_covenant(session, covenant)],
        "life_history": covenant_life.history(session, covenant_id=covenant.id),
        "may_manage": access.may(rights.MANAGE_COVENANT, rights.covenant_target(session, covenant.id)),
        "today": today,
    }


def covenant_page(covenant: Covenant, errors: dict | None = None, status: int = 200):
    """The covenant page (:func:`forms_service.web.documents.covenant_page`) with the
    life section, and a refused form's messages."""
    from forms_service.web.documents import covenant_page as page

    return page(covenant, life_errors=errors or {}, status=status)


def commit_or_show(work, refused, done: str, back: str):
    """Run ``work()`` and commit once, flash ``done`` and go ``back``; a refusal
    (:class:`DomainError`) rolls back and answers ``refused(messages, status)`` — the
    page again with the messages, committing only what showing it logged. The one
    commit point of every life step on the web."""
    try:
        work()
    except DomainError as exc:
        db.session().rollback()
        page = refused([exc.message, *exc.fields.values()], exc.status)
        db.session().commit()  # only what showing the page logged (the signers read)
        return page
    db.session().commit()
    flash(done)
    return redirect(back)


def act(covenant: Covenant, form: str, work, done: str):
    """A step on the covenant page: :func:`commit_or_show`, back to the covenant's life
    section; a refusal shows the page again with the messages at ``form`` (the form's id)."""
    return commit_or_show(work, lambda messages, status: covenant_page(covenant, {form: messages}, status), done,
                          url_for("documents.covenant", covenant_id=covenant.id) + "#leven")


# ----------------------------------------------------------------------------- partners


@bp.post("/covenants/<int:covenant_id>/toetreding")
@login_required
def accession(covenant_id: int):
    """Accession of a new partner: its representative is chosen, the covenant sent for signing."""
    covenant = managed_covenant(covenant_id)

    def work():
        person_id = request.form.get("representative_id", type=int)
        person = services.get(db.session(), Person, person_id, "representative_id")
        access.require(rights.SIGNING, rights.covenant_target(db.session(), covenant.id))
        signing.accession(db.session(), current_app.config, covenant, organisation_id=person.organisation_id,
                          representative_id=person.id, actor=actor(), base_url=base_url(), require_link=True)

    return act(covenant, "accession", work, _("De toetreding is vastgelegd en ter ondertekening verstuurd."))


@bp.post("/covenants/<int:covenant_id>/partners/<int:organisation_id>/einde")
@login_required
def partner_end(covenant_id: int, organisation_id: int):
    """Notice, immediate termination (with the decision) or exclusion (with the reason)."""
    covenant = managed_covenant(covenant_id)
    form = f"end-{organisation_id}"

    def work():
        partnership = services.partnership_of(db.session(), covenant, organisation_id)
        kind = request.form.get("kind")
        if kind not in PARTNER_ENDINGS:
            raise ValidationError(_("Controleer de velden."), {"kind": _("Kies opzegging, directe beëindiging of uitsluiting.")})
        on = form_date("on")
        text = request.form.get("text", "")
        if kind == "notice":
            covenant_life.give_notice(db.session(), partnership, on, actor())
        elif kind == "termination":
            covenant_life.terminate(db.session(), partnership, on, text, actor())
        else:
            covenant_life.exclude(db.session(), partnership, on, text, actor())

    return act(covenant, form, work, _("Het einde van het partnerschap is vastgelegd."))


# ----------------------------------------------------------------------------- the covenant itself


@bp.post("/covenants/<int:covenant_id>/einde")
@login_required
def covenant_end(covenant_id: int):
    """End the covenant: by majority decision (date and decision) or at the end of its fixed term."""
    covenant = managed_covenant(covenant_id)

    def work():
        if request.form.get("kind") == "term":
            covenant_life.end_at_term(db.session(), covenant, actor())
        else:
            covenant_life.end_covenant(db.session(), covenant, form_date("on"), request.form.get("decision", ""), actor())

    return act(covenant, "covenant-end", work, _("De beëindiging van het convenant is vastgelegd."))


# ----------------------------------------------------------------------------- amendments (art. 13)


@bp.post("/covenants/<int:covenant_id>/wijzigingen")
@login_required
def propose_amendment(covenant_id: int):
    """"Wijziging voorstellen": the next version, to be signed by every current partner."""
    covenant = managed_covenant(covenant_id)
    try:
        amendment = amendments.propose(db.session(), covenant, request.form.get("summary", ""), actor())
    except DomainError as exc:
        db.session().rollback()
        page = covenant_page(covenant, {"amendment": [exc.message, *exc.fields.values()]}, exc.status)
        db.session().commit()  # only what showing the page logged
        return page
    db.session().commit()
    flash(_("De wijziging is voorgesteld. Verstuur haar ter ondertekening aan de partners."))
    return redirect(url_for("covenant_life.amendment", covenant_id=covenant.id, amendment_id=amendment.id))


def amendment_page(covenant: Covenant, amendment, errors: list[str] | None = None, status: int = 200):
    """The amendment's page: version, summary, who signed, who is missing, the send button."""
    session = db.session()
    target = rights.covenant_target(session, covenant.id)
    return render_template("documents_web/amendment.html", covenant=covenant, amendment=amendment,
                           state=amendments.state(session, amendment), errors=errors or [],
                           signing=signing.signing_state(session, "amendment", amendment.id),
                           may_send=access.may(rights.SIGNING, target)), status


@bp.get("/covenants/<int:covenant_id>/wijzigingen/<int:amendment_id>")
@login_required
def amendment(covenant_id: int, amendment_id: int):
    """An amendment with its signatures."""
    covenant = db.session().get(Covenant, covenant_id)
    if covenant is None:
        abort(404)
    access.require(rights.READ, rights.covenant_target(db.session(), covenant.id))
    return amendment_page(covenant, amendments.get(db.session(), covenant, amendment_id))


@bp.post("/covenants/<int:covenant_id>/wijzigingen/<int:amendment_id>/versturen")
@login_required
def send_amendment(covenant_id: int, amendment_id: int):
    """Send the amendment to the representative of every current partner still missing."""
    covenant = managed_covenant(covenant_id)
    found = amendments.get(db.session(), covenant, amendment_id)
    try:
        rights.authorize_signing(db.session(), access.acting_user(), "amendment", found.id, "send")
        invitations = signing.send_amendment(db.session(), current_app.config, found.id, actor=actor(),
                                             base_url=base_url())
    except DomainError as exc:
        db.session().rollback()
        return amendment_page(covenant, found, [exc.message, *exc.fields.values()], exc.status)
    db.session().commit()
    flash(_("Verstuurd aan %(n)s vertegenwoordiger(s).", n=len(invitations)))
    return redirect(url_for("covenant_life.amendment", covenant_id=covenant.id, amendment_id=found.id))


# ----------------------------------------------------------------------------- declarations and people


@bp.post("/declarations/<int:declaration_id>/intrekking")
@login_required
def revoke_declaration(declaration_id: int):
    """Revoke a Bijlage 1/2 from a date (on the declaration's page)."""
    session = db.session()
    declaration = services.get(session, Declaration, declaration_id, "declaration_id")
    access.require(rights.MANAGE_DECLARATIONS, rights.declaration_target(session, declaration))
    from forms_service.web.documents import declaration_page

    return commit_or_show(lambda: covenant_life.revoke_declaration(session, declaration, form_date("on"), actor()),
                          lambda messages, status: declaration_page(declaration, messages, status),
                          _("De verklaring is ingetrokken."),
                          url_for("documents.declaration", declaration_id=declaration.id))


@bp.post("/people/<int:person_id>/uit-dienst")
@login_required
def end_employment(person_id: int):
    """Record a person's last working day (on the person's page)."""
    session = db.session()
    person = services.get(session, Person, person_id, "person_id")
    access.require(rights.MANAGE_PEOPLE, rights.person_target(session, person))
    from forms_service.web import person_page

    return commit_or_show(lambda: covenant_life.end_employment(session, person, form_date("until"), actor()),
                          lambda messages, status: person_page(person, messages, status),
                          _("Het einde van het dienstverband is vastgelegd."),
                          url_for("web.person", person_id=person.id))
