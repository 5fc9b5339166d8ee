"""API v1 for the registry: organisations, people, covenants, partners, tables,
declarations, and the questions ``check`` and ``entitled``.

Each view: read input (collecting field errors), call one :mod:`registry.services`
function or query, commit once, answer JSON.
"""

from __future__ import annotations

import datetime as dt

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.schema import (Choice, Date, Id, IdList, ReasonSchema, Schema, Text, TextList, body,
                                      out_date, out_str, query)
from registry.documents import build
from registry import access as rights
from registry import covenant_life, limits, queries, rules, services
from registry.models import CaseTable, Covenant, Declaration, Organisation, Partnership, Person
from signatures import workflow as signing

# ----------------------------------------------------------------------------- answers


def reasons_field() -> ma.fields.List:
    """Reasons (or warnings) as ``[{"code", "text"}]``."""
    return ma.fields.List(ma.fields.Nested(ReasonSchema), required=True)


class OrganisationSchema(Schema):
    """An organisation."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class PersonSchema(Schema):
    """A person of an organisation."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    initials = ma.fields.String(required=True)
    organisation_id = ma.fields.Integer(required=True)
    function = ma.fields.String(required=True)
    email = out_str(required=True)
    employed_from = out_date(required=True)
    employed_until = out_date(required=True)


class PartnershipSchema(Schema):
    """An organisation listed on a covenant, with its signing and ending dates."""

    covenant_id = ma.fields.Integer(required=True)
    organisation_id = ma.fields.Integer(required=True)
    representative_id = ma.fields.Integer(allow_none=True, required=True)
    founding = ma.fields.Boolean(allow_none=True, required=True)
    signed_on = out_date(required=True)
    signed_via = out_str(required=True)
    notice_given_on = out_date(required=True)
    ends_on = out_date(required=True, metadata={"description": "the day the partnership ends (the pack's notice months)"})
    ended_immediately_on = out_date(required=True)
    excluded_on = out_date(required=True)
    mandate = out_str(required=True)


class CovenantSchema(Schema):
    """A covenant with its partners."""

    id = ma.fields.Integer(required=True)
    pack = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    region = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    municipality = out_str(required=True)
    areas = ma.fields.Function(services.covenant_areas, required=True,
                               metadata={"type": "array", "items": {"type": "string"}})
    chair_model = out_str(required=True)
    in_force_on = out_date(required=True)
    partners = ma.fields.List(ma.fields.Nested(PartnershipSchema), attribute="partnerships", required=True)


class ListedPartnerSchema(PartnershipSchema):
    """A partnership just listed, with its covenant."""

    covenant = ma.fields.Nested(CovenantSchema, required=True)


class TableSchema(Schema):
    """A case table with its role holders."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    area = ma.fields.String(required=True)
    covenant_id = ma.fields.Integer(required=True)
    chair_id = ma.fields.Integer(allow_none=True, required=True)
    coordinator_id = ma.fields.Integer(allow_none=True, required=True)
    roles = ma.fields.Function(lambda t: services.table_roles(db.session(), t), required=True,
                               metadata={"type": "object", "additionalProperties": {"type": ["integer", "null"]}})


class TableBriefSchema(Schema):
    """A case table in a list."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    area = ma.fields.String(required=True)
    covenant_id = ma.fields.Integer(required=True)


class TablesSchema(Schema):
    """The case tables this account may see."""

    tables = ma.fields.List(ma.fields.Nested(TableBriefSchema), required=True)


class DeclarationSchema(Schema):
    """A Bijlage 1 (structural) or Bijlage 2 (incidental) declaration."""

    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": [rules.STRUCTURAL, rules.INCIDENTAL]})
    person_id = ma.fields.Integer(required=True)
    table_id = ma.fields.Integer(required=True)
    case_ref = out_str(required=True)
    signed_on = out_date(required=True)
    signed_via = out_str(required=True)
    revoked_on = out_date(required=True)


class DecisionSchema(Schema):
    """May a person join: allowed, basis, every reason (and warnings)."""

    allowed = ma.fields.Boolean(required=True)
    basis = ma.fields.String(allow_none=True, required=True,
                             metadata={"enum": [rules.STRUCTURAL, rules.INCIDENTAL, None]})
    reasons = reasons_field()
    warnings = reasons_field()


