"""Errors the registry raises for input it cannot accept; the web layer maps them to 4xx.

Each carries a stable ``code``, a Dutch ``message`` and, for validation errors, the
offending ``fields`` (field name → Dutch message), so forms and the JSON API can point
at exactly what was wrong.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base class: something the caller asked for cannot be done. Maps to an HTTP 4xx."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, str] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code


class ValidationError(DomainError):
    """The input is well-formed but breaks a rule (HTTP 422)."""

    status = 422
    code = "validation_error"


class NotFound(DomainError):
    """A referenced record does not exist (HTTP 404)."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state, e.g. a duplicate (HTTP 409)."""

    status = 409
    code = "conflict"


class Forbidden(DomainError):
    """The caller is known but may not do this (HTTP 403)."""

    status = 403
    code = "forbidden"


class BadRequest(DomainError):
    """The request itself is malformed: not JSON, a bad query parameter (HTTP 400)."""

    status = 400
    code = "bad_request"


class Archived(Forbidden):
    """The case is archived (*gearchiveerd*): findable, its file closed until reopened (HTTP 403)."""

    code = "archived"


class Gone(DomainError):
    """The record was deleted by retention or an erasure request (*verwijderd*, HTTP 410)."""

    status = 410
    code = "erased"
