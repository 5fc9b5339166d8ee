"""Staff pages for a case's life: the case page (phase, due dates, bringer, regie,
participants, sharing bases, history) with its forms, a new case from the table page,
and a meeting's action list (*actielijst*).

Views stay thin: load, check access (:func:`registry.access.authorize_case`,
:func:`registry.access.authorize_action_list`), call :mod:`registry.cases` or
:mod:`registry.actions`, commit once, render or redirect. A form with bad input comes
back with Dutch messages on its fields (422) and nothing is written. Every read of a
case page is logged (subject kind ``case``).
"""

from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forms_service import access, db, i18n
from forms_service.auth import current_user, login_required
from forms_service.web.document_forms import DateInput, DutchMeta
from registry import access as rights
from registry import actions, cases, queries, retention, rules
from registry.errors import Archived, DomainError, Forbidden, ValidationError
from registry.models import ActionItem, Case, CaseTable, Declaration, Meeting, Person

bp = Blueprint("cases", __name__)


def safe_id(value) -> int | None:
    """A select's value as an id; anything else (empty, not a number) is None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def Choice(label, message=None, **kwargs):  # noqa: N802  (a field factory)
    """A select of ids whose value the service checks (Dutch messages there)."""
    validators = [DataRequired(message)] if message else [Optional()]
    return SelectField(label, coerce=safe_id, choices=[], validate_choice=False, validators=validators, **kwargs)


def Code(label, message=None):  # noqa: N802
    """A select of codes (phase, reason, role, basis, action) checked by the service."""
    validators = [DataRequired(message)] if message else [Optional()]
    return SelectField(label, choices=[], validate_choice=False, validators=validators)


def Day(label, required: str | None = None):  # noqa: N802
    return DateInput(label, required=required)


class CaseForm(FlaskForm):
    Meta = DutchMeta


class NewCaseForm(CaseForm):
    """Open a case (*aanmelding*) at a table: a pseudonymous reference, no names."""

    reference = StringField(_l("Casusreferentie"), validators=[DataRequired(_l("Vul de casusreferentie in.")),
                                                           Length(max=100, message=_l("Maximaal 100 tekens."))])
    opened_on = Day(_l("Aangemeld op"))
    phase = Code(_l("Fase"))
    brought_by = Choice(_l("Ingebracht door"))
    age = IntegerField(_l("Leeftijd van de inwoner (wordt niet bewaard)"),
                       validators=[Optional(), NumberRange(0, 130, "Vul een leeftijd tussen 0 en 130 in.")])
    track = Code(_l("Spoor"))


class PhaseForm(CaseForm):
    phase = Code(_l("Naar fase"), _l("Kies een fase."))
    on = Day(_l("Met ingang van"), _l("Vul de datum in."))
    reason = StringField(_l("Reden (administratief, geen WAT)"),
                         validators=[Optional(), Length(max=cases.REASON_MAX, message=_l('Maximaal %(REASON_MAX)s tekens.', REASON_MAX=cases.REASON_MAX))])


class CloseForm(CaseForm):
    on = Day(_l("Afgesloten op"), _l("Vul de datum in."))
    reason = Code(_l("Reden van afsluiting"), _l("Kies een reden."))
    evaluated_on = Day(_l("Geëvalueerd op (optioneel)"))


class EvaluationForm(CaseForm):
    on = Day(_l("Geëvalueerd op"), _l("Vul de datum in."))


class ParticipantForm(CaseForm):
    person_id = Choice(_l("Persoon"), _l("Kies een persoon."))
    role = Code(_l("Rol"))
    on = Day(_l("Vanaf"))


class SharingBasisForm(CaseForm):
    organisation_id = Choice(_l("Partner"), _l("Kies een partner."))
    basis = Code(_l("Grondslag voor verstrekking"), _l("Kies een grondslag."))
    on = Day(_l("Gewogen op"))


class CasusregieForm(CaseForm):
    organisation_id = Choice(_l("Casusregie bij"), _l("Kies een partner."))
    on = Day(_l("Met ingang van"))


class ProcesregisseurForm(CaseForm):
    person_id = Choice(_l("Persoon"), _l("Kies een persoon."))
    on = Day(_l("Met ingang van"))


class ActionForm(CaseForm):
    case_id = Choice(_l("Casus"), _l("Kies een casus."))
    person_id = Choice(_l("Wie"), _l("Kies wie de actie uitvoert."))
    action = Code(_l("Wat"), _l("Kies een actie."))
    due_on = Day(_l("Uiterlijk op"), _l("Vul de streefdatum in."))


class DoneForm(CaseForm):
    on = Day(_l("Afgerond op"))


class HoldForm(CaseForm):
    """Keep a case longer than its retention term (*uitzondering op de bewaartermijn*)."""

    reason = StringField(_l("Motivering"), validators=[DataRequired(_l("Vul een motivering in.")),
                                                   Length(max=cases.REASON_MAX, message=_l('Maximaal %(REASON_MAX)s tekens.', REASON_MAX=cases.REASON_MAX))])
    review_on = Day(_l("Herbeoordelen op"), _l("Vul de datum van herbeoordeling in."))


class ReopenForm(CaseForm):
    """Open an archived case's file again (*heropenen*), with a reason."""

    reason = StringField(_l("Reden"), validators=[DataRequired(_l("Vul een reden in.")),
                                              Length(max=cases.REASON_MAX, message=_l('Maximaal %(REASON_MAX)s tekens.', REASON_MAX=cases.REASON_MAX))])
    review_on = Day(_l("Herbeoordelen op (standaard: zo ver vooruit als de bewaarregel toestaat)"))


