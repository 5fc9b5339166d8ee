"""Configuration from environment variables, with safe defaults for a single machine.

| variable | meaning | default |
|---|---|---|
| ``DATABASE_URL`` | SQLAlchemy URL (``postgresql+psycopg://...`` for production) | SQLite file in the instance folder |
| ``SECRET_KEY`` | signs session cookies and CSRF tokens | generated once into ``instance/secret_key`` |
| ``FORMS_SERVICE_INSTANCE`` | the instance folder (database, keys, secret; created mode 700) | ``instance/`` beside the code |
| ``DATA_KEY`` | the data key that encrypts resident identity at rest (urlsafe base64 of 32 bytes) | generated once into ``instance/data_key`` (mode 600) |
| ``DATA_KEY_PREVIOUS`` | older data keys (comma-separated) still read while ``rotate-data-key`` re-encrypts | unset |
| ``TEMPLATE_PACKS_DIR`` | folder with the document template packs | ``templates/`` of the repository |
| ``PUBLIC_BASE_URL`` | absolute base of links in mails, e.g. ``https://casustafel.emmen.nl`` | ``SERVER_NAME`` or the request's host |
| ``SERVER_NAME`` | Flask's host name (also used for links when no ``PUBLIC_BASE_URL``) | unset |
| ``SIGNING_LINK_DAYS`` | how long a signing link works | 14 |
| ``SIGNING_REMINDER_DAYS`` | days without a signature before ``send-reminders`` reminds | 3 |
| ``SEAL_PKCS12`` / ``SEAL_PKCS12_PASSWORD`` | the seal key + certificate as PKCS#12 | unset |
| ``SEAL_KEY_PEM`` / ``SEAL_CERT_PEM`` / ``SEAL_KEY_PASSWORD`` | the seal key + certificate as PEM files | unset |
| (neither) | an EC P-256 key and self-signed certificate generated into ``instance/seal/`` | |
| ``TIMESTAMP_URL`` | RFC 3161 timestamp server: seals become PAdES-B-LT (timestamp + validation data) | unset (PAdES-B-B) |
| ``TIMESTAMP_TRUST_PEM`` | the timestamp server's root certificate(s), PEM: trusted for timestamps only | unset |
| ``LTV_REFRESH_DAYS`` | ``ltv-refresh`` adds a document timestamp when the newest timestamp's certificate expires within this many days | 90 |
| ``DOCUMENT_CACHE_MB`` / ``DOCUMENT_CACHE_DAYS`` | the document cache's size bound and the age after which the worker's daily job evicts a row | 512 / 30 |
| ``SEAL_LOCATION`` | the seal's location field | ``Nederland`` |
| ``MAIL_SERVER`` / ``MAIL_PORT`` / ``MAIL_USE_TLS`` / ``MAIL_USE_SSL`` / ``MAIL_USERNAME`` / ``MAIL_PASSWORD`` / ``MAIL_FROM`` / ``MAIL_TIMEOUT`` | SMTP, used only by the worker; without ``MAIL_SERVER`` mail stays in the outbox for staff | unset |
| ``MAIL_MAX_ATTEMPTS`` / ``MAIL_RETRY_SECONDS`` | attempts before a mail is a permanent failure; the first retry's wait (doubled each time, at most an hour) | 8 / 60 |
| ``RATELIMIT_STORAGE_URI`` | where rate-limit counters live (``redis://...`` for several servers) | ``memory://`` (per process) |
| ``SIGNED_COPY_DAYS`` | days after signing that the signer's link still shows the thank-you page and the sealed copy (then 410) | 30 |
| ``RATELIMIT_SIGNING`` | per IP: POSTs to the signing page and to "weigeren" (Flask-Limiter syntax) | ``30 per minute; 300 per hour`` |
| ``RATELIMIT_VERIFY`` | per IP: ``POST /verify`` and ``POST /api/v1/verify`` | ``20 per minute; 200 per hour`` |
| ``RATELIMIT_API_BAD_TOKEN`` | per IP: API requests with a wrong or unknown token; then 429 | ``30 per minute`` |
| ``RATELIMIT_ENABLED`` | switch all rate limits off with ``0`` | 1 |
| ``WEBHOOK_ALLOW_PRIVATE`` / ``WEBHOOK_TIMEOUT`` / ``WEBHOOK_MAX_ATTEMPTS`` / ``WEBHOOK_RETRY_SECONDS`` | webhooks to private addresses (tests, an intranet); seconds per POST; attempts before ``failed``; first retry delay (doubling) | 0, 5, 8, 30 |
| ``TRUSTED_PROXIES`` | how many reverse proxies in front set ``X-Forwarded-For/-Proto/-Host`` (ProxyFix) | 0 |
| ``SESSION_COOKIE_SECURE`` | send the session cookie over HTTPS only | on when ``PUBLIC_BASE_URL`` starts with ``https`` |

Several app servers behind a load balancer must share ``DATABASE_URL``, ``SECRET_KEY`` and
``DATA_KEY`` (and the seal key, see the README): nothing else lives in process memory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """The instance folder, created mode 700 when missing (it holds the keys and the
    SQLite file); an existing folder that others may read is narrowed to 700."""
    path = Path(os.environ.get("FORMS_SERVICE_INSTANCE") or REPO_ROOT / "instance").resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    private(path, 0o700)
    return path


def private(path: Path, mode: int) -> None:
    """Take group and other rights off a file or folder we own (left alone otherwise)."""
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(path, mode)
    except OSError:
        pass


def configure_data_key(config: dict):
    """Give :mod:`registry.crypto` the key ring of this configuration (``DATA_KEY`` or
    the instance folder's key file); a ciphertext of an unknown key re-reads it once
    (after ``rotate-data-key`` in another process). Returns the ring."""
    from registry import crypto

    settings = {k: config.get(k) for k in ("DATA_KEY", "DATA_KEY_PREVIOUS", "INSTANCE_DIR")}
    ring = crypto.key_ring_from_config(settings)
    crypto.configure(ring, reload=lambda: crypto.key_ring_from_config(settings))
    return ring


def database_url(instance: Path) -> str:
    """``DATABASE_URL`` or the default SQLite file in the instance folder."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'forms_service.sqlite3'}"


def secret_key(instance: Path) -> str:
    """``SECRET_KEY`` or a random key generated once into the instance folder (mode 600)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _env_int(name: str, default: int) -> int:
    """An integer environment variable, or ``default``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _env_flag(name: str, default: bool) -> bool:
    """A boolean environment variable (``1/true/yes/on`` or ``0/false/no/off``), or ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def hardening_config() -> dict:
    """Rate limits, proxies, cookie security (see the table above)."""
    env = os.environ.get
    public = (env("PUBLIC_BASE_URL") or "").strip().lower()
    return {
        "RATELIMIT_ENABLED": _env_flag("RATELIMIT_ENABLED", True),
        "RATELIMIT_SIGNING": env("RATELIMIT_SIGNING") or "30 per minute; 300 per hour",
        "RATELIMIT_VERIFY": env("RATELIMIT_VERIFY") or "20 per minute; 200 per hour",
        "RATELIMIT_API_BAD_TOKEN": env("RATELIMIT_API_BAD_TOKEN") or "30 per minute",
        "TRUSTED_PROXIES": _env_int("TRUSTED_PROXIES", 0),
        "SESSION_COOKIE_SECURE": _env_flag("SESSION_COOKIE_SECURE", public.startswith("https://")),
    }


def signing_config() -> dict:
    """Signing, sealing and mail settings (see the table above)."""
    env = os.environ.get
    return {
        "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL") or None,
        "SIGNING_LINK_DAYS": _env_int("SIGNING_LINK_DAYS", 14),
        "SIGNING_REMINDER_DAYS": _env_int("SIGNING_REMINDER_DAYS", 3),
        "SIGNED_COPY_DAYS": _env_int("SIGNED_COPY_DAYS", 30),
        "SEAL_PKCS12": env("SEAL_PKCS12") or None,
        "SEAL_PKCS12_PASSWORD": env("SEAL_PKCS12_PASSWORD") or None,
        "SEAL_KEY_PEM": env("SEAL_KEY_PEM") or None,
        "SEAL_CERT_PEM": env("SEAL_CERT_PEM") or None,
        "SEAL_KEY_PASSWORD": env("SEAL_KEY_PASSWORD") or None,
        "SEAL_LOCATION": env("SEAL_LOCATION") or "Nederland",
        "TIMESTAMP_URL": env("TIMESTAMP_URL") or None,
        "TIMESTAMP_TRUST_PEM": env("TIMESTAMP_TRUST_PEM") or None,
        "LTV_REFRESH_DAYS": _env_int("LTV_REFRESH_DAYS", 90),
        "DOCUMENT_CACHE_MB": _env_int("DOCUMENT_CACHE_MB", 512),
        "DOCUMENT_CACHE_DAYS": _env_int("DOCUMENT_CACHE_DAYS", 30),
        "MAIL_SERVER": env("MAIL_SERVER") or None,
        "MAIL_PORT": _env_int("MAIL_PORT", 0) or None,
        "MAIL_USE_TLS": env("MAIL_USE_TLS", ""),
        "MAIL_USE_SSL": env("MAIL_USE_SSL", ""),
        "MAIL_USERNAME": env("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env("MAIL_PASSWORD") or None,
        "MAIL_FROM": env("MAIL_FROM") or "casustafel@localhost",
        "MAIL_TIMEOUT": _env_int("MAIL_TIMEOUT", 10),
        "MAIL_MAX_ATTEMPTS": _env_int("MAIL_MAX_ATTEMPTS", 8),
        "MAIL_RETRY_SECONDS": _env_int("MAIL_RETRY_SECONDS", 60),
    }


def webhook_config() -> dict:
    """Webhook delivery settings (see the README's *Webhooks*)."""
    return {
        "WEBHOOK_ALLOW_PRIVATE": _env_flag("WEBHOOK_ALLOW_PRIVATE", False),
        "WEBHOOK_TIMEOUT": float(os.environ.get("WEBHOOK_TIMEOUT") or 5),
        "WEBHOOK_MAX_ATTEMPTS": _env_int("WEBHOOK_MAX_ATTEMPTS", 8),
        "WEBHOOK_RETRY_SECONDS": _env_int("WEBHOOK_RETRY_SECONDS", 30),
    }


def load_config() -> dict:
    """All settings as a dict for ``app.config``."""
    instance = instance_dir()
    return {
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": database_url(instance),
        "SECRET_KEY": secret_key(instance),
        "DATA_KEY": os.environ.get("DATA_KEY") or None,
        "DATA_KEY_PREVIOUS": os.environ.get("DATA_KEY_PREVIOUS") or None,
        "TEMPLATE_PACKS_DIR": os.environ.get("TEMPLATE_PACKS_DIR") or str(REPO_ROOT / "templates"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI") or "memory://",
        **({"SERVER_NAME": os.environ["SERVER_NAME"]} if os.environ.get("SERVER_NAME") else {}),
        **signing_config(),
        **hardening_config(),
        **webhook_config(),
    }
