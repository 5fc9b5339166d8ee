"""Language and time zone of pages, mails and labels (Flask-Babel).

Dutch is the source language: every ``_("…")`` / ``{{ _("…") }}`` message id is the Dutch
text, and ``forms_service/translations/en/LC_MESSAGES/messages.po`` holds the English.
Which language a person sees, first match wins:

1. ``?lang=nl`` / ``?lang=en`` on any page — the choice is remembered in the ``lang``
   cookie (one year) by :func:`remember_choice`;
2. the ``lang`` cookie;
3. the browser's ``Accept-Language`` (first visit);
4. Dutch.

Times are shown in Europe/Amsterdam whatever the server's zone. The covenant and annex
texts stay in their pack's language; only the service's own words are translated.

Texts from code without Flask (``registry/``, ``signatures/``: reason texts, mails,
certificate and signature-page labels) use :mod:`registry.texts`: ``_("Dutch id",
name=value)`` at the moment the text is made, translated through a hook that
:func:`init_app` installs (Flask-Babel's ``gettext`` inside a request, the Dutch source
outside one). Chosen over giving every reason a separate message id that forms_service
maps back to a text: the Dutch sentence stays next to the rule that decides it, the
values (names, dates) are filled in by the same call, and the API's reason texts follow
the request's language for free. Chosen over ``babel.support`` lazy strings: those would
cross into JSON, the database and sealed PDFs, where only a plain ``str`` belongs. The
price: a text is in the language of the request that made it — so the memo of
:mod:`registry.rules` is keyed by language. A mail to a signer is in the language its
signing request was sent in (``SigningRequest.language``, the sender's page language):
the worker's reminders and completion notices write it inside
``registry.texts.speaking(language)`` with :func:`catalogue`. The command line follows
:func:`cli_language`.

Statuses shown to people go through :func:`status_text` (``|status_text``); reasons are
shown by their text, never their code (``templates/web/_reasons.html``). HTTP errors on
web addresses get our page (``forms_service.web.http_error_page``); the API keeps JSON,
its messages in the language of ``?lang=`` / ``Accept-Language`` (Dutch by default; the
``code`` is the contract).

Catalogues: ``pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o
forms_service/translations/messages.pot .``,
``pybabel update -i … -d forms_service/translations --no-fuzzy-matching --ignore-obsolete
--width 100`` (keep the ``.po`` header: it holds ``Plural-Forms`` for ``ngettext``), and ``pybabel compile -d
forms_service/translations`` (``scripts/setup.sh`` compiles them on every set-up, so the
compiled ``.mo`` files are not in the repository).
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Flask, Response, has_request_context, request
from flask_babel import Babel
from flask_babel import lazy_gettext as _l

from registry import texts

EXTRACT_KEYWORDS = ("_l", "lazy_gettext")
"""Keywords besides Babel's defaults (``_``, ``gettext``, ``N_`` …) that mark a message id."""

LANGUAGES = ("nl", "en")
"""The languages of the service's own words; the first is the default and the source."""

TIMEZONE = "Europe/Amsterdam"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

babel = Babel()


def chosen_language() -> str | None:
    """The language asked for by ``?lang=`` or remembered in the cookie, if it is one we have."""
    for value in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if value in LANGUAGES:
            return value
    return None


def select_locale() -> str:
    """Flask-Babel's locale selector: the choice, else ``Accept-Language``, else Dutch.

    The API (``/api/``) follows ``?lang=`` and ``Accept-Language`` but not the page's
    cookie: its error messages and reason texts are for the client's user, its codes stay
    the contract whatever the language."""
    if request.path.startswith("/api/"):
        asked = request.args.get("lang")
        return asked if asked in LANGUAGES else request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]
    return chosen_language() or request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def remember_choice(response: Response) -> Response:
    """Keep a ``?lang=`` choice in a cookie so the next page is in the same language."""
    value = request.args.get("lang")
    if value in LANGUAGES and request.cookies.get(COOKIE) != value:
        response.set_cookie(COOKIE, value, max_age=COOKIE_MAX_AGE, samesite="Lax",
                            secure=request.is_secure, httponly=True)
    return response


def long_date(value) -> str:
    """A date as people write it: "12 mei 2025" (Dutch) / "12 May 2025" (English); ``—``
    for none. Template filter ``|long_date``; accepts a date or an ISO date string."""
    import datetime as dt

    from flask_babel import format_date

    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    return format_date(value, "d MMMM y")


