"""Admin pages for staff accounts: list, invite (mail with a one-time link), grants, disable.

Guarded by ``admin_required``: the ``admin`` permission of :mod:`registry.access` (403 otherwise).
Plain server-rendered HTML with CSRF on every form.
"""

from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from forms_service import db, i18n
from forms_service.account_mail import base_url, send_invitation
from forms_service.auth import admin_required, current_user
from registry import accounts
from registry.errors import DomainError
from registry.models import ROLES, CaseTable, Covenant, Organisation, User

bp = Blueprint("users", __name__, url_prefix="/beheer/gebruikers")


def _choices(model, label) -> list[tuple[str, str]]:
    rows = db.session().scalars(select(model).order_by(model.id)).all()
    return [("", "—")] + [(str(row.id), label(row)) for row in rows]


class GrantFields:
    """One grant row: role and the three optional scopes."""

    @staticmethod
    def add_to(form: FlaskForm) -> None:
        form.role.choices = [("", _("— geen nieuwe autorisatie —"))] + [(r, _(accounts.ROLE_LABELS[r])) for r in ROLES]
        form.covenant_id.choices = _choices(Covenant, lambda c: c.title)
        form.table_id.choices = _choices(CaseTable, lambda t: t.name)
        form.organisation_id.choices = _choices(Organisation, lambda o: o.name)


class InviteForm(FlaskForm):
    """Name, e-mail, optional person, one first grant."""

    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul de naam in.")), Length(max=200)])
    email = EmailField(_l("E-mailadres"), validators=[DataRequired(_l("Vul het e-mailadres in.")), Email(_l("Ongeldig e-mailadres."))])
    person_id = StringField(_l("Persoon in het register (nummer, optioneel)"),
                            validators=[Optional(), Regexp(r"^\s*[1-9][0-9]{0,17}\s*$", message=_l("Vul het nummer van de persoon in."))])
    role = SelectField(_l("Rol"), validate_choice=False)
    covenant_id = SelectField(_l("Convenant"), validate_choice=False)
    table_id = SelectField(_l("Casustafel"), validate_choice=False)
    organisation_id = SelectField(_l("Organisatie"), validate_choice=False)


class GrantForm(FlaskForm):
    """Add one grant; existing ones are kept unless ticked for removal (``remove`` fields)."""

    role = SelectField(_l("Rol"), validate_choice=False)
    covenant_id = SelectField(_l("Convenant"), validate_choice=False)
    table_id = SelectField(_l("Casustafel"), validate_choice=False)
    organisation_id = SelectField(_l("Organisatie"), validate_choice=False)


def _grant_from(form) -> list[dict]:
    if not form.role.data:
        return []
    return [{"role": form.role.data, "covenant_id": form.covenant_id.data or None,
             "table_id": form.table_id.data or None, "organisation_id": form.organisation_id.data or None}]


def _field_errors(form, exc: DomainError) -> None:
    for name, message in (exc.fields or {"": exc.message}).items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors") and isinstance(field.errors, list):
            field.errors.append(message)
        else:
            flash(message)


@bp.get("/")
@admin_required
def list_users():
    """Every account with its grants and status."""
    return render_template("users/list.html", users=accounts.list_users(db.session()), labels=i18n.labels(accounts.ROLE_LABELS))


@bp.route("/nieuw", methods=["GET", "POST"])
@admin_required
def invite():
    """Invite a user: the account gets no password; a one-time link is mailed."""
    form = InviteForm()
    GrantFields.add_to(form)
    if form.validate_on_submit():
        s = db.session()
        try:
            invitation = accounts.invite_user(
                s, email=form.email.data, name=form.name.data, person_id=(form.person_id.data or "").strip() or None,
                grants=_grant_from(form), created_by=current_user().email,
                days=int(current_app.config.get("ACCOUNT_LINK_DAYS") or accounts.LINK_DAYS))
            send_invitation(s, current_app.config, invitation, base_url(), invited_by=current_user().name or current_user().email)
        except DomainError as exc:
            s.rollback()
            _field_errors(form, exc)
        else:
            s.commit()
            flash(_('Uitnodiging verstuurd naar %(email)s.', email=invitation.user.email))
            return redirect(url_for("users.detail", user_id=invitation.user.id))
    return render_template("users/invite.html", form=form)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@admin_required
def detail(user_id: int):
    """One account: its grants (add one, remove ticked ones), status and actions."""
    s = db.session()
    user = accounts.get_user(s, user_id)
    form = GrantForm()
    GrantFields.add_to(form)
    if form.validate_on_submit():
        remove = {int(v) for v in request.form.getlist("remove") if v.isdigit()}
        specs = [accounts.GrantSpec(g.role, g.covenant_id, g.table_id, g.organisation_id)
                 for g in user.grants if g.id not in remove] + _grant_from(form)
        try:
            accounts.set_grants(s, user, specs, created_by=current_user().email)
        except DomainError as exc:
            s.rollback()
            _field_errors(form, exc)
        else:
            s.commit()
            flash(_("Autorisaties opgeslagen."))
            return redirect(url_for("users.detail", user_id=user.id))
    return render_template("users/detail.html", user=user, form=form, labels=i18n.labels(accounts.ROLE_LABELS),
                           tokens=accounts.tokens_of(s, user), today=accounts.today())


def _action(user_id: int, do, message: str):
    form = FlaskForm()
    s = db.session()
    user = accounts.get_user(s, user_id)
    if form.validate_on_submit():
        try:
            do(s, user)
        except DomainError as exc:
            s.rollback()
            flash(exc.message)
        else:
            s.commit()
            flash(message)
    return redirect(url_for("users.detail", user_id=user_id))


@bp.post("/<int:user_id>/uitschakelen")
@admin_required
def disable(user_id: int):
    """Disable: sessions end at the next request, API tokens stop working."""
    return _action(user_id, accounts.disable_user, "Account uitgeschakeld.")


@bp.post("/<int:user_id>/inschakelen")
@admin_required
def enable(user_id: int):
    """Enable a disabled account again."""
    return _action(user_id, lambda s, u: accounts.enable_user(s, u), "Account weer ingeschakeld.")


@bp.post("/<int:user_id>/tweestaps-opnieuw")
@admin_required
def reset_totp(user_id: int):
    """Remove the second factor (lost phone): the next login sets up the app again."""
    return _action(user_id, accounts.reset_totp, "Tweestapsverificatie gewist; bij de volgende login opnieuw instellen.")


@bp.post("/<int:user_id>/uitnodiging")
@admin_required
def reinvite(user_id: int):
    """Mail a new set-password link (earlier links stop working)."""

    def send(s, user: User):
        token, link = accounts.create_link(s, user, days=int(current_app.config.get("ACCOUNT_LINK_DAYS") or accounts.LINK_DAYS))
        send_invitation(s, current_app.config, accounts.Invitation(user, token, link.expires_at), base_url(),
                        invited_by=current_user().name or current_user().email)

    return _action(user_id, send, "Nieuwe link verstuurd.")


@bp.post("/tokens/<int:token_id>/intrekken")
@admin_required
def revoke_token(token_id: int):
    """Revoke an API token of any user."""
    form = FlaskForm()
    s = db.session()
    row = accounts.get_token(s, token_id)
    if form.validate_on_submit():
        accounts.revoke_token(s, row)
        s.commit()
        flash(_('Token %(id)s ingetrokken.', id=row.id))
    return redirect(url_for("users.detail", user_id=row.user_id))
