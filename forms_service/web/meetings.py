"""Staff pages for meetings: plan a meeting, the chair's check (art. 6) with one click
to send a missing Bijlage 1 or 2 for signing, the sealed *presentie- en toetsingslijst*
as PDF, and withdrawing a resident's consent.

Views stay thin: load, check access (logged in), call :mod:`registry.meetings`,
:mod:`registry.services` or :mod:`signatures.workflow`, commit once, render
or redirect.
"""

from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
import datetime as dt
import math
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, FieldList, Form, FormField, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from forms_service import access, db
from forms_service.auth import current_user, login_required
from forms_service.web.document_forms import DateInput
from registry.documents import build
from signatures.meeting_invitation import send_invitations
from signatures.meeting_list import sealed_meeting_check
from signatures import workflow as signing
from forms_service.signing.views import base_url, pdf_response
from registry import access as rights
from registry import meetings, rules, services
from registry.errors import DomainError
from registry.models import CaseTable, Consent, Declaration, Meeting, Person
from signatures.seal import TimestampUnavailable

bp = Blueprint("meetings", __name__)

AGENDA_ROWS = 6  # empty agenda rows offered by the planning form; blank rows are skipped
PICKER_PAGE = 50  # candidates per page of the invitee picker


# ----------------------------------------------------------------------------- forms


class AgendaItemForm(Form):
    """One agenda row: pseudonymous case reference, theme, age band, who takes part."""

    case_ref = StringField(_l("Casusreferentie"), validators=[Optional(), Length(max=100, message=_l("Maximaal 100 tekens."))])
    # Choices come from the covenant's template pack, set by the view.
    theme = SelectField(_l("Thema"), choices=[], validators=[Optional()])
    age_band = SelectField(_l("Leeftijd"), choices=[], validators=[Optional()])
    invitee_ids = SelectMultipleField(
        _l("Deelnemers"), coerce=int, choices=[], validators=[Optional()],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
    )


class PlanMeetingForm(FlaskForm):
    """Plan a meeting (*overleg plannen*); only fixed labels, no free text about a case."""

    day = DateInput(_l("Datum"), required=_l("Vul de datum in."))
    time = TimeField(_l("Aanvang"), validators=[DataRequired(_l("Vul de aanvangstijd in."))])
    location = StringField(_l("Locatie"), validators=[Optional(), Length(max=200, message=_l("Maximaal 200 tekens."))])
    confirm_past = BooleanField(_l("Ja, dit overleg vond al plaats: leg het vast met deze datum in het verleden"))
    # The invitee picker (server-side, no script needed): the people chosen on every
    # page travel along as hidden fields; search and page buttons re-show the form.
    invitees = SelectMultipleField(_l("Genodigden"), coerce=int, choices=[], validate_choice=False, validators=[Optional()])
    q = StringField(_l("Zoek op naam of organisatie"), validators=[Optional(), Length(max=100)])
    cases = FieldList(FormField(AgendaItemForm), min_entries=AGENDA_ROWS, max_entries=meetings.MAX_CASES)


class WithdrawConsentForm(FlaskForm):
    """Withdraw a consent (*toestemming intrekken*) from a date."""

    on = DateInput(_l("Ingetrokken per"), required=_l("Vul de datum in."))


class NeedToKnowForm(FlaskForm):
    """A partner says it no longer needs to know a case (art. 6), from a date."""

    case_ref = StringField(_l("Casus"), validators=[DataRequired(_l("Kies de casus.")), Length(max=100)])
    organisation_id = SelectField(_l("Organisatie"), coerce=int, choices=[], validate_choice=False,
                                  validators=[DataRequired(_l("Kies de organisatie."))])
    on = DateInput(_l("Met ingang van"), required=_l("Vul de datum in."))


def _invitee_choices(table: CaseTable) -> list[tuple[int, str]]:
    """People who can be invited: those with any declaration at this table, chair and coordinator."""
    session = db.session()
    ids = set(session.scalars(select(Declaration.person_id).where(Declaration.table_id == table.id)))
    ids |= {pid for pid in (table.chair_id, table.coordinator_id) if pid}
    people = session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.name)).all() if ids else []
    return [(p.id, f"{p.name} ({p.organisation.name})") for p in people]


@dataclass(frozen=True)
class Picker:
    """One page of the invitee picker: the candidates shown, the ones chosen elsewhere
    (kept as hidden fields) and the page numbers."""

    shown: list[tuple[int, str]]
    chosen: set[int]
    hidden: list[int]
    page: int
    pages: int
    matches: int
    total: int
    query: str


