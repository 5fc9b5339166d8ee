"""API v1 for the registry: organisations, people, covenants, partners, tables,
declarations, and the questions ``check`` and ``entitled``.

Each view: read input (collecting field errors), call one :mod:`registry.services`
function or query, commit once, answer JSON.
"""

from __future__ import annotations

import datetime as dt

from flask import jsonify, request
from sqlalchemy import select

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.inputs import ID_MESSAGE, Body, valid_id
from registry.documents import build
from registry import access as rights
from registry import covenant_life, queries, rules, services
from registry.models import CaseTable, Covenant, Declaration, Organisation, Partnership, Person


def _d(day: dt.date | None) -> str | None:
    """A date as ``YYYY-MM-DD`` or null."""
    return day.isoformat() if day else None


def reasons_json(reasons) -> list[dict[str, str]]:
    """Reasons as ``[{"code", "text"}]``."""
    return [r.as_dict() for r in reasons]


def organisation_json(o: Organisation) -> dict:
    """An organisation as JSON."""
    return {"id": o.id, "name": o.name}


def person_json(p: Person) -> dict:
    """A person as JSON."""
    return {
        "id": p.id, "name": p.name, "initials": p.initials, "organisation_id": p.organisation_id,
        "function": p.function, "email": p.email,
        "employed_from": _d(p.employed_from), "employed_until": _d(p.employed_until),
    }


def partnership_json(p: Partnership) -> dict:
    """A partnership as JSON."""
    return {
        "covenant_id": p.covenant_id, "organisation_id": p.organisation_id,
        "representative_id": p.representative_id, "founding": p.founding,
        "signed_on": _d(p.signed_on), "signed_via": p.signed_via,
        "notice_given_on": _d(p.notice_given_on), "ends_on": _d(p.ends_on),
        "ended_immediately_on": _d(p.ended_immediately_on), "excluded_on": _d(p.excluded_on),
        "mandate": p.mandate,
    }


def covenant_json(c: Covenant) -> dict:
    """A covenant as JSON."""
    return {
        "id": c.id, "pack": c.pack, "title": c.title, "region": c.region, "status": c.status,
        "municipality": c.municipality, "areas": services.covenant_areas(c), "chair_model": c.chair_model,
        "in_force_on": _d(c.in_force_on), "partners": [partnership_json(p) for p in c.partnerships],
    }


def table_json(t: CaseTable) -> dict:
    """A case table as JSON."""
    return {
        "id": t.id, "name": t.name, "area": t.area, "covenant_id": t.covenant_id,
        "chair_id": t.chair_id, "coordinator_id": t.coordinator_id,
        "roles": services.table_roles(db.session(), t),
    }


def declaration_json(d: Declaration) -> dict:
    """A declaration as JSON."""
    return {
        "id": d.id, "kind": d.kind, "person_id": d.person_id, "table_id": d.table_id,
        "case_ref": d.case_ref, "signed_on": _d(d.signed_on), "signed_via": d.signed_via,
        "revoked_on": _d(d.revoked_on),
    }


def created(payload: dict):
    """Commit the request's work and answer 201."""
    db.session().commit()
    return jsonify(payload), 201


def done(payload: dict):
    """Commit the request's work and answer 200."""
    db.session().commit()
    return jsonify(payload), 200


# ----------------------------------------------------------------------------- writes


@bp.post("/v1/organisations")
def create_organisation():
    """Register an organisation (administrators and coordinators)."""
    access.require_role_for(rights.MANAGE_COVENANT)
    body = Body.from_request()
    name = body.str("name", required=True, max_length=200)
    body.check()
    return created(organisation_json(services.create_organisation(db.session(), name)))


@bp.post("/v1/people")
def create_person():
    """Register a person of an organisation."""
    body = Body.from_request()
    values = dict(
        name=body.str("name", required=True, max_length=200),
        initials=body.str("initials", max_length=40) or "",
        organisation_id=body.int("organisation_id", required=True),
        function=body.str("function", max_length=200) or "",
        email=body.str("email", max_length=254),
        employed_from=body.date("employed_from"),
        employed_until=body.date("employed_until"),
    )
    body.check()
    services.get(db.session(), Organisation, values["organisation_id"], "organisation_id")
    rights.authorize_register_person(db.session(), access.acting_user(), values["organisation_id"])
    return created(person_json(services.create_person(db.session(), **values)))


