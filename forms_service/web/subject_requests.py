"""The privacy officer's pages for residents' requests (*verzoeken van inwoners*, AVG
art. 15–21): the register of open requests with their statutory deadline (overdue
highlighted), a form to record one, a detail page with the access export (PDF/JSON), the
handling, and for an erasure request "Verwijderen" behind a confirmation.

Views stay thin: load, check (:data:`registry.access.SUBJECT_REQUESTS`), call
:mod:`registry.subject_requests`, log what showed resident data, commit once.
"""

from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from forms_service import access, db, i18n
from forms_service.api.documents_api import PDF, file_response
from forms_service.api.subject_requests_api import (
    export_json, log_export, privacy_covenants, request_json,
)
from forms_service.auth import login_required
from registry import access as rights
from registry import rules
from registry import subject_requests as register
from registry.documents import build
from registry.errors import DomainError, NotFound
from registry.models import Covenant, SubjectRequest

bp = Blueprint("subject_requests", __name__)


class RequestForm(FlaskForm):
    """Record a request: what kind, whose, received when, for which covenant."""

    kind = SelectField(_l("Soort verzoek"), choices=[(key, _l(label)) for key, label in register.KINDS.items()],
                       validators=[DataRequired(_l("Kies het soort verzoek."))])
    resident_name = StringField(_l("Naam van de inwoner"), validators=[
        DataRequired(_l("Vul de naam van de inwoner in.")),
        Length(max=register.NAME_MAX, message=_l('Maximaal %(NAME_MAX)s tekens.', NAME_MAX=register.NAME_MAX))])
    resident_birth_date = DateField(_l("Geboortedatum"), validators=[DataRequired(_l("Vul een geldige geboortedatum in."))])
    received_on = DateField(_l("Ontvangen op"), validators=[Optional()])
    covenant_id = SelectField(_l("Convenant"), choices=[], validators=[Optional()])


class HandleForm(FlaskForm):
    """Record how a request ended."""

    outcome = SelectField(_l("Uitkomst"), choices=[(key, _l(label)) for key, label in register.OUTCOMES.items()],
                          validators=[DataRequired(_l("Kies de uitkomst."))])
    outcome_text = StringField(_l("Toelichting (kort, geen inhoud van de hulp)"), validators=[
        Optional(), Length(max=register.OUTCOME_TEXT_MAX, message=_l('Maximaal %(OUTCOME_TEXT_MAX)s tekens.', OUTCOME_TEXT_MAX=register.OUTCOME_TEXT_MAX))])
    handled_on = DateField(_l("Afgehandeld op"), validators=[Optional()])


class ConfirmForm(FlaskForm):
    """The confirmation before an erasure."""

    confirm = BooleanField(_l("Ik begrijp dat dit niet ongedaan kan worden gemaakt."),
                           validators=[DataRequired(_l("Vink de bevestiging aan."))])


def _request(request_id: int) -> tuple[SubjectRequest, rights.Use]:
    try:
        request = register.get_request(db.session(), request_id)
    except NotFound:
        from flask import abort

        abort(404)
    return request, access.require(rights.SUBJECT_REQUESTS, rights.subject_request_target(request))


def _covenant_choices() -> list[tuple[str, str]]:
    """The covenants the acting user handles requests for ("" = every covenant: admins)."""
    user = access.acting_user()
    own = privacy_covenants(user)
    query = select(Covenant).order_by(Covenant.title)
    if own is not None:
        query = query.where(Covenant.id.in_(own or {-1}))
    choices = [(str(c.id), c.title) for c in db.session().scalars(query)]
    return ([("", _("Alle convenanten"))] if own is None else []) + choices


def _log(use: rights.Use, request: SubjectRequest) -> None:
    access.log_read(use, "view", "subject_request", request.id, target=rights.subject_request_target(request))