class EntitledOrganisationSchema(Schema):
    """An organisation entitled on the date."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    reasons = reasons_field()
    warnings = reasons_field()


class EntitledPersonSchema(EntitledOrganisationSchema):
    """A person entitled on the date, with the basis."""

    organisation_id = ma.fields.Integer(required=True)
    basis = ma.fields.String(required=True, metadata={"enum": [rules.STRUCTURAL, rules.INCIDENTAL]})


class EntitlementSchema(Schema):
    """Who may join a table on a date (for a case)."""

    table_id = ma.fields.Integer(required=True)
    on = ma.fields.Date(required=True)
    case = out_str(required=True)
    organisations = ma.fields.List(ma.fields.Nested(EntitledOrganisationSchema), required=True)
    people = ma.fields.List(ma.fields.Nested(EntitledPersonSchema), required=True)


class PartnerStatusSchema(Schema):
    """One listed organisation's status on the date (:func:`registry.rules.partner_status`)."""

    organisation_id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": list(rules.PARTNER_STATUSES), "description": (
        "partner: a partner on the date; notice_given: still a partner, notice given (ends on ends_on); "
        "ended: no longer a partner after notice or immediate termination; excluded: excluded on or before "
        "the date; not_signed: not signed (yet) on the date; covenant_not_in_force: signed, but the covenant "
        "is not in force on the date")})
    since = out_date(required=True, metadata={"description": "first day as a partner; null when not (yet) one"})
    ends_on = out_date(required=True, metadata={"description": "first day no longer a partner"})


class PartnersSchema(Schema):
    """A covenant's listed organisations with their status on a date."""

    covenant_id = ma.fields.Integer(required=True)
    on = ma.fields.Date(required=True)
    partners = ma.fields.List(ma.fields.Nested(PartnerStatusSchema), required=True)


# ----------------------------------------------------------------------------- requests


class NewOrganisation(Schema):
    name = Text(limits.NAME_MAX, required=True)


class NewPerson(Schema):
    name = Text(limits.NAME_MAX, required=True)
    initials = Text(limits.INITIALS_MAX)
    organisation_id = Id(required=True)
    function = Text(limits.FUNCTION_MAX)
    email = Text(limits.EMAIL_MAX, metadata={"description": "checked by the service (422 email)"})
    employed_from = Date()
    employed_until = Date()


class NewCovenant(Schema):
    pack = Text(limits.PACK_MAX, required=True, metadata={"description": "a template pack (GET /api/v1/packs); else 422 pack"})
    title = Text(limits.TITLE_MAX, required=True)
    region = Text(limits.NAME_MAX, required=True)
    municipality = Text(limits.NAME_MAX, metadata={
        "description": "default: the pack's when the region is the pack's, else 'gemeente <region>'"})
    areas = TextList(limits.NAME_MAX, allow_none=True, load_default=None, metadata={
        "description": "the covenant's areas (art. 1), each unique; default: the pack's"})
    chair_model = Text(limits.CHAIR_MODEL_MAX, metadata={
        "description": "one of the pack's chair_models (GET /api/v1/packs), else 422; null while drafting"})


class NewPartner(Schema):
    organisation_id = Id(required=True)
    representative_id = Id(required=True)
    signed_on = Date(metadata={"description": "paper signing date, not after today (else 422)"})
    mandate = Text(limits.MANDATE_MAX, metadata={
        "description": "signed met mandaat: of whom or what (only for a pack with mandate, else 422)"})


class OnDate(Schema):
    on = Date(metadata={"description": "default today"})


class RequiredOnDate(Schema):
    on = Date(required=True)


class QueryOn(Schema):
    on = Date(in_query=True, metadata={"description": "default today; empty or malformed: 400 naming on"})


class Notice(Schema):
    given_on = Date(required=True)


class Termination(Schema):
    on = Date(required=True)
    decision = Text(limits.DECISION_MAX, required=True)


class Exclusion(Schema):
    on = Date(required=True)
    reason = Text(limits.DECISION_MAX, required=True)


class NewTable(Schema):
    covenant_id = Id(required=True)
    name = Text(limits.NAME_MAX, required=True)
    area = Text(limits.NAME_MAX, required=True, metadata={"description": "one of the covenant's areas, else 422"})
    chair_id = Id()
    coordinator_id = Id()
    roles = ma.fields.Dict(keys=ma.fields.String(), values=Id(), load_default=dict, allow_none=True, metadata={
        "description": "holders of the pack's other table roles, e.g. {\"procesregisseur\": 12}; "
                       "an unknown role: 422 roles.<key>"})


class NewDeclaration(Schema):
    kind = Choice((rules.STRUCTURAL, rules.INCIDENTAL), required=True)
    person_id = Id(required=True)
    table_id = Id(required=True)
    case_ref = Text(limits.CASE_REF_MAX, metadata={"description": "required for incidental (Bijlage 2), else 422"})
    signed_on = Date(metadata={"description": "paper signing date, not after today (else 422); omit to wait for "
                                              "online signing"})


