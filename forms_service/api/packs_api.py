"""API v1 for template packs: ``GET /api/v1/packs`` says what each pack decides (term,
annexes, areas, consent categories and signers, table roles). Any logged-in token may
read it; the values come from :func:`registry.packs.pack_summary`."""

from __future__ import annotations

import marshmallow as ma

from forms_service.api import bp
from forms_service.api.schema import Schema, out_str
from registry import packs


class TermSchema(Schema):
    initial_years = ma.fields.Integer(required=True)
    renewal_years = ma.fields.Integer(required=True, metadata={"description": "0: no tacit renewal"})
    notice_months = ma.fields.Integer(required=True)
    ends_on = out_str(required=True, metadata={"format": "date", "description": "last day in force (inclusive)"})


class AnnexSchema(Schema):
    key = ma.fields.String(required=True)
    number = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": list(packs.ANNEX_KINDS)})


class KeyLabel(Schema):
    key = ma.fields.String(required=True)
    label = ma.fields.String(required=True)


class ConsentSignersSchema(Schema):
    below_age = ma.fields.Integer(allow_none=True)
    signers = ma.fields.List(ma.fields.String())


class TableRoleSchema(KeyLabel):
    organisations = ma.fields.List(ma.fields.String())


class RetentionSchema(Schema):
    from_ = ma.fields.String(data_key="from", attribute="from", required=True,
                             metadata={"description": "closed, evaluated or phase:<key>"})
    archive_after_months = ma.fields.Integer(allow_none=True, required=True)
    delete_after_months = ma.fields.Integer(required=True)
    exception_max_months = ma.fields.Integer(required=True)


class PackSchema(Schema):
    """A template pack and the settings that are rules."""

    name = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    region = ma.fields.String(required=True)
    term = ma.fields.Nested(TermSchema, required=True)
    annexes = ma.fields.List(ma.fields.Nested(AnnexSchema), required=True)
    areas = ma.fields.List(ma.fields.String(), required=True)
    consent_categories = ma.fields.List(ma.fields.Nested(KeyLabel), required=True)
    consent_signers = ma.fields.List(ma.fields.Nested(ConsentSignersSchema), required=True)
    table_roles = ma.fields.List(ma.fields.Nested(TableRoleSchema), required=True)
    phases = ma.fields.List(ma.fields.Nested(KeyLabel), required=True)
    legal_basis = ma.fields.String(required=True, metadata={"enum": list(packs.LEGAL_BASES)})
    min_age = ma.fields.Integer(allow_none=True, required=True)
    retention = ma.fields.Nested(RetentionSchema, required=True)


class PacksSchema(Schema):
    packs = ma.fields.List(ma.fields.Nested(PackSchema), required=True)


@bp.get("/v1/packs")
@bp.doc(summary="The template packs and what each decides: term, annexes, areas, consent categories and signers, "
                "table roles, phases, legal basis, minimum age, retention")
@bp.response(200, PacksSchema)
def list_packs():
    """Every template pack with the settings that are rules."""
    return {"packs": packs.pack_summaries()}