@bp.get("/verzoeken")
@login_required
def register_page():
    """Open requests, soonest deadline first, overdue ones highlighted; recently handled."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    user = access.acting_user()
    scope = privacy_covenants(user)
    open_ = register.open_requests(db.session(), scope)
    handled = register.handled_requests(db.session(), scope, limit=20)
    shown = open_ + handled
    if shown:
        access.log_read(rights.widest_use(db.session(), user), "view", "subject_requests", None,
                        {"requests": [r.id for r in shown][:200]})
    html = render_template("subject_requests/list.html", open_requests=open_, handled=handled,
                           today=rules.today(), kinds=i18n.labels(register.KINDS), outcomes=i18n.labels(register.OUTCOMES),
                           overdue=register.is_overdue)
    db.session().commit()
    return html


@bp.route("/verzoeken/nieuw", methods=["GET", "POST"])
@login_required
def new_request():
    """Record a request; the deadline (one month) follows from the receipt date."""
    access.require_role_for(rights.SUBJECT_REQUESTS)
    form = RequestForm()
    form.covenant_id.choices = _covenant_choices()
    if form.is_submitted():
        form.validate()
        covenant_id = int(form.covenant_id.data) if (form.covenant_id.data or "").isdigit() else None
        if covenant_id is None and privacy_covenants(access.acting_user()) is not None:
            form.covenant_id.errors = list(form.covenant_id.errors) + ["Kies het convenant."]
        if not any(f.errors for f in form):
            try:
                target = rights.Target(covenant_ids=frozenset({covenant_id}) if covenant_id else frozenset())
                use = access.require(rights.SUBJECT_REQUESTS, target)
                request = register.create_request(
                    db.session(), kind=form.kind.data, resident_name=form.resident_name.data,
                    resident_birth_date=form.resident_birth_date.data, received_on=form.received_on.data,
                    by=use.email, covenant_id=covenant_id)
            except DomainError as error:
                db.session().rollback()
                if error.status == 403:
                    raise
                for name, message in (error.fields or {}).items():
                    field = getattr(form, name, None)
                    if field is not None:
                        field.errors = list(field.errors) + [message]
                if not error.fields:
                    form.form_errors.append(error.message)
            else:
                db.session().commit()
                flash(_('Het verzoek is vastgelegd; uiterlijk %(value)s beantwoorden.', value=request.due_on.isoformat()))
                return redirect(url_for("subject_requests.detail", request_id=request.id))
        else:
            # DateField only says "Not a valid date value": add what the rules would say
            _date_rules(form)
    status = 422 if form.is_submitted() else 200
    return render_template("subject_requests/new.html", form=form), status


def _date_rules(form: RequestForm) -> None:
    """Field errors the register's rules give on dates (also when other fields are wrong)."""
    today = rules.today()
    received = form.received_on.data or today
    if form.received_on.data and form.received_on.data > today:
        form.received_on.errors = list(form.received_on.errors) + ["De ontvangstdatum ligt in de toekomst."]
    if form.resident_birth_date.data and form.resident_birth_date.data > received:
        form.resident_birth_date.errors = list(form.resident_birth_date.errors) + [
            "De geboortedatum ligt na de ontvangstdatum."]


@bp.route("/verzoeken/<int:request_id>", methods=["GET", "POST"])
@login_required
def detail(request_id: int):
    """One request: its facts and deadline, the export buttons, handling, erasure."""
    request, use = _request(request_id)
    form = HandleForm()
    if form.validate_on_submit():
        try:
            register.mark_handled(db.session(), request, outcome=form.outcome.data, by=use.email,
                                  outcome_text=form.outcome_text.data, on=form.handled_on.data)
        except DomainError as error:
            db.session().rollback()
            for name, message in (error.fields or {}).items():
                field = getattr(form, name, None)
                (field.errors.append(message) if field is not None else form.form_errors.append(message))
        else:
            db.session().commit()
            flash(_("Het verzoek is afgehandeld."))
            return redirect(url_for("subject_requests.detail", request_id=request.id))
    status = 422 if form.is_submitted() else 200
    _log(use, request)
    html = render_template("subject_requests/detail.html", request=request, form=form, kinds=i18n.labels(register.KINDS),
                           outcomes=i18n.labels(register.OUTCOMES), overdue=register.is_overdue(request))
    db.session().commit()
    return html, status


@bp.get("/verzoeken/<int:request_id>/inzage.pdf")
@login_required
def export_pdf(request_id: int):
    """The access export as PDF (logged as an export)."""
    request, use = _request(request_id)
    export = register.build_export(db.session(), request)
    document = build.subject_export_pdf(export)
    log_export(use, request, export, "pdf")
    db.session().commit()
    return file_response(document.pdf, PDF, f"inzage-verzoek-{request.id}.pdf")


@bp.get("/verzoeken/<int:request_id>/inzage.json")
@login_required
def export_json_file(request_id: int):
    """The access export as JSON, as the API gives it (logged as an export)."""
    request, use = _request(request_id)
    export = register.build_export(db.session(), request)
    payload = export_json(export, request)
    log_export(use, request, export, "json")
    db.session().commit()
    response = jsonify(payload)
    response.headers["Content-Disposition"] = f'attachment; filename="inzage-verzoek-{request.id}.json"'
    return response


@bp.route("/verzoeken/<int:request_id>/verwijderen", methods=["GET", "POST"])
@login_required
def erase(request_id: int):
    """Confirm, then carry out an erasure request: what will go, what stays out of reach."""
    request, use = _request(request_id)
    form = ConfirmForm()
    if request.kind != "erasure" or request.handled_on is not None:
        if form.is_submitted():
            register.erase(db.session(), request, by=use.email)  # raises the 409 with its reason
        flash(_("Dit verzoek kan niet (meer) als verwijdering worden uitgevoerd."))
        return redirect(url_for("subject_requests.detail", request_id=request.id))
    if form.validate_on_submit():
        result = register.erase(db.session(), request, by=use.email)
        db.session().commit()
        flash(_("Verwijderd: %(consents)s toestemming(en) en %(cases)s casus(sen)", consents=len(result.consents),
                cases=len(result.cases))
              + (_("; %(kept)s casus(sen) behouden vanwege gegevens van een ander", kept=len(result.kept_cases))
                 if result.kept_cases else "") + ". " + result.note)
        return redirect(url_for("subject_requests.detail", request_id=request.id))
    found = register.consents_in_scope(db.session(), request)
    cases = {c.case_id: c.case for c in found}
    _log(use, request)
    html = render_template("subject_requests/erase.html", request=request, form=form, consents=found,
                           cases=list(cases.values()), note=_(register.ERASURE_NOTE))
    db.session().commit()
    return html, 422 if form.is_submitted() else 200


__all__ = ["bp", "request_json"]
