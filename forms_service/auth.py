"""Staff login: password (argon2) or OIDC, then TOTP for roles that read resident data or logs.

The login is a small state machine kept in the signed session cookie (no server memory):

1. ``/login`` checks e-mail and password (or ``/login/oidc`` comes back from the
   provider with a verified e-mail claim of an existing, active account).
2. When :func:`registry.accounts.requires_mfa` says so, the session holds only a
   *pending* login (user id, session epoch, start time, where to go next) and the user
   enrols an authenticator app (``/login/tweestaps/instellen``: QR code, secret as text,
   a first code, then ten recovery codes shown once) or enters a code
   (``/login/tweestaps``: a TOTP code or a recovery code).
3. Only then is the session logged in: ``user_id``, ``epoch`` (the account's
   ``session_epoch``), ``login_at`` and ``seen``.

Every request re-checks a logged-in session: the account must exist, be active and have
the same ``session_epoch`` (logout, a password change, disabling and a TOTP reset raise
it, which ends every session of the user), the last activity must be at most
``SESSION_IDLE_MINUTES`` ago and the login at most ``PERMANENT_SESSION_LIFETIME`` ago.

OIDC logins skip our TOTP only when the provider's ID token asserts multi-factor
authentication in ``amr`` (a value from ``OIDC_MFA_AMR``, default ``mfa``); otherwise a
user who needs MFA enters our TOTP code after the provider, like after a password.

Rate limits (Flask-Limiter, :mod:`forms_service.security`): password, TOTP and
set-password posts count per account (``LOGIN_RATE_LIMIT_ACCOUNT``, the e-mail typed or
the pending user) and per client IP (``LOGIN_RATE_LIMIT_IP``); over the limit even the
right password is refused until the window has passed (a Dutch 429 page).
"""

from __future__ import annotations

from flask_babel import gettext as _, lazy_gettext as _l
import datetime as dt
import functools
import io
import os
import time
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo

from forms_service import db, i18n
from forms_service.security import limiter
from registry import accounts
from registry.errors import DomainError
from registry.models import User

bp = Blueprint("auth", __name__)

PENDING_SECONDS = 10 * 60  # a password login waits at most this long for its second factor
_FLASK_DEFAULT_LIFETIME = dt.timedelta(days=31)


def _env(name: str, default: str) -> str:
    return (os.environ.get(name) or "").strip() or default


@bp.record_once
def _configure(state) -> None:
    """Defaults from the environment; values given to ``create_app`` win."""
    config = state.app.config
    config.setdefault("SESSION_IDLE_MINUTES", int(_env("SESSION_IDLE_MINUTES", "30")))
    if config.get("PERMANENT_SESSION_LIFETIME") == _FLASK_DEFAULT_LIFETIME:
        config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=int(_env("SESSION_MAX_HOURS", "12")))
    config.setdefault("LOGIN_RATE_LIMIT_ACCOUNT", _env("LOGIN_RATE_LIMIT_ACCOUNT", "10/minute"))
    config.setdefault("LOGIN_RATE_LIMIT_IP", _env("LOGIN_RATE_LIMIT_IP", "30/minute"))
    config.setdefault("ACCOUNT_LINK_DAYS", int(_env("ACCOUNT_LINK_DAYS", str(accounts.LINK_DAYS))))
    for name, default in (("OIDC_ISSUER", ""), ("OIDC_CLIENT_ID", ""), ("OIDC_CLIENT_SECRET", ""),
                          ("OIDC_NAME", "uw organisatie"), ("OIDC_SCOPES", "openid email profile"),
                          ("OIDC_MFA_AMR", "mfa"), ("OIDC_REDIRECT_URI", ""), ("OIDC_REQUIRE_EMAIL_VERIFIED", "1")):
        config.setdefault(name, _env(name, default))


# ----------------------------------------------------------------------------- forms


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-mailadres"), validators=[DataRequired(_l("Vul uw e-mailadres in.")), Email(_l("Ongeldig e-mailadres."))])
    password = PasswordField(_l("Wachtwoord"), validators=[DataRequired(_l("Vul uw wachtwoord in."))])


