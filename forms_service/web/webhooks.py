"""Admin pages for webhooks: the subscriptions (add, remove) and each one's delivery log.

Guarded by ``admin_required`` (the ``admin`` permission of :mod:`registry.access`). The
rules (URL, events, secret) are :mod:`signatures.webhooks`'; a page only collects the
fields and shows the service's Dutch messages at the field they concern.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, widgets

from forms_service import db, i18n
from forms_service.auth import admin_required, current_user
from registry.errors import DomainError
from signatures import webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/beheer/webhooks")


class SubscriptionForm(FlaskForm):
    """URL, the events (tick boxes) and the secret."""

    url = StringField(_l("URL van de ontvanger"))
    events = SelectMultipleField(_l("Gebeurtenissen"), choices=list(webhooks.EVENTS.items()), validate_choice=False,
                                 widget=widgets.ListWidget(prefix_label=False), option_widget=widgets.CheckboxInput())
    secret = PasswordField(_l("Geheim (minimaal 16 tekens; alleen nu te zien voor u, daarna nooit meer)"))


@bp.route("/", methods=["GET", "POST"])
@admin_required
def list_webhooks():
    """The subscriptions in force, and a form to add one."""
    s = db.session()
    form = SubscriptionForm()
    form.events.choices = list(i18n.labels(webhooks.EVENTS).items())
    if form.validate_on_submit():
        try:
            row = webhooks.create_subscription(
                s, url=form.url.data, events=form.events.data, secret=form.secret.data, by=current_user().email,
                allow_private=webhooks.settings(current_app.config)["allow_private"])
        except DomainError as exc:
            s.rollback()
            for name, message in (exc.fields or {"url": exc.message}).items():
                getattr(form, name, form.url).errors.append(message)
        else:
            s.commit()
            flash(_("Webhook %(n)s toegevoegd.", n=row.id))
            return redirect(url_for("webhooks.detail", webhook_id=row.id))
    return render_template("webhooks/list.html", form=form, rows=webhooks.subscriptions(s), labels=i18n.labels(webhooks.EVENTS))


@bp.get("/<int:webhook_id>")
@admin_required
def detail(webhook_id: int):
    """One subscription and its delivery log (newest first)."""
    s = db.session()
    row = webhooks.get_subscription(s, webhook_id)
    return render_template("webhooks/detail.html", row=row, lines=webhooks.delivery_log(s, row),
                           labels=i18n.labels(webhooks.EVENTS), form=FlaskForm())


@bp.post("/<int:webhook_id>/verwijderen")
@admin_required
def remove(webhook_id: int):
    """Remove a subscription: nothing more is sent to it; the row stays for the record, without its secret."""
    s = db.session()
    row = webhooks.get_subscription(s, webhook_id)
    if FlaskForm().validate_on_submit():
        webhooks.remove_subscription(s, row)
        s.commit()
        flash(_("Webhook %(n)s verwijderd; wachtende berichten worden niet meer verstuurd.", n=row.id))
    return redirect(url_for("webhooks.list_webhooks"))