def _picker(form: PlanMeetingForm, choices: list[tuple[int, str]]) -> Picker:
    """The picker's page for the posted search, page and choices (unknown ids are dropped)."""
    known = {pid for pid, _label in choices}
    chosen = {pid for pid in (form.invitees.data or []) if pid in known}
    for row in form.cases.entries:  # a participant of a case is an invitee too
        chosen |= {pid for pid in (row.form.invitee_ids.data or []) if pid in known}
    query = (form.q.data or "").strip()
    needle = query.casefold()
    matches = [c for c in choices if needle in c[1].casefold()] if needle else choices
    pages = max(1, math.ceil(len(matches) / PICKER_PAGE))
    if "picker_page" in request.form:
        asked = request.form.get("picker_page", 1, type=int)
    elif request.form.get("picker") == "search":
        asked = 1  # a new search starts on its first page
    else:
        asked = request.form.get("picker_current", 1, type=int)
    page = min(max(asked or 1, 1), pages)
    shown = matches[(page - 1) * PICKER_PAGE: page * PICKER_PAGE]
    on_page = {pid for pid, _label in shown}
    return Picker(shown, chosen, sorted(chosen - on_page), page, pages, len(matches), len(choices), query)


def _agenda(form: PlanMeetingForm) -> tuple[list[meetings.AgendaItem], list[int]]:
    """The filled-in agenda rows as items, with each item's row index in the form."""
    items, rows = [], []
    for index, row in enumerate(form.cases.entries):
        data = row.form.data
        if not (data["case_ref"] or "").strip() and not data["invitee_ids"]:
            continue
        items.append(meetings.AgendaItem(data["case_ref"] or "", data["theme"] or None, data["age_band"] or None, tuple(data["invitee_ids"] or ())))
        rows.append(index)
    return items, rows


def _show_errors(form: PlanMeetingForm, error: DomainError, rows: list[int]) -> None:
    """Put a service error's per-field messages (``cases[1].theme``) on the form's fields."""
    for name, message in error.fields.items():
        if name.startswith("cases[") and "]." in name:
            item, field = int(name[6:name.index("]")]), name.split("].", 1)[1]
            getattr(form.cases.entries[rows[item]].form, field).errors.append(message)
        elif name in ("location",):
            getattr(form, name).errors.append(message)
        else:
            flash(message)


def category_labels(table: CaseTable) -> dict[str, str]:
    """The printed names of the consent data categories of the table's template pack."""
    return {c.key: c.label for c in build.pack_named(table.covenant.pack).consent_categories}


# ----------------------------------------------------------------------------- views


@bp.route("/tables/<int:table_id>/meetings/new", methods=["GET", "POST"])
@login_required
def plan(table_id: int):
    """Plan a meeting; on an error the page comes back with what was typed and every message."""
    table = db.session().get(CaseTable, table_id) or abort(404)
    access.require(rights.MEETINGS, rights.table_target(db.session(), table))
    form = PlanMeetingForm()
    choices = _invitee_choices(table)
    agenda = meetings.agenda_choices(table)
    for row in form.cases.entries:
        row.form.invitee_ids.choices = choices
        row.form.theme.choices = [("", "—"), *((t, t) for t in agenda.themes)]
        row.form.age_band.choices = [("", "—"), *((a, a) for a in agenda.age_bands)]
    picker = _picker(form, choices)
    if form.is_submitted() and ("picker" in request.form or "picker_page" in request.form):
        # Searching, paging or taking over the chosen invitees: show the form again, plan nothing.
        return render_template("meetings/plan.html", form=form, table=table, picker=picker, choices=choices,
                               past=False), 200
    past = False
    if form.validate_on_submit():
        starts_at = dt.datetime.combine(form.day.data, form.time.data)
        # A date in the past is allowed (a meeting held earlier) but only when confirmed;
        # the other messages are shown with it, all at once.
        past = bool(meetings.date_warnings(starts_at))
        unconfirmed = past and not form.confirm_past.data
        if unconfirmed:
            form.day.errors.append(_("Deze datum ligt in het verleden. Vink hieronder aan dat het overleg al "
                                     "plaatsvond, of kies een andere datum."))
        items, rows = _agenda(form)
        try:
            meeting = meetings.plan_meeting(
                db.session(), table_id=table.id, starts_at=starts_at,
                location=form.location.data, cases=items, planned_by=current_user().email,
            )
        except DomainError as error:
            db.session().rollback()
            _show_errors(form, error, rows)
        else:
            if unconfirmed:
                db.session().rollback()
                return render_template("meetings/plan.html", form=form, table=table, picker=picker,
                                       choices=choices, past=True), 422
            db.session().commit()
            flash(_("Het overleg is gepland."))
            return redirect(url_for("meetings.check", meeting_id=meeting.id))
    status = 422 if form.is_submitted() else 200
    return render_template("meetings/plan.html", form=form, table=table, picker=picker, choices=choices,
                           past=past), status