@bp.post("/v1/covenants")
def create_covenant():
    """Draft a covenant from a template pack (administrators)."""
    access.require(rights.ADMIN)
    body = Body.from_request()
    values = dict(
        pack=body.str("pack", required=True, max_length=100),
        title=body.str("title", required=True, max_length=300),
        region=body.str("region", required=True, max_length=200),
        municipality=body.str("municipality", max_length=200),
        areas=body.list_of("areas", str) if body.data.get("areas") is not None else None,
    )
    chair_model = body.str("chair_model", max_length=20)
    body.check()
    build.pack_named(values["pack"])  # 422 naming ``pack`` when no such template pack exists
    covenant = services.create_covenant(db.session(), **values)
    services.set_chair_model(db.session(), covenant, chair_model)
    return created(covenant_json(covenant))


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


@bp.route("/v1/covenants/<int:covenant_id>/partners", methods=["GET", "POST"])
def partners(covenant_id: int):
    """GET: every listed organisation with its status on a date
    (:func:`forms_service.api.partners_api.covenant_partners`); POST: list a partner.

    One rule for both methods, as everywhere in the service: with two rules on one path
    Werkzeug answers an id the converter refuses with 405 for one method, not 404."""
    if request.method == "GET":
        from forms_service.api.partners_api import covenant_partners

        return covenant_partners(covenant_id)
    return add_partner(covenant_id)


def add_partner(covenant_id: int):
    """List a partner; ``signed_on`` records a paper signature."""
    covenant = _covenant(covenant_id)
    body = Body.from_request()
    values = dict(
        organisation_id=body.int("organisation_id", required=True),
        representative_id=body.int("representative_id", required=True),
        signed_on=body.date("signed_on"),
        mandate=body.str("mandate", max_length=300),
    )
    body.check()
    partnership = services.add_partner(db.session(), covenant, **values)
    return created({**partnership_json(partnership), "covenant": covenant_json(covenant)})


@bp.post("/v1/covenants/<int:covenant_id>/start")
def start_covenant(covenant_id: int):
    """Bring the covenant into force with the partners that signed so far."""
    covenant = _covenant(covenant_id)
    body = Body.from_request()
    on = body.date("on") or rules.today()
    body.check()
    return done(covenant_json(services.start_covenant(db.session(), covenant, on)))


def _partnership(covenant_id: int, organisation_id: int) -> Partnership:
    """A covenant's partnership with an organisation, or 404."""
    return services.partnership_of(db.session(), _covenant(covenant_id), organisation_id)


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/notice")
def give_notice(covenant_id: int, organisation_id: int):
    """Notice (*opzegging*): answers the date the partnership ends."""
    partnership = _partnership(covenant_id, organisation_id)
    body = Body.from_request()
    given_on = body.date("given_on", required=True)
    body.check()
    covenant_life.give_notice(db.session(), partnership, given_on, access.acting_user().email)
    return done({**partnership_json(partnership), "ends_on": _d(partnership.ends_on)})


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/termination")
def terminate(covenant_id: int, organisation_id: int):
    """Immediate termination by majority decision."""
    partnership = _partnership(covenant_id, organisation_id)
    body = Body.from_request()
    on = body.date("on", required=True)
    decision = body.str("decision", required=True, max_length=2000)
    body.check()
    return done(partnership_json(covenant_life.terminate(db.session(), partnership, on, decision, access.acting_user().email)))


@bp.post("/v1/covenants/<int:covenant_id>/partners/<int:organisation_id>/exclusion")
def exclude(covenant_id: int, organisation_id: int):
    """Exclusion of a partner that broke the rules."""
    partnership = _partnership(covenant_id, organisation_id)
    body = Body.from_request()
    on = body.date("on", required=True)
    reason = body.str("reason", required=True, max_length=2000)
    body.check()
    return done(partnership_json(covenant_life.exclude(db.session(), partnership, on, reason, access.acting_user().email)))


def _roles(body: Body) -> dict[str, int | None]:
    """``"roles": {"<key>": person_id}``: the table's other role holders (e.g. procesregisseur)."""
    roles = body.data.get("roles")
    if roles is None:
        return {}
    if not isinstance(roles, dict):
        body.errors["roles"] = "Moet een object zijn: {\"rol\": persoon-id}."
        return {}
    out = {}
    for key, value in roles.items():
        if value is not None and not valid_id(value):
            body.errors[f"roles.{key}"] = ID_MESSAGE
        else:
            out[key] = value
    return out


