"""Mail for staff accounts: the invitation with its one-time set-password link.

Written to the outbox with :func:`signatures.mail.enqueue` in the request's transaction,
like signing invitations; the worker sends it after commit when ``MAIL_SERVER`` is set,
else an administrator passes it on from ``/outbox``. The body of a delivered message is
not kept, because it holds a live link.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from registry import accounts
from forms_service.i18n import local_time
from signatures import mail

PASSWORD_PATH = "/wachtwoord/"


def base_url() -> str:
    """Absolute base for links: PUBLIC_BASE_URL, else the host this request came in on."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def password_link(base: str, token: str) -> str:
    """The absolute one-time link ``/wachtwoord/<token>``."""
    return base.rstrip("/") + PASSWORD_PATH + token


def send_invitation(session: Session, config: Mapping[str, Any], invitation: accounts.Invitation, base: str,
                    *, invited_by: str | None = None) -> None:
    """Mail the invitation; flushes, does not commit."""
    user = invitation.user
    link = password_link(base, invitation.token)
    mfa = accounts.requires_mfa(user)
    # In the language of the page that sends it (the administrator's choice); times in Europe/Amsterdam.
    body = (
        _("Beste %(name)s,", name=user.name or user.email) + "\n\n"
        + (_("%(who)s heeft voor u een account aangemaakt in Convenantbeheer casustafels.", who=invited_by)
           if invited_by else _("Er is voor u een account aangemaakt in Convenantbeheer casustafels.")) + "\n\n"
        + _("Kies uw wachtwoord via deze persoonlijke link:") + f"\n{link}\n\n"
        + _("De link werkt één keer en verloopt op %(until)s.", until=local_time(invitation.expires_at)) + "\n"
        + (_("Bij de eerste keer inloggen stelt u een authenticator-app in (tweestapsverificatie).") + "\n" if mfa else "")
        + "\n" + _("Heeft u dit niet verwacht? Dan kunt u dit bericht negeren.") + "\n\n"
        + _("Met vriendelijke groet,") + "\n" + _("De beheerder van Convenantbeheer casustafels") + "\n"
    )
    mail.enqueue(session, user.email, _("Uw account voor Convenantbeheer casustafels"), body)
