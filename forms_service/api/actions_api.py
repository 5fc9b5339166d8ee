"""API v1 for a meeting's action list (*actielijst*, Emmen art. 7): who does what by when,
as codes (DAT only). Who may: :func:`registry.access.authorize_action_list`; rules:
:mod:`registry.actions`. Each read is logged; each view commits once.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask.views import MethodView

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.registry_api import OnDate, commit
from forms_service.api.schema import Date, Id, Schema, Text, body, out_date
from registry import access as rights
from registry import actions, limits, rules, services
from registry.errors import Forbidden, ValidationError
from registry.models import Case, Meeting, Person
from flask_babel import gettext as _


class ActionSchema(Schema):
    """One line of the action list; ``action_label`` from the meeting's pack, ``overdue`` as of today."""

    id = ma.fields.Integer(required=True)
    meeting_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    case_ref = ma.fields.Function(lambda i: db.session().get(Case, i.case_id).reference, required=True,
                                  metadata={"type": "string"})
    person_id = ma.fields.Integer(required=True)
    person_name = ma.fields.String(attribute="person.name", required=True)
    action = ma.fields.String(required=True, metadata={"description": "a code of the action kinds"})
    action_label = ma.fields.Function(
        lambda i: actions.kinds_of_meeting(db.session().get(Meeting, i.meeting_id)).get(i.action, i.action),
        required=True, metadata={"type": "string"})
    due_on = out_date(required=True)
    done_on = out_date(required=True)
    overdue = ma.fields.Function(lambda i: actions.overdue(i, rules.today()), required=True, metadata={"type": "boolean"})


class KindSchema(Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)


class ActionListSchema(Schema):
    meeting_id = ma.fields.Integer(required=True)
    kinds = ma.fields.List(ma.fields.Nested(KindSchema), required=True)
    actions = ma.fields.List(ma.fields.Nested(ActionSchema), required=True)


class NewAction(Schema):
    case_ref = Text(limits.CASE_REF_MAX, metadata={"description": "a case of the agenda; give case_ref or case_id "
                                                                  "(neither: 422 case_ref)"})
    case_id = Id()
    person_id = Id(required=True)
    action = Text(40, required=True, metadata={"description": "a code of the action kinds (else 422)"})
    due_on = Date(required=True, metadata={"description": "not before the meeting (else 422)"})


def _meeting(meeting_id: int) -> Meeting:
    return services.get(db.session(), Meeting, meeting_id, "meeting_id")


@bp.route("/v1/meetings/<int:meeting_id>/actions", endpoint="action_list")
class ActionList(MethodView):
    """The meeting's action list (art. 7). One rule for both methods (see ``Partners``)."""

    @bp.doc(summary="The meeting's action list (art. 7): for the table's coordinator and chair (entitled today) all "
                    "lines, for an entitled invitee the lines of their cases; logged")
    @bp.response(200, ActionListSchema)
    def get(self, meeting_id: int):
        """The meeting's action list: everything for its keepers, an invitee's own cases for them."""
        meeting = _meeting(meeting_id)
        allowed = rights.authorize_action_list(db.session(), access.acting_user(), meeting)
        access.log_read(allowed.use, "view", "action_list", meeting.id,
                        target=rights.meeting_target(db.session(), meeting))
        kinds = actions.kinds_of_meeting(meeting)
        return commit({"meeting_id": meeting.id, "kinds": [{"key": k, "label": v} for k, v in kinds.items()],
                       "actions": actions.action_list(db.session(), meeting, allowed.case_ids)})

    @bp.doc(summary="Add a line (coordinator, chair): a case of the agenda, a person invited for it, an action "
                    "code, a due date not before the meeting")
    @body(NewAction, access=lambda meeting_id: rights.authorize_action_list(
        db.session(), access.acting_user(), _meeting(meeting_id), record=True))
    @bp.response(201, ActionSchema)
    def post(self, values, meeting_id: int):
        """Add a line: a case of the agenda, a person invited for it, an action code, a due date."""
        meeting = _meeting(meeting_id)
        allowed = rights.authorize_action_list(db.session(), access.acting_user(), meeting, record=True)
        if values["case_id"] is None and not values["case_ref"]:
            raise ValidationError(_("Controleer de velden."), {"case_ref": _("Geef case_ref of case_id.")})
        case = actions.agenda_case(db.session(), meeting, case_id=values["case_id"], case_ref=values["case_ref"])
        person = services.get(db.session(), Person, values["person_id"], "person_id")
        return commit(actions.record_action(db.session(), meeting, case, person, values["action"], values["due_on"],
                                            allowed.use.email))


@bp.post("/v1/actions/<int:action_id>/done")
@bp.doc(summary="Mark a line done (coordinator, chair or the responsible person)")
@body(OnDate, access=lambda action_id: _closable(action_id))
@bp.response(200, ActionSchema)
def action_done(values, action_id: int):
    """Mark a line done on a date (its keepers, or the responsible person)."""
    item, allowed = _closable(action_id)
    actions.mark_done(db.session(), item, values["on"] or rules.today(), allowed.use.email)
    return commit(item)


def _closable(action_id: int):
    """A line by id (404) and the account's right on its list; 403 unless it may close the line."""
    item = actions.get_action(db.session(), action_id)
    meeting = db.session().get(Meeting, item.meeting_id)
    user = access.acting_user()
    allowed = rights.authorize_action_list(db.session(), user, meeting)
    if not rights.may_close_action(allowed, user, item.person_id, item.case_id):
        raise Forbidden("Alleen de coördinator, de voorzitter of de verantwoordelijke zelf rondt deze actie af.")
    return item, allowed