@bp.post("/v1/tables")
def create_table():
    """Open a case table."""
    body = Body.from_request()
    values = dict(
        covenant_id=body.int("covenant_id", required=True),
        name=body.str("name", required=True, max_length=200),
        area=body.str("area", required=True, max_length=200),
        chair_id=body.int("chair_id"),
        coordinator_id=body.int("coordinator_id"),
        roles=_roles(body),
    )
    body.check()
    _covenant(values["covenant_id"])
    return created(table_json(services.create_table(db.session(), **values)))


@bp.post("/v1/declarations")
def create_declaration():
    """Record a Bijlage 1 or Bijlage 2 declaration; without ``signed_on`` it waits for signing."""
    body = Body.from_request()
    values = dict(
        kind=body.choice("kind", (rules.STRUCTURAL, rules.INCIDENTAL), required=True),
        person_id=body.int("person_id", required=True),
        table_id=body.int("table_id", required=True),
        case_ref=body.str("case_ref", max_length=100),
        signed_on=body.date("signed_on"),
    )
    body.check()
    declaration = services.create_declaration(db.session(), **values)
    permission = rights.SEND_BIJLAGE1 if declaration.kind == rules.STRUCTURAL else rights.MANAGE_DECLARATIONS
    access.require(permission, rights.declaration_target(db.session(), declaration))
    return created(declaration_json(declaration))


@bp.post("/v1/declarations/<int:declaration_id>/revocation")
def revoke_declaration(declaration_id: int):
    """Revoke a Bijlage 1/2 from a date (*intrekking*): not entitled through it from then on."""
    declaration = services.get(db.session(), Declaration, declaration_id, "declaration_id")
    access.require(rights.MANAGE_DECLARATIONS, rights.declaration_target(db.session(), declaration))
    body = Body.from_request()
    on = body.date("on", required=True)
    body.check()
    return done(declaration_json(covenant_life.revoke_declaration(db.session(), declaration, on, access.acting_user().email)))


# ----------------------------------------------------------------------------- questions


@bp.get("/v1/tables")
def list_tables():
    """The case tables this account may see (an admin: all)."""
    visible = access.visible_table_ids()
    query = select(CaseTable).order_by(CaseTable.name)
    if visible is not None:
        query = query.where(CaseTable.id.in_(visible))
    tables = db.session().scalars(query).all()
    return jsonify({"tables": [{"id": t.id, "name": t.name, "area": t.area, "covenant_id": t.covenant_id} for t in tables]})


@bp.get("/v1/tables/<int:table_id>/entitled")
def entitled(table_id: int):
    """Who may join a table on a date (for a case), with reasons."""
    _table(table_id)
    query = Body.from_query()
    on = query.date("on") or rules.today()
    case_ref = query.str("case", max_length=100)
    query.check()
    result = queries.entitled(db.session(), table_id, on, case_ref)
    return jsonify(entitlement_json(result))


def entitlement_json(result: queries.Entitlement) -> dict:
    """An entitlement answer as JSON."""
    return {
        "table_id": result.table_id,
        "on": result.on.isoformat(),
        "case": result.case,
        "organisations": [
            {"id": o.id, "name": o.name, "reasons": reasons_json(o.reasons), "warnings": reasons_json(o.warnings)}
            for o in result.organisations
        ],
        "people": [
            {
                "id": p.id, "name": p.name, "organisation_id": p.organisation_id, "basis": p.basis,
                "reasons": reasons_json(p.reasons), "warnings": reasons_json(p.warnings),
            }
            for p in result.people
        ],
    }


@bp.get("/v1/check")
def check():
    """May a person join a table on a date (for a case)? Every reason of a denial."""
    query = Body.from_query()
    person_id = query.int("person", required=True)
    table_id = query.int("table", required=True)
    on = query.date("on") or rules.today()
    case_ref = query.str("case", max_length=100)
    query.check()
    _table(table_id, "table")
    decision = queries.check(db.session(), person_id, table_id, on, case_ref)
    return jsonify(decision_json(decision))


def decision_json(decision: rules.Decision) -> dict:
    """A decision as JSON: allowed, basis, reasons (and warnings)."""
    return {
        "allowed": decision.allowed,
        "basis": decision.basis,
        "reasons": reasons_json(decision.reasons),
        "warnings": reasons_json(decision.warnings),
    }