@bp.get("/tables/<int:table_id>/meetings")
@login_required
def table_meetings(table_id: int):
    """The meetings of a table, newest first."""
    table = db.session().get(CaseTable, table_id) or abort(404)
    access.require(rights.MEETINGS, rights.table_target(db.session(), table))
    rows = db.session().scalars(select(Meeting).where(Meeting.table_id == table.id).order_by(Meeting.starts_at.desc())).all()
    return render_template("meetings/list.html", table=table, meetings=rows)


@bp.get("/meetings/<int:meeting_id>")
@login_required
def check(meeting_id: int):
    """The chair's check: every case and invitee, as of the meeting date, run just now."""
    session = db.session()
    result = _check_or_404(meeting_id)
    consents = meetings.consents_of_meeting(session, meeting_id)
    invited = signing.open_declaration_requests(session, result.table_id)
    labels = category_labels(session.get(CaseTable, result.table_id))
    numbers = build.annex_numbers(db.session().get(CaseTable, result.table_id))
    from forms_service.web.cases import action_list_context

    actions = action_list_context(session.get(Meeting, meeting_id))
    page = render_template("meetings/check.html", check=result, consents=consents, invited=invited, labels=labels,
                           numbers=numbers, actions=actions, meeting=session.get(Meeting, meeting_id))
    session.commit()  # the action list's read is logged
    return page


@bp.get("/meetings/<int:meeting_id>/toetsingslijst.pdf")
@login_required
def check_pdf(meeting_id: int):
    """The *presentie- en toetsingslijst* as a sealed PDF, with the time the check ran.

    A timestamp server that is configured but down gives a Dutch 503 page: the list is
    never sealed with the local clock instead.
    """
    result = _check_or_404(meeting_id)
    pack_name = db.session().get(Meeting, meeting_id).table.covenant.pack
    try:
        pdf = sealed_meeting_check(db.session(), current_app.config, result, pack_name, actor=current_user().email,
                                   ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:400] or None)
    except TimestampUnavailable as exc:
        db.session().rollback()
        return render_template("error.html", message=exc.message_nl + " " + _("Probeer het later opnieuw.")), 503
    db.session().commit()
    return pdf_response(pdf, f"toetsingslijst-{result.on.isoformat()}-overleg-{result.meeting_id}.pdf")


DECLARATION_FOR_WARNING = {"bijlage1_missing": rules.STRUCTURAL, "bijlage2_needed": rules.INCIDENTAL}


@bp.post("/meetings/<int:meeting_id>/send-for-signing")
@login_required
def send_for_signing(meeting_id: int):
    """One click from the check (art. 6): send the missing Bijlage 1 or 2 of an invitee.

    The request must match a warning of the check run now (so only a declaration that
    is really missing is sent); declaration and invitation are committed together.
    """
    result = _check_or_404(meeting_id, rights.MANAGE_DECLARATIONS)
    wanted = _missing_declaration(result, request.form.get("person_id", type=int), request.form.get("kind"),
                                  request.form.get("case_ref", ""))
    if wanted is None:
        numbers = build.annex_numbers(db.session().get(CaseTable, result.table_id))
        second = numbers["incidental"].removeprefix("Bijlage ") if numbers["structural"].startswith("Bijlage ") else numbers["incidental"]
        flash(_('Voor deze deelnemer ontbreekt (nu) geen %(structural)s of %(second)s bij dit overleg.', structural=numbers['structural'], second=second))
        return redirect(url_for("meetings.check", meeting_id=meeting_id))
    invitee, kind, case_ref = wanted
    try:
        invitation = signing.send_declaration(
            db.session(), current_app.config, kind=kind, person_id=invitee.person_id, table_id=result.table_id,
            case_ref=case_ref if kind == rules.INCIDENTAL else None, actor=current_user().email, base_url=base_url())
    except DomainError as error:
        db.session().rollback()
        flash(" ".join([error.message, *error.fields.values()]))
    else:
        db.session().commit()
        number = build.annex_numbers(db.session().get(CaseTable, result.table_id))[kind]
        flash(_('%(number)s is ter ondertekening verstuurd aan %(name)s (%(signer_email)s).', number=number, name=invitee.name, signer_email=invitation.request.signer_email))
    return redirect(url_for("meetings.check", meeting_id=meeting_id))


def _missing_declaration(result: meetings.MeetingCheck, person_id: int | None, kind: str | None,
                         case_ref: str) -> tuple[meetings.InviteeCheck, str, str] | None:
    """The invitee, declaration kind and case the posted button stands for, if the check
    still warns that this declaration is missing."""
    for case in result.cases:
        if case.case_ref != case_ref:
            continue
        for invitee in case.invitees:
            codes = {DECLARATION_FOR_WARNING.get(w.code) for w in invitee.warnings}
            if invitee.person_id == person_id and kind in codes:
                return invitee, kind, case.case_ref
    return None


