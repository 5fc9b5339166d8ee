"""Gunicorn's access log without signing tokens.

A signing link ``/onderteken/<token>`` is a bearer secret (whoever has it can sign), so
the access log must not keep it. ``make run`` passes
``--logger-class forms_service.gunicorn_logging.TokenMaskingLogger``: every atom of the
access log line (request line, path, query, referer, every ``{header}i`` / ``{var}e``)
has its ``/onderteken/<token>`` shown as ``/onderteken/***``.
"""

from __future__ import annotations

from gunicorn import glogging

from forms_service.security import mask_tokens


class TokenMaskingLogger(glogging.Logger):
    """``glogging.Logger`` whose access-log atoms never carry a signing token."""

    def atoms(self, resp, req, environ, request_time):
        """The usual atoms, each string value with its signing tokens masked."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask_tokens(value) if isinstance(value, str) else value for key, value in atoms.items()}