class EntitledQuery(QueryOn):
    case = Text(limits.CASE_REF_MAX, metadata={"description": "a case reference"})


class CheckQuery(EntitledQuery):
    person = Id(required=True, in_query=True)
    table = Id(required=True, in_query=True)


def commit(result):
    """Commit the request's work (its one commit point) and hand the result to the answer's schema."""
    db.session().commit()
    return result


# ----------------------------------------------------------------------------- writes


@bp.post("/v1/organisations")
@body(NewOrganisation, access=lambda: access.require_role_for(rights.MANAGE_COVENANT))
@bp.response(201, OrganisationSchema)
def create_organisation(values):
    """Register an organisation (administrators and coordinators)."""
    access.require_role_for(rights.MANAGE_COVENANT)
    return commit(services.create_organisation(db.session(), values["name"]))


@bp.post("/v1/people")
@body(NewPerson)
@bp.response(201, PersonSchema)
def create_person(values):
    """Register a person of an organisation."""
    values = {**values, "initials": values.get("initials") or "", "function": values.get("function") or ""}
    services.get(db.session(), Organisation, values["organisation_id"], "organisation_id")
    rights.authorize_register_person(db.session(), access.acting_user(), values["organisation_id"])
    return commit(services.create_person(db.session(), **values))


@bp.post("/v1/covenants")
@body(NewCovenant, access=lambda: access.require(rights.ADMIN))
@bp.response(201, CovenantSchema)
def create_covenant(values):
    """Draft a covenant from a template pack (administrators)."""
    access.require(rights.ADMIN)
    chair_model = values.pop("chair_model", None)
    build.pack_named(values["pack"])  # 422 naming ``pack`` when no such template pack exists
    covenant = services.create_covenant(db.session(), **values)
    services.set_chair_model(db.session(), covenant, chair_model)
    return commit(covenant)


def _covenant(covenant_id: int, field: str = "covenant_id") -> Covenant:
    """A covenant by id or 404; 403 unless the account may manage it (its partners, tables)."""
    covenant = services.get(db.session(), Covenant, covenant_id, field)
    access.require(rights.MANAGE_COVENANT, rights.covenant_target(db.session(), covenant.id))
    return covenant


def _table(table_id: int, field: str = "table_id") -> CaseTable:
    """A case table by id or 404; 403 unless the account may read it."""
    table = services.get(db.session(), CaseTable, table_id, field)
    access.require(rights.READ, rights.table_target(db.session(), table))
    return table


@bp.route("/v1/covenants/<int:covenant_id>/partners", endpoint="partners")
class Partners(MethodView):
    """A covenant's partners. One rule for both methods, as everywhere in the service: with
    two rules on one path Werkzeug answers an id the converter refuses with 405 for one
    method, not 404."""

    @query(QueryOn)
    @bp.response(200, PartnersSchema)
    def get(self, args, covenant_id: int):
        """Every listed organisation with its status on ``on`` (default today)."""
        session = db.session()
        covenant = services.get(session, Covenant, covenant_id, "covenant_id")
        access.require(rights.READ, rights.covenant_target(session, covenant.id))
        on = args.get("on") or rules.today()
        partners = [{"organisation_id": p.organisation_id, "name": name, "status": status.status,
                     "since": status.since, "ends_on": status.ends_on}
                    for p, name, status in queries.partner_statuses(session, covenant, on)]
        return {"covenant_id": covenant.id, "on": on, "partners": partners}

    @body(NewPartner, access=lambda covenant_id: _covenant(covenant_id))
    @bp.response(201, ListedPartnerSchema)
    def post(self, values, covenant_id: int):
        """List a partner; ``signed_on`` records a paper signature. On a covenant in force
        this is an accession, as on the web: in the history, and sent for signing."""
        covenant = _covenant(covenant_id)
        access.require(rights.SIGNING, rights.covenant_target(db.session(), covenant.id))
        base_url = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
        return commit(signing.list_partner(db.session(), current_app.config, covenant, actor=access.acting_user().email,
                                           base_url=base_url, **values))


@bp.post("/v1/covenants/<int:covenant_id>/start")
@body(OnDate, access=lambda covenant_id: _covenant(covenant_id))
@bp.response(200, CovenantSchema)
def start_covenant(values, covenant_id: int):
    """Bring the covenant into force with the partners that signed so far."""
    covenant = _covenant(covenant_id)
    return commit(services.start_covenant(db.session(), covenant, values.get("on") or rules.today()))


