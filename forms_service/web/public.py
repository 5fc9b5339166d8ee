"""The public transparency page (art. 10): no login, nothing personal.

``/openbaar/convenanten`` lists the covenants in force today; ``/openbaar/convenanten/<id>``
shows one (title, region, the partners as of today with the representatives who signed,
areas and tables) and ``…/convenant.pdf`` is its text as PDF/UA-1, rendered once per
partner list and pack version and then served from the database's document cache
(shared by every app server; no copy in process memory). A covenant still in
draft answers 404, like an unknown id. What is shown is decided in
:mod:`registry.publication`; these views only load and render.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from forms_service import db
from registry import publication, rules
from registry.documents.render import dutch_date
from registry.errors import NotFound

bp = Blueprint("public", __name__, url_prefix="/openbaar")


def _not_found():
    return render_template("public/not_found.html"), 404


@bp.get("/convenanten")
def index():
    """The covenants in force today."""
    today = rules.today()
    covenants = publication.covenants_in_force(db.session(), today)
    return render_template("public/index.html", covenants=covenants, today=today, dutch_date=dutch_date)


@bp.get("/convenanten/<int:covenant_id>")
def covenant(covenant_id: int):
    """One published covenant as of today."""
    try:
        found = publication.published_covenant(db.session(), covenant_id)
    except NotFound:
        return _not_found()
    view = publication.public_covenant(db.session(), found)
    return render_template("public/covenant.html", c=view, dutch_date=dutch_date)


@bp.get("/convenanten/<int:covenant_id>/convenant.pdf")
def covenant_pdf(covenant_id: int):
    """The covenant text as PDF/UA-1 (accessible), with today's partners."""
    try:
        found = publication.published_covenant(db.session(), covenant_id)
    except NotFound:
        return _not_found()
    pdf = publication.public_covenant_pdf(db.session(), found)
    db.session().commit()  # a first render is stored in the shared document cache
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="convenant-{covenant_id}.pdf"'
    return response