class CodeForm(FlaskForm):
    """A TOTP code (or, on the login page, a recovery code)."""

    code = StringField(_l("Code"), validators=[DataRequired(_l("Vul de code in."))])


class NewPasswordForm(FlaskForm):
    """A new password, twice."""

    password = PasswordField(_l("Nieuw wachtwoord"), validators=[DataRequired(_l("Kies een wachtwoord."))])
    confirm = PasswordField(_l("Herhaal het wachtwoord"), validators=[
        DataRequired(_l("Herhaal het wachtwoord.")), EqualTo("password", _l("De wachtwoorden zijn niet gelijk."))])


class ChangePasswordForm(NewPasswordForm):
    """The current password and a new one."""

    current_password = PasswordField(_l("Huidig wachtwoord"), validators=[DataRequired(_l("Vul uw huidige wachtwoord in."))])


# ----------------------------------------------------------------------------- the session


def _now() -> int:
    return int(time.time())


@bp.before_app_request
def _load_session() -> None:
    """Check a logged-in session on every request; end it when it is no longer valid."""
    g.current_user = None
    if request.endpoint == "static" or "user_id" not in session:
        return
    user = db.session().get(User, session.get("user_id"))
    now, config = _now(), current_app.config
    idle = int(config["SESSION_IDLE_MINUTES"]) * 60
    lifetime = config["PERMANENT_SESSION_LIFETIME"]
    lifetime = lifetime.total_seconds() if isinstance(lifetime, dt.timedelta) else int(lifetime)
    if user is None or not user.is_active or session.get("epoch") != user.session_epoch:
        reason = "ended"
    elif now - int(session.get("seen") or 0) > idle:
        reason = "idle"
    elif now - int(session.get("login_at") or 0) > lifetime:
        reason = "expired"
    else:
        reason = None
    if reason:
        session.clear()
        g.session_ended = reason
        return
    if now - int(session.get("seen") or 0) >= 15:  # fewer cookie rewrites; idle time stays exact to 15 s
        session["seen"] = now
    g.current_user = user


def current_user() -> User | None:
    """The logged-in staff user of this request, or None."""
    if "current_user" not in g:
        _load_session()
    return g.current_user


_ENDED_MESSAGES = {
    "idle": _l("U was te lang niet actief; log opnieuw in."),
    "expired": _l("Uw sessie is verlopen; log opnieuw in."),
    "ended": _l("Uw sessie is beëindigd; log opnieuw in."),
}


def login_required(view):
    """Send anonymous visitors to the login page, then back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            if g.get("session_ended"):
                flash(str(_ENDED_MESSAGES[g.session_ended]))
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Logged in and allowed the ``admin`` permission by :mod:`registry.access`, else 403."""

    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        from forms_service import access
        from registry import access as rights

        access.require(rights.ADMIN)
        return view(*args, **kwargs)

    return wrapped


@bp.app_context_processor
def inject_user() -> dict:
    """Templates can show who is logged in."""
    return {"current_user": current_user()}


def safe_next(target: str | None) -> str:
    """Only a path on this site is followed after login (no open redirect).

    Refused: backslashes, control characters, anything with a scheme or a host, and
    paths that start with ``//`` (also once percent-decoded or with characters a browser
    strips, such as a tab, removed).
    """
    fallback = url_for("web.index")
    if not target or len(target) > 2000:
        return fallback
    for candidate in (target, unquote(target)):
        if "\\" in candidate or any(unicodedata.category(c)[0] == "C" for c in candidate):
            return fallback
        if not candidate.startswith("/") or candidate.startswith("//"):
            return fallback
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return fallback
    return target


# ----------------------------------------------------------------------------- rate limits


def _account_key() -> str:
    return "login-account:" + accounts.normalise_email(request.form.get("email"))[:254]


def _pending_key() -> str:
    pending = session.get("pending") or {}
    return f"login-pending:{pending.get('uid')}"