def local_time(value, seconds: bool = False) -> str:
    """A moment in Europe/Amsterdam: "12 mei 2025 14:05" (``seconds=True``: "14:05:09", for
    logs); naive datetimes are UTC (as the database stores them). Template filter
    ``|local_time``."""
    import datetime as dt

    from flask_babel import format_datetime

    if not value:
        return "—"
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_datetime(value, "d MMMM y HH:mm:ss" if seconds else "d MMMM y HH:mm")


STATUS_TEXTS = {
    "draft": _l("concept"),
    "pending": _l("verstuurd, nog niet geopend"),
    "opened": _l("geopend, nog niet getekend"),
    "signed": _l("getekend"),
    "declined": _l("geweigerd"),
    "cancelled": _l("ingetrokken"),
    "withdrawn": _l("ingetrokken"),
    "revoked": _l("ingetrokken"),
    "expired": _l("verlopen"),
    "pending_seal": _l("wordt verzegeld"),
    "sealed": _l("verzegeld"),
    "paper": _l("op papier"),
    "in_force": _l("in werking"),
    "ended": _l("beëindigd"),
    "queued": _l("in de wachtrij"),
    "sent": _l("verzonden"),
    "failed": _l("mislukt"),
}
"""Every internal status a person may see (signing requests, sealed documents, covenants,
consents, outbox mails) with its text: the one mapping, template filter ``|status_text``."""


def labels(mapping) -> dict[str, str]:
    """A registry mapping of code → Dutch label (message ids marked ``N_``) in the page's
    language, for a template or a form's choices."""
    from flask_babel import gettext

    return {key: gettext(label) for key, label in mapping.items()}


def status_text(code: str | None) -> str:
    """The words for an internal status (``pending`` → "wacht op ondertekening"); an
    unknown code is shown as it is rather than hidden."""
    if not code:
        return "—"
    text = STATUS_TEXTS.get(code)
    return str(text) if text is not None else code


def _request_gettext(message: str) -> str:
    """Flask-Babel's translation inside a request; the Dutch source outside one (worker, CLI)
    and in a Dutch request (the message id is the Dutch text; there is no Dutch catalogue),
    so a Dutch answer — every API answer — does not look each of its reasons up."""
    from flask_babel import get_locale, gettext

    if not has_request_context():
        return message
    locale = get_locale()
    if locale is None or str(locale) == LANGUAGES[0]:
        return message
    return gettext(message)


@functools.lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str):
    """The gettext of one language from our compiled catalogue (Babel, no request needed):
    what :func:`registry.texts.speaking` writes in — a worker's mail in the language its
    recipient was first written to, the command line in ``FORMS_SERVICE_LANGUAGE``."""
    from babel.support import Translations

    if language == LANGUAGES[0]:
        return lambda message: message  # Dutch is the source: the message id is the text
    return Translations.load(str(TRANSLATIONS), [language]).gettext


def cli_language(environ=None) -> str:
    """The command line's language: ``FORMS_SERVICE_LANGUAGE`` (``nl``/``en``), else a
    ``LANG`` that starts with ``en``, else Dutch."""
    import os

    environ = os.environ if environ is None else environ
    asked = (environ.get("FORMS_SERVICE_LANGUAGE") or "").strip().lower()[:2]
    if asked in LANGUAGES:
        return asked
    return "en" if (environ.get("LANG") or "").lower().startswith("en") else LANGUAGES[0]


def _request_language() -> str:
    """The language of the current request, Dutch outside one."""
    from flask_babel import get_locale

    return str(get_locale() or LANGUAGES[0]) if has_request_context() else LANGUAGES[0]


def init_app(app: Flask) -> None:
    """Install Babel (``_`` and ``ngettext`` in every template) with our selectors."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: TIMEZONE)
    app.after_request(remember_choice)
    app.add_template_filter(long_date, "long_date")
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(texts.local_clock, "clock")
    app.add_template_filter(status_text, "status_text")
    texts.install(_request_gettext, _request_language, catalogue)

    @app.context_processor
    def language_context() -> dict:
        from flask_babel import get_locale

        return {"current_language": str(get_locale() or LANGUAGES[0]), "languages": LANGUAGES}