def _partnership(covenant_id: int, organisation_id: int) -> Partnership:
    """A covenant's partnership with an organisation, or 404."""
    return services.partnership_of(db.session(), _covenant(covenant_id), organisation_id)


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/notice")
@body(Notice, access=lambda covenant_id, organisation_id: _partnership(covenant_id, organisation_id))
@bp.response(200, PartnershipSchema)
def give_notice(values, covenant_id: int, organisation_id: int):
    """Notice (*opzegging*): answers the date the partnership ends (the pack's notice months)."""
    partnership = _partnership(covenant_id, organisation_id)
    covenant_life.give_notice(db.session(), partnership, values["given_on"], access.acting_user().email)
    return commit(partnership)


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/termination")
@body(Termination, access=lambda covenant_id, organisation_id: _partnership(covenant_id, organisation_id))
@bp.response(200, PartnershipSchema)
def terminate(values, covenant_id: int, organisation_id: int):
    """Immediate termination by majority decision."""
    partnership = _partnership(covenant_id, organisation_id)
    return commit(covenant_life.terminate(db.session(), partnership, values["on"], values["decision"], access.acting_user().email))


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/exclusion")
@body(Exclusion, access=lambda covenant_id, organisation_id: _partnership(covenant_id, organisation_id))
@bp.response(200, PartnershipSchema)
def exclude(values, covenant_id: int, organisation_id: int):
    """Exclusion of a partner that broke the rules."""
    partnership = _partnership(covenant_id, organisation_id)
    return commit(covenant_life.exclude(db.session(), partnership, values["on"], values["reason"], access.acting_user().email))


@bp.route("/v1/tables", endpoint="tables")
class Tables(MethodView):
    """The case tables."""

    @bp.response(200, TablesSchema)
    def get(self):
        """The case tables this account may see (an admin: all)."""
        visible = access.visible_table_ids()
        statement = select(CaseTable).order_by(CaseTable.name)
        if visible is not None:
            statement = statement.where(CaseTable.id.in_(visible))
        return {"tables": db.session().scalars(statement).all()}

    @body(NewTable)
    @bp.response(201, TableSchema)
    def post(self, values):
        """Open a case table."""
        values["roles"] = values.get("roles") or {}
        _covenant(values["covenant_id"])
        return commit(services.create_table(db.session(), **values))


@bp.post("/v1/declarations")
@body(NewDeclaration)
@bp.response(201, DeclarationSchema)
def create_declaration(values):
    """Record a Bijlage 1 or Bijlage 2 declaration; without ``signed_on`` it waits for signing."""
    declaration = services.create_declaration(db.session(), **values)
    permission = rights.SEND_BIJLAGE1 if declaration.kind == rules.STRUCTURAL else rights.MANAGE_DECLARATIONS
    access.require(permission, rights.declaration_target(db.session(), declaration))
    return commit(declaration)


@bp.post("/v1/declarations/<int:declaration_id>/revocation")
@body(RequiredOnDate, access=lambda declaration_id: _declaration(declaration_id))
@bp.response(200, DeclarationSchema)
def revoke_declaration(values, declaration_id: int):
    """Revoke a Bijlage 1/2 from a date (*intrekking*): not entitled through it from then on."""
    return commit(covenant_life.revoke_declaration(db.session(), _declaration(declaration_id), values["on"],
                                                   access.acting_user().email))


def _declaration(declaration_id: int) -> Declaration:
    """A declaration by id (404); 403 unless the account may manage declarations there."""
    declaration = services.get(db.session(), Declaration, declaration_id, "declaration_id")
    access.require(rights.MANAGE_DECLARATIONS, rights.declaration_target(db.session(), declaration))
    return declaration


# ----------------------------------------------------------------------------- questions


@bp.get("/v1/tables/<int:table_id>/entitled")
@query(EntitledQuery)
@bp.response(200, EntitlementSchema)
def entitled(args, table_id: int):
    """Who may join a table on a date (for a case), with reasons."""
    _table(table_id)
    return queries.entitled(db.session(), table_id, args.get("on") or rules.today(), args.get("case"))


@bp.get("/v1/check")
@query(CheckQuery)
@bp.response(200, DecisionSchema)
def check(args):
    """May a person join a table on a date (for a case)? Every reason of a denial."""
    _table(args["table"], "table")
    return queries.check(db.session(), args["person"], args["table"], args.get("on") or rules.today(), args.get("case"))


db.read_only("api.check")  # reads only, logs no read: token, access and the check without BEGIN/ROLLBACK
