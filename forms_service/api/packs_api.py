"""API v1 for template packs: ``GET /api/v1/packs`` says what each pack decides (term,
annexes, areas, consent categories and signers, table roles). Any logged-in token may
read it; the JSON shape comes from :func:`registry.packs.pack_summary`."""

from __future__ import annotations

from flask import jsonify

from forms_service.api import bp, openapi
from forms_service.api.openapi import answer
from registry import packs


@bp.get("/v1/packs")
def list_packs():
    """Every template pack with the settings that are rules."""
    return jsonify({"packs": packs.pack_summaries()})


STR = {"type": "string"}
NULLABLE_INT = {"type": ["integer", "null"]}
PACK = {"type": "object", "properties": {
    "name": STR, "title": STR, "region": STR,
    "term": {"type": "object", "properties": {
        "initial_years": {"type": "integer"}, "renewal_years": {"type": "integer", "description": "0: no tacit renewal"},
        "notice_months": {"type": "integer"},
        "ends_on": {"type": ["string", "null"], "format": "date", "description": "last day in force (inclusive)"}},
        "required": ["initial_years", "renewal_years", "notice_months", "ends_on"]},
    "annexes": {"type": "array", "items": {"type": "object", "properties": {
        "key": STR, "number": STR, "title": STR,
        "kind": {"enum": list(packs.ANNEX_KINDS)}}, "required": ["key", "number", "title", "kind"]}},
    "areas": {"type": "array", "items": STR},
    "consent_categories": {"type": "array", "items": {"type": "object", "properties": {"key": STR, "label": STR}}},
    "consent_signers": {"type": "array", "items": {"type": "object", "properties": {
        "below_age": NULLABLE_INT, "signers": {"type": "array", "items": STR}}}},
    "table_roles": {"type": "array", "items": {"type": "object", "properties": {
        "key": STR, "label": STR, "organisations": {"type": "array", "items": STR}}}},
    "phases": {"type": "array", "items": {"type": "object", "properties": {"key": STR, "label": STR},
                                          "required": ["key", "label"]}},
    "legal_basis": {"enum": list(packs.LEGAL_BASES)},
    "min_age": NULLABLE_INT,
    "retention": {"type": "object", "properties": {
        "from": {"type": "string", "description": "closed, evaluated or phase:<key>"},
        "archive_after_months": NULLABLE_INT, "delete_after_months": {"type": "integer"},
        "exception_max_months": {"type": "integer"}},
        "required": ["from", "archive_after_months", "delete_after_months", "exception_max_months"]},
}, "required": ["name", "title", "region", "term", "annexes", "areas", "consent_categories", "consent_signers",
                "table_roles", "phases", "legal_basis", "min_age", "retention"]}

openapi.FRAGMENTS.append({
    "/api/v1/packs": {"get": {
        "summary": "The template packs and what each decides: term, annexes, areas, consent categories and signers, table roles, phases, legal basis, minimum age, retention",
        "responses": answer("200", "Packs", {"type": "object", "properties": {"packs": {"type": "array", "items": PACK}}}),
    }},
})