CASE_FORMS = {"phase": PhaseForm, "close": CloseForm, "evaluation": EvaluationForm, "participant": ParticipantForm,
              "basis": SharingBasisForm, "regie": CasusregieForm, "regisseur": ProcesregisseurForm}
"""The forms of a case page by prefix (each posts to its own route)."""

FIELD_ALIASES = {"brought_by_person_id": "brought_by", "evaluated_on": "evaluated_on", "case_ref": "case_id"}


def put_errors(form: FlaskForm, error: DomainError) -> None:
    """A service error's per-field messages on the form's fields; the rest as a flash."""
    rest = []
    for name, message in (error.fields or {}).items():
        field = form._fields.get(FIELD_ALIASES.get(name, name))
        if field is not None and name != "csrf_token":
            field.errors = [*field.errors, message]
        else:
            rest.append(message)
    if rest or not error.fields:
        flash(" ".join([error.message, *rest]))


def form_failed(form: FlaskForm) -> None:
    """Make sure a refused form shows something even without field errors."""
    if not any(f.errors for f in form):
        flash(_("Controleer de velden."))


# ----------------------------------------------------------------------------- choices


def table_people(table: CaseTable) -> list[Person]:
    """People who could take part: anyone with a declaration at this table, the chair and coordinator."""
    session = db.session()
    ids = set(session.scalars(select(Declaration.person_id).where(Declaration.table_id == table.id)))
    ids |= {pid for pid in (table.chair_id, table.coordinator_id) if pid}
    return list(session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.name))) if ids else []


def _person_choices(people) -> list[tuple[int | str, str]]:
    return [("", "—"), *((p.id, f"{p.name} ({p.organisation.name})") for p in people)]


def _fill_case_forms(forms: dict, case: Case, pack, posted: str | None = None) -> None:
    """Choices of every form of the case page; today's date in each form not posted."""
    session = db.session()
    table = case.table
    today = rules.today()
    people = table_people(table)
    partners = queries.organisation_decisions(session, table.covenant, today)
    forms["phase"].phase.choices = [(p.key, p.label) for p in pack.phases if p.key != cases.current_phase(case, pack).key]
    forms["close"].reason.choices = [("", "—"), *i18n.labels(cases.CLOSE_REASONS).items()]
    forms["participant"].person_id.choices = _person_choices(people)
    forms["participant"].role.choices = [("", "—"), *((r.key, r.label) for r in pack.case_roles)]
    forms["basis"].organisation_id.choices = [("", "—"), *((p.organisation_id, name) for p, name, _ in partners)]
    forms["basis"].basis.choices = [("", "—"), *i18n.labels(cases.SHARING_BASES).items()]
    forms["regie"].organisation_id.choices = [("", "—"), *((p.organisation_id, name) for p, name, d in partners
                                                          if d.allowed)]
    entitled = queries.entitled(session, table.id, today)
    forms["regisseur"].person_id.choices = [("", "—"), *((p.id, f"{p.name} ({p.organisation_name})")
                                                         for p in entitled.people if p.basis == rules.STRUCTURAL)]
    for name in CASE_FORMS:
        if name != posted and forms[name].on.data is None:
            forms[name].on.data = today


