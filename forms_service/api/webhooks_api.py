"""API v1 for webhook subscriptions (admin only): subscribe, list, read, remove, and the
delivery log. The secret is taken once and never returned. Delivery itself is the
worker's (:mod:`signatures.webhooks`); nothing here talks to a receiver.

The schemas say the shapes; the service stays the authority for the rules (an address
that is private, loopback, link-local or reserved: 422 naming ``url``).
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, g
from flask.views import MethodView

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import commit
from forms_service.api.schema import BASE_MESSAGES, TEXT_PATTERN, Choice, Schema, Text, body, out_str
from registry import access as rights
from signatures import webhooks

SECRET_MESSAGE = f"Een geheim van {webhooks.MIN_SECRET} tot {webhooks.MAX_SECRET} tekens."
EVENTS_MESSAGE = "Kies één of meer gebeurtenissen: " + ", ".join(webhooks.EVENTS) + "."
DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")


class NewWebhook(Schema):
    """The body of ``POST /api/v1/webhooks``; the secret signs every delivery and is never returned."""

    url = Text(webhooks.MAX_URL, required=True, metadata={
        "format": "uri", "description": "http(s); private, loopback, link-local and reserved addresses refused "
                                        "unless WEBHOOK_ALLOW_PRIVATE=1"})
    events = ma.fields.List(Choice(list(webhooks.EVENTS), required=True), required=True,
                            validate=ma.validate.Length(min=1, error=EVENTS_MESSAGE),
                            error_messages={**BASE_MESSAGES, "invalid": EVENTS_MESSAGE})
    secret = ma.fields.String(required=True, error_messages={**BASE_MESSAGES, "invalid": SECRET_MESSAGE},
                              validate=ma.validate.Length(webhooks.MIN_SECRET, webhooks.MAX_SECRET,
                                                          error=SECRET_MESSAGE),
                              metadata={"pattern": TEXT_PATTERN})


class WebhookSubscriptionSchema(Schema):
    """A subscription (never its secret)."""

    id = ma.fields.Integer(required=True)
    url = ma.fields.String(required=True, metadata={"format": "uri"})
    events = ma.fields.Function(lambda row: list(row.events or []), required=True,
                                metadata={"type": "array", "items": {"enum": list(webhooks.EVENTS)}})


class WebhookListSchema(Schema):
    """The subscriptions in force, oldest first."""

    webhooks = ma.fields.List(ma.fields.Nested(WebhookSubscriptionSchema), required=True)


class WebhookDeliverySchema(Schema):
    """One line of the delivery log; ``at`` is the last attempt (or when queued)."""

    id = ma.fields.Integer()
    event = ma.fields.String(required=True, validate=ma.validate.OneOf(list(webhooks.EVENTS)))
    event_id = ma.fields.String()
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(DELIVERY_STATUSES))
    attempts = ma.fields.Integer(required=True, metadata={"minimum": 0})
    at = ma.fields.DateTime(required=True)
    response_status = ma.fields.Integer(allow_none=True)
    error = out_str()
    next_attempt_at = ma.fields.DateTime(allow_none=True)


class WebhookDeliveriesSchema(Schema):
    """A subscription's delivery log, newest first."""

    deliveries = ma.fields.List(ma.fields.Nested(WebhookDeliverySchema), required=True)


def _admin() -> None:
    """Only the administrator handles webhooks (403 before any word about a body)."""
    access.require(rights.ADMIN)


@bp.route("/v1/webhooks", endpoint="webhooks_collection")
class Webhooks(MethodView):
    """The subscriptions: list them, or subscribe a URL to events."""

    @bp.response(200, WebhookListSchema)
    @bp.doc(summary="List the webhook subscriptions (admin)")
    def get(self):
        """The subscriptions in force."""
        _admin()
        return {"webhooks": webhooks.subscriptions(db.session())}

    @body(NewWebhook, access=_admin)
    @bp.response(201, WebhookSubscriptionSchema)
    @bp.doc(summary="Subscribe a URL to events (admin); the secret signs every delivery and is never returned")
    def post(self, values):
        """Subscribe a URL to events (201)."""
        _admin()
        return commit(webhooks.create_subscription(
            db.session(), **values, by=g.api_user.email,
            allow_private=webhooks.settings(current_app.config)["allow_private"]))


@bp.route("/v1/webhooks/<int:webhook_id>", endpoint="webhook")
class Webhook(MethodView):
    """One subscription: read it, or remove it. One rule for both methods (a bad id is 404, not 405)."""

    @bp.response(200, WebhookSubscriptionSchema)
    @bp.doc(summary="One webhook subscription (admin)")
    def get(self, webhook_id: int):
        """One subscription."""
        _admin()
        return webhooks.get_subscription(db.session(), webhook_id)

    @bp.response(204)
    @bp.doc(summary="Remove a webhook subscription (admin); waiting deliveries are cancelled")
    def delete(self, webhook_id: int):
        """Remove it (204): waiting deliveries are cancelled."""
        _admin()
        s = db.session()
        webhooks.remove_subscription(s, webhooks.get_subscription(s, webhook_id))
        commit(None)
        return ""


@bp.get("/v1/webhooks/<int:webhook_id>/deliveries")
@bp.response(200, WebhookDeliveriesSchema)
@bp.doc(summary="A subscription's delivery log, newest first (admin)")
def webhook_deliveries(webhook_id: int):
    """The subscription's delivery log, newest first."""
    _admin()
    row = webhooks.get_subscription(db.session(), webhook_id)
    return {"deliveries": webhooks.delivery_log(db.session(), row)}