@bp.post("/meetings/<int:meeting_id>/need-to-know")
@login_required
def need_to_know(meeting_id: int):
    """Record that an invitee's organisation no longer needs to know a case, then re-check."""
    result = _check_or_404(meeting_id)
    form = NeedToKnowForm()
    if form.validate_on_submit():
        try:
            meetings.withdraw_need_to_know(
                db.session(), table_id=result.table_id, case_ref=form.case_ref.data,
                organisation_id=form.organisation_id.data, on=form.on.data, by=current_user().email,
            )
        except DomainError as error:
            db.session().rollback()
            flash(" ".join([error.message, *error.fields.values()]))
        else:
            db.session().commit()
            flash(_('Vastgelegd: geen noodzaak meer tot kennisname van casus %(data)s.', data=form.case_ref.data))
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(url_for("meetings.check", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/invitations")
@login_required
def invitations(meeting_id: int):
    """Mail every invitee the invitation with the meeting as ``uitnodiging.ics``
    (:mod:`signatures.meeting_invitation`); sending again updates the calendar item."""
    meeting = db.session().get(Meeting, meeting_id) or abort(404)
    access.require(rights.MEETINGS, rights.meeting_target(db.session(), meeting))
    result = send_invitations(db.session(), current_app.config, meeting)
    db.session().commit()
    if result.sent:
        flash(_("De uitnodiging (met agenda-item) is verstuurd aan %(n)s genodigde(n).", n=len(result.sent)))
    if result.without_email:
        flash(_("Geen e-mailadres bekend van: %(names)s. Nodig hen op een andere manier uit.",
                names=", ".join(i.person.name for i in result.without_email)))
    if not meeting.invitees:
        flash(_("Dit overleg heeft geen genodigden."))
    return redirect(url_for("meetings.check", meeting_id=meeting_id))


class AttendanceForm(FlaskForm):
    """Who attended (*presentie*): the checked invitees were there."""

    attended = SelectMultipleField(_l("Aanwezig"), coerce=int, choices=[], validate_choice=False, validators=[Optional()])


@bp.route("/meetings/<int:meeting_id>/attendance", methods=["GET", "POST"])
@login_required
def attendance(meeting_id: int):
    """Record after the meeting who actually attended; the *presentie- en toetsingslijst*
    then shows it beside the check."""
    meeting = db.session().get(Meeting, meeting_id) or abort(404)
    access.require(rights.MEETINGS, rights.meeting_target(db.session(), meeting))
    form = AttendanceForm()
    if not form.is_submitted():
        form.attended.data = [i.person_id for i in meeting.invitees if i.attended]
    error = None
    if form.validate_on_submit():
        try:
            meetings.record_attendance(db.session(), meeting, set(form.attended.data or ()), by=current_user().email)
        except DomainError as exc:
            db.session().rollback()
            error = " ".join(exc.fields.values()) or exc.message
        else:
            db.session().commit()
            flash(_("De aanwezigheid is vastgelegd."))
            return redirect(url_for("meetings.check", meeting_id=meeting_id))
    status = 422 if form.is_submitted() else 200
    return render_template("meetings/attendance.html", form=form, meeting=meeting, error=error,
                           upcoming=meeting.on > rules.today()), status


@bp.route("/consents/<int:consent_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_consent(consent_id: int):
    """Withdraw a resident's consent from a date; who withdrew it is recorded."""
    consent = db.session().get(Consent, consent_id) or abort(404)
    use = access.require(rights.WITHDRAW_CONSENT, rights.consent_target(db.session(), consent))
    form = WithdrawConsentForm()
    if form.validate_on_submit():
        try:
            services.withdraw_consent(db.session(), consent, form.on.data, current_user().email)
        except DomainError as error:
            db.session().rollback()
            form.on.errors.extend(error.fields.values() or [error.message])
        else:
            db.session().commit()
            flash(_('De toestemming is ingetrokken per %(value)s.', value=form.on.data.isoformat()))
            return redirect(url_for("meetings.withdraw_consent", consent_id=consent.id))
    status = 422 if form.is_submitted() else 200
    labels = category_labels(consent.case.table)
    access.log_read(use, "view", "consent", consent.id)
    page = render_template("meetings/withdraw_consent.html", form=form, consent=consent, labels=labels,
                           number=build.consent_annex(consent).number)
    db.session().commit()
    return page, status


def _check_or_404(meeting_id: int, permission: str = rights.MEETINGS) -> meetings.MeetingCheck:
    """The meeting's check, or a 404 page; 403 unless the account may ``permission`` at its table."""
    meeting = db.session().get(Meeting, meeting_id) or abort(404)
    access.require(permission, rights.meeting_target(db.session(), meeting))
    try:
        return meetings.meeting_check(db.session(), meeting_id)
    except DomainError:
        abort(404)