def _may_retention(case: Case) -> bool:
    try:
        rights.authorize_case(db.session(), current_user(), case, rights.RETENTION)
    except Forbidden:
        return False
    return True


def _may_manage(case: Case) -> bool:
    try:
        rights.authorize_case(db.session(), current_user(), case, rights.MANAGE_CASES)
    except Forbidden:
        return False
    return True


def _load(case_id: int) -> Case:
    return db.session().get(Case, case_id) or abort(404)


def render_case(case: Case, use: rights.Use, posted: tuple[str, FlaskForm] | None = None, status: int = 200,
                hold_form: HoldForm | None = None):
    """The case page (logged as a read of the case), with a posted form's errors."""
    session = db.session()
    pack = cases.pack_of(case)
    may_retention = _may_retention(case)
    hold_form = hold_form or (HoldForm(formdata=None, prefix="hold") if may_retention else None)
    forms = {name: cls(formdata=None, prefix=name) for name, cls in CASE_FORMS.items()}
    if posted is not None:
        forms[posted[0]] = posted[1]
    _fill_case_forms(forms, case, pack, posted[0] if posted else None)
    today = rules.today()
    bases = {b.organisation_id: b for b in cases.sharing_bases(session, case)}
    page = render_template(
        "cases/case.html", case=case, pack=pack, phase=cases.current_phase(case, pack),
        due=cases.due_dates(case, today, pack), forms=forms, may_manage=_may_manage(case),
        organisations=cases.invited_organisations(session, case), bases=bases,
        sharing_labels=i18n.labels(cases.SHARING_BASES), close_labels=i18n.labels(cases.CLOSE_REASONS),
        event_labels=i18n.labels(cases.EVENT_LABELS),
        phase_labels={p.key: p.label for p in pack.phases}, role_labels={r.key: r.label for r in pack.case_roles},
        today=today, hold_form=hold_form, retention_rule=pack.retention,
    )
    access.log_read(use, "view", "case", case.id, target=rights.case_target(session, case))
    session.commit()
    return page, status


# ----------------------------------------------------------------------------- the case page


@bp.get("/cases/<int:case_id>")
@login_required
def case(case_id: int):
    """A case's file, as its phase shows it to this account."""
    found = _load(case_id)
    try:
        use = rights.authorize_case(db.session(), current_user(), found, rights.CASES)
    except Archived:
        if not _may_retention(found):
            raise
        return render_archived(found)
    return render_case(found, use)


def render_archived(case: Case, form: ReopenForm | None = None, status: int = 200):
    """An archived case for those who may reopen it: that it exists, since when, and the
    reopening form — nothing of its file (logged as a read of the case)."""
    session = db.session()
    use = rights.authorize_case(session, current_user(), case, rights.RETENTION)
    page = render_template("cases/archived.html", case=case, form=form or ReopenForm(formdata=None, prefix="reopen"),
                           pack=cases.pack_of(case))
    access.log_read(use, "view", "case", case.id, target=rights.case_target(session, case))
    session.commit()
    return page, status


def _retention_post(case_id: int, form_cls, prefix: str, apply, refused) -> tuple:
    """A retention form of a case (exception, reopening): validate, call the service,
    commit and redirect to the case — or show ``refused(case, form)`` with its errors."""
    found = _load(case_id)
    use = rights.authorize_case(db.session(), current_user(), found, rights.RETENTION)
    form = form_cls(prefix=prefix)
    if form.validate_on_submit():
        try:
            message = apply(found, form, use.email)
        except DomainError as error:
            db.session().rollback()
            put_errors(form, error)
        else:
            db.session().commit()
            flash(message)
            return redirect(url_for("cases.case", case_id=found.id))
    else:
        form_failed(form)
    return refused(found, form)