def _limit_account() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_ACCOUNT"]


def _limit_ip() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_IP"]


# A breach answers through the app's one 429 path (forms_service.security.rate_limited).
_per_ip = limiter.shared_limit(_limit_ip, scope="login-ip", methods=["POST"])
_per_account = limiter.limit(_limit_account, key_func=_account_key, methods=["POST"])
_per_pending = limiter.shared_limit(_limit_account, scope="login-mfa", key_func=_pending_key, methods=["POST"])


# ----------------------------------------------------------------------------- login steps


def _begin_login(user: User, *, via: str, next_url: str, mfa_done: bool = False):
    """First factor passed: log in, or hold a pending login until the second factor."""
    session.clear()
    if accounts.requires_mfa(user) and not mfa_done:
        session["pending"] = {"uid": user.id, "epoch": user.session_epoch, "t": _now(), "next": next_url, "via": via}
        return redirect(url_for("auth.totp" if user.totp_enabled_at else "auth.enrol"))
    return _complete_login(user, via=via, next_url=next_url)


def _finish_session(user: User, via: str) -> None:
    session.clear()
    session.permanent = True
    now = _now()
    session.update(user_id=user.id, epoch=user.session_epoch, login_at=now, seen=now, via=via)


def _complete_login(user: User, *, via: str, next_url: str):
    _finish_session(user, via)
    return redirect(safe_next(next_url))


def _pending_user() -> User | None:
    """The user of a pending login that is still fresh and valid, else None (and it is dropped)."""
    pending = session.get("pending")
    if not pending:
        return None
    user = db.session().get(User, pending.get("uid"))
    if (user is None or not user.is_active or user.session_epoch != pending.get("epoch")
            or _now() - int(pending.get("t") or 0) > PENDING_SECONDS):
        session.pop("pending", None)
        return None
    return user


def _oidc_configured() -> bool:
    config = current_app.config
    return bool(config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"))


@bp.route("/login", methods=["GET", "POST"])
@_per_ip
@_per_account
def login():
    """Log in with e-mail and password."""
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        user = accounts.authenticate(db.session(), form.email.data, form.password.data)
        if user is not None:
            return _begin_login(user, via="password", next_url=next_url)
        form.password.errors.append("E-mailadres of wachtwoord klopt niet.")
    return render_template("auth/login.html", form=form, next_url=next_url,
                           oidc_name=current_app.config["OIDC_NAME"] if _oidc_configured() else None)


@bp.route("/login/tweestaps", methods=["GET", "POST"])
@_per_ip
@_per_pending
def totp():
    """The second step: a code from the authenticator app, or a recovery code."""
    user = _pending_user()
    if user is None:
        flash(_("Log eerst in met uw e-mailadres en wachtwoord."))
        return redirect(url_for("auth.login"))
    if user.totp_enabled_at is None:
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        s = db.session()
        kind = accounts.verify_second_factor(s, user, form.code.data)
        if kind is not None:
            s.commit()
            pending = session["pending"]
            response = _complete_login(user, via=pending.get("via", "password"), next_url=pending.get("next"))
            if kind == "recovery":  # after the session was started afresh, so the message survives
                left = accounts.remaining_recovery_codes(s, user)
                flash(_('U heeft een herstelcode gebruikt; er zijn er nog %(left)s over. Maak nieuwe aan op de pagina Mijn account.', left=left))
            return response
        s.rollback()
        form.code.errors.append("Deze code klopt niet (of is al gebruikt).")
    return render_template("auth/totp.html", form=form)


def _qr_svg(uri: str) -> Markup:
    """The provisioning URI as an inline SVG QR code (segno, no JavaScript, no image file)."""
    import segno

    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, border=4, light="#fff", xmldecl=False, svgns=True,
                                     title="QR-code voor de authenticator-app")
    return Markup(buffer.getvalue().decode())


