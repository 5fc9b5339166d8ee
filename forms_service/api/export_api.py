"""API v1: the bulk export of sealed PDFs as a ZIP.

What a ZIP holds is decided by
:mod:`signatures.export` with the same rules as each sealed PDF's own download. The web
pages' "Alles downloaden (ZIP)" buttons use :func:`zip_response` too.
"""

from __future__ import annotations

from flask import Response, stream_with_context

from forms_service import access, db
from forms_service.api import bp
from forms_service.api.schema import file_answer
from registry import access as rights
from registry import services
from registry.models import CaseTable, Covenant
from signatures import export


def zip_response(plan: export.ExportPlan) -> Response:
    """Log every included document as an export (NEN 7513), commit, then stream the ZIP.

    The log entries are committed before the first byte is sent, in one transaction;
    the stream then only reads (one PDF at a time, :func:`signatures.export.stream_zip`).
    """
    session = db.session()
    target = rights.Target(covenant_ids=frozenset({plan.covenant_id}))
    for item in plan.included:
        access.log_read(item.use, "export", item.kind, item.subject_id,
                        {"sha256": item.sha256, "bulk_export": plan.name}, target)
    session.commit()
    response = Response(stream_with_context(export.stream_zip(session, plan)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="ondertekend-{plan.name}.zip"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Export-Included"] = str(len(plan.included))
    response.headers["X-Export-Left-Out"] = str(len(plan.left_out))
    return response


_ZIP_NOTE = ("Streamed. Holds each sealed PDF the account may download one by one (covenant and Bijlage 1/2: the "
             "signing right; Bijlage 4: resident data, entitled at the table today) and index.csv (bestand, "
             "document, soort, id, casustafel, ondertekenaars, ondertekend_op, verzegeld_op, sha256, opmerking); "
             "a document left out is a row with its reason. Each included PDF is logged as an export.")


@bp.get("/v1/tables/<int:table_id>/signed.zip")
@bp.doc(summary="Every sealed Bijlage 1/2/4 of the table as one ZIP. " + _ZIP_NOTE,
        **file_answer("application/zip", "The ZIP"))
def table_signed_zip(table_id: int):
    """Every sealed Bijlage 1/2/4 of the table this account may download, plus index.csv."""
    table = services.get(db.session(), CaseTable, table_id, "table_id")
    return zip_response(export.plan_table_export(db.session(), access.acting_user(), table))


@bp.get("/v1/covenants/<int:covenant_id>/signed.zip")
@bp.doc(summary="The sealed covenant and every sealed document of its tables (a folder per table) as one ZIP. "
                + _ZIP_NOTE, **file_answer("application/zip", "The ZIP"))
def covenant_signed_zip(covenant_id: int):
    """The sealed covenant and every sealed document of its tables, plus index.csv."""
    covenant = services.get(db.session(), Covenant, covenant_id, "covenant_id")
    return zip_response(export.plan_covenant_export(db.session(), access.acting_user(), covenant))