@bp.post("/cases/<int:case_id>/retention-exception")
@login_required
def retention_exception(case_id: int):
    """Keep the case longer than its term, with a motivation and a review date."""
    def apply(case_, form, by):
        retention.hold(db.session(), case_, reason=form.reason.data, review_on=form.review_on.data, by=by)
        return f"De casus wordt bewaard tot de herbeoordeling op {case_.retention_review_on.isoformat()}."

    def refused(case_, form):
        read = rights.authorize_case(db.session(), current_user(), case_, rights.CASES)
        return render_case(case_, read, status=422, hold_form=form)
    return _retention_post(case_id, HoldForm, "hold", apply, refused)


@bp.post("/cases/<int:case_id>/reopening")
@login_required
def reopening(case_id: int):
    """Open an archived case's file again, with a reason."""
    def apply(case_, form, by):
        retention.reopen(db.session(), case_, reason=form.reason.data, review_on=form.review_on.data, by=by)
        return f"De casus is heropend; herbeoordeling op {case_.retention_review_on.isoformat()}."
    return _retention_post(case_id, ReopenForm, "reopen", apply, lambda case_, form: render_archived(case_, form, 422))


def _case_post(case_id: int, name: str, apply) -> tuple:
    """One form of the case page: validate, call the service, commit and redirect — or
    show the page again with the form's errors (422), nothing written."""
    found = _load(case_id)
    use = rights.authorize_case(db.session(), current_user(), found, rights.MANAGE_CASES)
    form = CASE_FORMS[name](prefix=name)
    _fill_case_forms({**{n: c(formdata=None, prefix=n) for n, c in CASE_FORMS.items()}, name: form}, found,
                     cases.pack_of(found), name)
    if form.validate_on_submit():
        try:
            message = apply(found, form, use.email)
        except DomainError as error:
            db.session().rollback()
            put_errors(form, error)
        else:
            db.session().commit()
            flash(message)
            if found.retention_stage == "erased":
                return redirect(url_for("web.table", table_id=found.table_id))
            return redirect(url_for("cases.case", case_id=found.id))
    else:
        form_failed(form)
    use = rights.authorize_case(db.session(), current_user(), found, rights.CASES)
    return render_case(found, use, (name, form), 422)


@bp.post("/cases/<int:case_id>/phase")
@login_required
def move_phase(case_id: int):
    def apply(case_, form, by):
        cases.move_phase(db.session(), case_, form.phase.data, on=form.on.data, by=by, reason=form.reason.data)
        return f"De casus is per {form.on.data.isoformat()} in fase {cases.current_phase(case_).label}."
    return _case_post(case_id, "phase", apply)


@bp.post("/cases/<int:case_id>/closure")
@login_required
def close(case_id: int):
    def apply(case_, form, by):
        cases.close_case(db.session(), case_, on=form.on.data, reason=form.reason.data, by=by,
                         evaluated_on=form.evaluated_on.data)
        if case_.retention_stage == "erased":
            return "De casus hoort niet aan deze tafel en is verwijderd; alleen niet-herleidbare telling blijft."
        return f"De casus is afgesloten per {form.on.data.isoformat()}."
    return _case_post(case_id, "close", apply)


@bp.post("/cases/<int:case_id>/evaluation")
@login_required
def evaluate(case_id: int):
    def apply(case_, form, by):
        cases.record_evaluation(db.session(), case_, on=form.on.data, by=by)
        return f"De evaluatie is vastgelegd op {form.on.data.isoformat()}."
    return _case_post(case_id, "evaluation", apply)


@bp.post("/cases/<int:case_id>/participants")
@login_required
def add_participant(case_id: int):
    def apply(case_, form, by):
        person = db.session().get(Person, form.person_id.data)
        if person is None:
            raise ValidationError("Onbekende persoon.", {"person_id": "Kies een persoon uit de lijst."})
        cases.add_participant(db.session(), case_, person, on=form.on.data or rules.today(), by=by,
                              role=form.role.data or None)
        return f"{person.name} neemt deel aan de casus."
    return _case_post(case_id, "participant", apply)