@bp.route("/login/tweestaps/instellen", methods=["GET", "POST"])
@_per_ip
@_per_pending
def enrol():
    """Set up the authenticator app: QR code and secret, confirm with a code, recovery codes once."""
    user = _pending_user()
    if user is None:
        flash(_("Log eerst in met uw e-mailadres en wachtwoord."))
        return redirect(url_for("auth.login"))
    if user.totp_enabled_at is not None:
        return redirect(url_for("auth.totp"))
    s = db.session()
    secret = accounts.pending_totp_secret(s, user)
    s.commit()
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = accounts.enable_totp(s, user, form.code.data)
        except DomainError as exc:
            s.rollback()
            form.code.errors.append(exc.fields.get("code", exc.message))
        else:
            s.commit()
            pending = session["pending"]
            next_url = safe_next(pending.get("next"))
            _finish_session(user, pending.get("via", "password"))
            return _no_store(render_template("auth/recovery_codes.html", codes=codes, next_url=next_url))
    uri = accounts.provisioning_uri(user, secret)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return _no_store(render_template("auth/enrol.html", form=form, qr=_qr_svg(uri), secret=grouped, uri=uri))


def _no_store(body: str):
    """A page with a secret on it (TOTP secret, recovery codes): not cached anywhere."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (a POST with CSRF token, so no link can log someone out): every session of the user ends."""
    user = current_user()
    if user is not None:
        s = db.session()
        accounts.end_sessions(s, user)
        s.commit()
    session.clear()
    flash(_("U bent uitgelogd."))
    return redirect(url_for("auth.login"))


# ----------------------------------------------------------------------------- passwords


@bp.route("/wachtwoord/<token>", methods=["GET", "POST"])
@_per_ip
def set_password(token: str):
    """The one-time link from an invitation: choose a password."""
    s = db.session()
    try:
        link = accounts.link_for_token(s, token)
    except DomainError as exc:
        return render_template("auth/link_error.html", message=exc.message), exc.status
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.use_password_link(s, token, form.password.data)
        except DomainError as exc:
            s.rollback()
            form.password.errors.append(exc.fields.get("password", exc.message))
        else:
            s.commit()
            session.clear()
            flash(_("Uw wachtwoord is ingesteld. U kunt nu inloggen en daarna de authenticator-app instellen.")
                  if accounts.requires_mfa(user) else _("Uw wachtwoord is ingesteld. U kunt nu inloggen."))
            return redirect(url_for("auth.login"))
    response = make_response(render_template("auth/set_password.html", form=form, user=link.user))
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the path
    return response


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """My account: change the password (every session ends), new recovery codes."""
    user = current_user()
    s = db.session()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(s, user, form.current_password.data, form.password.data)
        except DomainError as exc:
            s.rollback()
            for name, message in exc.fields.items():
                getattr(form, name, form.password).errors.append(message)
        else:
            s.commit()
            session.clear()
            flash(_("Uw wachtwoord is gewijzigd. Al uw sessies zijn beëindigd; log opnieuw in."))
            return redirect(url_for("auth.login"))
    left = accounts.remaining_recovery_codes(s, user) if user.totp_enabled_at else None
    return render_template("auth/account.html", form=form, user=user, recovery_left=left,
                           tokens=accounts.tokens_of(s, user), today=accounts.today(),
                           role_labels=i18n.labels(accounts.ROLE_LABELS))


@bp.post("/account/herstelcodes")
@login_required
def new_recovery_codes():
    """Replace my recovery codes (shown once)."""
    user = current_user()
    if user.totp_enabled_at is None:
        abort(409)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    s = db.session()
    codes = accounts.new_recovery_codes(s, user)
    s.commit()
    return _no_store(render_template("auth/recovery_codes.html", codes=codes, next_url=url_for("auth.account")))


# ----------------------------------------------------------------------------- OIDC


