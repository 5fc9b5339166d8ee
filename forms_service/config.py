"""Configuration from environment variables, with safe defaults for a single machine.

| variable | meaning | default |
|---|---|---|
| ``DATABASE_URL`` | SQLAlchemy URL (``postgresql+psycopg://...`` for production) | SQLite file in the instance folder |
| ``SECRET_KEY`` | signs session cookies and CSRF tokens | generated once into ``instance/secret_key`` |
| ``FORMS_SERVICE_INSTANCE`` | the instance folder (database, keys, secret) | ``instance/`` beside the code |
| ``TEMPLATE_PACKS_DIR`` | folder with the document template packs | ``templates/`` of the repository |

Several app servers behind a load balancer must share ``DATABASE_URL`` and ``SECRET_KEY``
(and the seal key, see the README): nothing else lives in process memory.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def instance_dir() -> Path:
    """The instance folder, created when missing."""
    path = Path(os.environ.get("FORMS_SERVICE_INSTANCE") or REPO_ROOT / "instance").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def load_config() -> dict:
    """All settings as a dict for ``app.config``."""
    instance = instance_dir()
    return {
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": database_url(instance),
        "SECRET_KEY": secret_key(instance),
        "TEMPLATE_PACKS_DIR": os.environ.get("TEMPLATE_PACKS_DIR") or str(REPO_ROOT / "templates"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
    }