@bp.post("/cases/<int:case_id>/sharing-basis")
@login_required
def sharing_basis(case_id: int):
    def apply(case_, form, by):
        row = cases.record_sharing_basis(db.session(), case_, form.organisation_id.data, form.basis.data,
                                         on=form.on.data or rules.today(), by=by)
        return _("Grondslag vastgelegd voor %(name)s: %(basis)s.", name=row.organisation.name,
                 basis=_(cases.SHARING_BASES[row.basis]))
    return _case_post(case_id, "basis", apply)


@bp.post("/cases/<int:case_id>/casusregie")
@login_required
def casusregie(case_id: int):
    def apply(case_, form, by):
        cases.set_casusregie(db.session(), case_, form.organisation_id.data, form.on.data or rules.today(), by)
        return f"De casusregie ligt bij {case_.casusregie_organisation.name}."
    return _case_post(case_id, "regie", apply)


@bp.post("/cases/<int:case_id>/procesregisseur")
@login_required
def procesregisseur(case_id: int):
    def apply(case_, form, by):
        person = db.session().get(Person, form.person_id.data)
        if person is None:
            raise ValidationError("Onbekende persoon.", {"person_id": "Kies een persoon uit de lijst."})
        cases.set_procesregisseur(db.session(), case_, person, form.on.data or rules.today(), by)
        return f"{person.name} is {cases.pack_of(case_).case_rules.procesregisseur_label} van de casus."
    return _case_post(case_id, "regisseur", apply)


# ----------------------------------------------------------------------------- a new case


def new_case_form(table: CaseTable, formdata=None) -> NewCaseForm:
    """The table page's "new case" form with the pack's phases, tracks and the table's people."""
    pack = cases.pack_of_table(table)
    form = NewCaseForm(prefix="new") if formdata is not None else NewCaseForm(formdata=None, prefix="new")
    form.phase.choices = [("", _("— eerste fase —")), *((p.key, p.label) for p in pack.phases)]
    form.track.choices = [("", "—"), *((t.key, t.label) for t in pack.tracks)]
    form.brought_by.choices = _person_choices(table_people(table))
    if form.opened_on.data is None and formdata is None:
        form.opened_on.data = rules.today()
    return form


def table_case_rows(table: CaseTable, on):
    """The table's cases this account may see, each with its phase and due dates."""
    session = db.session()
    user = current_user()
    rows = []
    for item in cases.table_cases(session, table):
        if rights.may_see_case(session, user, item):
            pack = cases.pack_of(item)
            rows.append((item, cases.current_phase(item, pack), cases.due_dates(item, on, pack)))
    return rows


@bp.post("/tables/<int:table_id>/cases")
@login_required
def new_case(table_id: int):
    """Open a case from the table page; errors come back on the table page (422)."""
    from forms_service.web import render_table

    session = db.session()
    table = session.get(CaseTable, table_id) or abort(404)
    target = rights.Target(covenant_ids=frozenset({table.covenant_id}), table_ids=frozenset({table.id}),
                           structural_only=True)
    access.require_role_for(rights.MANAGE_CASES)
    form = new_case_form(table, request.form)
    if form.validate_on_submit():
        bringer = session.get(Person, form.brought_by.data) if form.brought_by.data else None
        if bringer is not None:
            target = rights.Target(covenant_ids=target.covenant_ids, table_ids=target.table_ids,
                                   organisation_id=bringer.organisation_id, structural_only=True)
        use = access.require(rights.MANAGE_CASES, target)
        try:
            opened = cases.open_case(session, table, form.reference.data, opened_on=form.opened_on.data or rules.today(),
                                     by=use.email, phase=form.phase.data or None, brought_by=bringer,
                                     age=form.age.data, track=form.track.data or None)
        except DomainError as error:
            session.rollback()
            put_errors(form, error)
        else:
            session.commit()
            flash(_('Casus %(reference)s is aangemeld.', reference=opened.reference))
            if rights.may_see_case(session, current_user(), opened):
                return redirect(url_for("cases.case", case_id=opened.id))
            return redirect(url_for("web.table", table_id=table.id))
    else:
        access.require(rights.MANAGE_CASES, target)
        form_failed(form)
    return render_table(table, form, 422)


# ----------------------------------------------------------------------------- action list