def _oidc_client():
    """Authlib's Flask client for the configured provider (made on first use, per configuration)."""
    from authlib.integrations.flask_client import OAuth

    config = current_app.config
    key = (config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"], config.get("OIDC_CLIENT_SECRET"), config["OIDC_SCOPES"])
    store = current_app.extensions.setdefault("forms_service_oidc", {})
    if store.get("key") != key:
        oauth = OAuth(current_app)
        client = oauth.register(
            "oidc", client_id=config["OIDC_CLIENT_ID"], client_secret=config.get("OIDC_CLIENT_SECRET") or None,
            server_metadata_url=config["OIDC_ISSUER"].rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": config["OIDC_SCOPES"], "code_challenge_method": "S256"},
        )
        store.update(key=key, client=client)
    return store["client"]


def _oidc_redirect_uri() -> str:
    config = current_app.config
    if config.get("OIDC_REDIRECT_URI"):
        return config["OIDC_REDIRECT_URI"]
    if config.get("PUBLIC_BASE_URL"):
        return config["PUBLIC_BASE_URL"].rstrip("/") + url_for("auth.oidc_callback")
    return url_for("auth.oidc_callback", _external=True)


def _oidc_error(message: str, status: int = 403):
    session.pop("oidc_next", None)
    return render_template("auth/oidc_error.html", message=message, name=current_app.config["OIDC_NAME"]), status


@bp.get("/login/oidc")
@_per_ip
def oidc_login():
    """Start the authorization-code flow (PKCE S256) at the provider."""
    if not _oidc_configured():
        abort(404)
    session.pop("pending", None)
    session["oidc_next"] = safe_next(request.args.get("next"))
    try:
        return _oidc_client().authorize_redirect(_oidc_redirect_uri())
    except Exception:  # provider unreachable or its metadata is broken
        current_app.logger.exception("OIDC provider unavailable")
        return _oidc_error("De inlogdienst is nu niet bereikbaar. Probeer het later opnieuw of log in met uw wachtwoord.", 503)


def _truthy(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in {"1", "true", "yes"})


@bp.get("/login/oidc/callback")
def oidc_callback():
    """Back from the provider: match an existing, active account by its verified e-mail claim."""
    if not _oidc_configured():
        abort(404)
    if request.args.get("error"):
        return _oidc_error("Inloggen bij de inlogdienst is afgebroken of geweigerd.", 400)
    client = _oidc_client()
    try:
        token = client.authorize_access_token()  # checks state, PKCE verifier, ID token signature and nonce
        claims = dict(token.get("userinfo") or {})
        if "email" not in claims:  # many providers put e-mail only at the userinfo endpoint
            info = client.userinfo(token=token)
            if claims.get("sub") and info.get("sub") != claims["sub"]:
                raise ValueError("userinfo sub differs from the ID token")
            claims = {**info, **claims}
    except Exception as exc:  # bad state, bad code, bad ID token signature or nonce
        current_app.logger.warning("OIDC callback refused: %s", exc.__class__.__name__)
        return _oidc_error("Het antwoord van de inlogdienst is ongeldig of verlopen. Probeer opnieuw in te loggen.", 400)
    email = accounts.normalise_email(claims.get("email"))
    if not email:
        return _oidc_error("De inlogdienst gaf geen e-mailadres door.")
    if _truthy(current_app.config.get("OIDC_REQUIRE_EMAIL_VERIFIED")) and not _truthy(claims.get("email_verified")):
        return _oidc_error("De inlogdienst heeft dit e-mailadres niet als geverifieerd gemeld.")
    user = db.session().scalar(accounts.select_user_by_email(email))
    if user is None or not user.is_active:
        return _oidc_error(f"Er is geen actief account voor {email}. Vraag de beheerder om een uitnodiging; "
                           "een account wordt niet vanzelf aangemaakt.")
    amr = claims.get("amr") or []
    strong = {value.strip() for value in current_app.config["OIDC_MFA_AMR"].split(",") if value.strip()}
    next_url = session.pop("oidc_next", None) or url_for("web.index")
    return _begin_login(user, via="oidc", next_url=next_url,
                        mfa_done=isinstance(amr, list) and bool(strong.intersection(map(str, amr))))
