"""Staff login: a session cookie after an argon2-checked password; CSRF on every form."""

from __future__ import annotations

import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from forms_service import db
from registry import accounts
from registry.models import User

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField("E-mailadres", validators=[DataRequired("Vul uw e-mailadres in."), Email("Ongeldig e-mailadres.")])
    password = PasswordField("Wachtwoord", validators=[DataRequired("Vul uw wachtwoord in.")])


def current_user() -> User | None:
    """The logged-in staff user of this request, or None."""
    if "current_user" not in g:
        user_id = session.get("user_id")
        g.current_user = db.session().get(User, user_id) if user_id else None
    return g.current_user


def login_required(view):
    """Send anonymous visitors to the login page, then back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


@bp.app_context_processor
def inject_user() -> dict:
    """Templates can show who is logged in."""
    return {"current_user": current_user()}


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session(), form.email.data, form.password.data)
        if user is not None:
            session.clear()
            session["user_id"] = user.id
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("E-mailadres of wachtwoord klopt niet.")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (a POST with CSRF token, so no link can log someone out)."""
    session.clear()
    flash("U bent uitgelogd.")
    return redirect(url_for("auth.login"))