def action_form(meeting: Meeting, formdata=True) -> ActionForm:
    """The coordinator's form: a case of the agenda, someone invited for it, an action code."""
    form = ActionForm(prefix="action") if formdata else ActionForm(formdata=None, prefix="action")
    form.case_id.choices = [("", "—"), *((mc.case_id, mc.case.reference) for mc in meeting.cases)]
    invited = {p.id: p for mc in meeting.cases for p in mc.participants}
    form.person_id.choices = _person_choices(sorted(invited.values(), key=lambda p: p.name))
    form.action.choices = [("", "—"), *actions.kinds_of_meeting(meeting).items()]
    return form


def action_list_context(meeting: Meeting, form: ActionForm | None = None) -> dict | None:
    """What the action list section shows to this account, or None when it may not read it
    (the read is logged)."""
    session = db.session()
    try:
        allowed = rights.authorize_action_list(session, current_user(), meeting)
    except Forbidden:
        return None
    access.log_read(allowed.use, "view", "action_list", meeting.id, target=rights.meeting_target(session, meeting))
    items = actions.action_list(session, meeting, allowed.case_ids)
    refs = {mc.case_id: mc.case.reference for mc in meeting.cases}
    user = current_user()
    return {
        "meeting": meeting, "items": items, "refs": refs, "kinds": actions.kinds_of_meeting(meeting),
        "today": rules.today(), "overdue": actions.overdue,
        "form": (form or action_form(meeting, formdata=False)) if allowed.may_record else None,
        "may_close": {i.id: rights.may_close_action(allowed, user, i.person_id, i.case_id) for i in items},
    }


@bp.route("/meetings/<int:meeting_id>/actions", methods=["GET", "POST"])
@login_required
def meeting_actions(meeting_id: int):
    """The meeting's action list for its entitled participants; the coordinator adds lines."""
    session = db.session()
    meeting = session.get(Meeting, meeting_id) or abort(404)
    form = None
    status = 200
    if request.method == "POST":
        allowed = rights.authorize_action_list(session, current_user(), meeting, record=True)
        form = action_form(meeting)
        if form.validate_on_submit():
            try:
                case_ = actions.agenda_case(session, meeting, case_id=form.case_id.data)
                person = session.get(Person, form.person_id.data)
                if person is None:
                    raise ValidationError("Onbekende persoon.", {"person_id": "Kies iemand uit de lijst."})
                actions.record_action(session, meeting, case_, person, form.action.data, form.due_on.data,
                                      allowed.use.email)
            except DomainError as error:
                session.rollback()
                put_errors(form, error)
            else:
                session.commit()
                flash(_("De actie is toegevoegd aan de actielijst."))
                return redirect(url_for("cases.meeting_actions", meeting_id=meeting.id))
        else:
            form_failed(form)
        status = 422
    else:
        rights.authorize_action_list(session, current_user(), meeting)
    context = action_list_context(meeting, form)
    page = render_template("cases/actions.html", ctx=context, meeting=meeting)
    session.commit()
    return page, status


@bp.post("/actions/<int:action_id>/done")
@login_required
def action_done(action_id: int):
    """Mark a line of the action list done."""
    session = db.session()
    item = session.get(ActionItem, action_id) or abort(404)
    meeting = session.get(Meeting, item.meeting_id)
    user = current_user()
    allowed = rights.authorize_action_list(session, user, meeting)
    if not rights.may_close_action(allowed, user, item.person_id, item.case_id):
        raise Forbidden("Alleen de coördinator, de voorzitter of de verantwoordelijke zelf rondt deze actie af.")
    form = DoneForm()
    if form.validate_on_submit():
        try:
            actions.mark_done(session, item, form.on.data or rules.today(), allowed.use.email)
        except DomainError as error:
            session.rollback()
            flash(" ".join([error.message, *error.fields.values()]))
        else:
            session.commit()
            flash(_("De actie is afgerond."))
    else:
        flash(" ".join(str(e) for errors in form.errors.values() for e in errors) or _("Controleer de datum."))
    back = url_for("meetings.check", meeting_id=meeting.id)
    return redirect(back if request.form.get("next") == back else url_for("cases.meeting_actions", meeting_id=meeting.id))
