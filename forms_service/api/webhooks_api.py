"""API v1 for webhook subscriptions (admin only): subscribe, list, read, remove, and the
delivery log. The secret is taken once and never returned. Delivery itself is the
worker's (:mod:`signatures.webhooks`); nothing here talks to a receiver.
"""

from __future__ import annotations

from flask import current_app, g, jsonify, request

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.inputs import Body
from forms_service.api.openapi import FRAGMENTS, ID, answer, body, path_id
from registry import access as rights
from signatures import webhooks
from signatures.models import WebhookSubscription


def subscription_json(row: WebhookSubscription) -> dict:
    """A subscription as JSON (never its secret)."""
    return {"id": row.id, "url": row.url, "events": list(row.events or [])}


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _subscription_input() -> dict:
    """The body of ``POST /api/v1/webhooks``: url, events, secret (the rules are the service's)."""
    data = Body.from_request()
    return {"url": data.data.get("url"), "events": data.data.get("events"), "secret": data.data.get("secret")}


@bp.route("/v1/webhooks", methods=["GET", "POST"])
def webhooks_collection():
    """List the subscriptions (GET) or subscribe a URL to events (POST, 201)."""
    access.require(rights.ADMIN)
    s = db.session()
    if request.method == "POST":
        row = webhooks.create_subscription(
            s, **_subscription_input(), by=g.api_user.email,
            allow_private=webhooks.settings(current_app.config)["allow_private"])
        s.commit()
        return jsonify(subscription_json(row)), 201
    return jsonify({"webhooks": [subscription_json(row) for row in webhooks.subscriptions(s)]})


@bp.route("/v1/webhooks/<int:webhook_id>", methods=["GET", "DELETE"])
def webhook(webhook_id: int):
    """One subscription (GET), or remove it (DELETE, 204): waiting deliveries are cancelled."""
    access.require(rights.ADMIN)
    s = db.session()
    row = webhooks.get_subscription(s, webhook_id)
    if request.method == "GET":
        return jsonify(subscription_json(row))
    webhooks.remove_subscription(s, row)
    s.commit()
    return "", 204


@bp.get("/v1/webhooks/<int:webhook_id>/deliveries")
def webhook_deliveries(webhook_id: int):
    """The subscription's delivery log, newest first."""
    access.require(rights.ADMIN)
    row = webhooks.get_subscription(db.session(), webhook_id)
    return jsonify({"deliveries": [
        {"id": line.id, "event": line.event, "event_id": line.event_id, "status": line.status,
         "attempts": line.attempts, "at": _iso(line.at), "response_status": line.response_status,
         "error": line.error, "next_attempt_at": _iso(line.next_attempt_at)}
        for line in webhooks.delivery_log(db.session(), row)]})


_EVENTS = {"type": "array", "items": {"enum": list(webhooks.EVENTS)}, "minItems": 1}
_SUBSCRIPTION = {"type": "object", "properties": {"id": ID, "url": {"type": "string", "format": "uri"}, "events": _EVENTS},
                 "required": ["id", "url", "events"]}
_STAMP = {"type": "string", "format": "date-time"}
_DELIVERY = {"type": "object", "properties": {
    "id": ID, "event": {"enum": list(webhooks.EVENTS)}, "event_id": {"type": "string"},
    "status": {"enum": ["pending", "delivered", "failed", "cancelled"]}, "attempts": {"type": "integer", "minimum": 0},
    "at": _STAMP, "response_status": {"type": ["integer", "null"]}, "error": {"type": ["string", "null"]},
    "next_attempt_at": {"type": ["string", "null"], "format": "date-time"}},
    "required": ["event", "status", "attempts", "at"]}

FRAGMENTS.append({
    "/api/v1/webhooks": {
        "post": {"summary": "Subscribe a URL to events (admin); the secret signs every delivery and is never returned",
                 "requestBody": body({"url": {"type": "string", "format": "uri", "maxLength": webhooks.MAX_URL,
                                              "description": "http(s); private, loopback, link-local and reserved addresses refused unless WEBHOOK_ALLOW_PRIVATE=1"},
                                      "events": _EVENTS,
                                      "secret": {"type": "string", "minLength": webhooks.MIN_SECRET, "maxLength": webhooks.MAX_SECRET}},
                                     ["url", "events", "secret"]),
                 "responses": answer("201", "Subscribed", _SUBSCRIPTION)},
        "get": {"summary": "List the webhook subscriptions (admin)",
                "responses": answer("200", "Subscriptions", {"type": "object", "properties": {
                    "webhooks": {"type": "array", "items": _SUBSCRIPTION}}, "required": ["webhooks"]})},
    },
    "/api/v1/webhooks/{webhook_id}": {
        "get": {"summary": "One webhook subscription (admin)", "parameters": [path_id("webhook_id")],
                "responses": answer("200", "Subscription", _SUBSCRIPTION)},
        "delete": {"summary": "Remove a webhook subscription (admin); waiting deliveries are cancelled",
                   "parameters": [path_id("webhook_id")], "responses": answer("204", "Removed")},
    },
    "/api/v1/webhooks/{webhook_id}/deliveries": {"get": {
        "summary": "A subscription's delivery log, newest first (admin)", "parameters": [path_id("webhook_id")],
        "responses": answer("200", "Deliveries", {"type": "object", "properties": {
            "deliveries": {"type": "array", "items": _DELIVERY}}, "required": ["deliveries"]})}},
})
