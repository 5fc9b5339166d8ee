"""API v1 for a meeting's action list (*actielijst*, Emmen art. 7): who does what by when,
as codes (DAT only). Who may: :func:`registry.access.authorize_action_list`; rules:
:mod:`registry.actions`. Each read is logged; each view commits once.
"""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request

from forms_service import access, db
from forms_service.api import bp, openapi
from forms_service.api.inputs import Body
from forms_service.api.openapi import DATE, ID, answer, body, path_id
from forms_service.api.registry_api import created, done
from registry import access as rights
from registry import actions, rules, services
from registry.errors import Forbidden
from registry.models import ActionItem, Case, Meeting, Person


def _d(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def action_json(item: ActionItem, kinds: dict[str, str], on: dt.date | None = None) -> dict:
    """One line of the action list."""
    case = db.session().get(Case, item.case_id)
    return {
        "id": item.id, "meeting_id": item.meeting_id, "case_id": item.case_id, "case_ref": case.reference,
        "person_id": item.person_id, "person_name": item.person.name, "action": item.action,
        "action_label": kinds.get(item.action, item.action), "due_on": _d(item.due_on), "done_on": _d(item.done_on),
        "overdue": actions.overdue(item, on or rules.today()),
    }


def _meeting(meeting_id: int) -> Meeting:
    return services.get(db.session(), Meeting, meeting_id, "meeting_id")


@bp.route("/v1/meetings/<int:meeting_id>/actions", methods=["GET", "POST"])
def action_list(meeting_id: int):
    """GET: the action list; POST: add a line. One rule for both methods (see
    :func:`forms_service.api.registry_api.partners`)."""
    return record_action(meeting_id) if request.method == "POST" else meeting_actions(meeting_id)


def meeting_actions(meeting_id: int):
    """The meeting's action list: everything for its keepers, an invitee's own cases for them."""
    meeting = _meeting(meeting_id)
    allowed = rights.authorize_action_list(db.session(), access.acting_user(), meeting)
    access.log_read(allowed.use, "view", "action_list", meeting.id, target=rights.meeting_target(db.session(), meeting))
    kinds = actions.kinds_of_meeting(meeting)
    payload = {"meeting_id": meeting.id, "kinds": [{"key": k, "label": v} for k, v in kinds.items()],
               "actions": [action_json(i, kinds) for i in actions.action_list(db.session(), meeting, allowed.case_ids)]}
    db.session().commit()
    return jsonify(payload)


def record_action(meeting_id: int):
    """Add a line: a case of the agenda, a person invited for it, an action code, a due date."""
    meeting = _meeting(meeting_id)
    allowed = rights.authorize_action_list(db.session(), access.acting_user(), meeting, record=True)
    body_ = Body.from_request()
    case_id = body_.int("case_id")
    case_ref = body_.str("case_ref", max_length=100)
    person_id = body_.int("person_id", required=True)
    action = body_.str("action", required=True, max_length=40)
    due_on = body_.date("due_on", required=True)
    if case_id is None and not case_ref and "case_id" not in body_.errors and "case_ref" not in body_.errors:
        body_.errors["case_ref"] = "Geef case_ref of case_id."
    body_.check()
    case = actions.agenda_case(db.session(), meeting, case_id=case_id, case_ref=case_ref)
    person = services.get(db.session(), Person, person_id, "person_id")
    item = actions.record_action(db.session(), meeting, case, person, action, due_on, allowed.use.email)
    return created(action_json(item, actions.kinds_of_meeting(meeting)))


@bp.post("/v1/actions/<int:action_id>/done")
def action_done(action_id: int):
    """Mark a line done on a date (its keepers, or the responsible person)."""
    item = actions.get_action(db.session(), action_id)
    meeting = db.session().get(Meeting, item.meeting_id)
    user = access.acting_user()
    allowed = rights.authorize_action_list(db.session(), user, meeting)
    if not rights.may_close_action(allowed, user, item.person_id, item.case_id):
        raise Forbidden("Alleen de coördinator, de voorzitter of de verantwoordelijke zelf rondt deze actie af.")
    body_ = Body.from_request()
    on = body_.date("on")
    body_.check()
    actions.mark_done(db.session(), item, on or rules.today(), allowed.use.email)
    return done(action_json(item, actions.kinds_of_meeting(meeting)))


ACTION = {"type": "object", "properties": {
    "id": ID, "meeting_id": ID, "case_id": ID, "case_ref": {"type": "string"}, "person_id": ID,
    "person_name": {"type": "string"}, "action": {"type": "string", "description": "a code of the action kinds"},
    "action_label": {"type": "string"}, "due_on": DATE, "done_on": {"type": ["string", "null"], "format": "date"},
    "overdue": {"type": "boolean"}}}

openapi.FRAGMENTS.append({
    "/api/v1/meetings/{meeting_id}/actions": {
        "get": {"summary": "The meeting's action list (art. 7): for the table's coordinator and chair (entitled "
                           "today) all lines, for an entitled invitee the lines of their cases; logged",
                "parameters": [path_id("meeting_id")],
                "responses": answer("200", "Action list", {"type": "object", "properties": {
                    "meeting_id": ID, "kinds": {"type": "array", "items": {"type": "object"}},
                    "actions": {"type": "array", "items": ACTION}}})},
        "post": {"summary": "Add a line (coordinator, chair): a case of the agenda, a person invited for it, "
                            "an action code, a due date not before the meeting",
                 "parameters": [path_id("meeting_id")],
                 "requestBody": body({"case_ref": {"type": "string"}, "case_id": ID, "person_id": ID,
                                      "action": {"enum": list(actions.ACTION_KINDS)}, "due_on": DATE},
                                     ["person_id", "action", "due_on"]),
                 "responses": answer("201", "Recorded", ACTION)}},
    "/api/v1/actions/{action_id}/done": {"post": {
        "summary": "Mark a line done (coordinator, chair or the responsible person)",
        "parameters": [path_id("action_id")], "requestBody": body({"on": DATE}, []),
        "responses": answer("200", "Done", ACTION)}},
})
