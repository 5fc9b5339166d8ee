"""Flask glue for the one decider, :mod:`registry.access`: who is asking, and the access log.

Every view does, in this order: load the record (404 for an unknown id), ``require`` a
permission on its target (403 ``forbidden`` / ``not_entitled`` through the app's one
error path), do the work, and — when it showed resident or signer data — ``log_read``.
The request commits once, with the log entry in the same transaction as the answer.
"""

from __future__ import annotations

from flask import g, request

from forms_service import db
from registry import access, access_log
from registry.access import ANYWHERE, Target, Use
from registry.errors import Forbidden
from registry.models import User


def acting_user() -> User:
    """The account behind this request: the API token's user, or the logged-in staff user."""
    user = g.get("api_user")
    if user is None:
        from forms_service.auth import current_user

        user = current_user()
    if user is None:
        raise Forbidden("Log eerst in.")
    return user


def require(permission: str, target: Target = ANYWHERE) -> Use:
    """Allow the acting user ``permission`` on ``target`` or raise 403 (see registry.access)."""
    return access.authorize(db.session(), acting_user(), permission, target)


def require_role_for(permission: str) -> None:
    """403 unless some grant of the acting user may ``permission`` somewhere."""
    access.require_role_for(acting_user(), permission)


def may(permission: str, target: Target = ANYWHERE) -> bool:
    """Whether the acting user may (for showing a button or a menu entry)."""
    user = g.get("api_user")
    if user is None:
        from forms_service.auth import current_user

        user = current_user()
    return user is not None and access.may(db.session(), user, permission, target)


def log_read(use: Use, action: str, subject_kind: str, subject_id: int | None, details: dict | None = None,
             target: Target | None = None) -> None:
    """Append this request's read of personal data to the access log (NEN 7513).

    The covenant the data belongs to is kept in the entry's details, so a covenant's
    privacy officer reads the entries of that covenant.
    """
    details = dict(details or {})
    if target is not None and len(target.covenant_ids) == 1:
        details["covenant_id"] = next(iter(target.covenant_ids))
    access_log.record(db.session(), use, action, subject_kind, subject_id, ip=request.remote_addr,
                      user_agent=request.user_agent.string, details=details)


def require_and_log(permission: str, target: Target, action: str, subject_kind: str, subject_id: int | None,
                    details: dict | None = None) -> Use:
    """``require`` then ``log_read``: for views that show personal data."""
    use = require(permission, target)
    log_read(use, action, subject_kind, subject_id, details, target)
    return use


def visible_table_ids(permission: str = access.READ) -> set[int] | None:
    """The tables the acting user may ``permission`` (None: all)."""
    return access.visible_table_ids(db.session(), acting_user(), permission)


def visible_covenant_ids(permission: str = access.READ) -> set[int] | None:
    """The covenants the acting user may ``permission`` (None: all)."""
    return access.visible_covenant_ids(db.session(), acting_user(), permission)


def menu_rights() -> dict:
    """For templates: ``can(permission)`` — whether some grant may it somewhere (the menu)."""
    from forms_service.auth import current_user

    user = current_user()

    def can(permission: str) -> bool:
        if user is None:
            return False
        try:
            access.require_role_for(user, permission)
        except Forbidden:
            return False
        return True

    return {"can": can}
